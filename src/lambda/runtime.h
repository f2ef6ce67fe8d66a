#pragma once
// Lambda mode: an AWS Lambda custom runtime over the Runtime API (2018-06-01), fed SQS batches
// and answering with partial batch responses. The same pipeline as `serve`, one set of stores
// (Redis and HTTP connections) per worker, made at init and reused across invocations.

#include "config/config.h"
#include "lambda/runtime_api.h"

namespace qrl::lambda {

// Runs the runtime loop; returns the process exit code (non-zero after an init error or when
// the Runtime API goes away).
int run(const config::Env& env);

}  // namespace qrl::lambda
