#include "core/keys.h"

#include <algorithm>
#include <set>

#include "core/error.h"
#include "core/ids.h"

namespace qrl::core::keys {

std::string quiz(std::string_view quiz_id, std::string_view field) {
  std::string key;
  key.reserve(quiz_id.size() + 1 + field.size());
  key.append(quiz_id).append(":").append(field);
  return key;
}

std::string user(std::string_view quiz_id, std::string_view user_id, std::string_view field) {
  std::string key;
  key.reserve(quiz_id.size() + user_id.size() + field.size() + 2);
  key.append(quiz_id).append(":").append(user_id).append(":").append(field);
  return key;
}

std::string answer(std::string_view quiz_id, std::string_view user_id, std::string_view index) {
  constexpr std::string_view kAnswer = ":answer:";
  std::string key;
  key.reserve(quiz_id.size() + 1 + user_id.size() + kAnswer.size() + index.size());
  key.append(quiz_id).append(":").append(user_id).append(kAnswer).append(index);
  return key;
}

bool is_valid_index(std::string_view index) noexcept {
  if (index.empty() || index.size() > 9) return false;
  for (char c : index) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

void validate_participants(std::string_view quiz_id, const QuizHeader& header) {
  for (const auto& index : header.selected_indexes) {
    if (!is_valid_index(index)) {
      throw invalid_data(Stage::kValidate,
                         "invalid question index " + printable(index) + " in key '" +
                             quiz(quiz_id, "selectedQuestionIndexes") + "'",
                         quiz(quiz_id, "selectedQuestionIndexes"));
    }
  }
  for (const auto& entry : header.leaderboard) {
    if (!is_valid_id(entry.first)) {
      throw invalid_data(
          Stage::kValidate,
          "invalid user id " + printable(entry.first) + " in key '" + quiz(quiz_id, "leaderboard") + "'",
          quiz(quiz_id, "leaderboard"));
    }
  }
}

std::vector<std::string> participant_keys(std::string_view quiz_id, const QuizHeader& header) {
  validate_participants(quiz_id, header);
  std::vector<std::string> out;
  out.reserve(header.leaderboard.size() * participant_stride(header));
  for (const auto& [user_id, score] : header.leaderboard) {
    out.push_back(user(quiz_id, user_id, "username"));
    out.push_back(user(quiz_id, user_id, "stopTime"));
    for (const auto& index : header.selected_indexes) out.push_back(answer(quiz_id, user_id, index));
  }
  return out;
}

namespace {

constexpr std::string_view kQuizFields[] = {
    "quizName",           "questionDuration", "selectedQuestionIndexes",
    "selectedCategories", "startTime",        "stopTime",
    "leaderboard",        "userIds"};

}  // namespace

SourceKeys::SourceKeys(std::string_view quiz_id, const QuizHeader& header) : quiz_id_(quiz_id) {
  std::set<std::string_view> users;
  for (const auto& entry : header.leaderboard) users.insert(entry.first);
  for (const auto& user_id : header.user_ids) users.insert(user_id);
  for (auto user_id : users) {
    if (is_valid_id(user_id)) users_.emplace_back(user_id);
  }
  std::set<std::string_view> indexes(header.selected_indexes.begin(), header.selected_indexes.end());
  for (auto index : indexes) {
    if (is_valid_index(index)) indexes_.emplace_back(index);
  }
}

std::size_t SourceKeys::size() const noexcept {
  return users_.size() * (2 + indexes_.size()) + std::size(kQuizFields);
}

std::string SourceKeys::operator[](std::size_t i) const {
  const std::size_t per_user = 2 + indexes_.size();
  // Last: a delete interrupted before them leaves what tells the next delivery the rest.
  if (i >= users_.size() * per_user) return quiz(quiz_id_, kQuizFields[i - users_.size() * per_user]);
  const auto& user_id = users_[i / per_user];
  const std::size_t field = i % per_user;
  if (field == 0) return user(quiz_id_, user_id, "username");
  if (field == 1) return user(quiz_id_, user_id, "stopTime");
  return answer(quiz_id_, user_id, indexes_[field - 2]);
}

std::optional<QuizId> quiz_of_key(std::string_view key) {
  std::vector<std::string_view> parts;
  for (std::size_t from = 0;;) {
    const auto colon = key.find(':', from);
    parts.push_back(key.substr(from, colon == std::string_view::npos ? std::string_view::npos : colon - from));
    if (colon == std::string_view::npos) break;
    from = colon + 1;
  }
  if (parts.size() < 2 || !is_valid_id(parts[0])) return std::nullopt;
  bool ours = false;
  if (parts.size() == 2) {
    ours = std::find(std::begin(kQuizFields), std::end(kQuizFields), parts[1]) != std::end(kQuizFields);
  } else if (parts.size() == 3) {
    ours = is_valid_id(parts[1]) && (parts[2] == "username" || parts[2] == "stopTime");
  } else if (parts.size() == 4) {
    ours = is_valid_id(parts[1]) && parts[2] == "answer" && is_valid_index(parts[3]);
  }
  if (!ours) return std::nullopt;
  return QuizId(parts[0]);  // valid: checked above
}

std::vector<std::string> source_keys(std::string_view quiz_id, const QuizHeader& header) {
  const SourceKeys keys(quiz_id, header);
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) out.push_back(keys[i]);
  return out;
}

}  // namespace qrl::core::keys
