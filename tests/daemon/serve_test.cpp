// `serve` end to end: events through the real RabbitMQ, quizzes in the real Redis and on disk,
// items in dynalite; each test inspects the final state of all three.

#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include <fstream>

#include "core/event.h"
#include "core/sample.h"
#include "support/stack_test.h"

namespace qrl::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class Serve : public StackTest {};

TEST_F(Serve, TheContractQuizLoadsExactlyAndItsSourcesAreDeleted) {
  auto f = contract_quiz(random_id());
  stack.write(f);
  stack.publish_event(f.quiz_id);
  auto daemon = start();
  ASSERT_TRUE(eventually([&] { return loaded(f.quiz_id) && stack.redis_count(f.keys) == 0; }));
  auto log = stop(*daemon);
  expect_loaded_exactly(f);
  EXPECT_EQ(stack.queue_depth(), 0u);
  EXPECT_THAT(log, HasSubstr("table absent, creating it"));
  EXPECT_THAT(log, HasSubstr("quiz=" + f.quiz_id));
}

TEST_F(Serve, EdgeCasesAndAnEmptyQuizLoadExactly) {
  auto edge = edge_quiz(random_id());
  auto empty = empty_quiz(random_id());
  stack.write(edge);
  stack.write(empty);
  stack.publish_event(edge.quiz_id);
  stack.publish_event(empty.quiz_id);
  auto daemon = start();
  ASSERT_TRUE(eventually([&] {
    return loaded(edge.quiz_id) && loaded(empty.quiz_id) &&
           stack.redis_count(edge.keys) + stack.redis_count(empty.keys) == 0;
  }));
  stop(*daemon);
  expect_loaded_exactly(edge);
  expect_loaded_exactly(empty);
}

TEST_F(Serve, HostileEventsTouchNothingAndTheDaemonCarriesOn) {
  // What the replaced loader would have destroyed: keys with a colon, a file beside the directory.
  stack.redis().command({"SET", "sentinel:a", "1"});
  stack.redis().command({"SET", "x:quizName", "not ours"});
  auto outside = stack.question_dir().parent_path() / "x.json";
  std::ofstream(outside) << "[]";

  auto good = contract_quiz(random_id());
  stack.write(good);
  for (const std::string& id :
       std::vector<std::string>{"*", "../x", "x:quizName", "", std::string(65, 'a'), "a b", "x*"}) {
    stack.publish(core::make_event(random_id(), "t", id));
  }
  stack.publish("not an event");
  stack.publish(R"({"type":"com.ryangwaite.mc-speedrun.quiz.complete.v2","data":{"quizId":")" + good.quiz_id +
                R"("}})");
  stack.publish(R"({"type":"com.ryangwaite.mc-speedrun.quiz.complete.v1","data":{"quizId":7}})");
  stack.publish_event(good.quiz_id);

  auto daemon = start();
  ASSERT_TRUE(eventually([&] { return loaded(good.quiz_id) && stack.redis_count(good.keys) == 0; }));
  auto log = stop(*daemon);

  EXPECT_TRUE(stack.redis_has("sentinel:a"));
  EXPECT_TRUE(stack.redis_has("x:quizName"));
  EXPECT_TRUE(std::filesystem::exists(outside));
  EXPECT_EQ(stack.queue_depth(), 0u) << "rejected messages must not be requeued";
  EXPECT_EQ(count(log, "invalid quiz id '*'"), 1u) << log;
  EXPECT_EQ(count(log, "invalid quiz id '../x'"), 1u) << log;
  EXPECT_EQ(count(log, "unexpected type 'com.ryangwaite.mc-speedrun.quiz.complete.v2'"), 1u) << log;
  EXPECT_EQ(count(log, "body is not JSON"), 1u) << log;
  EXPECT_EQ(count(log, "msg=\"message rejected\""), 10u) << log;
  expect_loaded_exactly(good);
  stack.redis().command({"DEL", "sentinel:a", "x:quizName"});
}

