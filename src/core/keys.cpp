#include "core/keys.h"

#include <algorithm>

#include "core/error.h"
#include "core/ids.h"

namespace qrl::core::keys {

namespace {

constexpr std::string_view kAnswer = ":answer:";

// Each key written over `out`: a string kept from one key to the next allocates once.
void quiz_into(std::string& out, std::string_view quiz_id, std::string_view field) {
  out.clear();
  out.reserve(quiz_id.size() + 1 + field.size());
  out.append(quiz_id).append(":").append(field);
}

void user_into(std::string& out, std::string_view quiz_id, std::string_view user_id, std::string_view field) {
  out.clear();
  out.reserve(quiz_id.size() + user_id.size() + field.size() + 2);
  out.append(quiz_id).append(":").append(user_id).append(":").append(field);
}

void answer_into(std::string& out, std::string_view quiz_id, std::string_view user_id, std::string_view index) {
  out.clear();
  out.reserve(quiz_id.size() + 1 + user_id.size() + kAnswer.size() + index.size());
  out.append(quiz_id).append(":").append(user_id).append(kAnswer).append(index);
}

}  // namespace

std::string quiz(std::string_view quiz_id, std::string_view field) {
  std::string key;
  quiz_into(key, quiz_id, field);
  return key;
}

std::string user(std::string_view quiz_id, std::string_view user_id, std::string_view field) {
  std::string key;
  user_into(key, quiz_id, user_id, field);
  return key;
}

std::string answer(std::string_view quiz_id, std::string_view user_id, std::string_view index) {
  std::string key;
  answer_into(key, quiz_id, user_id, index);
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
  std::vector<std::string> out;
  participant_keys(quiz_id, header, out);
  return out;
}

void participant_keys(std::string_view quiz_id, const QuizHeader& header, std::vector<std::string>& out) {
  validate_participants(quiz_id, header);
  out.resize(header.leaderboard.size() * participant_stride(header));
  auto key = out.begin();
  for (const auto& [user_id, score] : header.leaderboard) {
    user_into(*key++, quiz_id, user_id, "username");
    user_into(*key++, quiz_id, user_id, "stopTime");
    for (const auto& index : header.selected_indexes) answer_into(*key++, quiz_id, user_id, index);
  }
}

namespace {

constexpr std::string_view kQuizFields[] = {
    "quizName",           "questionDuration", "selectedQuestionIndexes",
    "selectedCategories", "startTime",        "stopTime",
    "leaderboard",        "userIds"};

}  // namespace

SourceKeys::SourceKeys(std::string_view quiz_id, const QuizHeader& header) : quiz_id_(quiz_id) {
  auto sorted_unique = [](std::vector<std::string_view>& views) {
    std::sort(views.begin(), views.end());
    views.erase(std::unique(views.begin(), views.end()), views.end());
  };
  std::vector<std::string_view> users;
  users.reserve(header.leaderboard.size() + header.user_ids.size());
  for (const auto& entry : header.leaderboard) users.push_back(entry.first);
  users.insert(users.end(), header.user_ids.begin(), header.user_ids.end());
  sorted_unique(users);
  users_.reserve(users.size());
  for (auto user_id : users) {
    if (is_valid_id(user_id)) users_.emplace_back(user_id);
  }
  std::vector<std::string_view> indexes(header.selected_indexes.begin(), header.selected_indexes.end());
  sorted_unique(indexes);
  for (auto index : indexes) {
    if (is_valid_index(index)) indexes_.emplace_back(index);
  }
}

std::size_t SourceKeys::size() const noexcept {
  return users_.size() * (2 + indexes_.size()) + std::size(kQuizFields);
}

std::string SourceKeys::operator[](std::size_t i) const {
  std::string out;
  key(i, out);
  return out;
}

void SourceKeys::key(std::size_t i, std::string& out) const {
  const std::size_t per_user = 2 + indexes_.size();
  // Last: a delete interrupted before them leaves what tells the next delivery the rest.
  if (i >= users_.size() * per_user) return quiz_into(out, quiz_id_, kQuizFields[i - users_.size() * per_user]);
  const auto& user_id = users_[i / per_user];
  const std::size_t field = i % per_user;
  if (field == 0) return user_into(out, quiz_id_, user_id, "username");
  if (field == 1) return user_into(out, quiz_id_, user_id, "stopTime");
  answer_into(out, quiz_id_, user_id, indexes_[field - 2]);
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
