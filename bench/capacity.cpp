// The table's capacity, measured: N quizzes of P x Q queued, `serve` with its defaults (4
// workers, a requeue delay of 30 s, 10 deliveries before the dead-letter queue) against
// aws_standin.py in capacity mode (a provisioned table of W write units a second, one second of
// burst), once with the adaptive pace and once without it (LOADER_PACE_WRITES=false: a throttle
// is a transient failure, retried with backoff, requeued through the holding queue). Each run
// gets at most --limit seconds; it reports the quizzes loaded and dead-lettered, the drain time
// against the capacity-limited ideal, the share of write requests throttled and the write units
// used against those the items need. Then the same with throttles that are not a capacity: a
// table with no capacity limit behind a fault proxy that throttles 30% of requests at random
// (and answers 10% with a 500, resets 2%), where the loader should keep a useful rate.
// --binary runs another loader build (an older one: before). scripts/bench.sh starts the stack
// and sets the environment.

#include <signal.h>

#include <cstdio>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include <CLI/CLI.hpp>

#include "capacity/paced_items.h"
#include "core/dynamo_size.h"
#include "core/sample.h"
#include "http/client.h"
#include "support/aws_standin.h"
#include "support/capacity.h"
#include "support/expected_item.h"
#include "support/fault_proxy.h"
#include "support/harness.h"

using namespace qrl;
using namespace std::chrono_literals;

namespace {

// wcu 0: no capacity limit, and 30% of requests throttled at random.
void run(int quizzes_n, core::SampleShape shape, int wcu, int limit_s, bool pace, const std::string& binary) {
  testing::Stack stack;
  const char* dynalite = std::getenv("QRL_DYNALITE_URL");
  if (dynalite == nullptr) throw std::runtime_error("QRL_DYNALITE_URL is not set: run scripts/bench.sh");
  testing::AwsStandin standin(dynalite, {.keys = {"test-key:test-secret-do-not-log"}});
  std::optional<testing::FaultProxy> proxy;
  if (wcu > 0) {
    standin.set_capacity({{"write", wcu}, {"read", wcu}});
  } else {
    proxy.emplace(standin.dynamodb_url());
    proxy->set_policy(testing::FaultProxy::random_throttles(1));
  }
  std::vector<core::SampleQuiz> quizzes;
  double needed = 0;
  const auto seed = std::random_device{}();
  for (int i = 0; i < quizzes_n; ++i) {
    quizzes.push_back(core::make_sample_quiz(seed, static_cast<std::uint64_t>(i), shape));
    stack.write_sample(quizzes.back());
    needed += capacity::write_units(core::dynamo::item_size(testing::expected_item(quizzes.back())));
    stack.publish(testing::old_event(quizzes.back().id));
  }
  auto env = stack.env();
  env["DYNAMODB_ENDPOINT_URL"] = proxy ? proxy->url() : standin.dynamodb_url();
  env["LOADER_WORKERS"] = "4";
  env.erase("LOADER_REQUEUE_DELAY_S");  // serve's defaults: a requeued message waits 30 s
  env.erase("LOADER_DRAIN_TIMEOUT_S");
  env["LOADER_PACE_WRITES"] = pace ? "true" : "false";
  testing::Process daemon({"serve"}, env, binary);
  const auto started = std::chrono::steady_clock::now();
  testing::eventually([&] { return testing::finished_in(daemon.stderr_text()) >= quizzes.size(); },
                      std::chrono::seconds(limit_s));
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  daemon.signal(SIGTERM);
  daemon.wait(60s);
  const auto log = daemon.stderr_text();
  const auto put = testing::seen(standin.stats(), "PutItem");
  const std::size_t loaded = testing::finished_in(log);
  const char* who = binary != QRL_BINARY ? "another binary" : pace ? "adaptive pace (default)" : "pace off";
  if (proxy) {
    std::printf("%-28s %4zu of %d loaded in %5.1f s (%5.1f quizzes/s), %3u dead-lettered; faults: %s\n", who, loaded,
                quizzes_n, elapsed, static_cast<double>(loaded) / elapsed, stack.dlq_depth(), proxy->summary().c_str());
  } else {
    const double ideal = needed / wcu;
    std::printf("%-28s %4zu of %d loaded in %5.1f s (drain %5.1f s, ideal %4.1f s: %.2fx), %3u dead-lettered, "
                "%4d of %4d PutItem throttled (%4.1f%%), %6.0f write units used for %6.0f needed\n",
                who, loaded, quizzes_n, elapsed, put.last - put.first, ideal, (put.last - put.first) / ideal,
                stack.dlq_depth(), put.throttled, put.requests, 100.0 * put.throttled / std::max(put.requests, 1),
                put.units, needed);
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int quizzes = 300, participants = 20, questions = 10, wcu = 300, limit_s = 240;
  std::string binary = QRL_BINARY;
  bool only_on = false;
  int random_n = 150;
  CLI::App app{"The loader against a provisioned table's capacity, with and without its adaptive pace"};
  app.add_option("-n,--quizzes", quizzes, "Quizzes queued")->capture_default_str();
  app.add_option("-p,--participants", participants, "Participants per quiz")->capture_default_str();
  app.add_option("-q,--questions", questions, "Questions per quiz")->capture_default_str();
  app.add_option("-c,--wcu", wcu, "The table's write (and read) capacity units a second")->capture_default_str();
  app.add_option("-l,--limit", limit_s, "Seconds each run may take at most")->capture_default_str();
  app.add_option("--binary", binary, "The loader to run (default: this build's)");
  app.add_flag("--only-paced", only_on, "Skip the runs with the pace off");
  app.add_option("--random-quizzes", random_n, "Quizzes of the random-throttle scenario (0: skip it)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  http::global_init();
  std::printf("%d quizzes of %d x %d queued, a table of %d WCU/s, serve with 4 workers, at most %d s each\n",
              quizzes, participants, questions, wcu, limit_s);
  run(quizzes, {participants, questions}, wcu, limit_s, true, binary);
  if (!only_on) run(quizzes, {participants, questions}, wcu, limit_s, false, binary);
  if (random_n > 0) {
    std::printf("%d quizzes of %d x %d queued, a table with no capacity limit throttling 30%% of requests at random "
                "(10%% 500s, 2%% resets), serve with 4 workers, at most %d s each\n",
                random_n, participants, questions, limit_s);
    run(random_n, {participants, questions}, 0, limit_s, true, binary);
    if (!only_on) run(random_n, {participants, questions}, 0, limit_s, false, binary);
  }
  return 0;
}
