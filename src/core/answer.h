#pragma once
// One participant's answer, `Q:U:answer:I` of docs/contract.md, "The Redis keys":
// {"selectedOptionIndexes":[1],"answeredInDuration":8}. A quiz has participants x questions of
// them, so the common form is read by a scanner that builds no DOM; anything the scanner does
// not recognise goes to a full JSON parser, which decides. The two accept exactly the same
// texts with exactly the same values (a differential test and a fuzzer hold them to it):
//   - a JSON object, nothing before or after it but JSON white space, no NUL byte;
//   - selectedOptionIndexes: a list of 32-bit signed integers (not null, no fractions);
//   - answeredInDuration: a 32-bit signed integer number of seconds;
//   - other members are ignored.
// The producer writes Kotlin Ints and validates none of them, so any 32-bit value is stored as
// written; values a normal client never sends are for the caller to warn about (is_unusual).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/quiz.h"

namespace qrl::core {

// The range of the producer's Kotlin Int: every number it writes to Redis. Its nanoseconds
// (x 1e9, at most 2.2e18) fit a signed 64-bit integer, so nothing overflows.
inline constexpr std::int64_t kMinInt32 = -2'147'483'648;
inline constexpr std::int64_t kMaxInt32 = 2'147'483'647;
inline constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

// Whether an answer holds what a normal client never sends: an option index below 0, or a
// duration outside 0 .. question_duration_s + 1 (a timed-out answer is questionDuration + 1).
bool is_unusual(const ParticipantAnswer& answer, std::int64_t question_duration_s);

// The fast path: the answer, or empty when it cannot tell (then the full parser decides).
std::optional<ParticipantAnswer> scan_answer(std::string_view text);

// The full parser: the answer, or empty with `problem` saying what is wrong.
std::optional<ParticipantAnswer> parse_answer_json(std::string_view text, std::string* problem = nullptr);

// Both, in that order. Throws a permanent Error naming `key` and the value.
ParticipantAnswer parse_answer(const std::string& key, const std::string& user_id, std::string_view text);

}  // namespace qrl::core