TEST_F(Serve, BadQuizDataIsRejectedOnceNamingTheKeyAndNothingIsDeleted) {
  auto wrong_type = contract_quiz(random_id());
  wrong_type.redis[0] = {"RPUSH", wrong_type.quiz_id + ":quizName", "a", "list"};
  auto out_of_range = contract_quiz(random_id());
  out_of_range.redis[2] = {"RPUSH", out_of_range.quiz_id + ":selectedQuestionIndexes", "3", "4", "12"};
  for (const auto* user : {"2c3ca3d2", "ee14ccb2"}) {
    out_of_range.redis.push_back({"SET", out_of_range.quiz_id + ":" + user + ":answer:12",
                                  R"({"selectedOptionIndexes":[],"answeredInDuration":11})"});
  }
  out_of_range.keys.push_back(out_of_range.quiz_id + ":2c3ca3d2:answer:12");
  out_of_range.keys.push_back(out_of_range.quiz_id + ":ee14ccb2:answer:12");
  // A participant's username is needed (a missing answer instead would make a late joiner).
  auto missing = contract_quiz(random_id());
  const auto missing_key = missing.quiz_id + ":ee14ccb2:username";
  auto good = edge_quiz(random_id());
  for (const auto* f : {&wrong_type, &out_of_range, &missing, &good}) stack.write(*f);
  stack.redis().command({"DEL", missing_key});
  std::erase(missing.keys, missing_key);
  for (const auto* f : {&wrong_type, &out_of_range, &missing, &good}) stack.publish_event(f->quiz_id);

  auto daemon = start();
  ASSERT_TRUE(eventually([&] { return loaded(good.quiz_id) && stack.redis_count(good.keys) == 0; }));
  ASSERT_TRUE(eventually([&] { return count(daemon->stderr_text(), "quiz rejected") == 3; }));
  auto log = stop(*daemon);

  expect_untouched(wrong_type);
  expect_untouched(out_of_range);
  expect_untouched(missing);
  expect_loaded_exactly(good);
  EXPECT_EQ(count(log, "key '" + wrong_type.quiz_id + ":quizName' has the wrong Redis type"), 1u) << log;
  EXPECT_EQ(count(log, "question index 12"), 1u) << log;
  EXPECT_EQ(count(log, "missing key '" + missing_key + "'"), 1u) << log;
  EXPECT_EQ(stack.queue_depth(), 0u);
}

// A member with every answer and no stop time is finishing: retried, never called bad data; if
// its stop time never comes, the quiz is dead-lettered after max_deliveries with that reason,
// and nothing is deleted.
TEST_F(Serve, AQuizStillFinishingIsRetriedAndGivenUpOnlyAfterTheBoundWithThatReason) {
  auto finishing = contract_quiz(random_id());
  auto late = contract_quiz(random_id());
  stack.write(finishing);
  stack.write(late);
  const auto stop_key = finishing.quiz_id + ":ee14ccb2:stopTime";
  stack.redis().command({"DEL", stop_key});
  stack.redis().command({"DEL", late.quiz_id + ":ee14ccb2:stopTime"});
  auto daemon = start({{"LOADER_MAX_DELIVERIES", "2"}, {"LOADER_RETRY_ATTEMPTS", "2"}});
  stack.publish_event(finishing.quiz_id);
  stack.publish_event(late.quiz_id);
  // The stop time comes a moment later for `late`: it loads whole.
  std::this_thread::sleep_for(300ms);
  stack.redis().command({"SET", late.quiz_id + ":ee14ccb2:stopTime", "1643273701"});
  ASSERT_TRUE(eventually([&] { return stack.dlq_depth() == 1 && loaded(late.quiz_id); }, 60s)) << daemon->stderr_text();
  auto log = stop(*daemon);
  expect_loaded_exactly(late);
  auto letters = stack.peek(stack.config().rabbit.dead_letter_queue);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_THAT(letters[0].headers.at("x-failure-reason"), HasSubstr("gave up after 2 deliveries"));
  EXPECT_THAT(letters[0].headers.at("x-failure-reason"), HasSubstr("quiz still finishing"));
  EXPECT_THAT(letters[0].headers.at("x-failure-reason"), HasSubstr(stop_key));
  EXPECT_EQ(stack.redis_count(finishing.keys), finishing.keys.size() - 1);
  EXPECT_TRUE(stack.file_exists(finishing.quiz_id));
  EXPECT_FALSE(loaded(finishing.quiz_id));
}

TEST_F(Serve, TheSameQuizAnnouncedThreeTimesIsLoadedOnceAndEveryMessageAcked) {
  auto f = contract_quiz(random_id());
  stack.write(f);
  for (int i = 0; i < 3; ++i) stack.publish_event(f.quiz_id, "replica-" + std::to_string(i));
  auto daemon = start();
  ASSERT_TRUE(eventually([&] { return finished({daemon.get()}) == 3; })) << daemon->stderr_text();
  auto log = stop(*daemon);
  EXPECT_EQ(count(log, "msg=\"quiz loaded\""), 1u) << log;
  expect_loaded_exactly(f);
  EXPECT_THAT(log, Not(HasSubstr("rejected")));
  EXPECT_EQ(stack.queue_depth(), 0u);
}

