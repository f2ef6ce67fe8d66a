#pragma once
// Lambda mode: an AWS Lambda custom runtime over the Runtime API (2018-06-01), fed SQS batches
// and answering with partial batch responses. The same pipeline as `serve`, one set of stores
// (Redis and HTTP connections) per worker, made at init and reused across invocations.

#include <chrono>
#include <cstdint>
#include <string_view>

#include "config/config.h"

namespace qrl::lambda {

// Runs the runtime loop; returns the process exit code (non-zero after an init error or when
// the Runtime API goes away).
int run(const config::Env& env);

// Time left before a Lambda-Runtime-Deadline-Ms value, at wall-clock `now_ms`: 0 when past,
// at most 15 minutes, 15 minutes when the header is absent or not a number.
std::chrono::milliseconds time_left(std::string_view deadline_header, std::int64_t now_ms);

}  // namespace qrl::lambda
