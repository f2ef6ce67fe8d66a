// The table the platform really has: provisioned, so DynamoDB refuses writes faster than its
// write capacity units (WCU) a second. tests/support/aws_standin.py's capacity mode holds a
// token bucket per kind of capacity, as a provisioned table does, between the loader and
// dynalite; each scenario runs in `serve` and in `lambda` (with the small-table settings of the
// CDK app, -c tableWriteCapacity: at most 2 functions at once, each starting at half the
// table's capacity, batches of 10, a 300 s timeout, 100 receives before the dead-letter queue),
// and no quiz may be dead-lettered because the table is slow.
//
// Upstream, deployment/aws/constructs/speed-run-store.ts declares the table
// (BillingMode.PROVISIONED, writeCapacity: 1, readCapacity: 1); speed-run's timers announce a
// quiz once per participant (QuizActor's timeout, fired for everyone).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "capacity/paced_items.h"
#include "core/dynamo_size.h"
#include "core/event.h"
#include "core/keys.h"
#include "core/sample.h"
#include "core/transform.h"
#include "http/client.h"
#include "support/aws_standin.h"
#include "support/capacity.h"
#include "support/expected_item.h"
#include "support/fault_proxy.h"
#include "support/fixtures.h"
#include "support/runtime_api.h"
#include "support/stack_test.h"

namespace qrl::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The value of one sample of the Prometheus text; -1 when it is absent.
double sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

const char* kStaticKey = "test-key:test-secret-do-not-log";
const char* kLambdaKey = "ASIAEXAMPLE:lambda-secret-do-not-log:lambda-token-do-not-log";

std::string dynalite_url() {
  const char* url = std::getenv("QRL_DYNALITE_URL");
  if (url == nullptr) throw std::runtime_error("QRL_DYNALITE_URL is not set: run the tests with scripts/test.sh");
  return url;
}

struct Outcome {
  std::size_t loaded = 0;
  std::size_t dead_letters = 0;
  std::string log;
};

class Capacity : public StackTest {
 protected:
  AwsStandin standin{dynalite_url(), {.keys = {kStaticKey, kLambdaKey}}};
  // Where the loader sends its DynamoDB requests: the stand-in, or a fault proxy before it.
  std::string endpoint = standin.dynamodb_url();

  std::vector<core::SampleQuiz> write(int count, core::SampleShape shape) {
    std::vector<core::SampleQuiz> quizzes;
    const auto seed = std::random_device{}();
    for (int i = 0; i < count; ++i) {
      quizzes.push_back(core::make_sample_quiz(seed, static_cast<std::uint64_t>(i), shape));
      stack.write_sample(quizzes.back());
    }
    return quizzes;
  }

  // The write units the quizzes' items need at least: the capacity-limited ideal is this over
  // the table's rate.
  static double ideal_units(const std::vector<core::SampleQuiz>& quizzes) {
    double units = 0;
    for (const auto& q : quizzes) units += capacity::write_units(core::dynamo::item_size(expected_item(q)));
    return units;
  }

  std::map<std::string, std::string> serve_env() {
    auto env = stack.env();
    env["DYNAMODB_ENDPOINT_URL"] = endpoint;
    return env;
  }

  // `serve` until `quizzes` messages are finished (or `limit` passes), the events published
  // before it starts; `watch` is called while it runs.
  Outcome serve(const std::vector<std::string>& events, std::size_t quizzes, std::chrono::seconds limit,
                const std::map<std::string, std::string>& extra = {}, const std::function<void()>& watch = {}) {
    for (const auto& e : events) stack.publish(e);
    auto env = serve_env();
    for (const auto& [k, v] : extra) env[k] = v;
    auto daemon = start_env(env);
    Outcome out;
    eventually([&] {
      if (watch) watch();
      return finished_in(daemon->stderr_text()) >= quizzes;
    }, limit);
    out.log = stop(*daemon);
    out.loaded = count(out.log, "msg=\"quiz loaded\"");
    out.dead_letters = stack.dlq_depth();
    return out;
  }

