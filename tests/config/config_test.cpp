#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace qrl::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Env env_of(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

const char* kIni = R"(
# comment
[rabbit-mq]
host = rabbit.internal
port = 5672
username = loader
password = "s3cret-rabbit"
queue_name = quiz-complete

[redis]
host = redis.internal   ; inline comment
port : 6379 # another

[question-set]
path = /data/question-sets

[dynamodb]
region = ap-southeast-2
endpoint_url = http://dynamo:8000/
access_key_id = AKIDEXAMPLE
secret_access_key = s3cret-aws
)";

TEST(Config, ReadsTheIniFile) {
  auto config = resolve(parse_ini(kIni, "config.ini"), env_of({}), kNeedAll);
  EXPECT_EQ(config.rabbit.host, "rabbit.internal");
  EXPECT_EQ(config.rabbit.password, "s3cret-rabbit");
  EXPECT_EQ(config.rabbit.dead_letter_queue, "quiz-complete.dlq");
  EXPECT_EQ(config.redis.port, 6379);
  EXPECT_EQ(config.question_set_path, "/data/question-sets");
  EXPECT_EQ(config.dynamo.endpoint_url, "http://dynamo:8000");
  EXPECT_EQ(config.dynamo.table, "quiz");
  EXPECT_EQ(config.loader.workers, 4);
}

TEST(Config, EnvironmentOverridesTheFile) {
  auto config = resolve(parse_ini(kIni, "config.ini"),
                        env_of({{"RABBITMQ_HOST", "other"},
                                {"REDIS_PORT", "7000"},
                                {"LOADER_WORKERS", "8"},
                                {"RABBITMQ_QUEUE_NAME", "q2"}}),
                        kNeedAll);
  EXPECT_EQ(config.rabbit.host, "other");
  EXPECT_EQ(config.redis.port, 7000);
  EXPECT_EQ(config.loader.workers, 8);
  EXPECT_EQ(config.rabbit.dead_letter_queue, "q2.dlq");
}

TEST(Config, TheEnvironmentAloneIsEnough) {
  auto config = resolve({},
                        env_of({{"REDIS_HOST", "r"},
                                {"REDIS_PORT", "1"},
                                {"QUESTION_SET_PATH", "/q"},
                                {"DYNAMODB_REGION", "eu-west-1"},
                                {"DYNAMODB_ACCESS_KEY_ID", "a"},
                                {"DYNAMODB_SECRET_ACCESS_KEY", "s"}}),
                        kNeedRedis | kNeedQuestions | kNeedDynamo);
  EXPECT_EQ(config.dynamo.region, "eu-west-1");
  EXPECT_EQ(config.dynamo.access_key_id, "a");
  EXPECT_EQ(config.dynamo.endpoint_url, "");  // the region's, once the AWS chain has run
}

TEST(Config, AMissingSettingIsNamed) {
  try {
    resolve({}, env_of({}), kNeedRabbit);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("config item 'rabbit-mq.host' was not set"));
    EXPECT_THAT(e.what(), HasSubstr("config item 'rabbit-mq.password' was not set"));
    EXPECT_THAT(e.what(), HasSubstr("RABBITMQ_HOST"));
  }
}

// The replaced loader's compose service (deployment/docker-compose/docker-compose.yml of the
// platform) sets exactly these and relied on its image's config.ini for the ports.
TEST(Config, TheReplacedLoadersComposeEnvironmentIsEnough) {
  const std::map<std::string, std::string> upstream = {
      {"RABBITMQ_HOST", "quiz-completion-queue"},
      {"RABBITMQ_USERNAME", "admin"},
      {"RABBITMQ_PASSWORD", "passwd"},
      {"REDIS_HOST", "speed-run-cache"},
      {"REDIS_PORT", "6379"},
      {"QUESTION_SET_PATH", "/question-sets"},
      {"DYNAMODB_ENDPOINT_URL", "http://quiz-result-store:8000"}};
  auto config = resolve({}, env_of(upstream), kNeedAll);
  EXPECT_EQ(config.rabbit.port, 5672);
  EXPECT_EQ(config.redis.port, 6379);
  EXPECT_EQ(config.rabbit.queue_name, "quiz-complete");
  EXPECT_EQ(config.dynamo.table, "quiz");
  EXPECT_EQ(config.dynamo.region, "");  // filled in for a plain-http endpoint by wiring::resolve_aws
}

