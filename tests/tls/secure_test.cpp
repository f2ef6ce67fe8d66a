// Managed-service settings against the suite's own servers, as Amazon MQ and ElastiCache would
// enforce them: RabbitMQ over TLS only (the stack's second node has no plain listener; user
// 'loader' has rights in vhost 'quiz' only), and Redis servers of each test's own that demand
// a password, that know only the ACL user of docs/operations.md, and that speak TLS only. Certificates are
// made by scripts/stack.sh with openssl.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/event.h"
#include "files/question_files.h"
#include "support/runtime_api.h"
#include "support/stack_test.h"

namespace qrl::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string env_or_fail(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    throw std::runtime_error(std::string(name) + " is not set: run the tests with scripts/test.sh");
  }
  return value;
}

// The stack's TLS-only RabbitMQ node, reached by a name its certificate holds.
config::Rabbit amqps(const std::string& host = "localhost") {
  config::Rabbit settings;
  settings.host = host;
  settings.port = std::stoi(env_or_fail("QRL_AMQPS_PORT"));
  settings.username = env_or_fail("QRL_AMQPS_USERNAME");
  settings.password = env_or_fail("QRL_AMQPS_PASSWORD");
  settings.vhost = "quiz";
  settings.tls = {true, tls_file("ca.pem"), "", ""};
  return settings;
}

constexpr const char* kAdminPassword = "admin-secret-do-not-log";
constexpr const char* kLoaderPassword = "loader-secret-do-not-log";

// An SQS batch of one record announcing `quiz_id`.
std::string sqs_batch(const std::string& quiz_id) {
  nlohmann::json record = {{"messageId", "m-" + quiz_id},
                           {"receiptHandle", "handle-" + quiz_id},
                           {"body", core::make_event(random_id(), "2022-03-12T07:49:21Z", quiz_id)},
                           {"attributes", {{"ApproximateReceiveCount", "1"}}},
                           {"messageAttributes", nlohmann::json::object()},
                           {"eventSource", "aws:sqs"},
                           {"eventSourceARN", "arn:aws:sqs:us-east-1:123456789012:quiz-complete"},
                           {"awsRegion", "us-east-1"}};
  return nlohmann::json{{"Records", {record}}}.dump();
}

// ---------------------------------------------------------------------------------------------
// RabbitMQ

class SecureRabbit : public StackTest {
 protected:
  void SetUp() override { stack.use_rabbit(amqps()); }

  // `serve` with these changes to the environment: the exit code and the log, expecting it to
  // refuse to start.
  qrl::testing::Run serve_refused(const std::map<std::string, std::string>& changes) {
    auto env = stack.env();
    for (const auto& [k, v] : changes) env[k] = v;
    return run({"serve"}, env, 60s);
  }
};

TEST_F(SecureRabbit, ServeLoadsOverAmqpsInAVhostAndDeadLettersAndReplaysThere) {
  auto f = contract_quiz(random_id());
  auto later = contract_quiz(random_id());
  stack.write(f);
  stack.redis().pipeline(later.redis);  // its question file comes after a dead letter
  stack.publish_event(f.quiz_id);
  stack.publish_event(later.quiz_id);
  auto daemon = start();
  ASSERT_TRUE(eventually([&] { return loaded(f.quiz_id) && stack.dlq_depth() == 1; }, 60s))
      << daemon->stderr_text();
  auto letters = run({"dlq", "list"}, stack.env());
  EXPECT_EQ(letters.code, 0) << letters.err;
  EXPECT_THAT(letters.out, HasSubstr(later.quiz_id));

  files::QuestionFiles(stack.question_dir()).write(core::QuizId(later.quiz_id), later.question_file);
  auto replay = run({"dlq", "replay"}, stack.env());
  EXPECT_EQ(replay.code, 0) << replay.err;
  ASSERT_TRUE(eventually([&] { return loaded(later.quiz_id); }, 60s)) << daemon->stderr_text();
  auto log = stop(*daemon);
  EXPECT_THAT(log, HasSubstr("vhost=quiz"));
  EXPECT_THAT(log, HasSubstr("rabbitmq_tls=yes"));
  EXPECT_THAT(log, Not(HasSubstr(stack.config().rabbit.password)));
  expect_loaded_exactly(f);
  expect_loaded_exactly(later);
  EXPECT_EQ(stack.dlq_depth(), 0u);
}

