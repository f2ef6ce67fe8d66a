// Differential: the fast answer scanner may accept a text only if the full JSON parser accepts
// it too, with the very same values; and nothing either accepts is outside the contract.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/answer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto full = qrl::core::parse_answer_json(text);
  auto fast = qrl::core::scan_answer(text);
  if (fast) {
    if (!full) std::abort();
    if (fast->options != full->options || fast->answered_in_ns != full->answered_in_ns) std::abort();
  }
  if (full) {
    const auto seconds = full->answered_in_ns / qrl::core::kNanosPerSecond;
    if (full->answered_in_ns % qrl::core::kNanosPerSecond != 0 || seconds < qrl::core::kMinInt32 ||
        seconds > qrl::core::kMaxInt32)
      std::abort();
    for (auto option : full->options) {
      if (option < qrl::core::kMinInt32 || option > qrl::core::kMaxInt32) std::abort();
    }
  }
  return 0;
}
