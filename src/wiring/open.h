#pragma once
// Every command's start-up, written once: the AWS settings resolved, one worker's stores per
// worker around one limiter of the table and one memory of the quizzes loaded, Redis reached,
// the table made sure of (created where the settings allow it) and the limiter seeded with
// what the table is provisioned for. serve, lambda, load and sweep open their stores here.

#include <functional>
#include <memory>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "metrics/registry.h"
#include "wiring/stores.h"

namespace qrl::wiring {

struct Opened {
  std::shared_ptr<credentials::Provider> aws;
  std::shared_ptr<capacity::Limiter> limiter;         // the table's, shared by every worker
  std::shared_ptr<pipeline::RecentlyLoaded> loaded;   // the process's memory of quizzes stored
  std::vector<std::unique_ptr<Stores>> stores;        // one a worker

  Stores& first() { return *stores.front(); }
  // More stores on the same limiter and memory (serve's periodic sweep has its own).
  std::unique_ptr<Stores> another(const config::Config& config, metrics::Recorder& recorder, core::Clock& clock) const {
    return std::make_unique<Stores>(config, aws, recorder, limiter, loaded, clock);
  }
};

struct OpenOptions {
  int workers = 1;
  metrics::Recorder* recorder = nullptr;  // none: metrics::nothing()
  core::Clock* clock = nullptr;           // none: core::system_clock()
  // serve and lambda reach Redis here, to fail at start rather than on the first quiz; a command
  // reaches it with its first quiz, and says per quiz what failed.
  bool reach_redis = true;
  // Called once the settings are complete (region and endpoint resolved), before any server is
  // reached: serve logs them there.
  std::function<void(const config::Config&)> resolved;
};

// Fills in config's AWS settings; throws core::Error (config::ConfigError included) naming what
// could not be reached or is missing.
Opened open_stores(config::Config& config, const config::Env& env, const OpenOptions& options = {});

}  // namespace qrl::wiring
