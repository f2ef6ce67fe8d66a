#include "core/roster.h"

#include "core/keys.h"

namespace qrl::core {

RosterKeys::RosterKeys(std::string_view quiz_id, const QuizHeader& header)
    : quiz_id_(quiz_id),
      header_(header),
      members_(header.leaderboard.size()),
      stride_(1 + header.selected_indexes.size()) {}

std::string RosterKeys::operator[](std::size_t i) const {
  const auto& user_id = header_.leaderboard[i / stride_].first;
  const std::size_t field = i % stride_;
  if (field == 0) return keys::user(quiz_id_, user_id, "stopTime");
  return keys::answer(quiz_id_, user_id, header_.selected_indexes[field - 1]);
}

Roster take_roster(const QuizHeader& header, const std::vector<bool>& present) {
  Roster roster;
  roster.participants = header;
  roster.participants.leaderboard.clear();
  const std::size_t stride = 1 + header.selected_indexes.size();
  for (std::size_t m = 0; m < header.leaderboard.size(); ++m) {
    const std::size_t base = m * stride;
    bool every_answer = true;
    for (std::size_t q = 1; q < stride && every_answer; ++q) every_answer = present.at(base + q);
    const auto& user_id = header.leaderboard[m].first;
    if (!every_answer) {
      roster.late.push_back(user_id);
    } else if (!present.at(base)) {
      roster.finishing.push_back(user_id);
    } else {
      roster.participants.leaderboard.push_back(header.leaderboard[m]);
    }
  }
  return roster;
}

Roster take_roster(const QuizHeader& header, const std::vector<std::optional<std::string>>& participant_values) {
  // participant_keys' layout is the roster keys' with each member's username first.
  const std::size_t stride = 2 + header.selected_indexes.size();
  if (participant_values.size() != header.leaderboard.size() * stride) {
    throw invalid_data(Stage::kBuild, "participant values do not match the participant keys");
  }
  std::vector<bool> present;
  present.reserve(header.leaderboard.size() * (stride - 1));
  for (std::size_t m = 0; m < header.leaderboard.size(); ++m) {
    for (std::size_t field = 1; field < stride; ++field) present.push_back(participant_values[m * stride + field].has_value());
  }
  return take_roster(header, present);
}

Error finishing_error(std::string_view quiz_id, const Roster& roster) {
  const auto key = keys::user(quiz_id, roster.finishing.front(), "stopTime");
  return Error(FailureKind::kTransient, Stage::kRead,
               "quiz still finishing: " + std::to_string(roster.finishing.size()) +
                   " leaderboard member(s) have every answer but no stop time yet (first: key '" + key + "')",
               key, DataProblem::kNone, Code::kFinishing);
}

}  // namespace qrl::core
