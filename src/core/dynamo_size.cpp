#include "core/dynamo_size.h"

#include <stdexcept>
#include <string>

#include "core/error.h"
#include "core/utf8.h"

namespace qrl::core::dynamo {

std::size_t string_size(std::string_view text) noexcept {
  return valid_utf8_size(text);
}

namespace {

// DynamoDB's size of a non-zero number from its significant digits: one byte, a byte per two
// digits (rounded up), one more when an even count of them starts at an even decimal exponent
// (the pairs, aligned on the exponent, then spill over), and one for a minus sign.
std::size_t digits_size(std::size_t significant, bool even_exponent, bool negative) {
  return 1 + (significant + 1) / 2 + (significant % 2 == 0 && even_exponent ? 1 : 0) + (negative ? 1 : 0);
}

}  // namespace

std::size_t number_size(std::string_view text) {
  auto bad = [&] {
    return invalid_data(Stage::kBuild, "not a DynamoDB number: '" + std::string(text) + "'");
  };
  std::size_t at = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (negative || (!text.empty() && text[0] == '+')) ++at;
  // Digits with the decimal point's position; then an optional exponent.
  std::string digits;
  std::int64_t point = -1;
  for (; at < text.size() && text[at] != 'e' && text[at] != 'E'; ++at) {
    const char c = text[at];
    if (c == '.' && point < 0) {
      point = static_cast<std::int64_t>(digits.size());
    } else if (c >= '0' && c <= '9') {
      digits += c;
    } else {
      throw bad();
    }
  }
  if (digits.empty()) throw bad();
  if (point < 0) point = static_cast<std::int64_t>(digits.size());
  std::int64_t exponent = 0;
  if (at < text.size()) {
    const auto e = text.substr(at + 1);
    std::size_t used = 0;
    try {
      exponent = std::stoll(std::string(e), &used);
    } catch (const std::exception&) {
      throw bad();
    }
    if (used != e.size() || e.empty()) throw bad();
  }
  // Significant digits, and the decimal exponent of the first of them.
  std::size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return 1;  // zero
  std::size_t last = digits.find_last_not_of('0');
  const std::size_t significant = last - first + 1;
  const std::int64_t leading = point - static_cast<std::int64_t>(first) - 1 + exponent;
  return digits_size(significant, leading % 2 == 0, negative);
}

// The same count as for the integer's decimal text, without making it: an integer's first digit
// is at exponent digits - 1.
std::size_t number_size(std::int64_t value) {
  if (value == 0) return 1;
  // The magnitude as unsigned: -INT64_MIN does not fit an int64.
  std::uint64_t magnitude =
      value < 0 ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
  std::size_t trailing_zeros = 0;
  for (; magnitude % 10 == 0; magnitude /= 10) ++trailing_zeros;
  std::size_t significant = 0;
  for (; magnitude != 0; magnitude /= 10) ++significant;
  return digits_size(significant, (significant + trailing_zeros - 1) % 2 == 0, value < 0);
}

std::size_t value_size(const nlohmann::json& value) {
  if (!value.is_object() || value.size() != 1)
    throw invalid_data(Stage::kBuild, "not a DynamoDB value: " + value.dump());
  const auto first = value.begin();
  const std::string& type = first.key();
  const nlohmann::json& v = first.value();
  auto strings = [&](auto each) {
    if (!v.is_array()) throw invalid_data(Stage::kBuild, "a " + type + " that is not a list");
    std::size_t size = 0;
    for (const auto& element : v) size += each(element.template get<std::string>());
    return size;
  };
  if (type == "S") return string_size(v.get<std::string>());
  if (type == "N") return number_size(v.get<std::string>());
  if (type == "BOOL" || type == "NULL") return 1;
  if (type == "SS") return strings([](const std::string& s) { return string_size(s); });
  if (type == "NS") return strings([](const std::string& s) { return number_size(s); });
  if (type == "L") {
    if (!v.is_array()) throw invalid_data(Stage::kBuild, "an L that is not a list");
    std::size_t size = kContainer;
    for (const auto& element : v) size += kEntry + value_size(element);
    return size;
  }
  if (type == "M") return kContainer + kEntry * v.size() + item_size(v);
  throw invalid_data(Stage::kBuild, "DynamoDB type '" + type + "' is not sized here");
}

std::size_t item_size(const nlohmann::json& item) {
  if (!item.is_object()) throw invalid_data(Stage::kBuild, "an item that is not a map");
  std::size_t size = 0;
  for (const auto& [name, value] : item.items()) size += string_size(name) + value_size(value);
  return size;
}

}  // namespace qrl::core::dynamo
