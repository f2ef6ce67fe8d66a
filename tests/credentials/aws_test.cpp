// What real AWS enforces and dynalite does not: signatures, expiring credentials from every
// source of the chain, IAM policies, and the failures no retry can fix. Each test puts
// tests/support/aws_standin.py (botocore's SigV4, an IAM-like policy check, STS, ECS and IMDSv2
// stand-ins) between the loader and dynalite; the rest of the suite goes through the same
// verifier, started by scripts/stack.sh.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "core/error.h"
#include "core/event.h"
#include "support/aws_standin.h"
#include "support/fault_proxy.h"
#include "support/runtime_api.h"
#include "support/stack_test.h"

namespace qrl::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const char* kStaticKey = "test-key:test-secret-do-not-log";
const char* kTokenKey = "ASIAEXAMPLE:lambda-secret-do-not-log:lambda-token-do-not-log";

std::string dynalite_url() {
  const char* url = std::getenv("QRL_DYNALITE_URL");
  if (url == nullptr)
    throw std::runtime_error("QRL_DYNALITE_URL is not set: run the tests with scripts/test.sh");
  return url;
}

int count_of(const nlohmann::json& stats, const char* group, const char* name) {
  return stats[group].contains(name) ? stats[group][name].get<int>() : 0;
}

class Aws : public StackTest {
 protected:
  std::filesystem::path file(const std::string& name, const std::string& text) {
    auto path = stack.root() / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path;
  }

  // The stack's environment with no AWS keys at all: the chain must find them elsewhere.
  std::map<std::string, std::string> keyless_env(const std::string& endpoint) {
    auto env = stack.env();
    env.erase("DYNAMODB_ACCESS_KEY_ID");
    env.erase("DYNAMODB_SECRET_ACCESS_KEY");
    env["DYNAMODB_ENDPOINT_URL"] = endpoint;
    env["HOME"] = stack.root().string();  // no ~/.aws of the machine's
    return env;
  }

  // Publishes quizzes in waves for `duration` and expects every one loaded.
  std::vector<Fixture> load_in_waves(std::chrono::seconds duration) {
    std::vector<Fixture> all;
    auto until = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < until) {
      for (int i = 0; i < 2; ++i) {
        all.push_back(contract_quiz(random_id()));
        stack.write(all.back());
        stack.publish_event(all.back().quiz_id);
      }
      std::this_thread::sleep_for(1s);
    }
    for (const auto& f : all) EXPECT_TRUE(eventually([&] { return loaded(f.quiz_id); }, 60s)) << f.quiz_id;
    return all;
  }

  // `serve` keeps loading while the source's credentials (4 s lifetime) rotate; no request is
  // ever refused for expired keys.
  void expect_loads_across_rotations(const char* source, const std::map<std::string, std::string>& extra,
                                     AwsStandin& standin) {
    auto env = keyless_env(standin.dynamodb_url());
    for (const auto& [k, v] : extra) env[k] = v;
    auto started = std::chrono::steady_clock::now();
    auto daemon = start_env(env);
    auto quizzes = load_in_waves(12s);
    auto log = stop(*daemon);
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    for (const auto& f : quizzes) expect_loaded_exactly(f);
    auto stats = standin.stats();
    const int issued = count_of(stats, "issued", source);
    EXPECT_GE(issued, 3) << "at least two rotations";
    EXPECT_EQ(count_of(stats, "rejected", "ExpiredTokenException"), 0) << stats.dump();
    EXPECT_EQ(stats["rejected"].size(), 0u) << stats.dump();
    EXPECT_GE(count(log, "AWS credentials refreshed"), 2u);
    EXPECT_THAT(log, Not(HasSubstr("SecretAccessKey")));
    std::printf(
        "rotation[%s]: %d credentials issued over %.1f s (4 s lifetime), %zu quizzes loaded, %d requests "
        "verified, 0 rejected\n",
        source, issued, seconds, quizzes.size(), stats["verified"].get<int>());
  }
};

