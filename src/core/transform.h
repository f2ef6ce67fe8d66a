#pragma once
// Joins what Redis holds for a quiz with its question set file into a Quiz (contract sections
// 2-4). Pure: every input is a value, every problem is a permanent Error naming the key (or
// the file) and the bad value.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/quiz.h"

namespace qrl::core {

// `participant_values` holds the values of keys::participant_keys(quiz_id, header), in that
// layout; an empty optional is a key that does not exist.
Quiz build_quiz(std::string_view quiz_id, const QuizHeader& header,
                const std::vector<std::optional<std::string>>& participant_values,
                std::string_view question_file);

// Unix epoch seconds to RFC 3339 UTC ("2022-01-27T08:54:38Z").
std::string rfc3339_utc(std::int64_t epoch_seconds);

}  // namespace qrl::core
