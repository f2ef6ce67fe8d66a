#pragma once
// What the integration tests need around the real servers: settings that isolate each test
// (its own queue, DynamoDB table and question-set directory), clients to arrange and inspect
// state, and the real binary run as a child process.

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "amqp/connection.h"
#include "config/config.h"
#include "core/sample.h"
#include "credentials/credentials.h"
#include "dynamodb/client.h"
#include "redis/connection.h"
#include "support/fixtures.h"

namespace qrl::testing {

using namespace std::chrono_literals;

// The loader's binary, run with an environment of our choosing; stderr and stdout are kept.
class Process {
 public:
  // `binary` defaults to the loader under test; with `root`, it runs chroot()ed there (and
  // `binary` is a path inside it).
  Process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
          const std::string& binary = QRL_BINARY, const std::string& root = "");
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  void signal(int signal);
  // Exit code, or empty if it has not exited within `timeout` (it is then killed).
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  std::string stderr_text() const;
  std::string stdout_text() const;
  pid_t pid() const { return pid_; }
  // CPU of the process, once it has exited.
  const rusage& usage() const { return usage_; }
  // Peak resident memory (VmHWM) of the running process, in KiB. (ru_maxrss would count the
  // pages of the parent that fork() copied before exec.)
  long peak_rss_kib() const;
  // Resident memory now (VmRSS), in KiB.
  long rss_kib() const;

 private:
  pid_t pid_ = -1;
  rusage usage_{};
  std::optional<int> status_;
  std::filesystem::path out_, err_;
};

// Runs the binary to completion.
struct Run {
  int code;
  std::string out;
  std::string err;
};
Run run(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
        std::chrono::milliseconds timeout = 60s);

class Stack {
 public:
  Stack();  // fresh queue, table and directory names
  ~Stack();

  const config::Config& config() const { return config_; }
  // Other servers or logins for this test, before the first use of redis() or rabbit(): the
  // harness's own clients and the binary's environment both follow. use_rabbit() keeps this
  // test's queue names.
  void use_redis(const config::Redis& settings);
  void use_rabbit(const config::Rabbit& settings);
  // The environment for the binary: every setting, pointing at this test's resources.
  std::map<std::string, std::string> env() const;
  // The environment of `lambda` under the Runtime API at `runtime_api`, with Lambda's own
  // variable names and test credentials (session token included).
  std::map<std::string, std::string> lambda_env(const std::string& runtime_api) const;

  redis::Connection& redis();
  dynamodb::Client& dynamo();
  amqp::Connection& rabbit();  // a publisher with confirms

  void write(const Fixture& fixture);
  void write_sample(const core::SampleQuiz& quiz);
  void publish(const std::string& body);
  void publish_event(const std::string& quiz_id, const std::string& event_id = "");

  bool redis_has(const std::string& key);
  std::size_t redis_count(const std::vector<std::string>& keys);
  bool file_exists(const std::string& quiz_id) const;
  std::optional<nlohmann::json> item(const std::string& quiz_id);
  std::uint32_t queue_depth(const std::string& queue);  // ready messages
  std::uint32_t queue_depth() { return queue_depth(config_.rabbit.queue_name); }
  std::uint32_t dlq_depth() { return queue_depth(config_.rabbit.dead_letter_queue); }
  // Messages held for their requeue delay (LOADER_REQUEUE_DELAY_S, 1 s here) before coming back.
  // The queue is the loader's (declared with its arguments by serve): it must exist.
  std::uint32_t retry_depth();
  // Every message in the queue, left in it.
  std::vector<amqp::Message> peek(const std::string& queue);
  // rabbitmqctl against the test broker (QRL_RABBITMQCTL, from scripts/stack.sh env).
  int rabbitmqctl(const std::string& args);

  const std::filesystem::path& question_dir() const { return question_dir_; }
  const std::filesystem::path& root() const { return root_; }

 private:
  config::Config config_;
  std::filesystem::path root_, question_dir_;
  std::unique_ptr<redis::Connection> redis_;
  std::unique_ptr<dynamodb::Client> dynamo_;
  std::unique_ptr<amqp::Connection> rabbit_;
};

// The environment variables that give the binary these Redis and RabbitMQ settings.
std::map<std::string, std::string> redis_env(const config::Redis& settings);
std::map<std::string, std::string> rabbit_env(const config::Rabbit& settings);

// A redis-server of the test's own on a free loopback port, with `args` added to its command
// line; with `tls`, it listens with TLS only, with the stack's test certificate `certificate`
// (QRL_TLS_DIR/<certificate>.pem and .key).
class RedisServer {
 public:
  explicit RedisServer(const std::vector<std::string>& args = {}, bool tls = false,
                       const std::string& certificate = "server");
  ~RedisServer();
  int port() const { return port_; }
  bool tls() const { return tls_; }
  void kill();  // SIGKILL, as a crash
  std::string log() const;

 private:
  int port_;
  bool tls_;
  std::filesystem::path dir_;
  std::unique_ptr<Process> process_;
};

// The stack's test certificates (scripts/stack.sh, QRL_TLS_DIR): ca.pem, other-ca.pem,
// server.pem (DNS name localhost only), expired.pem (the same, expired), client.pem and their
// keys.
std::string tls_file(const std::string& name);

// A free TCP port on loopback, as the kernel hands them out.
int free_port();

// The ACL line docs/operations.md documents for the loader, as redis-server arguments
// ("--user", "loader", "on", ...), with `password`: the tests run exactly what operators are
// told to set.
std::vector<std::string> documented_acl(const std::string& password);

// A credentials provider for the keys in `settings` (the tests' own clients).
std::shared_ptr<credentials::Provider> keys_of(const config::Dynamo& settings);

// Polls `done` every 50 ms until it is true or `timeout` passes.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 30s);

// Occurrences of `needle` in `haystack`.
std::size_t count(const std::string& haystack, const std::string& needle);

}  // namespace qrl::testing