TEST_F(Aws, TheSuiteVerifierRejectsAWrongSignatureAndNoRequestSignsExpect) {
  auto env = stack.env();
  env["DYNAMODB_SECRET_ACCESS_KEY"] = "not-the-secret";
  auto result = run({"serve"}, env);
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.err, HasSubstr("cannot start"));
  EXPECT_THAT(result.err, HasSubstr("InvalidSignatureException"));

  auto stats = suite_verifier_stats();
  EXPECT_GT(stats["verified"].get<int>(), 0);
  EXPECT_GE(count_of(stats, "rejected", "InvalidSignatureException"), 1);
  for (const auto& signed_headers : stats["signed_headers"]) {
    EXPECT_THAT(signed_headers.get<std::string>(), Not(HasSubstr("expect")));
  }
}

TEST_F(Aws, SignaturesHoldForEveryOperationAndBodySizeWithAndWithoutASessionToken) {
  AwsStandin standin(dynalite_url(), {.keys = {kStaticKey, kTokenKey}});
  for (const char* key : {kStaticKey, kTokenKey}) {
    std::string spec = key;
    auto settings = stack.config().dynamo;
    settings.endpoint_url = standin.dynamodb_url();
    settings.table = "sig-" + random_id();
    settings.access_key_id = spec.substr(0, spec.find(':'));
    auto rest = spec.substr(spec.find(':') + 1);
    settings.secret_access_key = rest.substr(0, rest.find(':'));
    settings.session_token = rest.find(':') == std::string::npos ? "" : rest.substr(rest.find(':') + 1);
    dynamodb::Client client(settings, keys_of(settings), 30s);
    client.ensure_table();  // DescribeTable, CreateTable
    // Bodies under 1 KB, over 1 KB, over 64 KB, and over 1 MB (where curl adds an unsigned Expect).
    for (std::size_t size : {100u, 2000u, 70000u, 300000u}) {
      auto id = std::string(size > 1000 ? 1200 : 8, 'k') + std::to_string(size);
      nlohmann::json item = {{"id", {{"S", id}}}, {"Blob", {{"S", std::string(size, 'x')}}}};
      client.put_part(id, item.dump(), 0);  // PutItem
      using Stored = dynamodb::Client::Stored;
      EXPECT_EQ(client.put_quiz(id, item.dump(), {"2022-01-27T08:54:38Z", 0}, 0), Stored::kRefused);  // condition fails
      EXPECT_EQ(client.start_time(id), "") << size;                          // GetItem, projected
      EXPECT_EQ(client.start_time(id + "-absent"), std::nullopt);
      EXPECT_EQ((*client.get(id))["Blob"]["S"].get<std::string>().size(), size);  // GetItem
      nlohmann::json update = {{"TableName", settings.table},
                               {"Key", {{"id", {{"S", id}}}}},
                               {"UpdateExpression", "SET #b = :b"},
                               {"ExpressionAttributeNames", {{"#b", "Blob"}}},
                               {"ExpressionAttributeValues", {{":b", {{"S", std::string(size, 'y')}}}}}};
      client.call("UpdateItem", update.dump());
    }
    EXPECT_EQ(client.scan(100).size(), 4u);  // Scan
    nlohmann::json huge = {{"id", {{"S", "huge"}}}, {"Blob", {{"S", std::string(1200000, 'z')}}}};
    try {
      client.put_part("huge", huge.dump(), 0);
      ADD_FAILURE() << "an item over 400 KB was accepted";
    } catch (const core::Error& e) {
      // Past the signature check: refused by DynamoDB for its size, not by the verifier.
      EXPECT_THAT(e.what(), HasSubstr("ValidationException"));
    }
    client.delete_table();  // DeleteTable
  }
  auto stats = standin.stats();
  EXPECT_EQ(stats["rejected"].size(), 0u) << stats.dump();
  EXPECT_GE(stats["verified"].get<int>(), 2 * (3 + 4 * 5 + 3));
  std::set<std::string> headers;
  for (const auto& h : stats["signed_headers"]) headers.insert(h.get<std::string>());
  EXPECT_EQ(headers,
            (std::set<std::string>{"content-type;host;x-amz-date;x-amz-target",
                                   "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"}));
}

