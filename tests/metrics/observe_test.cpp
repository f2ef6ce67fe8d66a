// What operators watch: `serve`'s /metrics, /healthz and /readyz, and Lambda's Embedded Metric
// Format lines, moving as quizzes load and as faults are injected into the real servers.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <thread>

#include "core/event.h"
#include "http/client.h"
#include "support/amqp_relay.h"
#include "support/fault_proxy.h"
#include "support/runtime_api.h"
#include "support/stack_test.h"

namespace qrl::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// GET on loopback: status and body; status 0 when nothing answers.
std::pair<long, std::string> get(int port, const std::string& path) {
  try {
    http::Client client(5000ms);
    http::Request request;
    request.url = "http://127.0.0.1:" + std::to_string(port) + path;
    auto response = client.send(request);
    return {response.status, response.body};
  } catch (const core::Error&) {
    return {0, ""};
  }
}

// The value of one sample of the Prometheus text, e.g. `qrl_quizzes_total{outcome="loaded"}`;
// -1 when it is absent.
double sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

class Observe : public StackTest {
 protected:
  int port = free_port();

  std::map<std::string, std::string> env_with_port() {
    auto env = stack.env();
    env["LOADER_METRICS_PORT"] = std::to_string(port);
    return env;
  }
  std::string metrics() { return get(port, "/metrics").second; }
  double value(const std::string& series) { return sample(metrics(), series); }
};

TEST_F(Observe, MetricsMoveAsQuizzesLoadAndAsFaultsAreInjected) {
  FaultProxy proxy(stack.config().dynamo.endpoint_url);
  auto env = env_with_port();
  env["DYNAMODB_ENDPOINT_URL"] = proxy.url();
  env["LOADER_RETRY_ATTEMPTS"] = "5";
  auto daemon = start_env(env);
  // Every series is there from the start, at zero.
  EXPECT_EQ(value(R"(qrl_quizzes_total{outcome="loaded"})"), 0);
  EXPECT_EQ(value(R"(qrl_quizzes_total{outcome="dead_lettered"})"), 0);
  EXPECT_EQ(value("qrl_messages_in_flight"), 0);

  std::vector<Fixture> quizzes;
  for (int i = 0; i < 3; ++i) {
    quizzes.push_back(contract_quiz(random_id()));
    stack.write(quizzes.back());
    stack.publish_event(quizzes.back().quiz_id);
  }
  ASSERT_TRUE(eventually([&] { return value(R"(qrl_quizzes_total{outcome="loaded"})") == 3; }, 60s))
      << metrics();
  auto text = metrics();
  // Each quiz's item, in one request, and nothing read before it.
  EXPECT_EQ(sample(text, R"(qrl_dynamodb_requests_total{operation="PutItem",outcome="ok"})"), 3);
  EXPECT_LE(sample(text, R"(qrl_dynamodb_requests_total{operation="GetItem",outcome="ok"})"), 0);
  EXPECT_EQ(sample(text, "qrl_item_size_bytes_count"), 3);
  EXPECT_GT(sample(text, "qrl_item_size_bytes_sum"), 3 * 1000);
  for (const char* stage : {"read", "build", "write", "delete"}) {
    EXPECT_EQ(sample(text, std::string("qrl_stage_duration_seconds_count{stage=\"") + stage + "\"}"), 3)
        << stage;
  }
  EXPECT_EQ(sample(text, "qrl_quiz_duration_seconds_count"), 3);
  EXPECT_GE(sample(text, "qrl_redis_round_trips_total"), 6);  // two per quiz at least
  const double last = sample(text, "qrl_last_success_timestamp_seconds");
  EXPECT_NEAR(last, static_cast<double>(std::time(nullptr)), 120);

  // Throttling on the next writes: counted, retried, loaded.
  std::atomic<int> throttles{2};
  proxy.set_policy([&](const std::string& operation, const std::string&) {
    return operation == "PutItem" && throttles.fetch_sub(1) > 0 ? Fault::kThrottle : Fault::kNone;
  });
  auto throttled = contract_quiz(random_id());
  stack.write(throttled);
  stack.publish_event(throttled.quiz_id);
  // A poison message, and a quiz already loaded announced again.
  stack.publish(core::make_event(random_id(), "2022-03-12T07:49:21Z", "../etc"));
  stack.publish_event(quizzes.front().quiz_id);
  ASSERT_TRUE(eventually(
      [&] {
        auto t = metrics();
        return sample(t, R"(qrl_quizzes_total{outcome="loaded"})") == 4 &&
               sample(t, R"(qrl_quizzes_total{outcome="dead_lettered"})") == 1 &&
               sample(t, R"(qrl_quizzes_total{outcome="already_loaded"})") == 1;
      },
      60s))
      << metrics();
  EXPECT_EQ(value(R"(qrl_dynamodb_requests_total{operation="PutItem",outcome="throttled"})"), 2);

  // Connections cut: counted as reconnects.
  stack.redis().command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  ASSERT_EQ(stack.rabbitmqctl("close_all_connections test"), 0);
  auto after_cuts = contract_quiz(random_id());
  stack.write(after_cuts);
  stack.publish_event(after_cuts.quiz_id);
  ASSERT_TRUE(eventually([&] { return value(R"(qrl_quizzes_total{outcome="loaded"})") == 5; }, 60s))
      << metrics();
  text = metrics();
  EXPECT_GE(sample(text, R"(qrl_reconnects_total{server="redis"})"), 1);
  EXPECT_GE(sample(text, R"(qrl_reconnects_total{server="rabbitmq"})"), 1);
  // A quiz is counted when its worker finishes; it leaves the in-flight gauge once acked.
  EXPECT_TRUE(eventually([&] { return value("qrl_messages_in_flight") == 0; }, 10s)) << metrics();
  stop(*daemon);
  expect_loaded_exactly(throttled);
  expect_loaded_exactly(after_cuts);
}

