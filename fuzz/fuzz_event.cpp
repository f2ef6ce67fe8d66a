// The quiz complete event parser: any body either parses to an event with a valid quiz id or is
// refused with a permanent core::Error; nothing else escapes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "core/event.h"
#include "core/ids.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    auto event = qrl::core::parse_event(body);
    if (!qrl::core::is_valid_id(event.quiz_id)) std::abort();
  } catch (const qrl::core::Error& e) {
    if (e.kind() != qrl::core::FailureKind::kPermanent) std::abort();
  }
  return 0;
}