TEST_F(Aws, WebIdentityCredentialsRotateWhileServeKeepsLoading) {
  AwsStandin standin(dynalite_url(), {.lifetime_s = 4});
  auto token = file("token", "eyJhbGciOiJSUzI1NiJ9.web-identity.sig");
  expect_loads_across_rotations("sts",
                                {{"AWS_WEB_IDENTITY_TOKEN_FILE", token.string()},
                                 {"AWS_ROLE_ARN", "arn:aws:iam::000000000000:role/loader"},
                                 {"AWS_ENDPOINT_URL_STS", standin.sts_url()}},
                                standin);
}

TEST_F(Aws, ContainerCredentialsRotateWhileServeKeepsLoading) {
  AwsStandin standin(dynalite_url(), {.lifetime_s = 4, .ecs_token = "Bearer ecs-token-do-not-log"});
  auto token = file("ecs-token", "Bearer ecs-token-do-not-log\n");
  expect_loads_across_rotations("ecs",
                                {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", standin.ecs_url()},
                                 {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token.string()}},
                                standin);
}

TEST_F(Aws, InstanceRoleCredentialsRotateWhileServeKeepsLoading) {
  AwsStandin standin(dynalite_url(), {.lifetime_s = 4});
  auto env_extra = std::map<std::string, std::string>{
      {"AWS_EC2_METADATA_SERVICE_ENDPOINT", standin.imds_url()}, {"AWS_EC2_METADATA_DISABLED", "false"}};
  expect_loads_across_rotations("imds", env_extra, standin);
}

TEST_F(Aws, EachStaticSourceAloneAndTheirPrecedence) {
  AwsStandin standin(dynalite_url(), {.keys = {kStaticKey, kTokenKey}});
  auto load_one = [&](const std::map<std::string, std::string>& env) {
    auto f = contract_quiz(random_id());
    stack.write(f);
    auto result = run({"load", f.quiz_id}, env);
    EXPECT_EQ(result.code, 0) << result.err;
    expect_loaded_exactly(f);
    return result.err;
  };
  // The environment.
  auto env = keyless_env(standin.dynamodb_url());
  env["AWS_ACCESS_KEY_ID"] = "ASIAEXAMPLE";
  env["AWS_SECRET_ACCESS_KEY"] = "lambda-secret-do-not-log";
  env["AWS_SESSION_TOKEN"] = "lambda-token-do-not-log";
  EXPECT_THAT(load_one(env), HasSubstr("source=\"environment (AWS_ACCESS_KEY_ID)\""));
  // The shared files: the profile's keys, and its region when nothing else names one.
  env = keyless_env(standin.dynamodb_url());
  env.erase("DYNAMODB_REGION");
  env["AWS_PROFILE"] = "loader";
  file(".aws/credentials",
       "[loader]\naws_access_key_id = test-key\naws_secret_access_key = test-secret-do-not-log\n");
  file(".aws/config", "[profile loader]\nregion = us-east-1\n");
  EXPECT_THAT(load_one(env), HasSubstr("source=\"shared files (profile loader)\""));
  // The loader's own settings win over the environment (whose keys here are wrong).
  env = stack.env();
  env["DYNAMODB_ENDPOINT_URL"] = standin.dynamodb_url();
  env["AWS_ACCESS_KEY_ID"] = "AKIAWRONG";
  env["AWS_SECRET_ACCESS_KEY"] = "wrong";
  EXPECT_THAT(load_one(env), HasSubstr("source=\"loader settings (dynamodb.access_key_id)\""));
  // None at all, for AWS (an https endpoint, never reached): one error naming what was tried.
  env = keyless_env("https://127.0.0.1:1");
  auto result = run({"load", "anything"}, env);
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.err, HasSubstr("no AWS credentials found; tried"));
  EXPECT_THAT(result.err, HasSubstr("instance metadata: disabled"));
  EXPECT_EQ(standin.stats()["rejected"].size(), 0u);
  // None at all for a plain-http endpoint, which is never AWS: placeholder keys, said once, and
  // this verifier, which knows no such keys, refuses them as AWS would.
  env = keyless_env(standin.dynamodb_url());
  result = run({"load", "anything"}, env);
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(count(result.err, "no AWS credentials set: using placeholder keys for a local endpoint"), 1u)
      << result.err;
  EXPECT_THAT(result.err, HasSubstr("UnrecognizedClientException"));
}