  // `lambda` behind a model of the CDK app's SQS event source (deploy/cdk/lib/quiz-result-loader.js)
  // with the small-table settings: at most `functions` functions at once, `batch` records each, a
  // `timeout_s` deadline; a failed record comes back after the visibility timeout (here 1 s) and
  // is dead-lettered on its `max_receives`-th receive.
  Outcome lambda(const std::vector<std::string>& events, std::size_t quizzes, std::chrono::seconds limit,
                 int functions = 2, std::size_t batch = 10, int timeout_s = 300, int max_receives = 100) {
    struct Message {
      std::string body;
      int receives = 0;
      std::chrono::steady_clock::time_point visible;
    };
    std::mutex mutex;
    std::deque<Message> queue;
    for (const auto& e : events) queue.push_back({e, 0, std::chrono::steady_clock::now()});
    std::size_t dead = 0;
    std::atomic<bool> over{false};
    std::vector<std::unique_ptr<RuntimeApi>> apis;
    std::vector<std::unique_ptr<Process>> functions_running;
    for (int f = 0; f < functions; ++f) {
      apis.push_back(std::make_unique<RuntimeApi>());
      auto env = stack.lambda_env(apis.back()->address());
      env["DYNAMODB_ENDPOINT_URL"] = endpoint;
      // As the CDK app sets it: each of `functions` starts at its share of the table.
      env["LOADER_CAPACITY_SHARE_PERCENT"] = std::to_string(100 / functions);
      functions_running.push_back(std::make_unique<Process>(std::vector<std::string>{"lambda"}, env));
    }
    std::vector<std::thread> pollers;
    for (int f = 0; f < functions; ++f) {
      pollers.emplace_back([&, f] {
        while (!over) {
          std::vector<Message> taken;
          {
            std::lock_guard lock(mutex);
            const auto now = std::chrono::steady_clock::now();
            for (auto it = queue.begin(); it != queue.end() && taken.size() < batch;) {
              if (it->visible <= now) {
                taken.push_back(*it);
                it = queue.erase(it);
              } else {
                ++it;
              }
            }
          }
          if (taken.empty()) {
            std::this_thread::sleep_for(50ms);
            continue;
          }
          nlohmann::json event = {{"Records", nlohmann::json::array()}};
          for (std::size_t i = 0; i < taken.size(); ++i) {
            ++taken[i].receives;
            event["Records"].push_back({{"messageId", "m" + std::to_string(i)},
                                        {"body", taken[i].body},
                                        {"attributes", {{"ApproximateReceiveCount", std::to_string(taken[i].receives)}}},
                                        {"eventSource", "aws:sqs"},
                                        {"eventSourceARN", "arn:aws:sqs:us-east-1:123456789012:quiz-complete"}});
          }
          auto& api = *apis[static_cast<std::size_t>(f)];
          auto answer = api.answer(api.invoke(event.dump(), std::chrono::seconds(timeout_s)),
                                   std::chrono::seconds(timeout_s + 10));
          std::set<std::string> failed;
          if (!answer || answer->kind != "response") {
            for (std::size_t i = 0; i < taken.size(); ++i) failed.insert("m" + std::to_string(i));
          } else {
            for (const auto& item : nlohmann::json::parse(answer->body)["batchItemFailures"])
              failed.insert(item["itemIdentifier"].get<std::string>());
          }
          std::lock_guard lock(mutex);
          for (std::size_t i = 0; i < taken.size(); ++i) {
            if (!failed.count("m" + std::to_string(i))) continue;
            if (taken[i].receives >= max_receives) {
              ++dead;
            } else {
              taken[i].visible = std::chrono::steady_clock::now() + 1s;
              queue.push_back(taken[i]);
            }
          }
        }
      });
    }
    Outcome out;
    auto logs = [&] {
      std::string all;
      for (auto& p : functions_running) all += p->stderr_text();
      return all;
    };
    eventually([&] { return finished_in(logs()) >= quizzes; }, limit);
    eventually([&] {
      std::lock_guard lock(mutex);
      return queue.empty();
    }, 30s);
    over = true;
    for (auto& t : pollers) t.join();
    for (auto& p : functions_running) {
      p->signal(SIGTERM);
      p->wait(10s);
    }
    out.log = logs();
    out.loaded = count(out.log, "msg=\"quiz loaded\"");
    out.dead_letters = dead;
    return out;
  }

