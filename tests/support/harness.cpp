#include "support/harness.h"

#include "amqp/topology.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/error.h"
#include "core/event.h"
#include "credentials/sources.h"
#include "files/question_files.h"

namespace qrl::testing {

namespace {

std::string required_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    throw std::runtime_error(std::string(name) +
                             " is not set: run the tests with scripts/test.sh, "
                             "which starts the servers and sets it");
  }
  return value;
}

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Process::Process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                 const std::string& binary_path, const std::string& root) {
  static int counter = 0;
  auto base = std::filesystem::temp_directory_path() /
              ("qrl-proc-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  out_ = base.string() + ".out";
  err_ = base.string() + ".err";
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  env_strings.push_back("PATH=/usr/bin:/bin");
  // Everything the child needs is made before fork(): the test process has threads, and the
  // child may only make async-signal-safe calls.
  std::string binary = binary_path;
  std::vector<std::string> args_copy = args;
  std::vector<char*> argv;
  argv.push_back(binary.data());
  for (auto& a : args_copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  // Away from any config.ini in the caller's directory: the environment is the whole config.
  const std::string workdir = std::filesystem::temp_directory_path().string();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::dup2(null, 0);
    if (!root.empty()) {
      if (::chroot(root.c_str()) != 0 || ::chdir("/") != 0) ::_exit(125);
    } else if (::chdir(workdir.c_str()) != 0) {
      ::_exit(126);
    }
    ::execve(binary.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
}

Process::~Process() {
  if (!status_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  std::error_code ec;
  std::filesystem::remove(out_, ec);
  std::filesystem::remove(err_, ec);
}

void Process::signal(int signal) {
  ::kill(pid_, signal);
}

bool Process::running() {
  if (status_) return false;
  int status = 0;
  if (::wait4(pid_, &status, WNOHANG, &usage_) == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      status_ = 128 + SIGKILL;
      return std::nullopt;
    }
    std::this_thread::sleep_for(10ms);
  }
  return status_;
}

namespace {

long status_kib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(field.size()));
  }
  return -1;
}

}  // namespace

long Process::peak_rss_kib() const {
  return status_kib(pid_, "VmHWM:");
}
long Process::rss_kib() const {
  return status_kib(pid_, "VmRSS:");
}

std::string Process::stderr_text() const {
  return slurp(err_);
}
std::string Process::stdout_text() const {
  return slurp(out_);
}

Run run(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
        std::chrono::milliseconds timeout) {
  Process process(args, env);
  auto code = process.wait(timeout);
  return {code ? *code : -1, process.stdout_text(), process.stderr_text()};
}

Stack::Stack() {
  auto id = random_id();
  root_ = std::filesystem::temp_directory_path() / ("qrl-test-" + id);
  question_dir_ = root_ / "question-sets";
  std::filesystem::create_directories(question_dir_);

  config_.rabbit.host = "127.0.0.1";
  config_.rabbit.port = std::stoi(required_env("RABBITMQ_PORT"));
  config_.rabbit.username = "guest";
  config_.rabbit.password = "guest";
  config_.rabbit.queue_name = "test-" + id;
  config_.rabbit.dead_letter_queue = config_.rabbit.queue_name + ".dlq";
  config_.rabbit.retry_queue = config_.rabbit.queue_name + ".retry";  // as the binary derives them
  config_.redis.host = "127.0.0.1";
  config_.redis.port = std::stoi(required_env("REDIS_PORT"));
  config_.question_set_path = question_dir_.string();
  config_.dynamo.region = "us-east-1";
  config_.dynamo.endpoint_url = required_env("DYNAMODB_ENDPOINT_URL");
  config_.dynamo.access_key_id = "test-key";
  config_.dynamo.secret_access_key = "test-secret-do-not-log";
  config_.dynamo.table = "quiz-" + id;
  config_.loader.workers = 2;
}