TEST_F(Observe, ReadinessFollowsTheServersAndComesBackByItself) {
  RedisServer redis;
  config::Redis settings = stack.config().redis;
  settings.port = redis.port();
  stack.use_redis(settings);
  FaultProxy proxy(stack.config().dynamo.endpoint_url);
  auto env = env_with_port();
  env["DYNAMODB_ENDPOINT_URL"] = proxy.url();
  auto daemon = start_env(env);
  auto ready = [&] { return get(port, "/readyz"); };
  ASSERT_TRUE(eventually([&] { return ready().first == 200; }, 20s)) << ready().second;
  EXPECT_EQ(get(port, "/healthz").first, 200);

  // Redis refusing the loader: not ready, saying why; ready again once the password is gone.
  stack.redis().command({"CONFIG", "SET", "requirepass", "rotated-secret-do-not-log"});
  stack.redis().command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  // The probe's connection was cut first ("lost connection"); its next login is refused.
  ASSERT_TRUE(eventually(
      [&] {
        auto [status, body] = ready();
        return status == 503 && body.find("NOAUTH") != std::string::npos;
      },
      20s))
      << ready().second;
  EXPECT_THAT(ready().second, HasSubstr("redis: "));
  EXPECT_EQ(get(port, "/healthz").first, 200) << "alive, though not ready";
  stack.redis().command({"AUTH", "rotated-secret-do-not-log"});
  stack.redis().command({"CONFIG", "SET", "requirepass", ""});
  ASSERT_TRUE(eventually([&] { return ready().first == 200; }, 20s)) << ready().second;

  // DynamoDB failing: not ready; healed: ready.
  proxy.set_policy([](const std::string&, const std::string&) { return Fault::kServerError; });
  ASSERT_TRUE(eventually([&] { return ready().first == 503; }, 20s));
  EXPECT_THAT(ready().second, HasSubstr("dynamodb: "));
  proxy.set_policy([](const std::string&, const std::string&) { return Fault::kNone; });
  ASSERT_TRUE(eventually([&] { return ready().first == 200; }, 20s)) << ready().second;

  auto log = stop(*daemon);
  EXPECT_THAT(log, HasSubstr("not ready"));
  EXPECT_THAT(log, HasSubstr("ready again"));
  EXPECT_THAT(log, Not(HasSubstr("rotated-secret-do-not-log")));
  EXPECT_EQ(get(port, "/healthz").first, 0) << "gone with the process";
}

TEST_F(Observe, APausedDaemonIsAliveButNotReady) {
  auto env = env_with_port();
  auto daemon = start_env(env);
  ASSERT_TRUE(eventually([&] { return get(port, "/readyz").first == 200; }, 20s));
  // A password on the shared Redis (restored whatever happens): the next quiz pauses the daemon.
  struct Restore {
    Stack& stack;
    ~Restore() { stack.redis().command({"CONFIG", "SET", "requirepass", ""}); }
  } restore{stack};
  auto f = contract_quiz(random_id());
  stack.write(f);
  stack.redis().command({"CONFIG", "SET", "requirepass", "paused-secret-do-not-log"});
  stack.redis().command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  stack.publish_event(f.quiz_id);
  // Ask while the daemon is paused: it has logged more pauses than resumes, and no resume came
  // while we asked (a pause lasts 1 s, then it tries again; the log is read a moment later so a
  // resume logged before the answer has reached us).
  std::pair<int, std::string> seen;
  ASSERT_TRUE(eventually(
      [&] {
        const auto before = daemon->stderr_text();
        const auto resumes = count(before, "consumption resumed");
        if (count(before, "consumption paused") <= resumes) return false;
        seen = get(port, "/readyz");
        std::this_thread::sleep_for(200ms);
        return count(daemon->stderr_text(), "consumption resumed") == resumes;
      },
      30s));
  auto [status, body] = seen;
  EXPECT_EQ(status, 503);
  EXPECT_THAT(body, HasSubstr("consuming: paused"));
  EXPECT_EQ(get(port, "/healthz").first, 200);
  EXPECT_GE(sample(get(port, "/metrics").second, R"(qrl_quizzes_total{outcome="paused"})"), 1);
  stack.redis().command({"AUTH", "paused-secret-do-not-log"});
  stack.redis().command({"CONFIG", "SET", "requirepass", ""});
  ASSERT_TRUE(eventually([&] { return loaded(f.quiz_id); }, 60s)) << daemon->stderr_text();
  ASSERT_TRUE(eventually([&] { return get(port, "/readyz").first == 200; }, 20s));
  stop(*daemon);
}

