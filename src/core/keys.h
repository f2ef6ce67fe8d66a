#pragma once
// Redis key names of docs/contract.md, "The Redis keys". Every id that goes into a key is validated first;
// functions that build keys from untrusted lists either validate (and throw) or skip.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/quiz.h"

namespace qrl::core::keys {

std::string quiz(std::string_view quiz_id, std::string_view field);
std::string user(std::string_view quiz_id, std::string_view user_id, std::string_view field);
std::string answer(std::string_view quiz_id, std::string_view user_id, std::string_view index);

// Throws a permanent Error naming the first selected question index or leaderboard member that
// may not become part of a key.
void validate_participants(std::string_view quiz_id, const QuizHeader& header);

// Per-participant keys read in the second round trip, in a fixed layout: for each leaderboard
// member in leaderboard order, its username, its stopTime, then one answer per selected
// question index. Throws a permanent Error on an invalid user id or question index.
std::vector<std::string> participant_keys(std::string_view quiz_id, const QuizHeader& header);
// The same into `out`, whose strings are written over: a caller that keeps `out` from quiz to
// quiz makes the keys without allocating.
void participant_keys(std::string_view quiz_id, const QuizHeader& header, std::vector<std::string>& out);
inline std::size_t participant_stride(const QuizHeader& header) {
  return 2 + header.selected_indexes.size();
}

// Every key of the quiz (docs/contract.md, "Deleting the sources"): the per-user keys of the union of leaderboard members and
// userIds, then the quiz-level keys, last, so that a delete done in order and interrupted still
// leaves the keys that name the rest. Never throws: ids or indexes that are not valid are
// skipped, so cleanup of a damaged quiz can never turn into a pattern or a foreign key.
// Made one at a time: a big quiz has hundreds of thousands.
class SourceKeys {
 public:
  SourceKeys(std::string_view quiz_id, const QuizHeader& header);
  std::size_t size() const noexcept;
  std::string operator[](std::size_t i) const;
  // Key `i` written over `out` (its capacity kept).
  void key(std::size_t i, std::string& out) const;

 private:
  std::string quiz_id_;
  std::vector<std::string> users_;    // valid, unique, sorted
  std::vector<std::string> indexes_;  // valid, unique, sorted
};

// All of them at once.
std::vector<std::string> source_keys(std::string_view quiz_id, const QuizHeader& header);

// The quiz id of a key of docs/contract.md, "The Redis keys" (`Q:quizName`, `Q:U:username`, `Q:U:answer:I`...),
// ids and index valid; empty for any other key (the sweep leaves those alone).
std::optional<QuizId> quiz_of_key(std::string_view key);

// A question index as stored in Redis: a non-negative decimal integer.
bool is_valid_index(std::string_view index) noexcept;

}  // namespace qrl::core::keys
