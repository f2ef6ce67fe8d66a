// End-to-end benchmark on the local stack (scripts/bench.sh starts it and sets the
// environment): seeds N quizzes of P x Q into Redis and the question-set directory, measures
// dynalite's raw PutItem rate for the very same items from W bare keep-alive clients (after a
// warm-up), then publishes the N events, runs the real daemon with W workers until every quiz is
// loaded, and reports quizzes/s (and as a fraction of the raw rate), the DynamoDB requests per
// quiz (from the daemon's own /metrics), the daemon's CPU per quiz and its peak RSS. Everything
// it creates (queue, tables, directory) is its own and removed after.

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "core/error.h"
#include "core/event.h"
#include "core/item.h"
#include "core/transform.h"
#include "http/client.h"
#include "redis/quiz_store.h"
#include "support/harness.h"

using namespace qrl;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Which quizzes Redis still holds, watched cheaply. The loader takes them about in the order
// they were published, so a poll checks from the first not yet seen gone, 64 at a time, and
// stops at the first batch with one still there. (Checking all N every 20 ms was 50,000 EXISTS
// a second at N = 1000: Redis's CPU and the benchmark's own, taken from the two cores dynalite
// and the loader share, and none of it there when the raw rate is measured.)
class Remaining {
 public:
  Remaining(testing::Stack& stack, const std::vector<core::SampleQuiz>& quizzes)
      : stack_(stack), gone_(quizzes.size(), false), left_(quizzes.size()) {
    for (const auto& q : quizzes) keys_.push_back(q.id + ":quizName");
  }

  std::size_t poll() {
    while (cursor_ < keys_.size()) {
      std::vector<std::size_t> batch;
      for (std::size_t i = cursor_; i < keys_.size() && batch.size() < 64; ++i) {
        if (!gone_[i]) batch.push_back(i);
      }
      std::vector<redis::Command> commands;
      for (auto i : batch) commands.push_back({"EXISTS", keys_[i]});
      const auto replies = stack_.redis().pipeline(commands);
      bool all_gone = true;
      for (std::size_t n = 0; n < batch.size(); ++n) {
        if (replies[n]->integer != 0) {
          all_gone = false;
        } else {
          gone_[batch[n]] = true;
          --left_;
        }
      }
      while (cursor_ < keys_.size() && gone_[cursor_]) ++cursor_;
      if (!all_gone) break;
    }
    return left_;
  }

 private:
  testing::Stack& stack_;
  std::vector<std::string> keys_;
  std::vector<bool> gone_;
  std::size_t left_;
  std::size_t cursor_ = 0;  // every quiz before it is gone
};

