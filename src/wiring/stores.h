#pragma once
// One worker's adapters, wired into a pipeline: its own Redis connection, question-set
// directory and DynamoDB HTTP connection, and the process's capacity limiter of the table,
// which every worker's Stores share. Container and Lambda modes make one per worker.

#include <memory>

#include "capacity/limiter.h"
#include "capacity/paced_items.h"
#include "config/config.h"
#include "dynamodb/client.h"
#include "files/question_files.h"
#include "pipeline/pipeline.h"
#include "redis/quiz_store.h"
#include "sweep/sweep.h"

namespace qrl::wiring {

struct Stores {
  // The limiter is the table's, shared by every worker of the process (wiring/open.h makes it).
  // Without a memory of loaded quizzes, the Stores have none (every duplicate whose sources are
  // gone reads the item). The clock is handed to every part that waits or times.
  Stores(const config::Config& config, std::shared_ptr<credentials::Provider> aws, metrics::Recorder& recorder,
         std::shared_ptr<capacity::Limiter> shared, std::shared_ptr<pipeline::RecentlyLoaded> memory,
         core::Clock& clock)
      : live(config.redis, config.loader.request_timeout, config.loader.max_answers, recorder),
        questions(config.question_set_path, config.question_set_max_bytes),
        items(config.dynamo, std::move(aws), config.loader.request_timeout),
        limiter(std::move(shared)),
        paced(items, *limiter, recorder, clock),
        loaded(std::move(memory)),
        pipeline(live, questions, paced, recorder, clock) {
    items.set_recorder(recorder);
    if (loaded) pipeline.remember_in(*loaded);
    paced.set_pacing(config.loader.pace_writes);
  }
  Stores(const Stores&) = delete;
  Stores& operator=(const Stores&) = delete;

  // Lambda: requests end by `deadline`, and wait for capacity only if they can have it before
  // `deadline - margin`.
  void set_deadline(core::Clock::time_point deadline, std::chrono::milliseconds margin) {
    items.set_deadline(deadline, pipeline.clock());
    paced.set_patience({nullptr, deadline - margin});
  }

  redis::QuizStore live;
  files::QuestionFiles questions;
  dynamodb::Client items;  // the table itself: setup, `check`, `list`, `show`
  std::shared_ptr<capacity::Limiter> limiter;
  capacity::PacedItems paced;  // the table at its pace: what the pipeline writes to
  std::shared_ptr<pipeline::RecentlyLoaded> loaded;
  pipeline::Pipeline pipeline;
};

// Seeds the limiter with what the table says it is provisioned for (DescribeTable, as
// ensure_table() found it), and logs it; an on-demand table leaves the limiter to find the pace
// when it first throttles.
dynamodb::TableCapacity seed_limiter(Stores& stores, const config::Config& config);

inline core::RetryPolicy retry_policy(const config::Config& config) {
  core::RetryPolicy policy;
  policy.max_attempts = config.loader.retry_attempts;
  policy.max_deliveries = config.loader.max_deliveries;
  return policy;
}

// A sweep (sweep/sweep.h) over one worker's stores; `stop` ends it early.
inline sweep::Report run_sweep(Stores& stores, const sweep::Options& options, const config::Config& config,
                               const std::function<bool()>& stop, metrics::Recorder& recorder = metrics::nothing()) {
  auto& clock = stores.pipeline.clock();
  auto sleep = pipeline::interruptible_sleeper(stop, clock);
  return sweep::sweep(options, {stores.live, stores.live, stores.questions, stores.pipeline, clock, recorder,
                                retry_policy(config), sleep});
}

inline sweep::Options sweep_options(const config::Config& config) {
  sweep::Options options;
  options.min_age = config.loader.sweep_min_age;
  return options;
}

}  // namespace qrl::wiring
