#pragma once
// Joins what Redis holds for a quiz with its question set file into a Quiz (docs/contract.md:
// the Redis keys, the question set file, the item). Pure: every input is a value, every problem is a permanent Error naming the key (or
// the file) and the bad value.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/quiz.h"

namespace qrl::core {

// Builds a quiz from its sources as they are read, without holding the answers: the header
// and the question file first (validated at construction), then the value of each key(i), in
// order: each participant's username and stopTime (in Participants order), then the answers,
// question by question, each in Participants order. feed() returns each answer as it comes;
// quiz() holds the rest (scalars, questions without their answers, participants).
// A key without a value is a missing-data Error naming it; a bad value is a permanent Error.
class QuizReader {
 public:
  struct Answer {
    std::size_t question;  // position in Quiz::questions
    ParticipantAnswer answer;
  };

  QuizReader(const QuizId& quiz_id, const QuizHeader& header, std::string_view question_file);

  std::size_t key_count() const noexcept;
  std::string key(std::size_t i) const;
  // Participants are complete once the first 2 x participants values are fed.
  std::size_t participant_key_count() const noexcept { return 2 * quiz_.participants.size(); }
  std::optional<Answer> feed(std::size_t i, const std::optional<std::string>& value);

  const Quiz& quiz() const noexcept { return quiz_; }
  // The id the item is stored under, when it is not the quiz id (a reused id, see
  // core::reused_id); the keys read stay the quiz's.
  void store_as(std::string item_id) { quiz_.id = std::move(item_id); }
  Quiz take() { return std::move(quiz_); }
  // What was repaired or is unusual (values a normal client never sends, stored as written),
  // for the log: the first few, then how many more.
  std::vector<std::string> warnings() const;

 private:
  // The steps of the constructor, in order.
  void read_quiz_keys(const QuizHeader& header);
  void validate_members(const QuizHeader& header) const;
  void take_participants(const QuizHeader& header);
  void take_questions(const QuizHeader& header, std::string_view question_file);

  Quiz quiz_;
  std::vector<std::string> indexes_;
  std::string source_id_;
  std::int64_t duration_s_ = 0;
  std::size_t suppressed_warnings_ = 0;
};

// The whole quiz at once (tests, fuzzers, benchmarks): `participant_values` holds the values of
// keys::participant_keys(quiz_id, header), in that layout; an empty optional is a key that does not exist.
Quiz build_quiz(const QuizId& quiz_id, const QuizHeader& header,
                const std::vector<std::optional<std::string>>& participant_values,
                std::string_view question_file);

// For each of `reader`'s keys, in its order, where its value is in the layout of
// keys::participant_keys(quiz_id, header): the reader is of a roster taken from `header`.
std::vector<std::size_t> participant_slots(const QuizHeader& header, const QuizReader& reader);

// A time key's value (`Q:startTime`, `Q:stopTime`, `Q:U:stopTime`) as the reader accepts it:
// Unix epoch seconds in the producer's form, up to the year 9999; empty for anything else.
std::optional<std::int64_t> epoch_seconds(std::string_view text);

// Unix epoch seconds to RFC 3339 UTC ("2022-01-27T08:54:38Z").
std::string rfc3339_utc(std::int64_t epoch_seconds);

}  // namespace qrl::core
