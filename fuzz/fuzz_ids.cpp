// The id check against a plain restatement of the contract's rule, and printable(): whatever the
// bytes, what it makes for a message is valid UTF-8 with no control character.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "core/ids.h"
#include "core/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view id(reinterpret_cast<const char*>(data), size);
  bool expected = !id.empty() && id.size() <= 64;
  for (unsigned char c : id)
    expected = expected && (std::isalnum(c) != 0 || c == '_' || c == '-') && c < 0x80;
  if (qrl::core::is_valid_id(id) != expected) std::abort();
  bool threw = false;
  try {
    qrl::core::require_valid_id(id, "quiz id");
  } catch (const qrl::core::Error&) {
    threw = true;
  }
  if (threw == expected) std::abort();
  auto shown = qrl::core::printable(id);
  if (!qrl::core::is_valid_utf8(shown)) std::abort();
  for (unsigned char c : shown) {
    if (c < 0x20 || c == 0x7f) std::abort();
  }
  return 0;
}
