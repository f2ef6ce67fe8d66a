#pragma once
// DynamoDB's item size, the one set of rules every size in the loader comes from: the 400 KB
// limit is checked against it, and the split stored form (src/split/) fills its items up to it.
//
// - an attribute: its name's UTF-8 bytes, plus its value;
// - S: UTF-8 bytes (a byte that is not UTF-8 is sent as U+FFFD, 3 bytes);
// - N: 1 byte, plus 1 per pair of significant digits, plus 1 when an even count of digits starts
//   at an even exponent (the pairs then straddle), plus 1 for a minus sign; zero is 1 byte;
// - BOOL, NULL: 1 byte;
// - L: 3 bytes, plus 1 per element and the element's value;
// - M: 3 bytes, plus 1 per entry and the entry as an attribute (name and value).
//
// dynalite computes the same, except that it counts names and strings in UTF-16 code units,
// where DynamoDB counts UTF-8 bytes: for text outside ASCII our count is the larger, and the
// right one for DynamoDB.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

namespace qrl::core::dynamo {

inline constexpr std::size_t kMaxItemBytes = std::size_t{400} * 1024;
inline constexpr std::size_t kContainer = 3;  // per list or map
inline constexpr std::size_t kEntry = 1;      // per list element and per map entry

std::size_t string_size(std::string_view text) noexcept;
// A number as DynamoDB JSON writes it ("-12.5", "1E+3", "0.001"); throws a permanent core::Error
// when it is not a number.
std::size_t number_size(std::string_view text);
std::size_t number_size(std::int64_t value);

// A value in DynamoDB JSON ({"S":"..."}, {"N":"..."}, {"L":[...]}, {"M":{...}}, {"BOOL":true},
// {"NULL":true}, {"SS":[...]}, {"NS":[...]}) and an item (a map of attributes). Throws
// a permanent core::Error on anything else.
std::size_t value_size(const nlohmann::json& value);
std::size_t item_size(const nlohmann::json& item);

}  // namespace qrl::core::dynamo