TEST_F(Aws, AnExpiredTokenAnswerRefreshesOnceAndTheQuizLoads) {
  AwsStandin standin(dynalite_url(), {.lifetime_s = 900});
  FaultProxy proxy(standin.dynamodb_url());
  std::atomic<int> puts{0};
  proxy.set_policy([&](const std::string& operation, const std::string&) {
    return operation == "PutItem" && puts++ == 0 ? Fault::kExpiredToken : Fault::kNone;
  });
  auto env = keyless_env(proxy.url());
  env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = standin.imds_url();
  env["AWS_EC2_METADATA_DISABLED"] = "false";
  auto f = contract_quiz(random_id());
  stack.write(f);
  auto result = run({"load", f.quiz_id}, env);
  EXPECT_EQ(result.code, 0) << result.err;
  expect_loaded_exactly(f);
  EXPECT_THAT(result.err, HasSubstr("AWS rejected the credentials as expired"));
  EXPECT_EQ(count_of(standin.stats(), "issued", "imds"), 2);
}

TEST_F(Aws, ServeRunsUnderItsDocumentedPolicyAndNothingOutsideIt) {
  stack.dynamo().ensure_table();  // the table exists in a real deployment
  AwsStandin standin(
      dynalite_url(),
      {.keys = {kStaticKey}, .policy = deployed_policy("serve-policy.json", stack.config().dynamo.table)});
  auto env = stack.env();
  env["DYNAMODB_ENDPOINT_URL"] = standin.dynamodb_url();
  auto daemon = start_env(env);
  auto a = contract_quiz(random_id());
  auto b = edge_quiz(random_id());
  stack.write(a);
  stack.write(b);
  stack.publish_event(a.quiz_id);
  stack.publish_event(b.quiz_id);
  ASSERT_TRUE(eventually([&] { return loaded(a.quiz_id) && loaded(b.quiz_id); }));
  // Announced again: recognised as loaded with the grant alone.
  stack.publish_event(a.quiz_id);
  stack.publish_event(a.quiz_id);
  ASSERT_TRUE(eventually([&] { return stack.queue_depth() == 0; }));
  auto log = stop(*daemon);
  // Each found loaded, or the second joined the first in the settle window.
  EXPECT_EQ(count(log, "quiz already loaded") + count(log, "event joined its quiz"), 2u) << log;
  expect_loaded_exactly(a);
  expect_loaded_exactly(b);
  EXPECT_EQ(stack.dlq_depth(), 0u);
  auto stats = standin.stats();
  EXPECT_EQ(stats["denied"].size(), 0u) << stats.dump();
  EXPECT_EQ(stats["rejected"].size(), 0u) << stats.dump();
  for (const auto& [operation, n] : stats["operations"].items()) {
    EXPECT_THAT((std::vector<std::string>{"DescribeTable", "PutItem", "GetItem"}),
                ::testing::Contains(operation));
  }
}

TEST_F(Aws, WithoutCreateTableAMissingTableIsOneClearStartError) {
  auto env = stack.env();
  env["DYNAMODB_CREATE_TABLE"] = "false";
  auto result = run({"serve"}, env);
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(count(result.err, "cannot start"), 1u);
  EXPECT_THAT(result.err, HasSubstr("table '" + stack.config().dynamo.table + "' does not exist"));
}

