#include "support/fixtures.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include "core/keys.h"

namespace qrl::testing {

namespace {

using nlohmann::json;

json S(const std::string& s) {
  return {{"S", s}};
}
json N(long long n) {
  return {{"N", std::to_string(n)}};
}
json L(json elements) {
  return {{"L", std::move(elements)}};
}
json M(json attributes) {
  return {{"M", std::move(attributes)}};
}
json Ns(std::initializer_list<long long> values) {
  json out = json::array();
  for (auto v : values) out.push_back(N(v));
  return L(out);
}
json Ss(std::initializer_list<const char*> values) {
  json out = json::array();
  for (auto v : values) out.push_back(S(v));
  return L(out);
}
json answer(const std::string& user, std::initializer_list<long long> options, long long ns) {
  return M({{"UserId", S(user)}, {"ParticipantOptions", Ns(options)}, {"AnsweredInDuration", N(ns)}});
}
json participant(const std::string& user, const std::string& name, long long score, const std::string& stop) {
  return M({{"UserId", S(user)}, {"Name", S(name)}, {"Score", N(score)}, {"StopTime", S(stop)}});
}
json question(const std::string& text, json options, json correct, json answers) {
  return M({{"Question", S(text)},
            {"Options", std::move(options)},
            {"CorrectOptions", std::move(correct)},
            {"ParticipantAnswers", L(std::move(answers))}});
}

std::vector<std::string> all_keys(const std::vector<std::vector<std::string>>& commands) {
  std::vector<std::string> keys;
  for (const auto& c : commands) keys.push_back(c[1]);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

}  // namespace

std::string random_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(rng()));
  return std::string("t") + buffer;
}

void edit_randomly(std::string& text, std::mt19937& rng, std::string_view alphabet) {
  for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
    auto pos = rng() % (text.size() + 1);
    switch (rng() % 3) {
      case 0: text.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
      case 1:
        if (pos < text.size()) text.erase(pos, 1);
        break;
      default:
        if (pos < text.size()) text[pos] = alphabet[rng() % alphabet.size()];
    }
  }
}

