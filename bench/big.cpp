// Big quizzes on the local stack (scripts/bench.sh starts it and sets the environment). For
// each shape P x Q, one quiz is seeded, then loaded by `quiz-result-loader load` while a probe
// client PINGs Redis every millisecond; it prints the load time, the loader's CPU and peak RSS,
// the items written and their total size by DynamoDB's rules, the longest single Redis command
// the loader sent (SLOWLOG, with slowlog-log-slower-than 0) and the probe's worst PING, and
// whether `show` gives back exactly the item computed independently from the sources.
// Then, with --serve, `serve` with W workers on W quizzes of the largest shape at once: peak
// RSS, and RSS before and after; with --lambda, the largest shape through `lambda`.

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include <CLI/CLI.hpp>

#include "core/dynamo_size.h"
#include "core/event.h"
#include "http/client.h"
#include "split/reassemble.h"
#include "support/expected_item.h"
#include "support/harness.h"
#include "support/runtime_api.h"

using namespace qrl;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double cpu_seconds(const rusage& usage) {
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// PINGs Redis every millisecond from its own connection, keeping the worst round trip.
class Probe {
 public:
  explicit Probe(const config::Redis& settings) : connection_(settings, 10s) {
    connection_.command({"CLIENT", "SETNAME", "qrl-probe"});
    thread_ = std::thread([this] {
      while (!stop_) {
        const auto started = Clock::now();
        connection_.command({"PING"});
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
        if (us > worst_us_) worst_us_ = us;
        std::this_thread::sleep_for(1ms);
      }
    });
  }
  ~Probe() { finish(); }
  long long finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return worst_us_;
  }

 private:
  redis::Connection connection_;
  std::atomic<bool> stop_{false};
  std::atomic<long long> worst_us_{0};
  std::thread thread_;
};

struct Slowest {
  long long us = 0;
  std::string command;
  std::size_t commands = 0;
};

// The loader's longest command in SLOWLOG (the probe's and this program's own left out).
Slowest slowest(redis::Connection& redis) {
  Slowest out;
  auto log = redis.command({"SLOWLOG", "GET", "-1"});
  for (std::size_t i = 0; i < log->elements; ++i) {
    const auto* entry = log->element[i];
    if (entry->elements < 6) continue;
    const std::string client(entry->element[5]->str, entry->element[5]->len);
    if (client == "qrl-probe" || client == "qrl-bench") continue;
    ++out.commands;
    if (entry->element[2]->integer > out.us) {
      out.us = entry->element[2]->integer;
      // SLOWLOG keeps 32 arguments, the last saying how many more there were.
      const auto* args = entry->element[3];
      out.command = std::string(args->element[0]->str, args->element[0]->len);
      std::size_t keys = args->elements - 1;
      const std::string last(args->element[args->elements - 1]->str, args->element[args->elements - 1]->len);
      if (auto more = last.find("more arguments"); more != std::string::npos) {
        keys += std::stoul(last.substr(last.find('(') + 1)) - 1;
      }
      out.command += " of " + std::to_string(keys);
    }
  }
  return out;
}

