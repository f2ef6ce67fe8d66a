#include "support/expected_item.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <string>
#include <vector>

namespace qrl::testing {

namespace {

nlohmann::json s(const std::string& value) {
  return {{"S", value}};
}
nlohmann::json n(long long value) {
  return {{"N", std::to_string(value)}};
}

std::string utc(const std::string& epoch) {
  std::time_t t = std::stoll(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  return std::string(buffer, std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm));
}

}  // namespace

nlohmann::json expected_item(const core::SampleQuiz& quiz) {
  std::map<std::string, std::string> strings;
  std::map<std::string, std::vector<std::string>> lists;
  std::map<std::string, std::map<std::string, double>> zsets;
  for (const auto& c : quiz.redis_commands) {
    if (c[0] == "SET") strings[c[1]] = c[2];
    if (c[0] == "RPUSH") lists[c[1]].insert(lists[c[1]].end(), c.begin() + 2, c.end());
    if (c[0] == "ZADD")
      for (std::size_t i = 2; i + 1 < c.size(); i += 2) zsets[c[1]][c[i + 1]] = std::stod(c[i]);
  }
  const std::string q = quiz.id + ":";
  struct Row {
    std::string user;
    long long score;
  };
  std::vector<Row> rows;
  for (const auto& [user, score] : zsets[q + "leaderboard"])
    rows.push_back({user, static_cast<long long>(std::trunc(score))});
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.score != b.score ? a.score > b.score : a.user < b.user;
  });
  const auto file = nlohmann::json::parse(quiz.question_file);
  auto questions = nlohmann::json::array();
  for (const auto& index : lists[q + "selectedQuestionIndexes"]) {
    const auto& entry = file.at(std::stoul(index));
    auto options = nlohmann::json::array(), correct = nlohmann::json::array(),
         answers = nlohmann::json::array();
    for (const auto& o : entry["options"]) options.push_back(s(o.get<std::string>()));
    for (const auto& a : entry["answers"]) correct.push_back(n(a.get<long long>()));
    for (const auto& row : rows) {
      const auto answer = nlohmann::json::parse(strings.at(q + row.user + ":answer:" + index));
      auto chosen = nlohmann::json::array();
      for (const auto& o : answer["selectedOptionIndexes"]) chosen.push_back(n(o.get<long long>()));
      answers.push_back(
          {{"M",
            {{"UserId", s(row.user)},
             {"ParticipantOptions", {{"L", chosen}}},
             {"AnsweredInDuration", n(answer["answeredInDuration"].get<long long>() * 1'000'000'000)}}}});
    }
    questions.push_back({{"M",
                          {{"Question", s(entry["question"].get<std::string>())},
                           {"Options", {{"L", options}}},
                           {"CorrectOptions", {{"L", correct}}},
                           {"ParticipantAnswers", {{"L", answers}}}}}});
  }
  auto participants = nlohmann::json::array();
  for (const auto& row : rows) {
    participants.push_back({{"M",
                             {{"UserId", s(row.user)},
                              {"Name", s(strings.at(q + row.user + ":username"))},
                              {"Score", n(row.score)},
                              {"StopTime", s(utc(strings.at(q + row.user + ":stopTime")))}}}});
  }
  return {{"id", s(quiz.id)},
          {"Name", s(strings.at(q + "quizName"))},
          {"QuestionDuration", n(std::stoll(strings.at(q + "questionDuration")) * 1'000'000'000)},
          {"StartTime", s(utc(strings.at(q + "startTime")))},
          {"StopTime", s(utc(strings.at(q + "stopTime")))},
          {"Questions", {{"L", questions}}},
          {"Participants", {{"L", participants}}}};
}

}  // namespace qrl::testing