// The daemon's DynamoDB requests by operation, off its /metrics (qrl_dynamodb_requests_total);
// none for a build before /metrics (--binary).
std::optional<std::map<std::string, double>> dynamodb_requests(int port) {
  http::Client client(5000ms);
  http::Request request;
  request.url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
  std::map<std::string, double> out;
  std::string body;
  try {
    body = client.send(request).body;
  } catch (const core::Error&) {
    return std::nullopt;
  }
  std::istringstream lines(body);
  const std::string family = "qrl_dynamodb_requests_total{";
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(family, 0) != 0) continue;
    const auto at = line.find("operation=\"");
    if (at == std::string::npos) continue;
    const auto from = at + 11;
    out[line.substr(from, line.find('"', from) - from)] += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int quizzes_n = 1000, participants = 20, questions = 10, workers = 4, settle_ms = 0;
  std::string binary = QRL_BINARY;
  CLI::App app{"End-to-end benchmark of `serve` on the local stack"};
  app.add_option("-n,--quizzes", quizzes_n, "Quizzes")->capture_default_str();
  app.add_option("-p,--participants", participants, "Participants per quiz")->capture_default_str();
  app.add_option("-q,--questions", questions, "Questions per quiz")->capture_default_str();
  app.add_option("-w,--workers", workers, "Loader workers, and raw PutItem clients")->capture_default_str();
  app.add_option("-s,--settle-ms", settle_ms,
                 "The settle window (LOADER_SETTLE_MS); events are stamped with the time they are published")
      ->capture_default_str();
  app.add_option("--binary", binary, "The loader to run (default: this build's; another: before)");
  CLI11_PARSE(app, argc, argv);
  http::global_init();

  testing::Stack stack;
  auto config = stack.config();
  config.loader.workers = workers;

  std::fprintf(stderr, "seeding %d quizzes of %d x %d...\n", quizzes_n, participants, questions);
  std::vector<core::SampleQuiz> quizzes;
  const auto seed = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  for (int n = 0; n < quizzes_n; ++n) {
    quizzes.push_back(core::make_sample_quiz(seed, static_cast<std::uint64_t>(n), {participants, questions}));
    stack.write_sample(quizzes.back());
  }

  // The items the loader will write, built here the same way, for the raw PutItem rate.
  std::vector<std::string> items;
  std::vector<pipeline::ItemStore::Identity> identities;
  double mean_size = 0;  // by DynamoDB's rules, what its 400 KB limit counts
  {
    redis::QuizStore store(config.redis, 10s);
    for (const auto& q : quizzes) {
      auto live = pipeline::read_whole(store, core::QuizId(q.id));
      auto quiz = core::build_quiz(core::QuizId(q.id), live.header, live.participant_values, q.question_file);
      mean_size += static_cast<double>(core::item_size(quiz));
      items.push_back(core::encode_item(quiz));
      identities.push_back({quiz.start_time, quiz.participants.size()});
    }
  }
  double mean_item = 0;  // the DynamoDB JSON sent, about 1.7 times larger
  for (const auto& item : items) mean_item += static_cast<double>(item.size());
  mean_item /= static_cast<double>(items.size());
  mean_size /= static_cast<double>(items.size());

  // The same items, from W bare keep-alive clients, each into a fresh table: plain, and with the
  // loader's condition (dynalite parses every condition expression; DynamoDB charges nothing for it).
  auto raw_rate_of = [&](const char* name, bool conditional, std::size_t count) {
    auto raw_settings = config.dynamo;
    raw_settings.table = config.dynamo.table + "-" + name;
    auto keys = testing::keys_of(raw_settings);
    dynamodb::Client raw_admin(raw_settings, keys, 30s);
    raw_admin.ensure_table();
    std::fprintf(stderr, "%s PutItem of %zu of the same items from %d keep-alive clients...\n", name, count,
                 workers);
    std::atomic<std::size_t> next{0};
    auto raw_start = Clock::now();
    {
      std::vector<std::thread> threads;
      for (int w = 0; w < workers; ++w) {
        threads.emplace_back([&] {
          dynamodb::Client client(raw_settings, keys, 30s);
          for (std::size_t i = next++; i < count; i = next++) {
            if (conditional) {
              client.put_quiz(quizzes[i].id, items[i], identities[i], 0);
            } else {
              client.put_part(quizzes[i].id, items[i], 0);
            }
          }
        });
      }
      for (auto& t : threads) t.join();
    }
    const double rate = static_cast<double>(count) / seconds_since(raw_start);
    raw_admin.delete_table();
    return rate;
  };
  // dynalite is a Node.js program: its first few hundred requests run before the JIT has compiled
  // them, and a raw rate measured cold is a low bar (the loader, last, meets a warm dynalite).
  (void)raw_rate_of("warm-up", true, std::min<std::size_t>(items.size(), 300));
  const double raw_rate = raw_rate_of("raw", false, items.size());
  const double conditional_rate = raw_rate_of("conditional", true, items.size());

  auto env = stack.env();
  env["LOADER_WORKERS"] = std::to_string(workers);
  env["LOADER_LOG_LEVEL"] = "warn";
  env["LOADER_SETTLE_MS"] = std::to_string(settle_ms);
  const int metrics_port = testing::free_port();
  env["LOADER_METRICS_PORT"] = std::to_string(metrics_port);
  std::fprintf(stderr, "publishing %zu events, stamped now...\n", quizzes.size());
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  for (const auto& q : quizzes)
    stack.publish(core::make_event("bench-" + q.id, core::rfc3339_utc(now_s), q.id));
  std::fprintf(stderr, "running the daemon (settle window %d ms)...\n", settle_ms);
  auto started = Clock::now();
  testing::Process daemon({"serve"}, env, binary);
  // Time from the daemon's start: its start-up (connections, table check) is part of the job.
  std::optional<double> first_load;
  Remaining remaining(stack, quizzes);
  for (std::size_t left = quizzes.size(); left > 0; left = remaining.poll()) {
    if (!first_load && left < quizzes.size()) first_load = seconds_since(started);
    if (!daemon.running()) {
      std::fprintf(stderr, "the daemon exited early:\n%s\n", daemon.stderr_text().c_str());
      return 1;
    }
    std::this_thread::sleep_for(20ms);
  }
  double elapsed = seconds_since(started);
  if (!first_load) first_load = elapsed;
  const long peak_rss_kib = daemon.peak_rss_kib();
  const auto requests = dynamodb_requests(metrics_port);
  daemon.signal(SIGTERM);
  auto code = daemon.wait(60s);
  if (code != 0) {
    std::fprintf(stderr, "the daemon did not stop cleanly:\n%s\n", daemon.stderr_text().c_str());
    return 1;
  }
  const auto& usage = daemon.usage();
  double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
               static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  double rate = static_cast<double>(quizzes.size()) / elapsed;

  std::size_t wrong = 0;
  for (std::size_t i = 0; i < quizzes.size(); i += std::max<std::size_t>(1, quizzes.size() / 20)) {
    auto item = stack.item(quizzes[i].id);
    if (!item || *item != nlohmann::json::parse(items[i])) ++wrong;
  }

  std::printf(
      "quizzes:              %zu of %d participants x %d questions, mean item %.1f KB by DynamoDB's size "
      "rules "
      "(%.1f KB of DynamoDB JSON sent), %d workers\n",
      quizzes.size(), participants, questions, mean_size / 1024.0, mean_item / 1024.0, workers);
  std::printf("dynalite raw PutItem: %.1f items/s (%d keep-alive clients, same items)\n", raw_rate, workers);
  std::printf("  with the condition: %.1f items/s (the loader's own request, from the same clients)\n",
              conditional_rate);
  std::printf(
      "loader end to end:    %.1f quizzes/s in %.2f s = %.2f of the raw rate, %.2f of the conditional\n",
      rate, elapsed, rate / raw_rate, rate / conditional_rate);
  const double user =
      static_cast<double>(usage.ru_utime.tv_sec) + static_cast<double>(usage.ru_utime.tv_usec) / 1e6;
  std::printf(
      "after the first load:  %.1f quizzes/s (first quiz gone %.2f s after start; settle window %d ms)\n",
      static_cast<double>(quizzes.size() - 1) / std::max(elapsed - *first_load, 1e-3), *first_load,
      settle_ms);
  if (requests) {
    double all_requests = 0;
    std::string by_operation;
    for (const auto& [operation, n] : *requests) {
      all_requests += n;
      by_operation +=
          (by_operation.empty() ? "" : ", ") + operation + " " + std::to_string(static_cast<long>(n));
    }
    std::printf("DynamoDB requests:    %.2f per quiz (%s; DescribeTable at start-up included)\n",
                all_requests / static_cast<double>(quizzes.size()), by_operation.c_str());
  } else {
    std::printf("DynamoDB requests:    not counted (this build has no /metrics)\n");
  }
  std::printf("loader CPU per quiz:  %.3f ms (user %.2f s + sys %.2f s in all, start-up included)\n",
              cpu * 1000.0 / static_cast<double>(quizzes.size()), user, cpu - user);
  std::printf("loader peak RSS:      %.1f MB\n", static_cast<double>(peak_rss_kib) / 1024.0);
  std::printf("spot check:           %zu of every %zuth item differ from the expected (0 expected)\n", wrong,
              std::max<std::size_t>(1, quizzes.size() / 20));
  return wrong == 0 ? 0 : 1;
}