  // 300 quizzes of 20 x 10 queued, 300 WCU a second: they drain within 1.15 x what the table's
  // capacity allows, with at most 10% of write requests throttled, and none dead-lettered.
  void three_hundred_quizzes(bool in_lambda) {
    standin.set_capacity({{"write", 300}, {"read", 300}});
    auto quizzes = write(300, {20, 10});
    std::vector<std::string> events;
    for (const auto& q : quizzes) events.push_back(old_event(q.id));
    auto out = in_lambda ? lambda(events, quizzes.size(), 180s) : serve(events, quizzes.size(), 180s);
    const auto put = seen(standin.stats(), "PutItem");
    const double ideal = ideal_units(quizzes) / 300;
    const double drain = put.last - put.first;
    std::printf("capacity[%s, 300 x (20 x 10), 300 WCU/s]: drained in %.1f s, ideal %.1f s (%.2fx); %d of %d PutItem "
                "throttled (%.1f%%); %.0f write units used, %.0f needed by the items; %zu loaded, %zu dead-lettered\n",
                in_lambda ? "lambda" : "serve", drain, ideal, drain / ideal, put.throttled, put.requests,
                100.0 * put.throttled / std::max(put.requests, 1), put.units, ideal_units(quizzes), out.loaded,
                out.dead_letters);
    EXPECT_EQ(out.loaded, quizzes.size()) << out.log.substr(out.log.size() > 4000 ? out.log.size() - 4000 : 0);
    EXPECT_EQ(out.dead_letters, 0u);
    EXPECT_LE(drain, 1.15 * ideal);
    EXPECT_LE(put.throttled, put.requests / 10);
    for (const auto& q : quizzes) EXPECT_FALSE(stack.redis_has(core::keys::quiz(q.id, "startTime"))) << q.id;
  }

  // One 2000 x 50 quiz (about 6,500 write units, split into items near 400 KB) into 500 WCU a
  // second: stored whole, with at most 10% of its writes throttled.
  void one_big_quiz(bool in_lambda) {
    standin.set_capacity({{"write", 500}, {"read", 500}});
    auto quizzes = write(1, {2000, 50});
    auto out = in_lambda ? lambda({old_event(quizzes[0].id)}, 1, 180s) : serve({old_event(quizzes[0].id)}, 1, 180s);
    const auto put = seen(standin.stats(), "PutItem");
    std::printf("capacity[%s, 2000 x 50, 500 WCU/s]: %d of %d PutItem throttled, %.0f write units in %.1f s\n",
                in_lambda ? "lambda" : "serve", put.throttled, put.requests, put.units, put.last - put.first);
    EXPECT_EQ(out.loaded, 1u) << out.log;
    EXPECT_EQ(out.dead_letters, 0u);
    EXPECT_LE(put.throttled * 10, put.requests);
    auto shown = run({"show", quizzes[0].id, "--output", "dynamodb"}, stack.env());
    ASSERT_EQ(shown.code, 0) << shown.err;
    EXPECT_TRUE(nlohmann::json::parse(shown.out) == expected_item(quizzes[0]));
  }

  // The platform's own table: 1 WCU and 1 RCU a second, with burst credit (here 15 s of it
  // saved). 20 small quizzes (2 units each) load one by one, none dead-lettered, and the loader says how long
  // the backlog takes to drain.
  void a_one_unit_table(bool in_lambda) {
    standin.set_capacity({{"write", 1}, {"read", 1}, {"burst_s", 300}, {"start_s", 15}});
    auto quizzes = write(20, {4, 4});  // 2 write units each
    std::vector<std::string> events;
    for (const auto& q : quizzes) events.push_back(old_event(q.id));
    // serve: what /readyz and /metrics say while the table holds it back.
    const int port = free_port();
    std::string ready_text;
    bool one_at_a_time = false;
    double consumed = 0, rate = 0;
    auto watch = [&] {
      http::Client client(2000ms);
      http::Request request;
      try {
        request.url = "http://127.0.0.1:" + std::to_string(port) + "/readyz";
        auto ready = client.send(request).body;
        if (ready.find("paced by the table") != std::string::npos) {
          ready_text = ready;
          one_at_a_time = one_at_a_time || ready.find(" 1 of 2 workers in use") != std::string::npos;
        }
        request.url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
        auto text = client.send(request).body;
        consumed = std::max(consumed, sample(text, R"(qrl_dynamodb_capacity_units_total{kind="consumed",operation="PutItem"})"));
        rate = std::max(rate, sample(text, R"(qrl_dynamodb_limiter_rate{capacity="write"})"));
      } catch (const core::Error&) {
      }
    };
    auto out = in_lambda ? lambda(events, quizzes.size(), 240s)
                         : serve(events, quizzes.size(), 240s, {{"LOADER_METRICS_PORT", std::to_string(port)}}, watch);
    if (!in_lambda) {
      EXPECT_THAT(ready_text, HasSubstr("consuming: ok, paced by the table's capacity"));
      EXPECT_GT(consumed, 0);
      EXPECT_GT(rate, 0);
    }
    const auto put = seen(standin.stats(), "PutItem");
    std::printf("capacity[%s, 20 x (4 x 4), 1 WCU/s with burst]: %zu loaded in %.1f s, %d of %d PutItem throttled\n",
                in_lambda ? "lambda" : "serve", out.loaded, put.last - put.first, put.throttled, put.requests);
    EXPECT_EQ(out.loaded, quizzes.size()) << out.log;
    EXPECT_EQ(out.dead_letters, 0u);
    EXPECT_THAT(out.log, HasSubstr("msg=\"writing at the table's pace: its capacity is the bottleneck\""));
    EXPECT_THAT(out.log, HasSubstr("drain_estimate_s="));
    // One by one: the workers' share falls to one quiz at a time (readiness says it as it is; the
    // minute's log line, as it was when the table first held writes back).
    if (!in_lambda) EXPECT_TRUE(one_at_a_time) << ready_text;
  }