TEST_F(Serve, AStopUnderLoadLosesNothing) {
  constexpr int kQuizzes = 60;
  std::vector<core::SampleQuiz> quizzes;
  for (int n = 0; n < kQuizzes; ++n) {
    quizzes.push_back(core::make_sample_quiz(static_cast<std::uint64_t>(::getpid()) * 7919u,
                                             static_cast<std::uint64_t>(n), {20, 10}));
    stack.write_sample(quizzes.back());
    stack.publish_event(quizzes.back().id);
  }
  auto all_loaded = [&] {
    int done = 0;
    for (const auto& q : quizzes) done += stack.redis_has(q.id + ":quizName") ? 0 : 1;
    return done;
  };
  auto daemon = start();
  ASSERT_TRUE(eventually([&] { return all_loaded() >= 5; }));
  auto log = stop(*daemon);
  EXPECT_THAT(log, HasSubstr("stop requested: draining"));
  EXPECT_THAT(log, HasSubstr("msg=stopped"));

  // Every quiz is either entirely loaded (item, no sources) or entirely waiting (sources, and
  // its message back in the queue).
  int loaded_count = 0;
  for (const auto& q : quizzes) {
    bool has_item = loaded(q.id);
    bool has_sources = stack.redis_has(q.id + ":quizName");
    EXPECT_NE(has_item, has_sources) << q.id;
    EXPECT_EQ(stack.file_exists(q.id), has_sources) << q.id;
    loaded_count += has_item ? 1 : 0;
  }
  EXPECT_LT(loaded_count, kQuizzes) << "the stop came too late to test anything";
  EXPECT_EQ(stack.queue_depth(), static_cast<std::uint32_t>(kQuizzes - loaded_count));

  auto again = start();
  ASSERT_TRUE(eventually([&] { return all_loaded() == kQuizzes; }, 60s));
  stop(*again);
  for (const auto& q : quizzes) EXPECT_TRUE(loaded(q.id)) << q.id;
  EXPECT_EQ(stack.queue_depth(), 0u);
}

TEST_F(Serve, UnreachableServersGiveOneClearErrorAndANonZeroExit) {
  struct Case {
    const char* variable;
    const char* value;
    const char* expect;
  };
  for (const auto& c :
       {Case{"REDIS_PORT", "1", "redis 127.0.0.1:1: cannot connect"},
        Case{"RABBITMQ_PORT", "1", "rabbitmq 127.0.0.1:1: cannot connect"},
        Case{"DYNAMODB_ENDPOINT_URL", "http://127.0.0.1:1", "HTTP POST to http://127.0.0.1:1/ failed"}}) {
    auto env = stack.env();
    env[c.variable] = c.value;
    auto result = run({"serve"}, env, 60s);
    EXPECT_EQ(result.code, 1) << c.variable;
    EXPECT_EQ(count(result.err, "msg=\"cannot start\""), 1u) << result.err;
    EXPECT_THAT(result.err, HasSubstr(c.expect));
  }
}

TEST_F(Serve, AMissingSettingIsNamedAndSecretsNeverReachTheLog) {
  auto env = stack.env();
  env.erase("RABBITMQ_HOST");
  auto result = run({"serve"}, env);
  EXPECT_EQ(result.code, 2);
  EXPECT_THAT(result.err, HasSubstr("config item 'rabbit-mq.host' was not set"));

  env = stack.env();
  env["RABBITMQ_PASSWORD"] = "wrong-password-a1b2c3";
  result = run({"serve"}, env);
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.err, HasSubstr("login refused for user 'guest'"));
  // A session token the keys do not have: the verifier refuses it, as AWS would.
  env = stack.env();
  env["DYNAMODB_SESSION_TOKEN"] = "session-token-d4e5f6";
  auto rejected = run({"serve"}, env);
  EXPECT_EQ(rejected.code, 1);
  EXPECT_THAT(rejected.err, HasSubstr("UnrecognizedClientException"));
  for (const auto* secret : {"wrong-password-a1b2c3", "session-token-d4e5f6", "test-secret-do-not-log"}) {
    EXPECT_THAT(result.err + rejected.err, Not(HasSubstr(secret)));
  }

  auto f = contract_quiz(random_id());
  stack.write(f);
  stack.publish_event(f.quiz_id);
  auto daemon = start({{"LOADER_LOG_LEVEL", "debug"}});
  ASSERT_TRUE(eventually([&] { return loaded(f.quiz_id); }));
  auto log = stop(*daemon);
  for (const auto* secret : {"guest\"", "=guest ", "test-secret-do-not-log"})
    EXPECT_THAT(log, Not(HasSubstr(secret)));
}

TEST_F(Serve, LogsCanBeJson) {
  auto f = empty_quiz(random_id());
  stack.write(f);
  stack.publish_event(f.quiz_id, "ev-json");
  auto daemon = start({{"LOADER_LOG_FORMAT", "json"}});
  ASSERT_TRUE(eventually([&] { return loaded(f.quiz_id); }));
  daemon->signal(SIGTERM);
  ASSERT_EQ(daemon->wait(30s), std::optional<int>(0));
  std::istringstream lines(daemon->stderr_text());
  std::string line;
  bool found = false;
  while (std::getline(lines, line)) {
    auto json = nlohmann::json::parse(line);  // every line is one JSON object
    if (json.value("msg", "") == "quiz loaded") {
      found = true;
      EXPECT_EQ(json["quiz"], f.quiz_id);
      EXPECT_EQ(json["event"], "ev-json");
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace qrl::testing