TEST(Config, PortsDefaultToTheProtocolsOwn) {
  auto config = resolve({}, env_of({{"RABBITMQ_HOST", "h"}, {"RABBITMQ_USERNAME", "u"},
                                    {"RABBITMQ_PASSWORD", "p"}, {"REDIS_HOST", "r"}}),
                        kNeedRabbit | kNeedRedis);
  EXPECT_EQ(config.rabbit.port, 5672);
  EXPECT_EQ(config.redis.port, 6379);
  auto tls = resolve({}, env_of({{"RABBITMQ_HOST", "h"}, {"RABBITMQ_USERNAME", "u"},
                                 {"RABBITMQ_PASSWORD", "p"}, {"RABBITMQ_TLS", "true"},
                                 {"REDIS_HOST", "r"}, {"REDIS_TLS", "true"}}),
                     kNeedRabbit | kNeedRedis);
  EXPECT_EQ(tls.rabbit.port, 5671);
  EXPECT_EQ(tls.redis.port, 6379);  // Redis has one port, with or without TLS (ElastiCache's too)
  auto given = resolve({}, env_of({{"RABBITMQ_HOST", "h"}, {"RABBITMQ_USERNAME", "u"},
                                   {"RABBITMQ_PASSWORD", "p"}, {"RABBITMQ_TLS", "true"},
                                   {"RABBITMQ_PORT", "5672"}}),
                       kNeedRabbit);
  EXPECT_EQ(given.rabbit.port, 5672);  // a port given is a port kept
}

TEST(Config, OnlyWhatTheCommandNeedsIsRequired) {
  EXPECT_NO_THROW(resolve({}, env_of({{"REDIS_HOST", "r"}, {"REDIS_PORT", "1"}}), kNeedRedis));
}

TEST(Config, ValidatesValues) {
  auto with = [&](const char* name, const char* value) {
    auto file = parse_ini(kIni, "config.ini");
    file[name] = value;
    return resolve(file, env_of({}), kNeedAll);
  };
  EXPECT_THROW(with("rabbit-mq.port", "0"), ConfigError);
  EXPECT_THROW(with("rabbit-mq.port", "65536"), ConfigError);
  EXPECT_THROW(with("redis.port", "63 79"), ConfigError);
  EXPECT_THROW(with("dynamodb.endpoint_url", "dynamo:8000"), ConfigError);
  EXPECT_THROW(with("dynamodb.endpoint_url", "ftp://x"), ConfigError);
  EXPECT_THROW(with("dynamodb.endpoint_url", "http://"), ConfigError);
  EXPECT_THROW(with("loader.workers", "0"), ConfigError);
  EXPECT_THROW(with("loader.log_level", "loud"), ConfigError);
  try {
    with("redis.port", "abc");
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("'redis.port' (REDIS_PORT) is 'abc': expected a port number from 1 to 65535"));
  }
}

TEST(Config, SyntaxErrorsNameTheLine) {
  try {
    parse_ini("[redis]\nhost\n", "my.ini");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("my.ini:2"));
  }
}

TEST(Config, DescribeNeverPrintsSecrets) {
  auto file = parse_ini(kIni, "config.ini");
  file["dynamodb.session_token"] = "s3cret-token";
  auto text = describe(resolve(file, env_of({}), kNeedAll));
  EXPECT_THAT(text, HasSubstr("rabbit.internal"));
  EXPECT_THAT(text, Not(HasSubstr("s3cret")));
}

