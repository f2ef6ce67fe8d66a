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
#include "sweep/sweep.h"
#include "wiring/open.h"

namespace qrl::daemon {

namespace {

struct Started {
  wiring::Opened opened;
  std::unique_ptr<health::Endpoint> endpoint;
  std::unique_ptr<health::Prober> prober;
};

// Reaches every server as the workers will, and opens the consumer; throws core::Error.
Started start(config::Config& config, const config::Env& env, Broker& broker, health::State& health,
              metrics::Registry& registry, core::Clock& clock, const std::function<bool()>& stopping) {
  Started started;
  wiring::OpenOptions options;
  options.workers = config.loader.workers;
  options.recorder = &registry;
  options.clock = &clock;
  options.resolved = [](const config::Config& c) { log::info("starting", {{"config", config::describe(c)}}); };
  started.opened = wiring::open_stores(config, env, options);
  // A write waits for the table's capacity as long as it takes, until a stop.
  for (auto& stores : started.opened.stores) stores->paced.set_patience({stopping, std::nullopt});
  broker.open();
  broker.consume(static_cast<std::uint16_t>(config.loader.workers));
  if (config.loader.metrics_port) {
    started.endpoint = std::make_unique<health::Endpoint>(*config.loader.metrics_port, health, registry);
    started.prober = std::make_unique<health::Prober>(health, probes(config, started.opened.aws), std::chrono::seconds(5));
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
  settings.queue = config.rabbit.queue_name;
  return settings;
}

// sweep_interval_s: a sweep (sweep/sweep.h) on a thread and stores of its own, every interval,
// until the first stop request.
std::thread periodic_sweep(const config::Config& config, const Started& started, metrics::Registry& registry,
                           core::Clock& clock, std::function<bool()> stop) {
  return std::thread([&config, &opened = started.opened, &registry, &clock, stop] {
    auto wait = pipeline::interruptible_sleeper(stop, clock);
    std::unique_ptr<wiring::Stores> stores;
    while (wait(std::chrono::duration_cast<std::chrono::milliseconds>(config.loader.sweep_interval))) {
      try {
        if (!stores) {
          stores = opened.another(config, registry, clock);
          stores->paced.set_patience({stop, std::nullopt});
        }
        auto report = wiring::run_sweep(*stores, wiring::sweep_options(config), config, stop, registry);
        const auto totals = sweep::totals(report);
        std::vector<std::string> counts;
        for (const auto& total : totals) counts.push_back(std::to_string(total.count));
        std::vector<log::Field> fields;
        for (std::size_t i = 0; i < totals.size(); ++i) fields.emplace_back(totals[i].name, counts[i]);
        log::write(log::Level::kInfo, "sweep done", fields);
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
    started = start(config, env, broker, health, registry, clock, [&] { return signals.count() > 0; });
  } catch (const core::Error& e) {
    log::error("cannot start", {{"reason", e.what()}});
    return 1;
  }
  WorkQueue<Job> jobs;
  std::optional<ConsumerLoop> loop;
  Republisher republisher(amqp_publisher(config), [&](Receipt r) { loop->receipt(r); });
  loop.emplace(loop_settings(config),
               LoopPorts{broker, republisher, jobs, clock, health, registry, [&] { return signals.count(); },
                         core::unit_random, started.opened.limiter.get()});
  auto workers = std::make_unique<Workers>(
      config, started.opened.stores, jobs, [&](Finished f) { loop->finished(std::move(f)); },
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
