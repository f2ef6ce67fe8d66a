#pragma once
// One worker's adapters, wired into a pipeline: its own Redis connection, question-set
// directory and DynamoDB HTTP connection. Container and Lambda modes make one per worker.

#include "config/config.h"
#include "dynamodb/client.h"
#include "files/question_files.h"
#include "pipeline/pipeline.h"
#include "redis/quiz_store.h"
#include "sweep/sweep.h"

namespace qrl::wiring {

struct Stores {
  Stores(const config::Config& config, std::shared_ptr<credentials::Provider> aws,
         metrics::Recorder& recorder = metrics::nothing())
      : live(config.redis, config.loader.request_timeout, config.loader.max_answers, recorder),
        questions(config.question_set_path, config.question_set_max_bytes),
        items(config.dynamo, std::move(aws), config.loader.request_timeout),
        pipeline(live, questions, items, recorder) {
    items.set_recorder(recorder);
  }
  Stores(const Stores&) = delete;
  Stores& operator=(const Stores&) = delete;

  redis::QuizStore live;
  files::QuestionFiles questions;
  dynamodb::Client items;
  pipeline::Pipeline pipeline;
};

inline core::RetryPolicy retry_policy(const config::Config& config) {
  core::RetryPolicy policy;
  policy.max_attempts = config.loader.retry_attempts;
  policy.max_deliveries = config.loader.max_deliveries;
  return policy;
}

// A sweep (sweep/sweep.h) over one worker's stores; `stop` ends it early.
inline sweep::Report run_sweep(Stores& stores, const sweep::Options& options, const config::Config& config,
                               const std::function<bool()>& stop, metrics::Recorder& recorder = metrics::nothing(),
                               core::Clock& clock = core::system_clock()) {
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
