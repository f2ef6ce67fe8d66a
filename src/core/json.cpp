#include "core/json.h"

namespace qrl::core {

nlohmann::json parse_json(std::string_view text, std::string* problem) {
  auto refuse = [&](const char* why) {
    if (problem != nullptr) *problem = why;
    return nlohmann::json(nlohmann::json::value_t::discarded);
  };
  if (text.find('\0') != std::string_view::npos) return refuse("holds a NUL byte");
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return refuse("is not JSON");
  return json;
}

}  // namespace qrl::core
