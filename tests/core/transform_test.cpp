#include "core/transform.h"

#include <ctime>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/item.h"
#include "support/fixtures.h"

namespace qrl::core {
namespace {

using qrl::testing::Fixture;
using qrl::testing::MemoryRedis;
using ::testing::HasSubstr;

nlohmann::json item_of(const Fixture& f, const std::vector<std::vector<std::string>>& extra = {}) {
  MemoryRedis redis;
  redis.apply(f.redis);
  redis.apply(extra);
  auto live = redis.read(f.quiz_id);
  return nlohmann::json::parse(
      encode_item(build_quiz(QuizId(f.quiz_id), live.header, live.participant_values, f.question_file)));
}

Error build_error(const Fixture& f, const std::vector<std::vector<std::string>>& extra = {},
                  const std::vector<std::string>& remove = {}, std::optional<std::string> file = {}) {
  MemoryRedis redis;
  redis.apply(f.redis);
  redis.apply(extra);
  redis.remove(remove);
  try {
    auto live = redis.read(f.quiz_id);
    build_quiz(QuizId(f.quiz_id), live.header, live.participant_values, file ? *file : f.question_file);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error";
  return Error(FailureKind::kTransient, Stage::kUnknown, "none");
}

TEST(Transform, ContractQuizBecomesTheExpectedItemAttributeByAttribute) {
  auto f = qrl::testing::contract_quiz();
  auto item = item_of(f);
  for (const auto& [name, value] : f.expected_item.items()) EXPECT_EQ(item[name], value) << name;
  EXPECT_EQ(item, f.expected_item);
}

TEST(Transform, OrdersTiesByUserIdTruncatesScoresAndEscapesText) {
  auto f = qrl::testing::edge_quiz("edge1");
  EXPECT_EQ(item_of(f), f.expected_item);
}

TEST(Transform, AQuizWithNobodyAndNoQuestionsHasEmptyLists) {
  auto f = qrl::testing::empty_quiz("empty1");
  auto item = item_of(f);
  EXPECT_EQ(item, f.expected_item);
  EXPECT_EQ(item["Questions"].dump(), R"({"L":[]})");
}

TEST(Transform, NamesTheMissingKeyAsMissingData) {
  auto f = qrl::testing::contract_quiz("q1");
  for (const std::string key : {"q1:quizName", "q1:questionDuration", "q1:startTime", "q1:stopTime",
                                "q1:2c3ca3d2:username"}) {
    auto error = build_error(f, {}, {key});
    EXPECT_EQ(error.kind(), FailureKind::kPermanent);
    EXPECT_EQ(error.problem(), DataProblem::kMissing) << key;
    EXPECT_EQ(error.key(), key);
    EXPECT_THAT(error.what(), HasSubstr("missing key '" + key + "'"));
  }
}

// The participant rule (core/roster.h, docs/contract.md, "Who is a participant").
TEST(Transform, AMemberWithEveryAnswerButNoStopTimeIsFinishingAndTheQuizIsRetried) {
  auto f = qrl::testing::contract_quiz("q1");
  auto error = build_error(f, {}, {"q1:ee14ccb2:stopTime"});
  EXPECT_EQ(error.kind(), FailureKind::kTransient);
  EXPECT_EQ(error.code(), Code::kFinishing);
  EXPECT_EQ(error.key(), "q1:ee14ccb2:stopTime");
  EXPECT_THAT(error.what(), HasSubstr("every answer but no stop time"));
}

TEST(Transform, AMemberMissingAnAnswerJoinedLateAndIsLeftOut) {
  auto f = qrl::testing::contract_quiz("q1");
  const auto whole = item_of(f);
  MemoryRedis redis;
  redis.apply(f.redis);
  // A late joiner as the producer writes one (PARTICIPANT-CONFIG): on the user list, a
  // username, a leaderboard score of 0, no answer, no stop time.
  redis.apply({{"RPUSH", "q1:userIds", "late0001"},
               {"SET", "q1:late0001:username", "Late"},
               {"ZADD", "q1:leaderboard", "0", "late0001"}});
  auto live = redis.read("q1");
  auto item = encode_item(build_quiz(QuizId("q1"), live.header, live.participant_values, f.question_file));
  EXPECT_EQ(nlohmann::json::parse(item), whole);
  // One with some answers but not all is left out too; the others are untouched.
  redis.remove({"q1:2c3ca3d2:answer:4"});
  live = redis.read("q1");
  auto quiz = build_quiz(QuizId("q1"), live.header, live.participant_values, f.question_file);
  ASSERT_EQ(quiz.participants.size(), whole["Participants"]["L"].size() - 1);
  for (const auto& p : quiz.participants) EXPECT_NE(p.user_id, "2c3ca3d2");
  for (const auto& q : quiz.questions) EXPECT_EQ(q.answers.size(), quiz.participants.size());
}

TEST(Transform, AnAbsentQuizIsMissingData) {
  auto f = qrl::testing::contract_quiz("gone");
  auto error = build_error(f, {}, f.keys);
  EXPECT_EQ(error.problem(), DataProblem::kMissing);
}

TEST(Transform, RejectsUnparseableValuesNamingKeyAndValue) {
  auto f = qrl::testing::contract_quiz("q2");
  struct Case {
    std::vector<std::string> set;
    std::string expect;
  };
  for (const auto& c : std::vector<Case>{
           {{"SET", "q2:questionDuration", "ten"}, "key 'q2:questionDuration' holds 'ten'"},
           {{"SET", "q2:questionDuration", "2147483648"}, "key 'q2:questionDuration' holds '2147483648'"},
           {{"SET", "q2:startTime", "2022-01-01"}, "key 'q2:startTime' holds '2022-01-01'"},
           {{"SET", "q2:ee14ccb2:stopTime", "soon"}, "key 'q2:ee14ccb2:stopTime' holds 'soon'"},
           {{"SET", "q2:ee14ccb2:answer:3", "{"}, "key 'q2:ee14ccb2:answer:3' holds '{'"},
           {{"SET", "q2:ee14ccb2:answer:3", R"({"selectedOptionIndexes":["a"],"answeredInDuration":1})"},
            "key 'q2:ee14ccb2:answer:3'"},
           {{"SET", "q2:ee14ccb2:answer:3", R"({"selectedOptionIndexes":[1]})"}, "answeredInDuration"},
           {{"ZADD", "q2:leaderboard", "inf", "ee14ccb2"}, "q2:leaderboard member ee14ccb2"},
       }) {
    auto error = build_error(f, {c.set});
    EXPECT_EQ(error.kind(), FailureKind::kPermanent);
    EXPECT_EQ(error.problem(), DataProblem::kInvalid) << c.expect;
    EXPECT_THAT(error.what(), HasSubstr(c.expect));
  }
}

TEST(Transform, AQuestionIndexOutsideTheFileIsAClearError) {
  auto f = qrl::testing::contract_quiz("q3");
  f.redis[2] = {"RPUSH", "q3:selectedQuestionIndexes", "3", "9"};
  f.redis.push_back(
      {"SET", "q3:2c3ca3d2:answer:9", R"({"selectedOptionIndexes":[],"answeredInDuration":1})"});
  f.redis.push_back(
      {"SET", "q3:ee14ccb2:answer:9", R"({"selectedOptionIndexes":[],"answeredInDuration":1})"});
  auto error = build_error(f);
  EXPECT_EQ(error.problem(), DataProblem::kInvalid);
  EXPECT_THAT(error.what(), HasSubstr("question index 9"));
  EXPECT_THAT(error.what(), HasSubstr("of 9 questions"));
}

TEST(Transform, RejectsHostileUserIdsAndIndexes) {
  auto f = qrl::testing::contract_quiz("q4");
  EXPECT_THAT(build_error(f, {{"ZADD", "q4:leaderboard", "1", "*"}}).what(),
              HasSubstr("invalid user id '*'"));
  EXPECT_THAT(build_error(f, {{"RPUSH", "q4:userIds", "../x"}}).what(), HasSubstr("invalid user id '../x'"));
  EXPECT_THAT(build_error(f, {{"RPUSH", "q4:selectedQuestionIndexes", "*"}}).what(),
              HasSubstr("invalid question index '*'"));
}

TEST(Transform, RejectsAQuestionFileThatIsNotAQuestionSet) {
  auto f = qrl::testing::contract_quiz("q5");
  EXPECT_THAT(build_error(f, {}, {}, std::string("{}")).what(), HasSubstr("is not a JSON array"));
  EXPECT_THAT(build_error(f, {}, {}, std::string("[1,2,3,4,5,6]")).what(),
              HasSubstr("question 3: is not an object"));
  EXPECT_THAT(build_error(f, {}, {}, std::string(R"([0,0,0,{"question":"q","options":["a"]}])")).what(),
              HasSubstr("'answers'"));
}

TEST(Transform, AnswersParseTheSameWhateverTheirLayout) {
  auto f = qrl::testing::contract_quiz("q6");
  const auto base = item_of(f);
  // Spacing, key order and other members are all valid JSON for the same answer.
  auto spaced = item_of(f, {{"SET", "q6:ee14ccb2:answer:3",
                             R"( { "answeredInDuration" : 2 , "selectedOptionIndexes" : [ 0 ] } )"}});
  EXPECT_EQ(spaced, base);
  auto extra = item_of(f, {{"SET", "q6:ee14ccb2:answer:3",
                            R"({"selectedOptionIndexes":[0],"answeredInDuration":2,"x":{"y":[1]}})"}});
  EXPECT_EQ(extra, base);
  // Whole seconds and a list, as the contract says (and as the replaced Go loader's ints
  // required): a fraction, even 2.0, and a null list are data errors, not guesses.
  for (const std::string bad : {R"({"selectedOptionIndexes":[0],"answeredInDuration":2.0})",
                                R"({"selectedOptionIndexes":[0],"answeredInDuration":2.5})",
                                R"({"selectedOptionIndexes":null,"answeredInDuration":11})"}) {
    EXPECT_EQ(build_error(f, {{"SET", "q6:ee14ccb2:answer:3", bad}}).problem(), DataProblem::kInvalid) << bad;
  }
  for (const std::string bad : {R"({"selectedOptionIndexes":[0],"answeredInDuration":2147483648})",
                                R"({"selectedOptionIndexes":[0]} trailing)",
                                R"({"selectedOptionIndexes":[0.5],"answeredInDuration":1})",
                                R"({"selectedOptionIndexes":[0],"answeredInDuration":"2"})"}) {
    EXPECT_EQ(build_error(f, {{"SET", "q6:ee14ccb2:answer:3", bad}}).problem(), DataProblem::kInvalid) << bad;
  }
}

TEST(Transform, Rfc3339) {
  EXPECT_EQ(rfc3339_utc(1643273678), "2022-01-27T08:54:38Z");
  EXPECT_EQ(rfc3339_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(rfc3339_utc(951782400), "2000-02-29T00:00:00Z");
  EXPECT_EQ(rfc3339_utc(253402300799), "9999-12-31T23:59:59Z");
}

// Written by hand for the years epoch_seconds() accepts: the same text as the C library's.
TEST(Transform, Rfc3339IsWhatStrftimeWrites) {
  auto by_strftime = [](std::int64_t seconds) {
    std::time_t t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buffer[32];
    return std::string(buffer, std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm));
  };
  std::mt19937_64 rng(5);
  std::vector<std::int64_t> seconds = {0, 59, 86399, 86400, 951782399, 951868800, 4107542400, 253402300799};
  for (int i = 0; i < 100000; ++i) seconds.push_back(static_cast<std::int64_t>(rng() % 253402300800));
  for (auto s : seconds) ASSERT_EQ(rfc3339_utc(s), by_strftime(s)) << s;
}

}  // namespace
}  // namespace qrl::core