Fixture contract_quiz(const std::string& q) {
  Fixture f;
  f.quiz_id = q;
  const std::string a = "2c3ca3d2", b = "ee14ccb2";
  f.redis = {
      {"SET", q + ":quizName", "example"},
      {"SET", q + ":questionDuration", "10"},
      {"RPUSH", q + ":selectedQuestionIndexes", "3", "4", "5"},
      {"RPUSH", q + ":selectedCategories", "Food"},
      {"SET", q + ":startTime", "1643273678"},
      {"SET", q + ":stopTime", "1643273701"},
      {"ZADD", q + ":leaderboard", "35", a, "80", b},
      {"RPUSH", q + ":userIds", a, b},
      {"SET", q + ":" + a + ":username", "user1"},
      {"SET", q + ":" + a + ":stopTime", "1643273706"},
      {"SET", q + ":" + a + ":answer:3", R"({"selectedOptionIndexes":[1],"answeredInDuration":8})"},
      {"SET", q + ":" + a + ":answer:4", R"({"selectedOptionIndexes":[],"answeredInDuration":11})"},
      {"SET", q + ":" + a + ":answer:5", R"({"selectedOptionIndexes":[1],"answeredInDuration":2})"},
      {"SET", q + ":" + b + ":username", "user2"},
      {"SET", q + ":" + b + ":stopTime", "1643273701"},
      {"SET", q + ":" + b + ":answer:3", R"({"selectedOptionIndexes":[0],"answeredInDuration":2})"},
      {"SET", q + ":" + b + ":answer:4", R"({"selectedOptionIndexes":[2,0],"answeredInDuration":3})"},
      {"SET", q + ":" + b + ":answer:5", R"({"selectedOptionIndexes":[],"answeredInDuration":11})"},
  };
  f.keys = all_keys(f.redis);
  auto entry = [](const char* text, const char* category, std::initializer_list<const char*> options,
                  std::initializer_list<int> answers) {
    return json{{"question", text}, {"category", category}, {"options", options}, {"answers", answers}};
  };
  json set = json::array({
      entry("Which of the following are orphans?", "movies",
            {"Ironman", "Batman", "James Bond", "Harry Potter"}, {1, 2, 3}),
      entry("Which is the best Thor movie?", "movies",
            {"Ragnarok", "Deathly Hallows", "Dark World", "The first one"}, {0}),
      entry("What is the highest grossing movie?", "movies",
            {"Frozen", "Avengers End game", "The 355", "Money Heist"}, {1}),
      entry("Which chilli has the highest scoville rating?", "Food",
            {"Ghost Pepper", "Trinidad Scorpion", "Capsicum", "Carolina Reaper"}, {3}),
      entry("Which of the following foods is vegan?", "Food", {"Veef", "Fakon", "Honey", "Ribs"}, {0, 1}),
      entry("When purchasing brocoli from Coles at a price of > $8/kg, how many days will it last in the "
            "fridge before it grows mould?",
            "Food", {"1", "5", "2", "3"}, {1}),
      entry("How many rings does Lebron have?", "sport", {"1", "2", "3", "4"}, {3}),
      entry("What does AFL stand for?", "sport",
            {"Austria Fishing League", "Amsterdam Fencing League", "Auckland Field Lacrosse",
             "Australian Football League"},
            {3}),
      entry("Which is the best sport?", "sport", {"AFL", "T20 Cricket", "Basketball", "Tennis"}, {2}),
  });
  f.question_file = set.dump(2);
  const long long s = 1'000'000'000;
  f.expected_item = {
      {"id", S(q)},
      {"Name", S("example")},
      {"QuestionDuration", N(10 * s)},
      {"StartTime", S("2022-01-27T08:54:38Z")},
      {"StopTime", S("2022-01-27T08:55:01Z")},
      {"Questions",
       L({question("Which chilli has the highest scoville rating?",
                   Ss({"Ghost Pepper", "Trinidad Scorpion", "Capsicum", "Carolina Reaper"}), Ns({3}),
                   {answer(b, {0}, 2 * s), answer(a, {1}, 8 * s)}),
          question("Which of the following foods is vegan?", Ss({"Veef", "Fakon", "Honey", "Ribs"}),
                   Ns({0, 1}), {answer(b, {2, 0}, 3 * s), answer(a, {}, 11 * s)}),
          question(
              "When purchasing brocoli from Coles at a price of > $8/kg, how many days will it last in the "
              "fridge before it grows mould?",
              Ss({"1", "5", "2", "3"}), Ns({1}), {answer(b, {}, 11 * s), answer(a, {1}, 2 * s)})})},
      {"Participants", L({participant(b, "user2", 80, "2022-01-27T08:55:01Z"),
                          participant(a, "user1", 35, "2022-01-27T08:55:06Z")})},
  };
  return f;
}