TEST(Config, LambdaNeedsNoAwsSettingsAndCreatesNoTable) {
  // Region and keys come from the credential chain (AWS_REGION, AWS_ACCESS_KEY_ID ...).
  auto config =
      load_lambda(env_of({{"REDIS_HOST", "r"}, {"REDIS_PORT", "6379"}, {"QUESTION_SET_PATH", "/q"}}));
  EXPECT_EQ(config.dynamo.create_table, std::optional<bool>(false));
  config = load_lambda(env_of({{"REDIS_HOST", "r"},
                               {"REDIS_PORT", "6379"},
                               {"QUESTION_SET_PATH", "/q"},
                               {"DYNAMODB_CREATE_TABLE", "true"}}));
  EXPECT_EQ(config.dynamo.create_table, std::optional<bool>(true));
  EXPECT_THROW(load_lambda(env_of({{"REDIS_HOST", "r"},
                                   {"REDIS_PORT", "6379"},
                                   {"QUESTION_SET_PATH", "/q"},
                                   {"DYNAMODB_CREATE_TABLE", "maybe"}})),
               ConfigError);
}

TEST(Config, DeliveriesAndRequeueDelay) {
  auto config = resolve({}, env_of({{"LOADER_MAX_DELIVERIES", "3"}, {"LOADER_REQUEUE_DELAY_S", "2"}}), 0);
  EXPECT_EQ(config.loader.max_deliveries, 3);
  EXPECT_EQ(config.loader.requeue_delay, std::chrono::seconds(2));
  EXPECT_EQ(config.rabbit.retry_queue, "quiz-complete.retry");
  EXPECT_THROW(resolve({}, env_of({{"LOADER_REQUEUE_DELAY_S", "0"}}), 0), ConfigError);
}

TEST(Config, AnExplicitConfigFileMustExist) {
  EXPECT_THROW(load("/nonexistent/config.ini", true, env_of({}), 0), ConfigError);
  EXPECT_NO_THROW(load("/nonexistent/config.ini", false, env_of({}), 0));
}

TEST(Config, ManagedServiceSettingsHaveSafeDefaults) {
  auto config = resolve(parse_ini(kIni, "config.ini"), env_of({}), kNeedAll);
  EXPECT_EQ(config.rabbit.vhost, "/");
  EXPECT_FALSE(config.rabbit.tls.enabled);
  EXPECT_EQ(config.rabbit.heartbeat, std::chrono::seconds(30));
  EXPECT_TRUE(config.redis.username.empty());
  EXPECT_TRUE(config.redis.password.empty());
  EXPECT_EQ(config.redis.db, 0);
  EXPECT_FALSE(config.redis.tls.enabled);
}

TEST(Config, ManagedServiceSettingsFromTheFileAndTheEnvironment) {
  std::string ini = std::string(kIni) + R"(
[rabbit-mq]
vhost = quiz
tls = true
ca_file = /etc/ca.pem
heartbeat_s = 10
)";
  auto config = resolve(parse_ini(ini, "config.ini"),
                        env_of({{"REDIS_USERNAME", "loader"},
                                {"REDIS_PASSWORD", "s3cret-redis"},
                                {"REDIS_DB", "2"},
                                {"REDIS_TLS", "yes"},
                                {"REDIS_CERT_FILE", "/c.pem"},
                                {"REDIS_KEY_FILE", "/c.key"}}),
                        kNeedAll);
  EXPECT_EQ(config.rabbit.vhost, "quiz");
  EXPECT_TRUE(config.rabbit.tls.enabled);
  EXPECT_EQ(config.rabbit.tls.ca_file, "/etc/ca.pem");
  EXPECT_EQ(config.rabbit.heartbeat, std::chrono::seconds(10));
  EXPECT_EQ(config.redis.username, "loader");
  EXPECT_EQ(config.redis.password, "s3cret-redis");
  EXPECT_EQ(config.redis.db, 2);
  EXPECT_TRUE(config.redis.tls.enabled);
  EXPECT_EQ(config.redis.tls.cert_file, "/c.pem");
  EXPECT_EQ(config.redis.tls.key_file, "/c.key");
  auto described = describe(config);
  EXPECT_THAT(described, HasSubstr("vhost=quiz"));
  EXPECT_THAT(described, HasSubstr("redis_user=loader"));
  EXPECT_THAT(described, HasSubstr("redis_tls=yes"));
  EXPECT_THAT(described, Not(HasSubstr("s3cret-redis")));
}

