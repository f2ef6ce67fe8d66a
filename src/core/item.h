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

// The item's size by DynamoDB's rules (names + values; numbers by significant digits; 3 bytes
// per list or map plus 1 per element). Used to reject an oversized quiz as permanent before
// sending it.
std::size_t item_size(const Quiz& quiz);

// Throws a permanent Error if the quiz's item would exceed kMaxItemBytes.
void require_item_fits(const Quiz& quiz);

// Appends `text` as a JSON string literal.
void append_json_string(std::string& out, std::string_view text);

}  // namespace qrl::core