TEST_F(SecureRabbit, EachMisconfigurationIsOneClearCannotStart) {
  const auto port = std::to_string(amqps().port);
  struct Case {
    const char* what;
    std::map<std::string, std::string> changes;
    const char* says;
  } cases[] = {
      {"an untrusted CA", {{"RABBITMQ_CA_FILE", tls_file("other-ca.pem")}}, "(unknown CA)"},
      {"a host name the certificate lacks", {{"RABBITMQ_HOST", "127.0.0.1"}}, "(wrong host name)"},
      {"a vhost without rights", {{"RABBITMQ_VHOST", "/"}}, "access to vhost '/' refused for user 'loader'"},
      {"a wrong password", {{"RABBITMQ_PASSWORD", "not-the-password"}}, "login refused for user 'loader'"},
      {"plain AMQP to the TLS port", {{"RABBITMQ_TLS", "false"}, {"RABBITMQ_CA_FILE", ""}}, "is a TLS port"},
  };
  for (const auto& c : cases) {
    auto result = serve_refused(c.changes);
    EXPECT_EQ(result.code, 1) << c.what << "\n" << result.err;
    EXPECT_THAT(result.err, HasSubstr("cannot start")) << c.what;
    EXPECT_THAT(result.err, HasSubstr("rabbitmq ")) << c.what;
    EXPECT_THAT(result.err, HasSubstr(c.says)) << c.what;
    EXPECT_EQ(count(result.err, "cannot start"), 1u) << c.what;
    EXPECT_THAT(result.err, Not(HasSubstr(stack.config().rabbit.password))) << c.what;
  }
}

// ---------------------------------------------------------------------------------------------
// Redis

enum class Guard { kPassword, kAclUser, kTlsAclUser };

std::string name_of(Guard guard) {
  switch (guard) {
    case Guard::kPassword: return "Password";
    case Guard::kAclUser: return "AclUser";
    case Guard::kTlsAclUser: return "TlsAndAclUser";
  }
  return "?";
}

// A Redis of the test's own guarded as `guard` says. The harness writes quizzes as the default
// user, with the admin password; the loader logs in with its own settings.
struct GuardedRedis {
  explicit GuardedRedis(Guard guard) : server(args(guard), guard == Guard::kTlsAclUser) {
    admin.host = "localhost";
    admin.port = server.port();
    admin.password = kAdminPassword;
    if (server.tls()) admin.tls = {true, tls_file("ca.pem"), "", ""};
    loader = admin;
    if (guard != Guard::kPassword) {
      loader.username = "loader";
      loader.password = kLoaderPassword;
    }
  }

  static std::vector<std::string> args(Guard guard) {
    std::vector<std::string> out = {"--requirepass", kAdminPassword};
    if (guard != Guard::kPassword) {
      auto acl = documented_acl(kLoaderPassword);
      out.insert(out.end(), acl.begin(), acl.end());
    }
    return out;
  }

  RedisServer server;
  config::Redis admin;
  config::Redis loader;
};

class SecureRedis : public StackTest, public ::testing::WithParamInterface<Guard> {
 protected:
  RuntimeApi api;
};

using SecureRedisFaults = StackTest;