Stack::~Stack() {
  try {
    if (dynamo_) dynamo_->delete_table();
  } catch (...) {
  }
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

namespace {

void add_tls_env(std::map<std::string, std::string>& env, const std::string& prefix, const config::Tls& tls) {
  if (!tls.enabled) return;
  env[prefix + "_TLS"] = "true";
  if (!tls.ca_file.empty()) env[prefix + "_CA_FILE"] = tls.ca_file;
  if (!tls.cert_file.empty()) env[prefix + "_CERT_FILE"] = tls.cert_file;
  if (!tls.key_file.empty()) env[prefix + "_KEY_FILE"] = tls.key_file;
}

}  // namespace

std::map<std::string, std::string> redis_env(const config::Redis& settings) {
  std::map<std::string, std::string> env = {{"REDIS_HOST", settings.host},
                                            {"REDIS_PORT", std::to_string(settings.port)}};
  if (!settings.username.empty()) env["REDIS_USERNAME"] = settings.username;
  if (!settings.password.empty()) env["REDIS_PASSWORD"] = settings.password;
  if (settings.db != 0) env["REDIS_DB"] = std::to_string(settings.db);
  add_tls_env(env, "REDIS", settings.tls);
  return env;
}

std::map<std::string, std::string> rabbit_env(const config::Rabbit& settings) {
  std::map<std::string, std::string> env = {{"RABBITMQ_HOST", settings.host},
                                            {"RABBITMQ_PORT", std::to_string(settings.port)},
                                            {"RABBITMQ_USERNAME", settings.username},
                                            {"RABBITMQ_PASSWORD", settings.password},
                                            {"RABBITMQ_QUEUE_NAME", settings.queue_name}};
  if (settings.vhost != "/") env["RABBITMQ_VHOST"] = settings.vhost;
  if (settings.queue_type != "classic") env["RABBITMQ_QUEUE_TYPE"] = settings.queue_type;
  if (settings.nodes.size() > 1) {
    std::string hosts;
    for (const auto& node : settings.nodes) hosts += (hosts.empty() ? "" : ",") + node.host + ":" + std::to_string(node.port);
    env["RABBITMQ_HOST"] = hosts;
  }
  add_tls_env(env, "RABBITMQ", settings.tls);
  return env;
}

void Stack::use_redis(const config::Redis& settings) {
  config_.redis = settings;
  redis_.reset();
}

void Stack::use_rabbit(const config::Rabbit& settings) {
  auto queues = config_.rabbit;
  config_.rabbit = settings;
  config_.rabbit.queue_name = queues.queue_name;
  config_.rabbit.dead_letter_queue = queues.dead_letter_queue;
  config_.rabbit.retry_queue = queues.retry_queue;
  rabbit_.reset();
}

std::map<std::string, std::string> Stack::env() const {
  auto env = std::map<std::string, std::string>{
      {"QUESTION_SET_PATH", config_.question_set_path},
      {"DYNAMODB_REGION", config_.dynamo.region},
      {"DYNAMODB_ENDPOINT_URL", config_.dynamo.endpoint_url},
      {"DYNAMODB_ACCESS_KEY_ID", config_.dynamo.access_key_id},
      {"DYNAMODB_SECRET_ACCESS_KEY", config_.dynamo.secret_access_key},
      {"DYNAMODB_TABLE", config_.dynamo.table},
      {"LOADER_WORKERS", std::to_string(config_.loader.workers)},
      {"LOADER_DRAIN_TIMEOUT_S", "20"},
      {"LOADER_REQUEUE_DELAY_S", "1"},
      {"AWS_EC2_METADATA_DISABLED", "true"},  // never the real instance metadata address
  };
  env.merge(redis_env(config_.redis));
  env.merge(rabbit_env(config_.rabbit));
  return env;
}

std::map<std::string, std::string> Stack::lambda_env(const std::string& runtime_api) const {
  auto env = std::map<std::string, std::string>{{"AWS_LAMBDA_RUNTIME_API", runtime_api},
                                                {"QUESTION_SET_PATH", config_.question_set_path},
                                                {"AWS_REGION", "us-east-1"},
                                                {"AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"},
                                                {"AWS_SECRET_ACCESS_KEY", "lambda-secret-do-not-log"},
                                                {"AWS_SESSION_TOKEN", "lambda-token-do-not-log"},
                                                {"DYNAMODB_ENDPOINT_URL", config_.dynamo.endpoint_url},
                                                {"DYNAMODB_TABLE", config_.dynamo.table},
                                                {"DYNAMODB_CREATE_TABLE", "true"},
                                                {"AWS_EC2_METADATA_DISABLED", "true"},
                                                {"LOADER_WORKERS", "4"}};
  env.merge(redis_env(config_.redis));
  return env;
}

std::string tls_file(const std::string& name) {
  return required_env("QRL_TLS_DIR") + "/" + name;
}

std::vector<std::string> documented_acl(const std::string& password) {
  std::ifstream in(std::string(QRL_SOURCE_DIR) + "/docs/operations.md");
  std::string line;
  while (std::getline(in, line)) {
    auto at = line.find("user loader on ");
    if (at == std::string::npos) continue;
    std::istringstream words(line.substr(at + 5));
    std::vector<std::string> out = {"--user"};
    for (std::string word; words >> word;) {
      if (word.front() == '>') word = ">" + password;
      if (word.front() == '`') break;
      out.push_back(word);
    }
    return out;
  }
  throw std::runtime_error("docs/operations.md documents no 'user loader on ...' ACL line");
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

RedisServer::RedisServer(const std::vector<std::string>& args, bool tls, const std::string& certificate)
    : port_(free_port()), tls_(tls) {
  dir_ = std::filesystem::temp_directory_path() / ("qrl-redis-" + random_id());
  std::filesystem::create_directories(dir_);
  std::vector<std::string> line = {"--bind", "127.0.0.1",    "--dir", dir_.string(), "--save",
                                   "",       "--appendonly", "no",    "--logfile",   (dir_ / "log").string()};
  if (tls) {
    for (const auto& a :
         {std::string("--port"), std::string("0"), std::string("--tls-port"), std::to_string(port_),
          std::string("--tls-cert-file"), tls_file(certificate + ".pem"), std::string("--tls-key-file"),
          tls_file(certificate + ".key"), std::string("--tls-ca-cert-file"), tls_file("ca.pem"),
          std::string("--tls-auth-clients"), std::string("optional")})
      line.push_back(a);
  } else {
    line.push_back("--port");
    line.push_back(std::to_string(port_));
  }
  line.insert(line.end(), args.begin(), args.end());
  process_ = std::make_unique<Process>(line, std::map<std::string, std::string>{}, "/usr/bin/redis-server");
  const bool up = eventually(
      [&] {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<std::uint16_t>(port_));
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool open = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        ::close(fd);
        return open || !process_->running();
      },
      10s);
  if (!up || !process_->running()) throw std::runtime_error("redis-server did not start: " + log());
}

void RedisServer::kill() {
  process_->signal(SIGKILL);
  process_->wait(5s);
}

RedisServer::~RedisServer() {
  process_->signal(SIGKILL);
  process_->wait(5s);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string RedisServer::log() const {
  std::ifstream in(dir_ / "log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str() + process_->stderr_text();
}

redis::Connection& Stack::redis() {
  if (!redis_) redis_ = std::make_unique<redis::Connection>(config_.redis, 5000ms);
  return *redis_;
}

dynamodb::Client& Stack::dynamo() {
  if (!dynamo_)
    dynamo_ = std::make_unique<dynamodb::Client>(config_.dynamo, keys_of(config_.dynamo), 10000ms);
  return *dynamo_;
}

amqp::Connection& Stack::rabbit() {
  if (!rabbit_) {
    rabbit_ = std::make_unique<amqp::Connection>(config_.rabbit);
    amqp::topology::declare_main(*rabbit_, config_.rabbit);  // as the producer would, of the test's type
    rabbit_->enable_confirms();
  }
  return *rabbit_;
}

void Stack::write(const Fixture& fixture) {
  redis().pipeline(fixture.redis);
  files::QuestionFiles(question_dir_).write(core::QuizId(fixture.quiz_id), fixture.question_file);
}

void Stack::write_sample(const core::SampleQuiz& quiz) {
  redis().pipeline(quiz.redis_commands);
  files::QuestionFiles(question_dir_).write(core::QuizId(quiz.id), quiz.question_file);
}

void Stack::publish(const std::string& body) {
  // The tests cut broker connections, this one's included, and stop a cluster's nodes (a quorum
  // queue refuses publishes while it elects a leader): a new connection, a while later.
  for (int attempt = 1;; ++attempt) {
    try {
      rabbit().publish(config_.rabbit.queue_name, body);
      return;
    } catch (const core::Error&) {
      rabbit_.reset();
      if (attempt == 20) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(attempt == 1 ? 0 : 250));
    }
  }
}

void Stack::publish_event(const std::string& quiz_id, const std::string& event_id) {
  publish(core::make_event(event_id.empty() ? random_id() : event_id, "2022-03-12T07:49:21Z", quiz_id));
}

bool Stack::redis_has(const std::string& key) {
  auto reply = redis().command({"EXISTS", key});
  return reply->integer == 1;
}

std::size_t Stack::redis_count(const std::vector<std::string>& keys) {
  std::vector<redis::Command> commands;
  for (const auto& key : keys) commands.push_back({"EXISTS", key});
  std::size_t n = 0;
  for (const auto& reply : redis().pipeline(commands)) n += static_cast<std::size_t>(reply->integer);
  return n;
}

bool Stack::file_exists(const std::string& quiz_id) const {
  return std::filesystem::exists(question_dir_ / (quiz_id + ".json"));
}

std::optional<nlohmann::json> Stack::item(const std::string& quiz_id) {
  try {
    return dynamo().get(quiz_id);
  } catch (const core::Error& e) {
    // Before the loader has created the table there is no item either.
    if (std::string(e.what()).find("ResourceNotFoundException") != std::string::npos) return std::nullopt;
    throw;
  }
}

std::uint32_t Stack::queue_depth(const std::string& queue) {
  amqp::Connection connection(config_.rabbit);
  auto n = connection.find_queue(queue).value_or(0);  // whatever its type; absent: empty
  connection.close();
  return n;
}

std::uint32_t Stack::retry_depth() {
  amqp::Connection connection(config_.rabbit);
  auto n = connection.inspect_queue(config_.rabbit.retry_queue);  // passive: its arguments are the loader's
  connection.close();
  return n;
}

std::vector<amqp::Message> Stack::peek(const std::string& queue) {
  amqp::Connection connection(config_.rabbit);
  auto count = connection.find_queue(queue).value_or(0);
  std::vector<amqp::Message> out;
  while (out.size() < count) {
    auto message = connection.get(queue);
    if (!message) break;
    out.push_back(std::move(*message));
  }
  connection.close();  // unacked: all back in the queue
  return out;
}

int Stack::rabbitmqctl(const std::string& args) {
  return std::system((required_env("QRL_RABBITMQCTL") + " " + args + " >/dev/null 2>&1").c_str());
}

std::shared_ptr<credentials::Provider> keys_of(const config::Dynamo& settings) {
  return std::make_shared<credentials::Provider>(credentials::resolve_source(
      settings, [](const std::string&) { return std::optional<std::string>(); }, settings.region, 5000ms));
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

}  // namespace qrl::testing