TEST_F(Observe, APortInUseIsACannotStart) {
  auto env = env_with_port();
  auto first = start_env(env);
  auto second = run({"serve"}, env, 60s);
  EXPECT_EQ(second.code, 1);
  EXPECT_THAT(second.err, HasSubstr("cannot start"));
  EXPECT_THAT(second.err, HasSubstr("cannot serve metrics and health on port " + std::to_string(port)));
  stop(*first);
}

TEST_F(Observe, LambdaWritesOneEmbeddedMetricLinePerInvocation) {
  RuntimeApi api;
  auto env = stack.lambda_env(api.address());
  env["AWS_LAMBDA_FUNCTION_NAME"] = "quiz-loader-test";
  Process lambda({"lambda"}, env);
  auto good = contract_quiz(random_id());
  stack.write(good);
  auto record = [](const std::string& id, const std::string& body) {
    return nlohmann::json{{"messageId", id},
                          {"receiptHandle", "h-" + id},
                          {"body", body},
                          {"attributes", {{"ApproximateReceiveCount", "1"}}},
                          {"messageAttributes", nlohmann::json::object()},
                          {"eventSource", "aws:sqs"},
                          {"eventSourceARN", "arn:aws:sqs:us-east-1:123456789012:quiz-complete"},
                          {"awsRegion", "us-east-1"}};
  };
  auto first = api.invoke(
      nlohmann::json{{"Records",
                      {record("m-good", core::make_event(random_id(), "2022-03-12T07:49:21Z", good.quiz_id)),
                       record("m-bad", "not an event")}}}
          .dump());
  ASSERT_TRUE(api.answer(first, 60s)) << lambda.stderr_text();
  auto second = api.invoke(nlohmann::json{
      {"Records", {record("m-again", core::make_event(random_id(), "2022-03-12T07:49:21Z", good.quiz_id))}}}
                               .dump());
  ASSERT_TRUE(api.answer(second, 60s)) << lambda.stderr_text();
  lambda.signal(SIGTERM);
  lambda.wait(10s);

  std::vector<nlohmann::json> documents;
  std::istringstream lines(lambda.stdout_text());
  for (std::string line; std::getline(lines, line);) {
    auto json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_object() && json.contains("_aws")) documents.push_back(json);
  }
  ASSERT_EQ(documents.size(), 2u) << lambda.stdout_text();
  for (const auto& doc : documents) {
    const auto& directive = doc["_aws"]["CloudWatchMetrics"][0];
    EXPECT_EQ(directive["Namespace"], "QuizResultLoader");
    EXPECT_EQ(directive["Dimensions"], nlohmann::json::array({{"function"}}));
    EXPECT_EQ(doc["function"], "quiz-loader-test");
    EXPECT_TRUE(doc["_aws"]["Timestamp"].is_number_integer());
    // Every metric the directive names has its value in the document.
    for (const auto& metric : directive["Metrics"]) EXPECT_TRUE(doc.contains(metric["Name"])) << metric;
  }
  // Each line counts its own invocation only.
  EXPECT_EQ(documents[0]["qrl_quizzes_total.loaded"], 1);
  EXPECT_EQ(documents[0]["qrl_quizzes_total.requeued"], 1);
  EXPECT_EQ(documents[0]["qrl_dynamodb_requests_total.PutItem.ok"], 1);  // the item, in one request
  EXPECT_EQ(documents[0]["qrl_item_size_bytes.count"], 1);
  EXPECT_FALSE(documents[1].contains("qrl_quizzes_total.loaded"));
  EXPECT_EQ(documents[1]["qrl_quizzes_total.already_loaded"], 1);
  expect_loaded_exactly(good);
}

}  // namespace
}  // namespace qrl::testing

