#pragma once
// Settings of the loader. Container mode reads an INI file whose every key can be overridden by
// an environment variable (the names of the replaced loader, so deployments keep working);
// Lambda mode reads the environment only. Secrets (the RabbitMQ and Redis passwords, the AWS secret key
// and session token) are held here and nowhere is there a function that prints them.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/error.h"

namespace qrl::config {

// A setting missing or invalid: the loader's one error type (core::Error), of the environment,
// with code kConfig, so every caller tells bad usage from a failure the same way.
class ConfigError : public core::Error {
 public:
  explicit ConfigError(const std::string& message)
      : core::Error(core::FailureKind::kEnvironment, core::Stage::kSetup, message, {}, core::DataProblem::kNone,
                    core::Code::kConfig) {}
};

// TLS towards a server. The server's certificate and host name are always verified; the CA
// file defaults to the system trust store. A client certificate is optional (both files or none).
struct Tls {
  bool enabled = false;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

// A server named "host[:port]".
struct Node {
  std::string host;
  int port = 0;
  friend bool operator==(const Node&, const Node&) = default;
};

struct Rabbit {
  std::string host;  // the first of `nodes`
  int port = 5672;  // unset: 5672, or 5671 with TLS
  // Every node named by rabbit-mq.host ("host[:port]", comma-separated; the port defaults to
  // rabbit-mq.port): the loader uses the first that answers, and another when it is lost.
  std::vector<Node> nodes;
  std::string username;
  std::string password;  // secret
  std::string queue_name = "quiz-complete";
  std::string dead_letter_queue;  // default: <queue_name>.dlq
  std::string retry_queue;        // default: <queue_name>.retry (holds requeued messages a while)
  std::string vhost = "/";
  // The type of the queues the loader declares: its holding and dead-letter queues, and the
  // main queue when it does not exist yet ("classic" or "quorum"). An existing main queue is
  // consumed as it is.
  std::string queue_type = "classic";
  Tls tls;
  std::chrono::seconds heartbeat{30};  // 0: none
};

using RedisNode = Node;

struct Redis {
  std::string host;  // the first of `nodes`
  int port = 6379;
  // Every node named by redis.host ("host[:port]", comma-separated; the port defaults to
  // redis.port): a cluster's map is learnt from any of them.
  std::vector<RedisNode> nodes;
  // Cluster mode (redis/cluster/): "auto" asks the server, "on", "off".
  std::string cluster = "auto";
  std::string username;  // ACL user; empty: the default user
  std::string password;  // secret; empty: no AUTH
  int db = 0;
  Tls tls;
  // No command the loader sends touches more keys or members than this (MGET, UNLINK, the
  // ranges of LRANGE and ZRANGE): the live quizzes share this Redis.
  int max_keys_per_command = 1000;
};

struct Dynamo {
  std::string region;        // empty: from the AWS environment (see credentials/sources.h)
  std::string endpoint_url;  // empty: https://dynamodb.<region>.amazonaws.com (.com.cn in China)
  // Explicit keys: the first source of the credential chain; empty: the rest of the chain.
  std::string access_key_id;
  std::string secret_access_key;  // secret
  std::string session_token;      // secret; optional
  std::string table = "quiz";
  std::optional<bool> create_table;  // empty: the mode's default (serve: yes, Lambda: no)
  // A plain-http endpoint (DynamoDB Local) gets a region and placeholder keys when none are
  // found (wiring/aws.h); not in Lambda, which runs in AWS.
  bool local_defaults = true;
};

struct Loader {
  int workers = 4;
  std::chrono::seconds drain_timeout{30};
  std::chrono::milliseconds request_timeout{10000};
  int retry_attempts = 5;
  int max_deliveries = 10;  // deliveries of a message failing transiently, then the DLQ
  std::int64_t max_answers = 2'000'000;    // participants x questions; a larger quiz is refused unread
  std::chrono::seconds requeue_delay{30};  // how long a requeued message waits before coming back
  // Lambda: a record is started only with at least this much time left before the deadline.
  std::chrono::milliseconds deadline_margin{1000};
  // No quiz is read before this has passed since it was announced (the event's time), nor
  // later than this after its receipt: the live quiz server is still writing when it
  // announces, and reads the whole quiz again after. 0: off.
  std::chrono::milliseconds settle{5000};
  // DynamoDB requests wait for the table's capacity at an adaptive pace (capacity/); off: sent
  // at once, a throttle retried with backoff like any transient failure (for comparison).
  bool pace_writes = true;
  // The share of the table's provisioned capacity this process starts its pace at: 100 / the
  // number of processes writing at once (Lambda: the event source's maximum concurrency).
  int capacity_share_percent = 100;
  // serve: a sweep (see sweep/) every this often; 0: never.
  std::chrono::seconds sweep_interval{0};
  // A quiz stopped this long ago with no item and no event is loaded by the sweep.
  std::chrono::seconds sweep_min_age{600};
  std::optional<int> metrics_port;  // serve: /metrics, /healthz, /readyz; empty: none
  std::string log_level = "info";
  std::string log_format = "text";
};

struct Config {
  Rabbit rabbit;
  Redis redis;
  std::string question_set_path;
  std::size_t question_set_max_bytes = std::size_t{64} << 20;
  Dynamo dynamo;
  Loader loader;
};

// Which parts a command needs; settings of parts not needed are not required.
enum Need : unsigned {
  kNeedRabbit = 1,
  kNeedRedis = 2,
  kNeedQuestions = 4,
  kNeedDynamo = 8,
  kNeedAll = 15,
};

// Looks an environment variable up; empty optional when unset or empty.
using Env = std::function<std::optional<std::string>(const std::string& name)>;
Env process_env();

// INI text to {"section.key" -> value}. Throws ConfigError naming the line of a syntax error.
std::map<std::string, std::string> parse_ini(std::string_view text, std::string_view origin);

// The settings from parsed INI values and the environment (which wins). Throws ConfigError
// naming every setting that is needed and missing, or the first invalid one.
Config resolve(const std::map<std::string, std::string>& file, const Env& env, unsigned needs);

// Reads `path` (a missing file is fine at the default path if the environment has everything;
// a missing file given explicitly is an error), then resolve().
Config load(const std::string& path, bool path_explicit, const Env& env, unsigned needs);

// Lambda mode: environment only, with the variable names Lambda provides for AWS.
Config load_lambda(const Env& env);

// One line for the start-up log: where everything is, never a secret.
std::string describe(const Config& config);

}  // namespace qrl::config