Fixture edge_quiz(const std::string& q) {
  Fixture f;
  f.quiz_id = q;
  // u3 and u1 tie on 50 (u1 first by id); u2 scores 50.9, truncated to 50, so it ties too;
  // u4 is negative; u5 joined (userIds) but never scored: not a participant, keys deleted.
  f.redis = {
      {"SET", q + ":quizName", "Edge \"cases\" \\ Zoë ☃\n"},
      {"SET", q + ":questionDuration", "30"},
      {"RPUSH", q + ":selectedQuestionIndexes", "1", "0"},
      {"RPUSH", q + ":selectedCategories", "misc"},
      {"SET", q + ":startTime", "0"},
      {"SET", q + ":stopTime", "4102444800"},
      {"ZADD", q + ":leaderboard", "50", "u3", "50", "u1", "50.9", "u2", "-7.5", "u4"},
      {"RPUSH", q + ":userIds", "u1", "u2", "u3", "u4", "u5"},
      {"SET", q + ":u5:username", "lurker"},
  };
  const std::vector<std::string> users = {"u1", "u2", "u3", "u4"};
  for (std::size_t i = 0; i < users.size(); ++i) {
    const auto& u = users[i];
    f.redis.push_back({"SET", q + ":" + u + ":username", "name-" + u});
    f.redis.push_back({"SET", q + ":" + u + ":stopTime", std::to_string(1700000000 + i)});
    f.redis.push_back({"SET", q + ":" + u + ":answer:1",
                       R"({"selectedOptionIndexes":[)" + std::to_string(i % 3) +
                           R"(],"answeredInDuration":)" + std::to_string(i + 1) + "}"});
    f.redis.push_back(
        {"SET", q + ":" + u + ":answer:0", R"({"selectedOptionIndexes":[],"answeredInDuration":31})"});
  }
  f.keys = all_keys(f.redis);
  json set = json::array({
      {{"question", "First \"quoted\"?"},
       {"category", "misc"},
       {"options", {"x", "x"}},
       {"answers", json::array()}},
      {{"question", "Tab\there"}, {"category", "misc"}, {"options", {"a", "b", "c"}}, {"answers", {0, 2}}},
  });
  f.question_file = set.dump();
  const long long s = 1'000'000'000;
  // Participants order: u1, u2, u3 (all 50, by id), then u4 (-7).
  f.expected_item = {
      {"id", S(q)},
      {"Name", S("Edge \"cases\" \\ Zoë ☃\n")},
      {"QuestionDuration", N(30 * s)},
      {"StartTime", S("1970-01-01T00:00:00Z")},
      {"StopTime", S("2100-01-01T00:00:00Z")},
      {"Questions", L({question("Tab\there", Ss({"a", "b", "c"}), Ns({0, 2}),
                                {answer("u1", {0}, 1 * s), answer("u2", {1}, 2 * s), answer("u3", {2}, 3 * s),
                                 answer("u4", {0}, 4 * s)}),
                       question("First \"quoted\"?", Ss({"x", "x"}), L(json::array()),
                                {answer("u1", {}, 31 * s), answer("u2", {}, 31 * s), answer("u3", {}, 31 * s),
                                 answer("u4", {}, 31 * s)})})},
      {"Participants", L({participant("u1", "name-u1", 50, "2023-11-14T22:13:20Z"),
                          participant("u2", "name-u2", 50, "2023-11-14T22:13:21Z"),
                          participant("u3", "name-u3", 50, "2023-11-14T22:13:22Z"),
                          participant("u4", "name-u4", -7, "2023-11-14T22:13:23Z")})},
  };
  return f;
}

