#pragma once
// The workers of `serve`: each owns its Redis and DynamoDB connections (wiring::Stores), takes
// jobs from the consumer loop's queue, runs the pipeline on them and reports what it made of
// each, as the loop settles it.

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "core/retry.h"
#include "daemon/consumer_loop.h"
#include "metrics/recorder.h"
#include "wiring/stores.h"

namespace qrl::daemon {

class Workers {
 public:
  using Report = std::function<void(Finished)>;
  // One thread per Stores. Once `stop_retrying` is true, retry backoffs end at once (the drain).
  Workers(const config::Config& config, std::vector<std::unique_ptr<wiring::Stores>>& stores,
          WorkQueue<Job>& jobs, Report report, std::function<bool()> stop_retrying,
          metrics::Recorder& recorder, core::Clock& clock);
  ~Workers();  // closes the job queue and joins
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

 private:
  Finished work(wiring::Stores& stores, Job& job, const pipeline::Sleeper& sleep);

  const config::Config& config_;
  WorkQueue<Job>& jobs_;
  Report report_;
  std::function<bool()> stop_retrying_;
  metrics::Recorder& recorder_;
  core::Clock& clock_;
  core::RetryPolicy policy_;
  core::RetryQuota quota_;  // shared: an outage stops every worker's retries, not one's
  std::vector<std::thread> threads_;
};

}  // namespace qrl::daemon