TEST_P(SecureRedis, TheContractQuizLoadsInServeAndInLambda) {
  GuardedRedis redis(GetParam());
  stack.use_redis(redis.admin);
  stack.use_rabbit(amqps());  // and the broker over AMQPS, in vhost "quiz"
  auto by_serve = contract_quiz(random_id());
  auto by_lambda = contract_quiz(random_id());
  stack.write(by_serve);
  stack.write(by_lambda);

  auto env = stack.env();
  for (const auto& [k, v] : redis_env(redis.loader)) env[k] = v;
  auto daemon = start_env(env);
  stack.publish_event(by_serve.quiz_id);
  ASSERT_TRUE(eventually([&] { return loaded(by_serve.quiz_id); }, 60s)) << daemon->stderr_text();
  auto log = stop(*daemon);
  expect_loaded_exactly(by_serve);

  auto lambda_env = stack.lambda_env(api.address());
  for (const auto& [k, v] : redis_env(redis.loader)) lambda_env[k] = v;
  Process lambda({"lambda"}, lambda_env);
  auto id = api.invoke(sqs_batch(by_lambda.quiz_id));
  auto answer = api.answer(id, 60s);
  ASSERT_TRUE(answer) << lambda.stderr_text();
  EXPECT_EQ(nlohmann::json::parse(answer->body)["batchItemFailures"].size(), 0u) << answer->body;
  lambda.signal(SIGTERM);
  lambda.wait(10s);
  expect_loaded_exactly(by_lambda);
  for (const auto& text : {log, lambda.stderr_text()}) {
    EXPECT_THAT(text, Not(HasSubstr(kLoaderPassword)));
    EXPECT_THAT(text, Not(HasSubstr(kAdminPassword)));
  }

  // The sweep walks this Redis as the loader's user: the ACL line's SCAN and OBJECT IDLETIME
  // are enough. A late join after the load leaves keys it must find and delete.
  redis::Connection admin(redis.admin, 5000ms);
  admin.command({"RPUSH", by_serve.quiz_id + ":userIds", "late0001"});
  admin.command({"SET", by_serve.quiz_id + ":late0001:username", "Late"});
  auto swept = run({"sweep", "--min-age-s", "0", "--pace-ms", "0"}, env);
  EXPECT_EQ(swept.code, 0) << swept.out << swept.err;
  EXPECT_THAT(swept.out, HasSubstr(by_serve.quiz_id + "\tstored\t2 keys"));
  EXPECT_EQ(admin.command({"EXISTS", by_serve.quiz_id + ":userIds"})->integer, 0);
  EXPECT_EQ(admin.command({"EXISTS", by_serve.quiz_id + ":late0001:username"})->integer, 0);

  if (GetParam() != Guard::kPassword) {
    // The documented ACL is in force: the loader's user can read and delete, not write.
    redis::Connection as_loader(redis.loader, 5000ms);
    auto reply = as_loader.command({"SET", by_serve.quiz_id + ":quizName", "x"});
    ASSERT_EQ(reply->type, REDIS_REPLY_ERROR);
    EXPECT_THAT(std::string(reply->str, reply->len), HasSubstr("NOPERM"));
  }
}

INSTANTIATE_TEST_SUITE_P(Guards, SecureRedis,
                         ::testing::Values(Guard::kPassword, Guard::kAclUser, Guard::kTlsAclUser),
                         [](const auto& info) { return name_of(info.param); });

TEST_F(SecureRedisFaults, AWrongPasswordOrAWrongCaStopsServeAndLambdaAtStart) {
  GuardedRedis redis(Guard::kTlsAclUser);
  struct Case {
    const char* what;
    std::map<std::string, std::string> changes;
    const char* says;
  } cases[] = {
      {"a wrong password",
       {{"REDIS_PASSWORD", "not-the-password"}},
       "login refused for user 'loader': WRONGPASS"},
      {"an unknown user", {{"REDIS_USERNAME", "stranger"}}, "login refused for user 'stranger': WRONGPASS"},
      {"an untrusted CA", {{"REDIS_CA_FILE", tls_file("other-ca.pem")}}, "(unknown CA)"},
      {"a host name the certificate lacks", {{"REDIS_HOST", "127.0.0.1"}}, "(wrong host name)"},
      {"plain to the TLS port", {{"REDIS_TLS", "false"}, {"REDIS_CA_FILE", ""}}, "is a TLS port"},
  };
  for (const auto& c : cases) {
    auto env = stack.env();
    for (const auto& [k, v] : redis_env(redis.loader)) env[k] = v;
    for (const auto& [k, v] : c.changes) env[k] = v;
    auto result = run({"serve"}, env, 60s);
    EXPECT_EQ(result.code, 1) << c.what << "\n" << result.err;
    EXPECT_EQ(count(result.err, "cannot start"), 1u) << c.what << "\n" << result.err;
    EXPECT_THAT(result.err, HasSubstr("redis ")) << c.what;
    EXPECT_THAT(result.err, HasSubstr(c.says)) << c.what;
    EXPECT_THAT(result.err, Not(HasSubstr(kLoaderPassword))) << c.what;

    RuntimeApi api;  // one per start: an init error is kept
    auto lambda_env = stack.lambda_env(api.address());
    for (const auto& [k, v] : redis_env(redis.loader)) lambda_env[k] = v;
    for (const auto& [k, v] : c.changes) lambda_env[k] = v;
    Process lambda({"lambda"}, lambda_env);
    auto error = api.init_error(30s);
    ASSERT_TRUE(error) << c.what << "\n" << lambda.stderr_text();
    EXPECT_THAT(error->body, HasSubstr(c.says)) << c.what;
    EXPECT_NE(lambda.wait(10s).value_or(0), 0) << c.what;
  }
}

