#pragma once
// One worker's adapters, wired into a pipeline: its own Redis connection, question-set
// directory and DynamoDB HTTP connection. Container and Lambda modes make one per worker.

#include "config/config.h"
#include "dynamodb/client.h"
#include "files/question_files.h"
#include "pipeline/pipeline.h"
#include "redis/quiz_store.h"

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

}  // namespace qrl::wiring
