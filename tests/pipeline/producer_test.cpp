// The loader beside a model of the live quiz server (support/producer.h): quizzes played the way
// the platform's speed-run plays them (handlers racing on a connection pool, simultaneous
// timeouts, a straggler, stalls of up to 150 ms, a resend and a join after the end, one event
// per handler that sees the quiz finished, each followed by every replica's summary read), in
// `serve` and in `lambda`, then `sweep`.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "core/event.h"
#include "core/transform.h"
#include "support/producer.h"
#include "support/runtime_api.h"
#include "support/stack_test.h"

namespace qrl::testing {
namespace {

using ::testing::HasSubstr;

std::string fresh_event(const std::string& quiz_id) {
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return core::make_event(random_id(), core::rfc3339_utc(now), quiz_id);
}

class Beside : public StackTest {
 protected:
  // A Redis database of the test's own: the sweep walks the whole of it, and should meet
  // neither other tests' quizzes nor they it.
  Beside() {
    auto redis = stack.config().redis;
    redis.db = 1 + static_cast<int>(std::random_device{}() % 15);
    stack.use_redis(redis);
    stack.redis().command({"FLUSHDB"});
  }

  ProducerOptions options(int quizzes) {
    ProducerOptions o;
    o.quizzes = quizzes;
    o.question_dir = stack.question_dir();
    o.seed = std::random_device{}();
    return o;
  }

  // Every key of the quiz still in Redis (SCAN MATCH, as an operator would look).
  std::vector<std::string> keys_of(const std::string& quiz_id) {
    std::vector<std::string> keys;
    std::string cursor = "0";
    do {
      auto reply = stack.redis().command({"SCAN", cursor, "MATCH", quiz_id + ":*", "COUNT", "1000"});
      cursor.assign(reply->element[0]->str, reply->element[0]->len);
      for (std::size_t i = 0; i < reply->element[1]->elements; ++i)
        keys.emplace_back(reply->element[1]->element[i]->str, reply->element[1]->element[i]->len);
    } while (cursor != "0");
    return keys;
  }

  // The item holds exactly the quiz's participants with the scores the server wrote last, and
  // not the late joiners.
  void expect_final(const PlayedQuiz& quiz, const std::string& item_id) {
    auto item = stack.item(item_id);
    ASSERT_TRUE(item) << item_id;
    std::map<std::string, std::int64_t> stored;
    for (const auto& p : (*item)["Participants"]["L"]) {
      stored[p["M"]["UserId"]["S"].get<std::string>()] = std::stoll(p["M"]["Score"]["N"].get<std::string>());
    }
    EXPECT_EQ(stored, quiz.scores) << item_id;
    for (const auto& late : quiz.late_joiners) EXPECT_FALSE(stored.count(late)) << late;
    for (const auto& question : (*item)["Questions"]["L"])
      EXPECT_EQ(question["M"]["ParticipantAnswers"]["L"].size(), quiz.participants.size()) << item_id;
  }

  // Counts for the closing figures: printed, for before-and-after comparisons.
  void report(const std::string& mode, const std::vector<PlayedQuiz>& played, std::size_t dead_letters) {
    std::size_t events = 0, summaries = 0, failed = 0, quizzes_failing = 0, stored = 0, exact = 0;
    for (const auto& q : played) {
      if (auto item = stack.item(q.id)) {
        ++stored;
        std::map<std::string, std::int64_t> scores;
        for (const auto& p : (*item)["Participants"]["L"])
          scores[p["M"]["UserId"]["S"].get<std::string>()] = std::stoll(p["M"]["Score"]["N"].get<std::string>());
        exact += scores == q.scores ? 1 : 0;
      }
      events += static_cast<std::size_t>(q.events);
      summaries += static_cast<std::size_t>(q.summaries);
      failed += q.summary_failures.size();
      quizzes_failing += q.summary_failures.empty() ? 0 : 1;
    }
    std::printf(
        "[%s] %zu quizzes, %zu events sent, %zu summary reads, %zu failed (in %zu quizzes), %zu dead letters, "
        "%zu stored, %zu with their final scores\n",
        mode.c_str(), played.size(), events, summaries, failed, quizzes_failing, dead_letters, stored, exact);
  }