Fixture empty_quiz(const std::string& q) {
  Fixture f;
  f.quiz_id = q;
  f.redis = {
      {"SET", q + ":quizName", "nobody came"},
      {"SET", q + ":questionDuration", "15"},
      {"SET", q + ":startTime", "1643273678"},
      {"SET", q + ":stopTime", "1643273678"},
  };
  f.keys = all_keys(f.redis);
  f.question_file = R"([{"question":"Unused?","category":"c","options":["a"],"answers":[0]}])";
  f.expected_item = {
      {"id", S(q)},
      {"Name", S("nobody came")},
      {"QuestionDuration", N(15'000'000'000)},
      {"StartTime", S("2022-01-27T08:54:38Z")},
      {"StopTime", S("2022-01-27T08:54:38Z")},
      {"Questions", L(json::array())},
      {"Participants", L(json::array())},
  };
  return f;
}

void MemoryRedis::apply(const std::vector<std::vector<std::string>>& commands) {
  for (const auto& c : commands) {
    if (c[0] == "SET") {
      strings_[c[1]] = c[2];
    } else if (c[0] == "RPUSH") {
      auto& list = lists_[c[1]];
      list.insert(list.end(), c.begin() + 2, c.end());
    } else if (c[0] == "ZADD") {
      for (std::size_t i = 2; i + 1 < c.size(); i += 2) zsets_[c[1]][c[i + 1]] = std::stod(c[i]);
    }
  }
}

std::vector<std::optional<std::string>> MemoryRedis::read_values(const std::vector<std::string>& keys) {
  ++value_reads;
  std::vector<std::optional<std::string>> values;
  values.reserve(keys.size());
  for (const auto& key : keys) {
    auto it = strings_.find(key);
    values.push_back(it == strings_.end() ? std::nullopt : std::optional<std::string>(it->second));
  }
  return values;
}

core::QuizHeader MemoryRedis::read_header(const core::QuizId& q) {
  core::QuizHeader h;
  auto get = [&](const std::string& key) -> std::optional<std::string> {
    auto it = strings_.find(key);
    if (it == strings_.end()) return std::nullopt;
    return it->second;
  };
  auto list = [&](const std::string& key) {
    auto it = lists_.find(key);
    return it == lists_.end() ? std::vector<std::string>{} : it->second;
  };
  h.name = get(core::keys::quiz(q, "quizName"));
  h.question_duration = get(core::keys::quiz(q, "questionDuration"));
  h.start_time = get(core::keys::quiz(q, "startTime"));
  h.stop_time = get(core::keys::quiz(q, "stopTime"));
  h.selected_indexes = list(core::keys::quiz(q, "selectedQuestionIndexes"));
  h.user_ids = list(core::keys::quiz(q, "userIds"));
  if (auto it = zsets_.find(core::keys::quiz(q, "leaderboard")); it != zsets_.end()) {
    std::vector<std::pair<double, std::string>> ranked;
    for (const auto& [member, score] : it->second) ranked.emplace_back(score, member);
    std::sort(ranked.begin(), ranked.end());
    for (const auto& [score, member] : ranked) {
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, "%.17g", score);
      h.leaderboard.emplace_back(member, buffer);
    }
  }
  return h;
}

void MemoryRedis::remove(const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    strings_.erase(key);
    lists_.erase(key);
    zsets_.erase(key);
  }
}

std::vector<bool> MemoryRedis::exist(const std::vector<std::string>& keys) {
  ++exist_reads;
  std::vector<bool> out;
  for (const auto& key : keys) out.push_back(contains(key));
  return out;
}

pipeline::ItemStore::Stored MemoryItems::put_quiz(const std::string& id, const std::string& item,
                                                  const Identity& identity, std::size_t) {
  ++puts;
  auto it = items.find(id);
  Stored stored = Stored::kNew;
  if (it != items.end()) {
    auto old = nlohmann::json::parse(it->second);
    std::size_t count = 0;
    if (old.contains("Participants")) count = old["Participants"]["L"].size();
    if (old.contains("Split"))
      count = std::stoul(old["Split"]["M"]["ParticipantCount"]["N"].get<std::string>());
    const bool same = old.contains("StartTime") && old["StartTime"].value("S", "") == identity.start_time &&
                      count == identity.participants;
    if (!same) return Stored::kRefused;
    stored = Stored::kSameQuiz;
  }
  items[id] = item;
  order.push_back(id);
  return stored;
}

void MemoryItems::put_part(const std::string& id, const std::string& item, std::size_t) {
  ++puts;
  items[id] = item;
  order.push_back(id);
}

std::optional<std::string> MemoryItems::start_time(const std::string& id) {
  probed.push_back(id);
  auto it = items.find(id);
  if (it == items.end()) return std::nullopt;
  auto item = nlohmann::json::parse(it->second);
  if (!item.contains("StartTime")) return std::string();
  return item["StartTime"]["S"].get<std::string>();
}

bool MemoryRedis::contains(const std::string& key) const {
  return strings_.count(key) + lists_.count(key) + zsets_.count(key) > 0;
}

std::size_t MemoryRedis::size() const {
  return strings_.size() + lists_.size() + zsets_.size();
}

std::vector<std::string> MemoryRedis::keys() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : strings_) out.push_back(k);
  for (const auto& [k, v] : lists_) out.push_back(k);
  for (const auto& [k, v] : zsets_) out.push_back(k);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> MemoryQuestions::read(const core::QuizId& quiz_id) {
  auto it = files.find(quiz_id.str());
  if (it == files.end()) return std::nullopt;
  return it->second;
}

}  // namespace qrl::testing
