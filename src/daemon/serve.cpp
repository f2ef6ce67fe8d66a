#include "daemon/serve.h"

// `serve` is wired here from its parts: the stop signals (stop_signals.h), the workers
// (workers.h), the consumer loop and its states (consumer_loop.h) over the broker
// (broker.h), the republisher of failed messages (republisher.h), and the health endpoint with
// its probes (probes.h). Every server is reached once before any message is taken, for one
// clear error.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <optional>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "daemon/broker.h"
#include "daemon/consumer_loop.h"
#include "daemon/probes.h"
#include "daemon/republisher.h"
#include "daemon/stop_signals.h"
#include "daemon/workers.h"
#include "health/health.h"
#include "log/log.h"
#include "metrics/registry.h"
#include "pipeline/pipeline.h"
#include "wiring/aws.h"
#include "wiring/stores.h"

namespace qrl::daemon {

namespace {

struct Started {
  std::shared_ptr<credentials::Provider> aws;
  std::shared_ptr<capacity::Limiter> limiter;  // the table's, shared by every worker
  std::shared_ptr<pipeline::RecentlyLoaded> loaded = std::make_shared<pipeline::RecentlyLoaded>();
  std::vector<std::unique_ptr<wiring::Stores>> stores;
  std::unique_ptr<health::Endpoint> endpoint;
  std::unique_ptr<health::Prober> prober;
};

// Reaches every server as the workers will, and opens the consumer; throws core::Error.
Started start(config::Config& config, const config::Env& env, Broker& broker, health::State& health,
              metrics::Registry& registry, const std::function<bool()>& stopping) {
  Started started;
  auto aws = wiring::resolve_aws(config, env);
  started.aws = aws;
  started.limiter = std::make_shared<capacity::Limiter>();
  log::info("starting", {{"config", config::describe(config)}});
  for (int i = 0; i < config.loader.workers; ++i) {
    started.stores.push_back(std::make_unique<wiring::Stores>(config, aws, registry, started.limiter, started.loaded));
    // A write waits for the table's capacity as long as it takes, until a stop.
    started.stores.back()->paced.set_patience({stopping, std::nullopt});
  }
  started.stores.front()->live.connect();
  started.stores.front()->items.ensure_table();
  wiring::seed_limiter(*started.stores.front(), config);
  broker.open();
  broker.consume(static_cast<std::uint16_t>(config.loader.workers));
  if (config.loader.metrics_port) {
    started.endpoint = std::make_unique<health::Endpoint>(*config.loader.metrics_port, health, registry);
    started.prober = std::make_unique<health::Prober>(health, probes(config, aws), std::chrono::seconds(5));
    log::info("serving /metrics, /healthz and /readyz", {{"port", std::to_string(*config.loader.metrics_port)}});
  }
  return started;
}

LoopSettings loop_settings(const config::Config& config) {
  LoopSettings settings;
  settings.prefetch = static_cast<std::uint16_t>(config.loader.workers);
  settings.settle = config.loader.settle;
  settings.drain_timeout = config.loader.drain_timeout;
  settings.policy = wiring::retry_policy(config);
  return settings;
}

// sweep_interval_s: a sweep (sweep/sweep.h) on a thread and stores of its own, every interval,
// until the first stop request.
std::thread periodic_sweep(const config::Config& config, const Started& started, metrics::Registry& registry,
                           core::Clock& clock, std::function<bool()> stop) {
  return std::thread([&config, aws = started.aws, limiter = started.limiter, loaded = started.loaded, &registry, &clock, stop] {
    auto wait = pipeline::interruptible_sleeper(stop, clock);
    std::optional<wiring::Stores> stores;
    while (wait(std::chrono::duration_cast<std::chrono::milliseconds>(config.loader.sweep_interval))) {
      try {
        if (!stores) {
          stores.emplace(config, aws, registry, limiter, loaded);
          stores->paced.set_patience({stop, std::nullopt});
        }
        auto report = wiring::run_sweep(*stores, wiring::sweep_options(config), config, stop, registry, clock);
        log::info("sweep done", {{"quizzes", std::to_string(report.entries.size())},
                                 {"stored", std::to_string(report.count(sweep::Verdict::kStored))},
                                 {"loaded", std::to_string(report.count(sweep::Verdict::kLoaded))},
                                 {"abandoned", std::to_string(report.count(sweep::Verdict::kAbandoned))},
                                 {"failed", std::to_string(report.count(sweep::Verdict::kFailed))}});
      } catch (const core::Error& e) {
        log::warn("sweep failed; the next one runs on schedule", {{"reason", e.what()}});
      }
    }
  });
}

}  // namespace

int serve(config::Config config, const config::Env& env) {
  StopSignals signals;
  auto& clock = core::system_clock();
  metrics::Registry registry;
  health::State health(clock);
  AmqpBroker broker(config.rabbit);
  Started started;
  try {
    started = start(config, env, broker, health, registry, [&] { return signals.count() > 0; });
  } catch (const core::Error& e) {
    log::error("cannot start", {{"reason", e.what()}});
    return 1;
  }
  WorkQueue<Job> jobs;
  std::optional<ConsumerLoop> loop;
  Republisher republisher(amqp_publisher(config), [&](Receipt r) { loop->receipt(r); });
  loop.emplace(loop_settings(config),
               LoopPorts{broker, republisher, jobs, clock, health, registry, [&] { return signals.count(); },
                         core::unit_random, started.limiter.get()});
  auto workers = std::make_unique<Workers>(
      config, started.stores, jobs, [&](Finished f) { loop->finished(std::move(f)); },
      [&] { return signals.count() > 0; }, registry, clock);
  log::info("consuming", {{"queue", config.rabbit.queue_name}, {"workers", std::to_string(config.loader.workers)}});
  std::thread sweeper;
  if (config.loader.sweep_interval.count() > 0) {
    sweeper = periodic_sweep(config, started, registry, clock, [&] { return signals.count() > 0; });
  }
  const bool clean = loop->run();
  if (sweeper.joinable() && clean) sweeper.join();
  broker.close();
  if (!clean) {
    // Workers may be inside a request; their messages are unacked and the broker has them.
    log::warn("stopped with unfinished messages; they will be redelivered");
    std::fflush(nullptr);
    std::_Exit(1);
  }
  workers.reset();
  log::info("stopped");
  return 0;
}

}  // namespace qrl::daemon