TEST(Config, ManagedServiceMistakesAreNamed) {
  auto fails = [](std::map<std::string, std::string> env, const std::string& says) {
    try {
      resolve(parse_ini(kIni, "config.ini"), env_of(std::move(env)), kNeedAll);
      ADD_FAILURE() << "accepted; expected: " << says;
    } catch (const ConfigError& e) {
      EXPECT_THAT(e.what(), HasSubstr(says));
    }
  };
  fails({{"REDIS_TLS", "maybe"}}, "'redis.tls' (REDIS_TLS) is 'maybe': expected true or false");
  fails({{"RABBITMQ_TLS", "true"}, {"RABBITMQ_CERT_FILE", "/c.pem"}},
        "'rabbit-mq.cert_file' (RABBITMQ_CERT_FILE) is set but 'rabbit-mq.key_file' (RABBITMQ_KEY_FILE) is "
        "not");
  fails({{"REDIS_CA_FILE", "/ca.pem"}}, "'redis.tls' (REDIS_TLS) is off but TLS files are set");
  fails({{"REDIS_USERNAME", "loader"}}, "an ACL user logs in with a password");
  fails({{"REDIS_DB", "-1"}}, "'redis.db' (REDIS_DB)");
  fails({{"RABBITMQ_HEARTBEAT_S", "forever"}}, "'rabbit-mq.heartbeat_s' (RABBITMQ_HEARTBEAT_S)");
}

}  // namespace
}  // namespace qrl::config

namespace qrl::config {
namespace {

TEST(Config, RabbitHostNamesSeveralNodesAndTheQueueTypeIsOneOfTwo) {
  auto config = resolve({}, env_of({{"RABBITMQ_HOST", "a, b:5673,[::1]:5674"}, {"RABBITMQ_USERNAME", "u"},
                                    {"RABBITMQ_PASSWORD", "p"}, {"RABBITMQ_PORT", "5700"},
                                    {"RABBITMQ_QUEUE_TYPE", "quorum"}}),
                        kNeedRabbit);
  EXPECT_EQ(config.rabbit.nodes, (std::vector<Node>{{"a", 5700}, {"b", 5673}, {"::1", 5674}}));
  EXPECT_EQ(config.rabbit.host, "a");
  EXPECT_EQ(config.rabbit.port, 5700);
  EXPECT_EQ(config.rabbit.queue_type, "quorum");
  auto plain = resolve({}, env_of({{"RABBITMQ_HOST", "h"}, {"RABBITMQ_USERNAME", "u"}, {"RABBITMQ_PASSWORD", "p"}}),
                       kNeedRabbit);
  EXPECT_EQ(plain.rabbit.queue_type, "classic");
  EXPECT_EQ(plain.rabbit.nodes, (std::vector<Node>{{"h", 5672}}));
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"RABBITMQ_QUEUE_TYPE", "stream"}, {"RABBITMQ_HOST", "a,,b"}, {"RABBITMQ_HOST", "a:x"}}) {
    auto env = std::map<std::string, std::string>{{"RABBITMQ_HOST", "h"}, {"RABBITMQ_USERNAME", "u"},
                                                  {"RABBITMQ_PASSWORD", "p"}};
    env[name] = value;
    try {
      resolve({}, env_of(env), kNeedRabbit);
      ADD_FAILURE() << name << "=" << value << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.code(), core::Code::kConfig);
      EXPECT_THAT(e.what(), HasSubstr(name)) << e.what();
    }
  }
}

}  // namespace
}  // namespace qrl::config
