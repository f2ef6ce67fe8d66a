// Every hostile input the core was shown to mishandle, each with its exact expected outcome:
// numbers parsed exactly and range-checked before any arithmetic, JSON parsed as JSON (no NUL
// truncation, no trailing data), the fast answer path agreeing with the full parser, strings
// always valid UTF-8, and item sizes counted as DynamoDB counts them.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "config/config.h"
#include "core/answer.h"
#include "core/error.h"
#include "core/ids.h"
#include "core/item.h"
#include "core/transform.h"
#include "core/utf8.h"
#include "lambda/runtime.h"
#include "support/dynamo_size.h"
#include "support/fixtures.h"

// A namespace of its own: the unity build compiles this file with transform_test.cpp, whose
// helpers have the same names.
namespace qrl::core::hostile {
namespace {

using qrl::testing::Fixture;
using qrl::testing::MemoryRedis;
using ::testing::HasSubstr;

const char* kAnswerKey = ":2c3ca3d2:answer:3";  // of the contract quiz

Quiz build(const Fixture& f, const std::vector<std::vector<std::string>>& extra = {},
           std::optional<std::string> file = {}) {
  MemoryRedis redis;
  redis.apply(f.redis);
  redis.apply(extra);
  auto live = redis.read(f.quiz_id);
  return build_quiz(QuizId(f.quiz_id), live.header, live.participant_values, file ? *file : f.question_file);
}

Error build_error(const Fixture& f, const std::vector<std::vector<std::string>>& extra = {},
                  std::optional<std::string> file = {}) {
  try {
    build(f, extra, file);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error";
  return Error(FailureKind::kTransient, Stage::kUnknown, "none");
}

// The producer writes Kotlin Ints and validates none: any 32-bit value is stored as written,
// with a warning; its nanoseconds fit (nothing wraps); anything past 32 bits is a data error.
TEST(Hostile, AnyInt32QuestionDurationIsStoredAsWrittenAndNothingWider) {
  auto f = qrl::testing::contract_quiz("dur1");
  for (const char* bad : {"2147483648", "-2147483649", "10000000000", "9223372036854775807",
                          "99999999999999999999", "1.5", "1e3", " 10", "10\n"}) {
    auto e = build_error(f, {{"SET", "dur1:questionDuration", bad}});
    EXPECT_EQ(e.kind(), FailureKind::kPermanent) << bad;
    EXPECT_EQ(e.key(), "dur1:questionDuration") << bad;
  }
  auto most = build(f, {{"SET", "dur1:questionDuration", "2147483647"}});
  EXPECT_EQ(most.question_duration_ns, 2'147'483'647'000'000'000);
  auto least = build(f, {{"SET", "dur1:questionDuration", "-2147483648"}});
  EXPECT_EQ(least.question_duration_ns, -2'147'483'648'000'000'000);
  EXPECT_THAT(encode_item(least), HasSubstr(R"("QuestionDuration":{"N":"-2147483648000000000"})"));
  auto zero = build(f, {{"SET", "dur1:questionDuration", "0"}});
  EXPECT_EQ(zero.question_duration_ns, 0);
}

// Kotlin's Int.toString(): a minus sign for negatives, never a plus, a leading zero or "-0".
TEST(Hostile, ARedisIntegerHasTheProducersFormOnly) {
  auto f = qrl::testing::contract_quiz("sgn1");
  for (const char* bad : {"-0", "010", "00", "+5", "-05", "0x10", "-", ""}) {
    auto e = build_error(f, {{"SET", "sgn1:questionDuration", bad}});
    EXPECT_EQ(e.kind(), FailureKind::kPermanent) << bad;
    EXPECT_EQ(e.key(), "sgn1:questionDuration") << bad;
  }
  EXPECT_EQ(build(f, {{"SET", "sgn1:questionDuration", "0"}}).question_duration_ns, 0);
  EXPECT_EQ(build(f, {{"SET", "sgn1:questionDuration", "-5"}}).question_duration_ns, -5'000'000'000);
  EXPECT_EQ(build(f, {{"SET", "sgn1:questionDuration", "10"}}).question_duration_ns, 10'000'000'000);
}

TEST(Hostile, TextAfterANulByteIsNotIgnored) {
  auto f = qrl::testing::contract_quiz("nul1");
  std::string answer = R"({"selectedOptionIndexes":[1],"answeredInDuration":8})";
  answer += std::string("\0 NOT JSON {{{", 14);
  auto e = build_error(f, {{"SET", std::string("nul1") + kAnswerKey, answer}});
  EXPECT_EQ(e.kind(), FailureKind::kPermanent);
  EXPECT_THAT(e.what(), HasSubstr("NUL byte"));
  auto file = f.question_file + std::string("\0 garbage", 9);
  e = build_error(f, {}, file);
  EXPECT_EQ(e.kind(), FailureKind::kPermanent);
  EXPECT_THAT(e.what(), HasSubstr("NUL byte"));
  // Trailing data after a whole value is an error too.
  e = build_error(f, {}, f.question_file + " []");
  EXPECT_THAT(e.what(), HasSubstr("not a JSON array"));
}

TEST(Hostile, AnswersOutsideTheContractAreRefusedOnBothPaths) {
  for (const char* bad : {R"({"selectedOptionIndexes":[18446744073709551615],"answeredInDuration":8})",
                          R"({"selectedOptionIndexes":null,"answeredInDuration":8})",
                          R"({"selectedOptionIndexes":[1],"answeredInDuration":1.5})",
                          R"({"selectedOptionIndexes":[1],"answeredInDuration":4e-10})",
                          R"({"selectedOptionIndexes":[-2147483649],"answeredInDuration":8})",
                          R"({"selectedOptionIndexes":[01],"answeredInDuration":8})",
                          R"({"selectedOptionIndexes":[1],"answeredInDuration":08})",
                          R"({"selectedOptionIndexes":[1.0],"answeredInDuration":8})",
                          R"({"selectedOptionIndexes":[2147483648],"answeredInDuration":8})",
                          R"({"selectedOptionIndexes":[1],"answeredInDuration":9223372036})",
                          R"({"selectedOptionIndexes":[1],"answeredInDuration":2147483648})",
                          R"({"selectedOptionIndexes":[1],"answeredInDuration":-2147483649})",
                          R"({"selectedOptionIndexes":[1]})", R"({"answeredInDuration":8})", R"([1,8])", "",
                          R"({"selectedOptionIndexes":[1],"answeredInDuration":8} x)",
                          R"({"selectedOptionIndexes":[1],"answeredInDuration":"8"})"}) {
    EXPECT_FALSE(scan_answer(bad)) << bad;
    std::string problem;
    EXPECT_FALSE(parse_answer_json(bad, &problem)) << bad;
    EXPECT_FALSE(problem.empty()) << bad;
    EXPECT_THROW(parse_answer("k", "u", bad), Error) << bad;
  }
}

TEST(Hostile, TheFastPathAndTheFullParserAgreeOnWhatTheyAccept) {
  for (const char* good :
       {R"({"selectedOptionIndexes":[1],"answeredInDuration":8})",
        R"({"selectedOptionIndexes":[],"answeredInDuration":11})",
        R"( { "selectedOptionIndexes" : [ 0 , 3 ] , "answeredInDuration" : 0 } )",
        R"({"answeredInDuration":2147483647,"selectedOptionIndexes":[2147483647]})",
        R"({"selectedOptionIndexes":[1],"answeredInDuration":-0})",
        R"({"selectedOptionIndexes":[-2147483648,-1],"answeredInDuration":-2147483648})"}) {
    auto fast = scan_answer(good);
    auto full = parse_answer_json(good);
    ASSERT_TRUE(fast) << good;
    ASSERT_TRUE(full) << good;
    EXPECT_EQ(fast->options, full->options) << good;
    EXPECT_EQ(fast->answered_in_ns, full->answered_in_ns) << good;
  }
  EXPECT_EQ(scan_answer(R"({"selectedOptionIndexes":[],"answeredInDuration":-2147483648})")->answered_in_ns,
            -2'147'483'648'000'000'000);
  // Forms only the full parser reads (escapes, other members), with the same values.
  auto other = parse_answer_json(R"({"selectedOptionIndexes":[1],"answeredInDuration":8,"extra":null})");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->answered_in_ns, 8'000'000'000);
  EXPECT_FALSE(scan_answer(R"({"selectedOptionIndexes":[1],"answeredInDuration":8,"extra":null})"));
}

TEST(Hostile, RandomAnswerTextsNeverMakeTheTwoPathsDisagree) {
  // A light form of the fuzzer's differential check, on every run.
  std::mt19937 rng(42);
  const std::string alphabet = "{}[],:\" -+.eE0123456789selctdOpionIxswrDua\\\t\nn";
  const std::string base = R"({"selectedOptionIndexes":[1,2],"answeredInDuration":8})";
  for (int i = 0; i < 200000; ++i) {
    std::string text = base;
    qrl::testing::edit_randomly(text, rng, alphabet);
    auto fast = scan_answer(text);
    if (!fast) continue;
    auto full = parse_answer_json(text);
    ASSERT_TRUE(full) << "the fast path accepted what the parser refuses: " << text;
    ASSERT_EQ(fast->options, full->options) << text;
    ASSERT_EQ(fast->answered_in_ns, full->answered_in_ns) << text;
  }
}

TEST(Hostile, CorrectOptionsOfTheQuestionSetDoNotWrap) {
  auto f = qrl::testing::contract_quiz("qs1");
  auto file = nlohmann::json::parse(f.question_file);
  file[3]["answers"] = nlohmann::json::parse("[18446744073709551615]");
  auto e = build_error(f, {}, file.dump());
  EXPECT_EQ(e.kind(), FailureKind::kPermanent);
  EXPECT_THAT(e.what(), HasSubstr("not a 64-bit signed integer"));
  // The upload service keeps any Go int: every 64-bit value is stored as written, with a warning.
  file[3]["answers"] = nlohmann::json::parse("[-9223372036854775808, 9223372036854775807, -1]");
  auto quiz = build(f, {}, file.dump());
  EXPECT_EQ(quiz.questions[0].correct_options, (std::vector<std::int64_t>{INT64_MIN, INT64_MAX, -1}));
  EXPECT_THAT(encode_item(quiz), HasSubstr(R"({"N":"-9223372036854775808"},{"N":"9223372036854775807"})"));
  ASSERT_EQ(quiz.warnings.size(), 1u);
  EXPECT_THAT(quiz.warnings[0], HasSubstr("qs1.json question 3 has answer -9223372036854775808"));
}

// Values a crafted client or an overflow writes: stored as written, a warning naming the key.
TEST(Hostile, NegativeAnswerValuesAreStoredAsWrittenWithAWarningNamingTheKey) {
  auto f = qrl::testing::contract_quiz("neg1");
  auto quiz = build(f, {{"SET", "neg1:2c3ca3d2:answer:3",
                         R"({"selectedOptionIndexes":[-3],"answeredInDuration":-2147483648})"}});
  bool found = false;
  for (const auto& q : quiz.questions) {
    for (const auto& a : q.answers) {
      if (a.user_id == "2c3ca3d2" && a.answered_in_ns == -2'147'483'648'000'000'000) {
        found = true;
        EXPECT_EQ(a.options, std::vector<std::int64_t>{-3});
      }
    }
  }
  EXPECT_TRUE(found);
  ASSERT_EQ(quiz.warnings.size(), 1u);
  EXPECT_THAT(quiz.warnings[0], HasSubstr("key 'neg1:2c3ca3d2:answer:3'"));
}

TEST(Hostile, BytesThatAreNotUtf8BecomeReplacementCharactersWithAWarning) {
  auto f = qrl::testing::contract_quiz("utf1");
  auto quiz = build(f, {{"SET", "utf1:quizName", "bad \xff\xfe name \xc3\xa9 \xed\xa0\x80"},
                        {"SET", "utf1:2c3ca3d2:username", "\xc3"}});
  EXPECT_EQ(quiz.name, "bad \xef\xbf\xbd\xef\xbf\xbd name \xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  ASSERT_EQ(quiz.warnings.size(), 2u);
  EXPECT_THAT(quiz.warnings[0], HasSubstr("key 'utf1:quizName'"));
  EXPECT_THAT(quiz.warnings[1], HasSubstr("key 'utf1:2c3ca3d2:username'"));
  for (const auto& w : quiz.warnings) EXPECT_TRUE(is_valid_utf8(w)) << w;
  auto body = encode_item(quiz);
  EXPECT_TRUE(is_valid_utf8(body));
  EXPECT_FALSE(nlohmann::json::parse(body, nullptr, false).is_discarded());
}

TEST(Hostile, EveryStringFieldOfTheEncodedItemIsValidUtf8) {
  // The encoder is the last line: whatever string reaches it, the body is valid JSON text.
  Quiz quiz;
  const std::string bad = "x\x80y\xf5\xc0\xaf";
  quiz.id = "q";
  quiz.name = bad;
  quiz.start_time = bad;
  quiz.stop_time = bad;
  Question q;
  q.text = bad;
  q.options = {bad, bad};
  q.answers.push_back({bad, {1}, 5});
  quiz.questions.push_back(q);
  quiz.participants.push_back({bad, bad, 3, bad});
  auto body = encode_item(quiz);
  EXPECT_TRUE(is_valid_utf8(body));
  auto json = nlohmann::json::parse(body);
  EXPECT_EQ(json["Name"]["S"], "x\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(Hostile, Utf8IsCheckedAsTheStandardSays) {
  EXPECT_TRUE(is_valid_utf8("plain \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  for (const char* bad : {"\x80", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                          "\xf5\x80\x80\x80", "\xc3", "\xe2\x82", "\xff"}) {
    EXPECT_FALSE(is_valid_utf8(bad)) << printable(bad);
  }
  EXPECT_EQ(printable("caf\xc3\xa9 \xff"), "'caf\xc3\xa9 \\xff'");
}

TEST(Hostile, ItemSizeCountsEveryMapEntryAndNumbersAsDynamoDbDoes) {
  for (auto f : {qrl::testing::contract_quiz("size1"), qrl::testing::edge_quiz("size2"),
                 qrl::testing::empty_quiz("size3")}) {
    auto quiz = build(f);
    EXPECT_EQ(item_size(quiz), qrl::testing::dynamo_item_size(nlohmann::json::parse(encode_item(quiz))))
        << f.quiz_id;
  }
  EXPECT_EQ(qrl::testing::dynamo_number_size("0"), 1u);
  EXPECT_EQ(qrl::testing::dynamo_number_size("10000000000"), 2u);  // 1e10: one digit
  EXPECT_EQ(qrl::testing::dynamo_number_size("12"), 2u);
  EXPECT_EQ(qrl::testing::dynamo_number_size("120"), 3u);  // even digits at an even exponent
  EXPECT_EQ(qrl::testing::dynamo_number_size("-7"), 3u);
  // Random shapes, numbers of every length and sign.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200; ++i) {
    Quiz quiz;
    quiz.id = "r";
    quiz.name = std::string(rng() % 50, 'n') + "\xc3\xa9";
    quiz.question_duration_ns = static_cast<std::int64_t>(rng() >> (rng() % 64));
    for (int q = static_cast<int>(rng() % 4); q > 0; --q) {
      Question question;
      question.text = std::string(rng() % 30, 't');
      for (int o = static_cast<int>(rng() % 5); o > 0; --o)
        question.options.push_back(std::string(rng() % 9, 'o'));
      for (int c = static_cast<int>(rng() % 3); c > 0; --c)
        question.correct_options.push_back(static_cast<std::int64_t>(rng() % 100000));
      for (int a = static_cast<int>(rng() % 4); a > 0; --a)
        question.answers.push_back({"u" + std::to_string(a),
                                    {static_cast<std::int64_t>(rng() % 1000)},
                                    -static_cast<std::int64_t>(rng() >> (rng() % 64)) / 3});
      quiz.questions.push_back(question);
    }
    for (int p = static_cast<int>(rng() % 4); p > 0; --p)
      quiz.participants.push_back(
          {"u" + std::to_string(p), "name", static_cast<std::int64_t>(rng()) / 7, "t"});
    ASSERT_EQ(item_size(quiz), qrl::testing::dynamo_item_size(nlohmann::json::parse(encode_item(quiz)))) << i;
  }
}

}  // namespace
}  // namespace qrl::core::hostile

namespace qrl {
namespace {

TEST(HostileShell, TheLambdaDeadlineHeaderCannotOverflow) {
  const std::int64_t now = 1'795'878'245'000;
  using std::chrono::milliseconds;
  EXPECT_EQ(lambda::time_left(std::to_string(now + 30000), now), milliseconds(30000));
  EXPECT_EQ(lambda::time_left(std::to_string(now - 5), now), milliseconds(0));
  EXPECT_EQ(lambda::time_left("9223372036854775807", now), milliseconds(900000));
  EXPECT_EQ(lambda::time_left("-9223372036854775808", now), milliseconds(0));
  EXPECT_EQ(lambda::time_left("99999999999999999999999", now), milliseconds(900000));
  EXPECT_EQ(lambda::time_left("", now), milliseconds(900000));
  EXPECT_EQ(lambda::time_left("12abc", now), milliseconds(900000));
}

TEST(HostileShell, ASettingThatIsNotUtf8IsAClearConfigErrorInValidUtf8) {
  auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "REDIS_PORT") return std::string("\xff");
    return std::nullopt;
  };
  try {
    config::resolve({}, env, 0);
    FAIL();
  } catch (const config::ConfigError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("'redis.port' (REDIS_PORT) is '\\xff'"));
    EXPECT_TRUE(core::is_valid_utf8(e.what()));
  }
}

}  // namespace
}  // namespace qrl