namespace qrl::testing {
namespace {

// A broker that takes 15 s to confirm a dead letter (the relay holds every basic.ack it sends):
// the republisher waits on its own thread; the consumer loop turns on, so /healthz (10 s
// threshold) stays 200 throughout and other quizzes keep loading. Nothing is lost: the letter
// is confirmed once the broker answers in time, then the original is acked.
TEST_F(Observe, AConfirmHeldFifteenSecondsStallsNeitherLivenessNorLoading) {
  AmqpRelay relay(stack.config().rabbit.port);
  relay.hold_confirms(15s);
  auto env = env_with_port();
  env["RABBITMQ_PORT"] = std::to_string(relay.port());
  auto daemon = start_env(env);
  stack.publish("this is not an event");
  ASSERT_TRUE(eventually([&] { return relay.confirms_held() > 0; }, 20s)) << daemon->stderr_text();
  const auto held_from = std::chrono::steady_clock::now();
  std::vector<Fixture> loaded_meanwhile;
  while (std::chrono::steady_clock::now() - held_from < 16s) {
    ASSERT_EQ(get(port, "/healthz").first, 200)
        << "after " << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - held_from).count() << " ms";
    auto f = contract_quiz(random_id());
    stack.write(f);
    stack.publish_event(f.quiz_id);
    loaded_meanwhile.push_back(f);
    std::this_thread::sleep_for(1s);
  }
  for (const auto& f : loaded_meanwhile) {
    EXPECT_TRUE(eventually([&] { return loaded(f.quiz_id); }, 10s)) << f.quiz_id;
  }
  relay.hold_confirms(0ms);
  ASSERT_TRUE(eventually([&] { return count(daemon->stderr_text(), "msg=dead-lettered") > 0; }, 40s))
      << daemon->stderr_text();
  auto log = stop(*daemon);
  EXPECT_GE(stack.dlq_depth(), 1u);
  EXPECT_EQ(stack.queue_depth(), 0u);
  for (const auto& f : loaded_meanwhile) expect_loaded_exactly(f);
}

// The queue deleted under load and declared again by the producer: the broker cancels the
// consumer (consumer_cancel_notify, advertised at login), serve says so once, shows it in
// /readyz, finishes what it holds and consumes again; every quiz announced to the new queue loads.
TEST_F(Observe, ADeletedQueueIsNoticedShownAndConsumedAgainWhenDeclared) {
  auto daemon = start(env_with_port());
  std::vector<Fixture> before;
  for (int i = 0; i < 10; ++i) {
    before.push_back(contract_quiz(random_id()));
    stack.write(before.back());
    stack.publish_event(before.back().quiz_id);
  }
  ASSERT_TRUE(eventually([&] {
    return std::all_of(before.begin(), before.end(), [&](const Fixture& f) { return loaded(f.quiz_id); });
  }));
  // Under load: quizzes are being announced while the operator deletes the queue.
  std::vector<Fixture> during;
  for (int i = 0; i < 5; ++i) {
    during.push_back(contract_quiz(random_id()));
    stack.write(during.back());
    stack.publish_event(during.back().quiz_id);
  }
  ASSERT_EQ(stack.rabbitmqctl("delete_queue " + stack.config().rabbit.queue_name), 0);
  ASSERT_TRUE(eventually([&] { return count(daemon->stderr_text(), "the broker cancelled the consumer") > 0; }, 10s))
      << daemon->stderr_text();
  // The producer declares its queue again (and the loader does too), and re-announces what the
  // deletion dropped, as an operator would.
  std::vector<Fixture> after;
  for (int i = 0; i < 10; ++i) {
    after.push_back(contract_quiz(random_id()));
    stack.write(after.back());
  }
  ASSERT_TRUE(eventually([&] { return get(port, "/readyz").first == 200; }, 15s))
      << get(port, "/readyz").second;
  for (const auto& f : during) {
    if (!loaded(f.quiz_id)) stack.publish_event(f.quiz_id);
  }
  for (const auto& f : after) stack.publish_event(f.quiz_id);
  ASSERT_TRUE(eventually([&] {
    return std::all_of(after.begin(), after.end(), [&](const Fixture& f) { return loaded(f.quiz_id); }) &&
           std::all_of(during.begin(), during.end(), [&](const Fixture& f) { return loaded(f.quiz_id); });
  }, 30s)) << daemon->stderr_text();
  auto log = stop(*daemon);
  EXPECT_EQ(count(log, "msg=\"the broker cancelled the consumer"), 1u) << log;
  for (const auto& group : {before, during, after}) {
    for (const auto& f : group) expect_loaded_exactly(f);
  }
  EXPECT_EQ(stack.queue_depth(), 0u);
  EXPECT_EQ(stack.dlq_depth(), 0u);
}

}  // namespace
}  // namespace qrl::testing
