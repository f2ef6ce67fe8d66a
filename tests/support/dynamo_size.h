#pragma once
// DynamoDB's item size computed from the DynamoDB JSON itself, independently of core::item_size
// (which sizes a Quiz without encoding it): names and strings as UTF-8 bytes, numbers by
// base-100 digits as dynalite computes them, 3 bytes per list or map, 1 per list element and
// per map entry. The tests and the item fuzzer hold the two to each other.

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace qrl::testing {

inline std::size_t dynamo_number_size(std::string text) {
  bool negative = !text.empty() && text.front() == '-';
  if (negative) text.erase(0, 1);
  while (text.size() > 1 && text.front() == '0') text.erase(0, 1);
  if (text == "0") return 1;
  const std::size_t exponent = text.size() - 1;
  while (!text.empty() && text.back() == '0') text.pop_back();
  const std::size_t digits = text.size();
  return 1 + (digits + 1) / 2 + (digits % 2 == 0 && exponent % 2 == 0 ? 1 : 0) + (negative ? 1 : 0);
}

inline std::size_t dynamo_value_size(const nlohmann::json& value);

inline std::size_t dynamo_attributes_size(const nlohmann::json& map) {
  std::size_t size = 0;
  for (const auto& [name, value] : map.items()) size += name.size() + dynamo_value_size(value);
  return size;
}

inline std::size_t dynamo_value_size(const nlohmann::json& value) {
  const auto first = value.begin();
  const std::string type = first.key();
  const nlohmann::json& v = first.value();
  if (type == "S") return v.get<std::string>().size();
  if (type == "N") return dynamo_number_size(v.get<std::string>());
  if (type == "L") {
    std::size_t size = 3;
    for (const auto& element : v) size += 1 + dynamo_value_size(element);
    return size;
  }
  if (type == "M") return 3 + v.size() + dynamo_attributes_size(v);
  throw std::runtime_error("unexpected DynamoDB type " + type);
}

inline std::size_t dynamo_item_size(const nlohmann::json& item) {
  return dynamo_attributes_size(item);
}

}  // namespace qrl::testing
