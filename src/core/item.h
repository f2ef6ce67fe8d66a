#pragma once
// A Quiz as the DynamoDB item of contract section 4, in DynamoDB JSON: the attribute names
// and shapes the AWS Go SDK's default marshalling gave the replaced loader's structs.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/quiz.h"

namespace qrl::core {

// DynamoDB refuses items over 400 KB, counted as UTF-8 bytes of names and values.
inline constexpr std::size_t kMaxItemBytes = std::size_t{400} * 1024;

// The item as a DynamoDB JSON map: {"id":{"S":"..."},"Name":{"S":"..."},...}.
std::string encode_item(const Quiz& quiz);

// The item's size by DynamoDB's rules: attribute names and string values as UTF-8 bytes;
// numbers by their base-100 digits (see number_size in item.cpp); 3 bytes per list or map plus
// 1 per list element and per map entry. Used to reject an oversized quiz as permanent before
// sending it.
std::size_t item_size(const Quiz& quiz);

// The item's size; throws a permanent Error if it would exceed kMaxItemBytes.
std::size_t require_item_fits(const Quiz& quiz);

// Appends `text` as a JSON string literal; a byte that is not UTF-8 becomes U+FFFD.
void append_json_string(std::string& out, std::string_view text);

}  // namespace qrl::core
