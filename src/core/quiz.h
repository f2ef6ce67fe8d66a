#pragma once
// Plain data of the core: what Redis holds for a quiz (as raw strings, untrusted) and the
// quiz joined with its question set, ready to become a DynamoDB item.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace qrl::core {

// The quiz-level keys of docs/contract.md, "The Redis keys", read in one round trip. A key that does not
// exist is an empty optional (strings) or an empty list (lists, sorted set).
struct QuizHeader {
  std::optional<std::string> name;
  std::optional<std::string> question_duration;
  std::optional<std::string> start_time;
  std::optional<std::string> stop_time;
  std::vector<std::string> selected_indexes;
  std::vector<std::pair<std::string, std::string>> leaderboard;  // member, score as Redis prints it
  std::vector<std::string> user_ids;
};

// Everything Redis holds for a quiz: the header, and the values of
// keys::participant_keys(quiz_id, header) in that layout (empty optional = key absent).
struct LiveQuiz {
  QuizHeader header;
  std::vector<std::optional<std::string>> participant_values;
};

struct ParticipantAnswer {
  std::string user_id;
  std::vector<std::int64_t> options;
  std::int64_t answered_in_ns = 0;
};

struct Question {
  std::string text;
  std::vector<std::string> options;
  std::vector<std::int64_t> correct_options;
  std::vector<ParticipantAnswer> answers;  // in Quiz::participants order
};

struct Participant {
  std::string user_id;
  std::string name;
  std::int64_t score = 0;
  std::string stop_time;  // RFC 3339, UTC
};

struct Quiz {
  std::string id;
  std::string name;
  std::int64_t question_duration_ns = 0;
  std::string start_time;  // RFC 3339, UTC
  std::string stop_time;
  std::vector<Question> questions;        // play order
  std::vector<Participant> participants;  // score descending, ties by user id
  std::vector<std::string> warnings;      // what was repaired on the way (invalid UTF-8), for the log
};

}  // namespace qrl::core
