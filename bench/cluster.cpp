// One Redis against a Redis Cluster (three primaries, three replicas: support/redis_cluster.h),
// both of the benchmark's own on loopback, the same quizzes on each: N quizzes of P x Q written
// as the quiz server writes them, then read whole and deleted by W threads, each with its own
// store, as serve's workers do (the Redis half of a load; the DynamoDB half does not change with
// the mode). Reports, for each: round trips per quiz (the adapter's own count), quizzes a
// second, and each node's command times as the node measured them (the slow log, every command
// logged): the 99th percentile and the worst.
//   build/bench/bench_cluster [-n QUIZZES] [-p PARTICIPANTS] [-q QUESTIONS] [-w THREADS]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/keys.h"
#include "core/sample.h"
#include "pipeline/ports.h"
#include "redis/quiz_store.h"
#include "support/harness.h"
#include "support/redis_cluster.h"

using namespace qrl;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Figures {
  double round_trips_per_quiz = 0;
  double quizzes_per_second = 0;
};

// Reads and deletes every quiz with `threads` stores of `settings`.
Figures drain(const config::Redis& settings, const std::vector<core::SampleQuiz>& quizzes, int threads) {
  std::atomic<std::size_t> next{0};
  std::atomic<std::uint64_t> round_trips{0};
  const auto started = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      redis::QuizStore store(settings, 5000ms);
      store.connect();
      // On a cluster, a round trip is one exchange with every node it touches, at once.
      auto trips = [&] { return store.cluster() ? store.cluster()->rounds() : store.round_trips(); };
      const auto before = trips();
      for (std::size_t i; (i = next++) < quizzes.size();) {
        const core::QuizId id(quizzes[i].id);
        auto live = pipeline::read_whole(store, id);
        store.remove(core::keys::source_keys(quizzes[i].id, live.header));
      }
      round_trips += trips() - before;
    });
  }
  for (auto& w : workers) w.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return {static_cast<double>(round_trips) / static_cast<double>(quizzes.size()),
          static_cast<double>(quizzes.size()) / seconds};
}

redis::Reply ask(int port, const redis::Command& command) {
  config::Redis settings;
  settings.host = "127.0.0.1";
  settings.port = port;
  settings.nodes = {{settings.host, port}};
  return redis::Connection(settings, 5000ms).command(command);
}

// Every command from here on goes to the node's slow log, with its time.
void log_every_command(int port) {
  ask(port, {"CONFIG", "SET", "slowlog-log-slower-than", "0"});
  ask(port, {"CONFIG", "SET", "slowlog-max-len", "1000000"});
  ask(port, {"SLOWLOG", "RESET"});
}

// The node's command times (µs) since log_every_command, its own commands left out.
std::vector<long long> command_times(int port) {
  auto reply = ask(port, {"SLOWLOG", "GET", "-1"});
  std::vector<long long> out;
  for (std::size_t i = 0; i < reply->elements; ++i) {
    const redisReply& entry = *reply->element[i];
    const redisReply& args = *entry.element[3];
    const std::string name = args.elements > 0 ? std::string(args.element[0]->str, args.element[0]->len) : "";
    if (name == "SLOWLOG" || name == "CONFIG" || name == "CLUSTER" || name == "AUTH" || name == "PING") continue;
    out.push_back(entry.element[2]->integer);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void print_node(const char* what, int port) {
  const auto times = command_times(port);
  if (times.empty()) return;
  const auto p99 = times[std::min(times.size() - 1, times.size() * 99 / 100)];
  std::printf("  %-8s 127.0.0.1:%-5d %7zu commands   p99 %6lld us   worst %6lld us\n", what, port, times.size(), p99,
              times.back());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"One Redis against a Redis Cluster: the Redis half of loading the same quizzes"};
  int count = 300, participants = 20, questions = 10, threads = 4;
  app.add_option("-n", count, "quizzes");
  app.add_option("-p", participants, "participants per quiz");
  app.add_option("-q", questions, "questions per quiz");
  app.add_option("-w", threads, "threads, each with its own store (serve's workers)");
  CLI11_PARSE(app, argc, argv);

  std::vector<core::SampleQuiz> quizzes;
  for (int n = 0; n < count; ++n) {
    quizzes.push_back(core::make_sample_quiz(20261206, static_cast<std::uint64_t>(n), {participants, questions}));
  }
  std::printf("bench_cluster: %d quizzes of %d x %d, %d threads\n", count, participants, questions, threads);

  testing::RedisServer single;
  config::Redis single_settings;
  single_settings.host = "127.0.0.1";
  single_settings.port = single.port();
  single_settings.nodes = {{single_settings.host, single.port()}};
  {
    redis::Connection writer(single_settings, 5000ms);
    for (const auto& q : quizzes) writer.pipeline(q.redis_commands);
  }
  log_every_command(single.port());
  const auto one = drain(single_settings, quizzes, threads);
  std::printf("one Redis:          %5.2f round trips a quiz   %7.0f quizzes/s\n", one.round_trips_per_quiz,
              one.quizzes_per_second);
  print_node("server", single.port());

  testing::RedisCluster cluster(3, 1);
  for (const auto& q : quizzes) cluster.write(q.redis_commands);
  for (std::size_t i = 0; i < cluster.size(); ++i) log_every_command(cluster.port(i));
  const auto many = drain(cluster.settings(0), quizzes, threads);
  std::printf("cluster of 3 (+3):  %5.2f round trips a quiz   %7.0f quizzes/s\n",
              many.round_trips_per_quiz, many.quizzes_per_second);
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    const bool primary = cluster.nodes_text(i).find("myself,master") != std::string::npos;
    print_node(primary ? "primary" : "replica", cluster.port(i));
  }
  return 0;
}