TEST_F(Aws, LambdaRunsUnderItsDocumentedPolicyAndNothingOutsideIt) {
  stack.dynamo().ensure_table();
  AwsStandin standin(
      dynalite_url(),
      {.keys = {kTokenKey}, .policy = deployed_policy("lambda-policy.json", stack.config().dynamo.table)});
  RuntimeApi api;
  auto env = stack.lambda_env(api.address());
  env["DYNAMODB_ENDPOINT_URL"] = standin.dynamodb_url();
  env.erase("DYNAMODB_CREATE_TABLE");  // Lambda's default: off
  Process lambda({"lambda"}, env);
  auto a = contract_quiz(random_id());
  stack.write(a);
  auto event = [&](const std::string& id, const std::string& message_id) -> nlohmann::json {
    return nlohmann::json{{"messageId", message_id},
                          {"body", core::make_event(random_id(), "2022-03-12T07:49:21Z", id)},
                          {"eventSourceARN", "arn:aws:sqs:us-east-1:123456789012:quiz-complete.fifo"},
                          {"attributes", {{"MessageGroupId", id}}}};
  };
  auto first =
      api.invoke(nlohmann::json{{"Records", nlohmann::json::array({event(a.quiz_id, "m1")})}}.dump());
  auto answer = api.answer(first, 30s);
  ASSERT_TRUE(answer) << lambda.stderr_text();
  EXPECT_EQ(nlohmann::json::parse(answer->body)["batchItemFailures"].size(), 0u) << lambda.stderr_text();
  auto again = api.invoke(
      nlohmann::json{{"Records", nlohmann::json::array({event(a.quiz_id, "m2"), event(a.quiz_id, "m3")})}}
          .dump());
  answer = api.answer(again, 30s);
  ASSERT_TRUE(answer);
  EXPECT_EQ(nlohmann::json::parse(answer->body)["batchItemFailures"].size(), 0u) << lambda.stderr_text();
  expect_loaded_exactly(a);
  auto stats = standin.stats();
  EXPECT_EQ(stats["denied"].size(), 0u) << stats.dump();
  EXPECT_EQ(stats["rejected"].size(), 0u) << stats.dump();
}

TEST_F(Aws, ADeniedPermissionPausesServeWithoutARedeliveryLoopAndItResumesOnceGranted) {
  stack.dynamo().ensure_table();
  auto policy = deployed_policy("serve-policy.json", stack.config().dynamo.table);
  auto without_put = policy;
  without_put["Statement"][0]["Action"] = {"dynamodb:DescribeTable", "dynamodb:GetItem"};
  AwsStandin standin(dynalite_url(), {.keys = {kStaticKey}, .policy = without_put});
  auto env = stack.env();
  env["DYNAMODB_ENDPOINT_URL"] = standin.dynamodb_url();
  auto daemon = start_env(env);
  auto f = contract_quiz(random_id());
  stack.write(f);
  stack.publish_event(f.quiz_id);
  ASSERT_TRUE(eventually([&] { return count(daemon->stderr_text(), "consumption paused") > 0; }));
  std::this_thread::sleep_for(5s);
  // Pauses of 1, 2 and 4 s: at most three tries in those five seconds, not hundreds.
  // Read between two readings of the log: a try may be denied, or logged, between them.
  const auto pauses_before = count(daemon->stderr_text(), "consumption paused");
  const int tries = count_of(standin.stats(), "denied", "dynamodb:PutItem");
  const auto pauses_after = count(daemon->stderr_text(), "consumption paused");
  EXPECT_GE(tries, 1);
  EXPECT_LE(tries, 4);
  EXPECT_LE(pauses_before, static_cast<std::size_t>(tries)) << "one log line per pause";
  EXPECT_GE(pauses_after + 1, static_cast<std::size_t>(tries)) << "one log line per pause";
  EXPECT_THAT(daemon->stderr_text(), HasSubstr("grant the action named above"));
  expect_untouched(f);
  EXPECT_EQ(stack.dlq_depth(), 0u);

  standin.set_policy(policy, "static");
  ASSERT_TRUE(eventually([&] { return loaded(f.quiz_id); }, 30s));
  auto log = stop(*daemon);
  EXPECT_THAT(log, HasSubstr("consumption resumed"));
  expect_loaded_exactly(f);
  EXPECT_EQ(stack.queue_depth(), 0u);
  EXPECT_EQ(stack.dlq_depth(), 0u);
}

