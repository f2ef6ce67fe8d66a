// The configuration: any INI text (and any bytes in it) is either settings or a ConfigError
// whose message is valid UTF-8; describe() never shows a secret.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config.h"
#include "core/utf8.h"

constexpr std::string_view kSecret = "fuzz-secret-password";

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto file = qrl::config::parse_ini(text, "fuzz.ini");
    file["rabbit-mq.password"] = std::string(kSecret);
    file["redis.password"] = std::string(kSecret);
    auto config = qrl::config::resolve(
        file, [](const std::string&) { return std::optional<std::string>(); }, qrl::config::kNeedAll);
    // The secret may show only where the input itself wrote it into a field that is not one.
    if (text.find(kSecret) == std::string_view::npos &&
        qrl::config::describe(config).find(kSecret) != std::string::npos)
      std::abort();
  } catch (const qrl::config::ConfigError& e) {
    if (!qrl::core::is_valid_utf8(e.what()) && qrl::core::is_valid_utf8(text)) std::abort();
  }
  return 0;
}