  // The same quiz announced 20 times (a timer firing for 20 participants) costs at most one load
  // plus 20 capacity units: a duplicate of a quiz the process loaded is known from memory, and
  // one it does not know reads the item.
  void twenty_announcements(bool in_lambda) {
    standin.set_capacity({{"write", 1000}, {"read", 1000}});
    auto quizzes = write(2, {20, 10});
    auto run_events = [&](const std::vector<std::string>& events, std::size_t loads) {
      return in_lambda ? lambda(events, loads, 60s, 1, 10, 30) : serve(events, loads, 60s, {{"LOADER_SETTLE_MS", "0"}});
    };
    auto units = [&] {
      auto stats = standin.stats();
      return seen(stats, "PutItem").units + seen(stats, "GetItem").units;
    };
    // One load, alone.
    auto once = run_events({old_event(quizzes[0].id)}, 1);
    ASSERT_EQ(once.loaded, 1u) << once.log;
    const double load = units();
    // The other quiz, same shape: announced, loaded, then announced 19 times more.
    auto first = run_events({old_event(quizzes[1].id)}, 1);
    ASSERT_EQ(first.loaded, 1u) << first.log;
    std::vector<std::string> again;
    for (int i = 0; i < 19; ++i) again.push_back(old_event(quizzes[1].id));
    auto rest = run_events(again, 19);
    const double twenty = units() - load;
    std::printf("capacity[%s]: a 20 x 10 quiz announced once costs %.1f units; announced 20 times, %.1f\n",
                in_lambda ? "lambda" : "serve", load, twenty);
    // Found loaded, or (serve) joined to one that was being found loaded: none loaded again.
    EXPECT_EQ(finished_in(rest.log), 19u) << rest.log;
    EXPECT_EQ(count(rest.log, "msg=\"quiz loaded\""), 0u);
    EXPECT_LE(twenty, load + 20);
    EXPECT_EQ(rest.dead_letters, 0u);
  }