TEST_F(Aws, TransientFailuresComeBackAfterADelayAndGiveUpAfterMaxDeliveriesWithTheirHistory) {
  FaultProxy proxy(stack.config().dynamo.endpoint_url);
  proxy.set_policy([](const std::string& operation, const std::string&) {
    return operation == "PutItem" ? Fault::kServerError : Fault::kNone;
  });
  auto env = stack.env();
  env["DYNAMODB_ENDPOINT_URL"] = proxy.url();
  env["LOADER_RETRY_ATTEMPTS"] = "1";
  env["LOADER_MAX_DELIVERIES"] = "3";
  auto daemon = start_env(env);
  auto f = contract_quiz(random_id());
  stack.write(f);
  stack.publish_event(f.quiz_id);
  ASSERT_TRUE(eventually([&] { return stack.dlq_depth() == 1; }, 30s)) << daemon->stderr_text();
  auto log = stop(*daemon);
  EXPECT_EQ(proxy.injected()[Fault::kServerError], 3);  // one try per delivery
  EXPECT_EQ(count(log, "requeued after a delay"), 2u);
  auto letters = stack.peek(stack.config().rabbit.dead_letter_queue);
  ASSERT_EQ(letters.size(), 1u);
  auto& headers = letters[0].headers;
  EXPECT_EQ(headers["x-deliveries"], "3");
  EXPECT_THAT(headers["x-failure-reason"], HasSubstr("gave up after 3 deliveries"));
  EXPECT_EQ(count(headers["x-failure-history"], "HTTP 500"), 3u) << headers["x-failure-history"];
  expect_untouched(f);
  EXPECT_EQ(stack.queue_depth(), 0u);
  EXPECT_EQ(stack.retry_depth(), 0u);
}

TEST_F(Aws, ADamagedResponseChecksumIsATransientFailure) {
  FaultProxy proxy(stack.config().dynamo.endpoint_url);
  stack.dynamo().ensure_table();
  std::atomic<int> puts{0};
  proxy.set_policy([&puts](const std::string& operation, const std::string&) {
    return operation == "PutItem" && puts++ == 0 ? Fault::kBadCrc : Fault::kNone;
  });
  auto env = stack.env();
  env["DYNAMODB_ENDPOINT_URL"] = proxy.url();
  env["LOADER_RETRY_ATTEMPTS"] = "2";
  auto f = contract_quiz(random_id());
  stack.write(f);
  auto result = run({"load", f.quiz_id}, env);
  // Retried, as transient; the item had been written (the damage was on the way back), so the
  // retry's conditional write finds it stored with this quiz's StartTime, writes the same item
  // again, and cleans up.
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_THAT(result.err, HasSubstr("CRC32 does not match x-amz-crc32"));
  EXPECT_THAT(result.err, HasSubstr("transient failure, retrying"));
  EXPECT_THAT(result.err, HasSubstr("quiz already loaded"));
  EXPECT_EQ(proxy.injected()[Fault::kBadCrc], 1);
  EXPECT_EQ(stack.redis_count(f.keys), 0u);
  expect_loaded_exactly(f);
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

TEST_F(Aws, TlsFailuresSayWhichCheckFailed) {
  auto cert = stack.root() / "cert.pem";
  auto key = stack.root() / "key.pem";
  ASSERT_EQ(
      std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=example.invalid -keyout " +
                   key.string() + " -out " + cert.string() + " >/dev/null 2>&1")
                      .c_str()),
      0);
  const int port = free_port();
  Process server(
      {"s_server", "-quiet", "-accept", std::to_string(port), "-cert", cert.string(), "-key", key.string()},
      {}, "/usr/bin/openssl");
  ASSERT_TRUE(eventually([&] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return ok;
  }));
  auto env = stack.env();
  env["DYNAMODB_ENDPOINT_URL"] = "https://127.0.0.1:" + std::to_string(port);
  auto result = run({"load", "anything"}, env);
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.err, HasSubstr("not signed by a trusted CA (unknown CA)"));
  env["SSL_CERT_FILE"] = cert.string();
  result = run({"load", "anything"}, env);
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.err, HasSubstr("does not name this host (wrong host name)"));
}

}  // namespace
}  // namespace qrl::testing