TEST_F(SecureRedisFaults, AnExpiredCertificateIsNamedAsSuch) {
  RedisServer server({}, /*tls=*/true, "expired");
  config::Redis settings;
  settings.host = "localhost";
  settings.port = server.port();
  settings.tls = {true, tls_file("ca.pem"), "", ""};
  auto env = stack.env();
  for (const auto& [k, v] : redis_env(settings)) env[k] = v;
  auto result = run({"serve"}, env, 60s);
  EXPECT_EQ(result.code, 1) << result.err;
  EXPECT_THAT(result.err, HasSubstr("cannot start"));
  EXPECT_THAT(result.err, HasSubstr("the server's certificate has expired"));
  auto check = run({"check"}, env, 60s);
  EXPECT_EQ(check.code, 1);
  EXPECT_THAT(check.out, HasSubstr("has expired"));
}

TEST_F(SecureRedisFaults, ConnectionsKilledDuringALoadLogInAgainAndEveryQuizLoads) {
  GuardedRedis redis(Guard::kTlsAclUser);
  stack.use_redis(redis.admin);
  std::vector<Fixture> quizzes;
  for (int i = 0; i < 30; ++i) {
    quizzes.push_back(contract_quiz(random_id()));
    stack.write(quizzes.back());
  }
  auto env = stack.env();
  for (const auto& [k, v] : redis_env(redis.loader)) env[k] = v;
  auto daemon = start_env(env);
  long kills = 0;
  for (std::size_t i = 0; i < quizzes.size(); ++i) {
    stack.publish_event(quizzes[i].quiz_id);
    auto reply = stack.redis().command({"CLIENT", "KILL", "USER", "loader"});
    kills += reply->integer;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& f : quizzes)
          if (!loaded(f.quiz_id)) return false;
        return true;
      },
      90s))
      << daemon->stderr_text();
  auto log = stop(*daemon);
  EXPECT_GT(kills, 0);
  std::printf("[ secure   ] %ld connections of the loader's Redis user killed\n", kills);
  for (const auto& f : quizzes) expect_loaded_exactly(f);
  EXPECT_EQ(stack.dlq_depth(), 0u);
}

TEST_F(SecureRedisFaults, ARotatedPasswordPausesServeWithoutARequeueLoopUntilItWorksAgain) {
  GuardedRedis redis(Guard::kTlsAclUser);
  stack.use_redis(redis.admin);
  auto f = contract_quiz(random_id());
  stack.write(f);
  auto env = stack.env();
  for (const auto& [k, v] : redis_env(redis.loader)) env[k] = v;
  auto daemon = start_env(env);
  // Rotated on the server, and the loader's connections dropped: every login now fails.
  stack.redis().command({"ACL", "SETUSER", "loader", "resetpass", ">rotated-secret-do-not-log"});
  stack.redis().command({"CLIENT", "KILL", "USER", "loader"});
  stack.publish_event(f.quiz_id);
  ASSERT_TRUE(eventually([&] { return count(daemon->stderr_text(), "consumption paused") > 0; }))
      << daemon->stderr_text();
  std::this_thread::sleep_for(3s);
  const auto pauses = count(daemon->stderr_text(), "consumption paused");
  EXPECT_LE(pauses, 3u);  // 1 s, then 2 s: a capped backoff, no loop
  EXPECT_FALSE(loaded(f.quiz_id));
  EXPECT_EQ(stack.dlq_depth(), 0u);
  EXPECT_THAT(daemon->stderr_text(), HasSubstr("WRONGPASS"));

  stack.redis().command({"ACL", "SETUSER", "loader", "resetpass", std::string(">") + kLoaderPassword});
  ASSERT_TRUE(eventually([&] { return loaded(f.quiz_id); }, 60s)) << daemon->stderr_text();
  auto log = stop(*daemon);
  EXPECT_THAT(log, HasSubstr("consumption resumed"));
  for (const char* secret : {kLoaderPassword, kAdminPassword, "rotated-secret-do-not-log"})
    EXPECT_THAT(log, Not(HasSubstr(secret)));
  expect_loaded_exactly(f);
  EXPECT_EQ(stack.dlq_depth(), 0u);
}

}  // namespace
}  // namespace qrl::testing
