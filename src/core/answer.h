#pragma once
// One participant's answer, `Q:U:answer:I` of contract section 2:
// {"selectedOptionIndexes":[1],"answeredInDuration":8}. A quiz has participants x questions of
// them, so the common form is read by a scanner that builds no DOM; anything the scanner does
// not recognise goes to a full JSON parser, which decides. The two accept exactly the same
// texts with exactly the same values (a differential test and a fuzzer hold them to it):
//   - a JSON object, nothing before or after it but JSON white space, no NUL byte;
//   - selectedOptionIndexes: a list of integers 0 .. kMaxOptionIndex (not null, no fractions);
//   - answeredInDuration: an integer number of seconds 0 .. kMaxDurationSeconds;
//   - other members are ignored.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/quiz.h"

namespace qrl::core {

// The largest number of seconds whose nanoseconds (and one second more: a timed-out answer
// has questionDuration + 1) fit in DynamoDB's and our signed 64-bit integers.
inline constexpr std::int64_t kMaxDurationSeconds = 9'223'372'035;
inline constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
inline constexpr std::int64_t kMaxOptionIndex = 2'147'483'647;

// The fast path: the answer, or empty when it cannot tell (then the full parser decides).
std::optional<ParticipantAnswer> scan_answer(std::string_view text);

// The full parser: the answer, or empty with `problem` saying what is wrong.
std::optional<ParticipantAnswer> parse_answer_json(std::string_view text, std::string* problem = nullptr);

// Both, in that order. Throws a permanent Error naming `key` and the value.
ParticipantAnswer parse_answer(const std::string& key, const std::string& user_id, std::string_view text);

}  // namespace qrl::core