  // A table with no capacity limit whose requests fail at random whatever the rate: 30% throttled
  // (ThrottlingException and ProvisionedThroughputExceededException, as an on-demand table's
  // partition split or hot key answers), 10% HTTP 500 and 2% connections reset, with the Redis
  // clients killed twice. Those throttles do not follow the rate, so they are retried rather than
  // paced: all 150 quizzes of 20 x 10 load, none dead-lettered, at a useful rate.
  void random_throttles(bool in_lambda) {
    FaultProxy proxy(standin.dynamodb_url());
    proxy.set_policy(FaultProxy::random_throttles(in_lambda ? 5 : 3));
    endpoint = proxy.url();
    stack.dynamo().ensure_table();
    auto quizzes = write(150, {20, 10});
    std::vector<std::string> events;
    for (const auto& q : quizzes) events.push_back(old_event(q.id));
    std::atomic<bool> done{false};
    int kills = 0;
    std::thread killer([&] {
      for (auto at : {3s, 8s}) {
        const auto until = std::chrono::steady_clock::now() + at;
        while (!done && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(50ms);
        if (done) return;
        stack.redis().command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
        ++kills;
      }
    });
    const auto started = std::chrono::steady_clock::now();
    auto out = in_lambda ? lambda(events, quizzes.size(), 240s) : serve(events, quizzes.size(), 240s);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    done = true;
    killer.join();
    std::printf("capacity[%s, 150 x (20 x 10), no capacity limit, 30%% of requests throttled at random]: %zu finished "
                "in %.1f s (%.1f quizzes/s, start-up included), %zu dead-lettered, %d Redis client kills; faults: %s\n",
                in_lambda ? "lambda" : "serve", finished_in(out.log), took, static_cast<double>(finished_in(out.log)) / took,
                out.dead_letters, kills, proxy.summary().c_str());
    // Loaded, or found loaded by the retry of a write whose answer a reset lost.
    EXPECT_EQ(finished_in(out.log), quizzes.size()) << out.log.substr(out.log.size() > 4000 ? out.log.size() - 4000 : 0);
    EXPECT_THAT(out.log, Not(HasSubstr("quiz rejected")));
    EXPECT_EQ(out.dead_letters, 0u);
    EXPECT_GT(proxy.injected()[Fault::kThrottle] + proxy.injected()[Fault::kProvisioned], 0);
    for (const auto& q : quizzes) EXPECT_TRUE(stack.item(q.id)) << q.id;
    for (const auto& q : quizzes) EXPECT_FALSE(stack.redis_has(core::keys::quiz(q.id, "startTime"))) << q.id;
  }
};

// `check` reports what DescribeTable says of the table's capacity, and warns (without failing)
// when one quiz of max_answers answers would need more than an hour of it.
TEST_F(Capacity, CheckReportsTheTablesCapacityAndWarnsOfAQuizTooBigForIt) {
  standin.set_capacity({{"write", 1}, {"read", 1}});
  stack.dynamo().ensure_table();
  auto env = serve_env();
  auto checked = run({"check"}, env);
  EXPECT_EQ(checked.code, 0) << checked.out << checked.err;
  EXPECT_THAT(checked.out, HasSubstr("ACTIVE, PROVISIONED 1 WCU / 1 RCU"));
  EXPECT_THAT(checked.out, HasSubstr("WARNING"));
  EXPECT_THAT(checked.out, HasSubstr("one quiz of max_answers (2000000) answers"));
  env["LOADER_MAX_ANSWERS"] = "200";  // 20 x 10: 15 units, seconds of the table
  checked = run({"check"}, env);
  EXPECT_EQ(checked.code, 0) << checked.out << checked.err;
  EXPECT_THAT(checked.out, HasSubstr("PROVISIONED 1 WCU / 1 RCU"));
  EXPECT_THAT(checked.out, Not(HasSubstr("WARNING")));
  standin.set_capacity(nullptr);
  checked = run({"check"}, env);
  EXPECT_THAT(checked.out, HasSubstr("ACTIVE, PAY_PER_REQUEST"));
}

TEST_F(Capacity, ThreeHundredQueuedQuizzesDrainAtTheTablesPaceInServe) { three_hundred_quizzes(false); }
TEST_F(Capacity, ThreeHundredQueuedQuizzesDrainAtTheTablesPaceInLambda) { three_hundred_quizzes(true); }
TEST_F(Capacity, ABigQuizLoadsWholeIntoFiveHundredUnitsInServe) { one_big_quiz(false); }
TEST_F(Capacity, ABigQuizLoadsWholeIntoFiveHundredUnitsInLambda) { one_big_quiz(true); }
TEST_F(Capacity, AOneUnitTableLoadsSmallQuizzesOneByOneInServe) { a_one_unit_table(false); }
TEST_F(Capacity, AOneUnitTableLoadsSmallQuizzesOneByOneInLambda) { a_one_unit_table(true); }
TEST_F(Capacity, RandomThrottlesAreRetriedNotPacedToNothingInServe) { random_throttles(false); }
TEST_F(Capacity, RandomThrottlesAreRetriedNotPacedToNothingInLambda) { random_throttles(true); }
TEST_F(Capacity, TwentyAnnouncementsCostOneLoadAndTwentyUnitsInServe) { twenty_announcements(false); }
TEST_F(Capacity, TwentyAnnouncementsCostOneLoadAndTwentyUnitsInLambda) { twenty_announcements(true); }

}  // namespace
}  // namespace qrl::testing
