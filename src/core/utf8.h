#pragma once
// UTF-8 as DynamoDB and JSON require it. Names and answers come from Redis as raw bytes; the
// item sent to DynamoDB must be valid JSON text, so an invalid byte never reaches it. As the
// replaced Go loader's JSON encoder did, each byte that does not start a valid sequence is
// replaced by U+FFFD, and the loader logs a warning naming the key.

#include <cstddef>
#include <string>
#include <string_view>

namespace qrl::core {

// Length of the well-formed UTF-8 sequence starting at text[pos] (1-4), or 0 if the byte there
// does not start one (overlong forms, surrogates and code points over U+10FFFF are ill-formed).
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) noexcept;

bool is_valid_utf8(std::string_view text) noexcept;

// `text` with every byte that does not start a well-formed sequence replaced by U+FFFD.
std::string to_valid_utf8(std::string_view text);

// The length of to_valid_utf8(text), without making it.
std::size_t valid_utf8_size(std::string_view text) noexcept;

}  // namespace qrl::core