// The peak RSS of `process` once it runs the loader: until exec(), /proc shows the fork of this
// program, whose memory is not the loader's.
long loader_peak_kib(const testing::Process& process) {
  std::ifstream comm("/proc/" + std::to_string(process.pid()) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name.rfind("quiz-result", 0) == 0 ? process.peak_rss_kib() : 0;
}

struct Shape {
  int participants, questions;
};

Shape parse_shape(const std::string& text) {
  auto x = text.find('x');
  if (x == std::string::npos) throw CLI::ValidationError("shape", "'" + text + "' is not PxQ");
  return {std::stoi(text.substr(0, x)), std::stoi(text.substr(x + 1))};
}

// Every item of the quiz in the table, and their total size by DynamoDB's rules.
std::pair<std::size_t, std::size_t> stored(testing::Stack& stack, const std::string& quiz_id) {
  std::size_t items = 0, bytes = 0;
  for (const auto& item : stack.dynamo().scan(1000000, false)) {
    const auto id = item["id"]["S"].get<std::string>();
    if (id == quiz_id || id.rfind(quiz_id + "#", 0) == 0) {
      ++items;
      bytes += core::dynamo::item_size(item);
    }
  }
  return {items, bytes};
}

bool shown_whole(testing::Stack& stack, const core::SampleQuiz& sample) {
  auto shown = testing::run({"show", sample.id}, stack.env(), 300s);
  return shown.code == 0 && nlohmann::json::parse(shown.out) == testing::expected_item(sample);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> shapes = {"20x10",   "296x20",  "300x20",  "1000x20",
                                     "2000x50", "5000x20", "10000x50"};
  int workers = 4;
  bool serve = false, lambda = false, verify = true;
  CLI::App app{"Big quizzes: load time, CPU, memory, items and Redis impact, per quiz shape"};
  app.add_option("--shapes", shapes, "Shapes PxQ, each loaded by `load`")
      ->delimiter(',')
      ->capture_default_str();
  app.add_flag("--serve", serve, "Then `serve` with W workers on W quizzes of the last shape");
  app.add_option("-w,--workers", workers, "Workers (and quizzes) for --serve")->capture_default_str();
  app.add_flag("--lambda", lambda, "Then the last shape through `lambda`");
  app.add_flag("!--no-verify", verify, "Skip comparing `show` with the expected item");
  CLI11_PARSE(app, argc, argv);
  http::global_init();

  testing::Stack stack;
  stack.dynamo().ensure_table();
  auto& redis = stack.redis();
  redis.command({"CLIENT", "SETNAME", "qrl-bench"});
  auto env = stack.env();
  env["LOADER_LOG_LEVEL"] = "warn";
  std::mt19937_64 rng(std::random_device{}());

  std::printf(
      "| P x Q | answers | load s | loader CPU s | peak RSS MB | items | DynamoDB size KB | longest Redis "
      "command | loader commands | worst PING ms | show == expected |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  std::fflush(stdout);
  for (const auto& text : shapes) {
    const auto shape = parse_shape(text);
    std::fprintf(stderr, "%s: seeding...\n", text.c_str());
    auto sample = core::make_sample_quiz(rng(), 1, {shape.participants, shape.questions});
    stack.write_sample(sample);
    redis.pipeline({{"CONFIG", "SET", "slowlog-log-slower-than", "0"},
                    {"CONFIG", "SET", "slowlog-max-len", "1000000"},
                    {"SLOWLOG", "RESET"}});
    std::fprintf(stderr, "%s: loading...\n", text.c_str());
    Probe probe(stack.config().redis);
    const auto started = Clock::now();
    testing::Process loader({"load", sample.id}, env);
    long peak = 0;
    while (loader.running()) {
      peak = std::max(peak, loader_peak_kib(loader));
      std::this_thread::sleep_for(5ms);
    }
    const double elapsed = seconds_since(started);
    const auto worst_ping = probe.finish();
    redis.command({"CONFIG", "SET", "slowlog-log-slower-than", "10000"});
    const auto slow = slowest(redis);
    if (loader.wait(1s) != 0) {
      std::fprintf(stderr, "load failed:\n%s\n", loader.stderr_text().c_str());
      return 1;
    }
    const auto [items, bytes] = stored(stack, sample.id);
    const char* whole = !verify ? "-" : shown_whole(stack, sample) ? "yes" : "NO";
    std::printf("| %d x %d | %d | %.2f | %.2f | %.1f | %zu | %.1f | %.2f ms (%s) | %zu | %.2f | %s |\n",
                shape.participants, shape.questions, shape.participants * shape.questions, elapsed,
                cpu_seconds(loader.usage()), static_cast<double>(peak) / 1024.0, items,
                static_cast<double>(bytes) / 1024.0, static_cast<double>(slow.us) / 1000.0,
                slow.command.c_str(), slow.commands, static_cast<double>(worst_ping) / 1000.0, whole);
    std::fflush(stdout);
  }

  const auto last = parse_shape(shapes.back());
  if (serve) {
    std::fprintf(stderr, "serve: seeding %d quizzes of %s...\n", workers, shapes.back().c_str());
    std::vector<core::SampleQuiz> quizzes;
    for (int i = 0; i < workers; ++i) {
      quizzes.push_back(core::make_sample_quiz(rng(), 1, {last.participants, last.questions}));
      stack.write_sample(quizzes.back());
    }
    auto serve_env = stack.env();  // at info level: it says when it is consuming
    serve_env["LOADER_WORKERS"] = std::to_string(workers);
    testing::Process daemon({"serve"}, serve_env);
    while (testing::count(daemon.stderr_text(), "consuming") == 0 && daemon.running())
      std::this_thread::sleep_for(20ms);
    std::this_thread::sleep_for(500ms);
    const long baseline = daemon.rss_kib();
    Probe probe(stack.config().redis);
    const auto started = Clock::now();
    for (const auto& q : quizzes) stack.publish_event(q.id);
    long peak = 0;
    auto left = [&] {
      std::size_t n = 0;
      for (const auto& q : quizzes) n += stack.file_exists(q.id) ? 1 : 0;
      return n;
    };
    while (left() > 0 && daemon.running()) {
      peak = std::max(peak, loader_peak_kib(daemon));
      std::this_thread::sleep_for(5ms);
    }
    const double elapsed = seconds_since(started);
    const auto worst_ping = probe.finish();
    std::this_thread::sleep_for(2s);
    const long after = daemon.rss_kib();
    daemon.signal(SIGTERM);
    daemon.wait(60s);
    std::size_t whole = 0;
    for (const auto& q : quizzes) whole += (!verify || shown_whole(stack, q)) ? 1 : 0;
    std::printf(
        "\nserve, %d workers, %d quizzes of %s at once: %.1f s, CPU %.1f s, RSS %.1f MB before, peak %.1f "
        "MB, "
        "%.1f MB 2 s after; worst PING %.2f ms; %zu of %d shown whole%s\n",
        workers, workers, shapes.back().c_str(), elapsed, cpu_seconds(daemon.usage()),
        static_cast<double>(baseline) / 1024.0, static_cast<double>(peak) / 1024.0,
        static_cast<double>(after) / 1024.0, static_cast<double>(worst_ping) / 1000.0, whole, workers,
        verify ? "" : " (not verified)");
    std::fflush(stdout);
  }

  if (lambda) {
    std::fprintf(stderr, "lambda: seeding %s...\n", shapes.back().c_str());
    auto sample = core::make_sample_quiz(rng(), 1, {last.participants, last.questions});
    stack.write_sample(sample);
    testing::RuntimeApi api;
    auto lambda_env = stack.lambda_env(api.address());
    lambda_env["LOADER_LOG_LEVEL"] = "warn";
    testing::Process runtime({"lambda"}, lambda_env);
    nlohmann::json event = {{"Records",
                             {{{"messageId", "m1"},
                               {"receiptHandle", "h1"},
                               {"body", core::make_event("e1", "2022-03-12T07:49:21Z", sample.id)},
                               {"attributes", {{"ApproximateReceiveCount", "1"}, {"MessageGroupId", "g"}}},
                               {"eventSource", "aws:sqs"},
                               {"eventSourceARN", "arn:aws:sqs:us-east-1:123456789012:quiz-complete.fifo"},
                               {"awsRegion", "us-east-1"}}}}};
    const auto started = Clock::now();
    auto id = api.invoke(event.dump(), 900s);
    long peak = 0;
    std::optional<testing::RuntimeApi::Answer> answer;
    while (!(answer = api.answer(id, 5ms)) && runtime.running())
      peak = std::max(peak, runtime.peak_rss_kib());
    const double elapsed = seconds_since(started);
    runtime.signal(SIGTERM);
    runtime.wait(10s);
    const bool ok = answer && answer->kind == "response" &&
                    nlohmann::json::parse(answer->body)["batchItemFailures"].empty();
    const auto [items, bytes] = stored(stack, sample.id);
    std::printf(
        "\nlambda, one record of %s: %s in %.1f s, peak RSS %.1f MB, %zu items, %.1f KB; shown whole: %s\n",
        shapes.back().c_str(), ok ? "loaded" : "FAILED", elapsed, static_cast<double>(peak) / 1024.0, items,
        static_cast<double>(bytes) / 1024.0,
        !verify                      ? "-"
        : shown_whole(stack, sample) ? "yes"
                                     : "NO");
    if (!ok) std::fprintf(stderr, "%s\n", runtime.stderr_text().c_str());
  }
  return 0;
}
