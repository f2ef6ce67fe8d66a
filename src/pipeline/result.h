#pragma once
// What one message came to, as the shells (serve, lambda, load) and the dead-letter queue see
// it: the pipeline's answer, without the pipeline.

#include <optional>

#include "core/error.h"
#include "core/event.h"
#include "core/retry.h"

namespace qrl::pipeline {

enum class Outcome { kLoaded, kAlreadyLoaded };

struct JobResult {
  core::Action action = core::Action::kAck;
  std::optional<core::Error> failure;
  std::optional<core::Event> event;
  Outcome outcome = Outcome::kLoaded;
  int attempts = 0;
};

}  // namespace qrl::pipeline
