#include "core/sample.h"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <random>

#include <nlohmann/json.hpp>

#include "core/keys.h"

namespace qrl::core {

namespace {

std::string hex8(std::uint64_t value) {
  char buffer[9];
  std::snprintf(buffer, sizeof buffer, "%08x", static_cast<unsigned>(value & 0xffffffffu));
  return buffer;
}

}  // namespace

SampleQuiz make_sample_quiz(std::uint64_t seed, std::uint64_t n, SampleShape shape) {
  std::mt19937_64 rng(seed * 1000003u + n);
  SampleQuiz quiz;
  quiz.id = hex8(rng());
  const auto& q = quiz.id;
  const int set_size = shape.questions + 5;
  const int duration = 10;
  const std::int64_t start = 1640995200 + static_cast<std::int64_t>(rng() % 31536000);
  const std::int64_t stop = start + static_cast<std::int64_t>(shape.questions) * (duration + 2);

  nlohmann::json questions = nlohmann::json::array();
  for (int i = 0; i < set_size; ++i) {
    questions.push_back({{"question", "Sample question " + std::to_string(i) + " of quiz " + q + "?"},
                         {"category", i % 2 == 0 ? "general" : "science"},
                         {"options", {"Option A", "Option B", "Option C", "Option D"}},
                         {"answers", {static_cast<int>(rng() % 4)}}});
  }
  quiz.question_file = questions.dump();

  std::vector<int> order(static_cast<std::size_t>(set_size));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  order.resize(static_cast<std::size_t>(shape.questions));

  auto& cmds = quiz.redis_commands;
  cmds.push_back({"SET", keys::quiz(q, "quizName"), "Sample quiz " + std::to_string(n)});
  cmds.push_back({"SET", keys::quiz(q, "questionDuration"), std::to_string(duration)});
  if (!order.empty()) {
    std::vector<std::string> push = {"RPUSH", keys::quiz(q, "selectedQuestionIndexes")};
    for (int index : order) push.push_back(std::to_string(index));
    cmds.push_back(std::move(push));
  }
  cmds.push_back({"RPUSH", keys::quiz(q, "selectedCategories"), "general", "science"});
  cmds.push_back({"SET", keys::quiz(q, "startTime"), std::to_string(start)});
  cmds.push_back({"SET", keys::quiz(q, "stopTime"), std::to_string(stop)});

  std::vector<std::string> zadd = {"ZADD", keys::quiz(q, "leaderboard")};
  std::vector<std::string> user_ids = {"RPUSH", keys::quiz(q, "userIds")};
  for (int p = 0; p < shape.participants; ++p) {
    std::string user = hex8(rng());
    zadd.push_back(std::to_string(rng() % 200));
    zadd.push_back(user);
    user_ids.push_back(user);
    cmds.push_back({"SET", keys::user(q, user, "username"), "player" + std::to_string(p)});
    cmds.push_back({"SET", keys::user(q, user, "stopTime"),
                    std::to_string(stop - static_cast<std::int64_t>(rng() % 5))});
    for (int index : order) {
      bool timed_out = rng() % 8 == 0;
      nlohmann::json answer = {
          {"selectedOptionIndexes", timed_out ? nlohmann::json::array() : nlohmann::json::array({rng() % 4})},
          {"answeredInDuration", timed_out ? duration + 1 : static_cast<int>(1 + rng() % duration)}};
      cmds.push_back({"SET", keys::answer(q, user, std::to_string(index)), answer.dump()});
    }
  }
  if (shape.participants > 0) {
    cmds.push_back(std::move(zadd));
    cmds.push_back(std::move(user_ids));
  }
  return quiz;
}

}  // namespace qrl::core
