#pragma once
// What happens to a message once the pipeline is done with it, and how long to wait between
// attempts at a transient failure. This is the one place where the class of a failure
// (core::FailureKind) turns into an action on the message.

#include <chrono>
#include <cstdint>
#include <optional>

#include "core/error.h"

namespace qrl::core {

enum class Action {
  kAck,      // done (loaded, or found already loaded)
  kReject,   // permanent: never retried; dead-lettered where a dead-letter queue exists
  kRequeue,  // transient and out of in-process attempts: back to the queue for later
};

// nullopt = success.
Action decide(const std::optional<Error>& failure) noexcept;

struct RetryPolicy {
  int max_attempts = 5;  // in-process attempts at one message before it is requeued
  std::chrono::milliseconds base_delay{100};
  std::chrono::milliseconds max_delay{5000};
};

// Capped exponential backoff with full jitter: attempt 1 -> [0, base], attempt 2 -> [0, 2 base],
// ... capped at max_delay. `unit_random` is in [0, 1), injected so tests are deterministic.
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, double unit_random);

}  // namespace qrl::core