  // `sweep`, then nothing of any played quiz is left.
  void sweep_and_expect_nothing_left(const std::vector<PlayedQuiz>& played) {
    // The suite's Redis also holds other tests' broken quizzes, which the sweep reports failed:
    // only ours are judged here.
    auto swept = run({"sweep", "--min-age-s", "0", "--pace-ms", "0"}, stack.env());
    EXPECT_THAT(swept.out, HasSubstr("sweep done")) << swept.err;
    for (const auto& q : played) {
      EXPECT_THAT(swept.out, ::testing::Not(HasSubstr(q.id + "\tfailed"))) << swept.out;
      EXPECT_THAT(keys_of(q.id), ::testing::IsEmpty()) << q.id << "\n" << swept.out;
      EXPECT_FALSE(stack.file_exists(q.id)) << q.id;
    }
  }
};

TEST_F(Beside, ServeLoadsEveryQuizOnceWithItsFinalScoresAndEverySummaryReadSucceeds) {
  auto daemon = start({{"LOADER_WORKERS", "2"}});  // the default settle window, 5 s
  auto o = options(30);
  o.announce = [&](const std::string& quiz_id) { stack.publish(fresh_event(quiz_id)); };
  auto played = Producer(stack.config().redis, o).play();
  ASSERT_EQ(played.size(), 30u);
  const bool all_loaded = eventually(
      [&] {
        for (const auto& q : played) {
          if (!loaded(q.id) || stack.file_exists(q.id)) return false;
        }
        return stack.queue_depth() == 0 && stack.retry_depth() == 0;
      },
      90s);
  report("serve, settle 5000 ms", played, stack.dlq_depth());
  ASSERT_TRUE(all_loaded) << daemon->stderr_text();
  auto log = stop(*daemon);
  int events = 0;
  for (const auto& q : played) {
    EXPECT_THAT(q.summary_failures, ::testing::IsEmpty()) << q.id;
    EXPECT_GE(q.events, 1) << q.id;
    events += q.events;
    expect_final(q, q.id);
    // Loaded exactly once: every other event for it coalesced or found it loaded.
    EXPECT_EQ(count(log, "msg=\"quiz loaded\" quiz=" + q.id), 1u) << q.id;
  }
  EXPECT_EQ(stack.dlq_depth(), 0u);
  EXPECT_EQ(stack.retry_depth(), 0u);
  // Most events of a quiz join its load (a timer ending it for everyone announces it many times).
  EXPECT_GT(events, 30);
  EXPECT_THAT(log, HasSubstr("late joiners left out"));
  sweep_and_expect_nothing_left(played);
}

// SQS with the CDK app's delivery delay (5 s) before Lambda: the model's events reach the
// function in batches of up to 10, each record its own message group (as the server's SqsNotifier
// sends them).
TEST_F(Beside, LambdaLoadsEveryQuizOnceWithItsFinalScoresAndEverySummaryReadSucceeds) {
  RuntimeApi api;
  auto env = stack.lambda_env(api.address());
  auto lambda = std::make_unique<Process>(std::vector<std::string>{"lambda"}, env);
  ASSERT_TRUE(eventually([&] { return api.next_calls() > 0 || !lambda->running(); })) << lambda->stderr_text();

  std::mutex mutex;
  std::condition_variable sent;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> queue;
  bool done = false;
  std::vector<std::string> failed;
  std::size_t records = 0;
  std::thread sqs([&] {
    for (;;) {
      std::vector<std::string> batch;
      {
        std::unique_lock lock(mutex);
        sent.wait_for(lock, 100ms);
        const auto now = std::chrono::steady_clock::now();
        while (!queue.empty() && queue.front().first + 5s <= now && batch.size() < 10) {
          batch.push_back(queue.front().second);
          queue.pop_front();
        }
        if (batch.empty() && done && queue.empty()) return;
      }
      if (batch.empty()) continue;
      nlohmann::json event = {{"Records", nlohmann::json::array()}};
      for (const auto& body : batch) {
        event["Records"].push_back({{"messageId", random_id()},
                                    {"body", body},
                                    {"attributes", {{"MessageGroupId", random_id()}}},
                                    {"eventSource", "aws:sqs"},
                                    {"eventSourceARN", "arn:aws:sqs:us-east-1:123456789012:quiz-complete.fifo"}});
      }
      auto id = api.invoke(event.dump(), 30s);
      auto answer = api.answer(id, 40s);
      std::lock_guard lock(mutex);
      records += batch.size();
      if (!answer || answer->kind != "response") {
        failed.push_back(answer ? answer->body : "no answer");
        continue;
      }
      const auto response = nlohmann::json::parse(answer->body);
      for (const auto& f : response["batchItemFailures"]) failed.push_back(f.dump());
    }
  });
  auto o = options(30);
  o.announce = [&](const std::string& quiz_id) {
    std::lock_guard lock(mutex);
    queue.emplace_back(std::chrono::steady_clock::now(), fresh_event(quiz_id));
    sent.notify_one();
  };
  auto played = Producer(stack.config().redis, o).play();
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  sqs.join();
  lambda->signal(SIGTERM);
  lambda->wait(10s);
  report("lambda, 5 s delivery delay", played, failed.size());
  EXPECT_THAT(failed, ::testing::IsEmpty()) << lambda->stderr_text();
  const auto log = lambda->stderr_text();
  std::size_t events = 0;
  for (const auto& q : played) {
    EXPECT_THAT(q.summary_failures, ::testing::IsEmpty()) << q.id;
    events += static_cast<std::size_t>(q.events);
    expect_final(q, q.id);
  }
  EXPECT_EQ(count(log, "msg=\"quiz loaded\""), 30u) << log;
  EXPECT_EQ(records, events);
  sweep_and_expect_nothing_left(played);
}

// A quiz id is 8 random characters; once a quiz is loaded and gone, a new quiz may get its id.
TEST_F(Beside, AReusedIdKeepsBothQuizzes) {
  auto daemon = start();
  auto o = options(1);
  o.ids = {{0, "0ddba11"}};
  o.announce = [&](const std::string& quiz_id) { stack.publish(fresh_event(quiz_id)); };
  auto first = Producer(stack.config().redis, o).play();
  ASSERT_TRUE(eventually([&] { return loaded("0ddba11") && !stack.file_exists("0ddba11"); }, 60s));
  ASSERT_TRUE(eventually([&] { return keys_of("0ddba11").empty(); }, 30s));
  std::this_thread::sleep_for(1100ms);  // another start second
  o.seed += 1;
  auto second = Producer(stack.config().redis, o).play();
  ASSERT_NE(first[0].start_epoch, second[0].start_epoch);
  const auto beside = "0ddba11@" + second[0].start_epoch;
  ASSERT_TRUE(eventually([&] { return loaded(beside) && !stack.file_exists("0ddba11"); }, 60s)) << daemon->stderr_text();
  auto log = stop(*daemon);
  expect_final(first[0], "0ddba11");
  expect_final(second[0], beside);
  EXPECT_EQ((*stack.item("0ddba11"))["StartTime"]["S"], core::rfc3339_utc(std::stoll(first[0].start_epoch)));
  EXPECT_THAT(log, HasSubstr("quiz id reused"));
  auto listed = run({"list", "0ddba11", "--output", "tsv"}, stack.env());
  EXPECT_EQ(listed.code, 0);
  EXPECT_THAT(listed.out, HasSubstr("0ddba11\t"));
  EXPECT_THAT(listed.out, HasSubstr(beside + "\t"));
  auto shown = run({"show", beside, "--output", "dynamodb"}, stack.env());
  EXPECT_EQ(shown.code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr(second[0].participants.front()));
  sweep_and_expect_nothing_left(second);
}

// The server's publish failed (logged and dropped): no event ever comes. The sweep finds it.
TEST_F(Beside, AQuizWhoseEventWasNeverSentIsLoadedBySweep) {
  auto daemon = start();
  auto o = options(3);
  o.silent = {1};
  o.announce = [&](const std::string& quiz_id) { stack.publish(fresh_event(quiz_id)); };
  auto played = Producer(stack.config().redis, o).play();
  EXPECT_EQ(played[1].events, 0);
  ASSERT_TRUE(eventually([&] { return loaded(played[0].id) && loaded(played[2].id) && stack.queue_depth() == 0; },
                         60s));
  stop(*daemon);
  EXPECT_FALSE(loaded(played[1].id));
  // Stopped moments ago: by default (600 s) its event may still come, so it waits.
  auto waiting = run({"sweep"}, stack.env());
  EXPECT_THAT(waiting.out, HasSubstr(played[1].id + "\twaiting"));
  // The plan for an older one, then the load.
  auto plan = run({"sweep", "--dry-run", "--min-age-s", "0"}, stack.env());
  EXPECT_THAT(plan.out, HasSubstr(played[1].id + "\tloaded"));
  EXPECT_THAT(plan.out, HasSubstr("dry run: nothing changed"));
  EXPECT_FALSE(loaded(played[1].id));
  EXPECT_FALSE(keys_of(played[1].id).empty());
  sweep_and_expect_nothing_left(played);
  expect_final(played[1], played[1].id);
}

// The same, found by serve's own sweep (sweep_interval_s), and by Lambda on an EventBridge schedule.
TEST_F(Beside, AQuizWhoseEventWasNeverSentIsLoadedByServesPeriodicSweep) {
  auto daemon = start({{"LOADER_SWEEP_INTERVAL_S", "2"}, {"LOADER_SWEEP_MIN_AGE_S", "1"}});
  auto o = options(2);
  o.silent = {1};  // the quiz someone joins after the end
  o.announce = [&](const std::string& quiz_id) { stack.publish(fresh_event(quiz_id)); };
  auto played = Producer(stack.config().redis, o).play();
  const auto& lost = played[1];
  ASSERT_EQ(lost.events, 0);
  ASSERT_TRUE(eventually([&] { return loaded(lost.id) && loaded(played[0].id); }, 60s)) << daemon->stderr_text();
  ASSERT_TRUE(eventually([&] { return keys_of(lost.id).empty() && !stack.file_exists(lost.id); }, 30s))
      << daemon->stderr_text();
  auto log = stop(*daemon);
  EXPECT_THAT(log, HasSubstr("msg=\"sweep done\""));
  EXPECT_THAT(log, HasSubstr("verdict=loaded"));
  expect_final(lost, lost.id);
}

TEST_F(Beside, AQuizWhoseEventWasNeverSentIsLoadedByLambdaOnASchedule) {
  auto o = options(1);
  o.silent = {0};
  o.announce = [](const std::string&) {};
  auto played = Producer(stack.config().redis, o).play();
  RuntimeApi api;
  auto env = stack.lambda_env(api.address());
  env["LOADER_SWEEP_MIN_AGE_S"] = "0";
  Process lambda({"lambda"}, env);
  const auto scheduled = R"({"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event",)"
                         R"("source":"aws.events","account":"123456789012","time":"2026-11-29T12:00:00Z",)"
                         R"("region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/sweep"],"detail":{}})";
  auto answer = api.answer(api.invoke(scheduled, 60s), 60s);
  ASSERT_TRUE(answer) << lambda.stderr_text();
  EXPECT_EQ(answer->kind, "response") << answer->body;
  EXPECT_GE(nlohmann::json::parse(answer->body)["loaded"].get<int>(), 1) << answer->body;
  lambda.signal(SIGTERM);
  lambda.wait(10s);
  expect_final(played[0], played[0].id);
  EXPECT_TRUE(keys_of(played[0].id).empty());
  EXPECT_FALSE(stack.file_exists(played[0].id));
}

// Waiting events hold no worker: with 2 workers and a 4 s window, all 40 fresh events are
// taken from the queue at once (the prefetch grows), and load once their window has passed.
TEST_F(Beside, TheSettleWindowHoldsEveryWaitingEventUnackedWithoutStarvingTheWorkers) {
  std::vector<Fixture> quizzes;
  for (int i = 0; i < 40; ++i) {
    quizzes.push_back(contract_quiz(random_id()));
    stack.write(quizzes.back());
  }
  auto daemon = start({{"LOADER_WORKERS", "2"}, {"LOADER_SETTLE_MS", "4000"}});
  const auto published = std::chrono::steady_clock::now();
  for (const auto& f : quizzes) stack.publish(fresh_event(f.quiz_id));
  ASSERT_TRUE(eventually([&] { return stack.queue_depth() == 0; }, 10s));
  // All 40 delivered, held unacked in the window, none read yet.
  if (std::chrono::steady_clock::now() - published < 3s) {
    for (const auto& f : quizzes) EXPECT_FALSE(loaded(f.quiz_id)) << f.quiz_id;
  }
  ASSERT_TRUE(eventually(
      [&] {
        return std::all_of(quizzes.begin(), quizzes.end(), [&](const Fixture& f) { return loaded(f.quiz_id); });
      },
      60s));
  EXPECT_GE(std::chrono::steady_clock::now() - published, 3s);
  stop(*daemon);
  for (const auto& f : quizzes) expect_loaded_exactly(f);
}

}  // namespace
}  // namespace qrl::testing
