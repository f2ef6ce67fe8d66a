#pragma once
// What happens to a message once the pipeline is done with it, and how long to wait between
// attempts. This is the one place where the class of a failure (core::FailureKind) turns into
// an action on the message:
//
//   transient   -> retried in process with backoff, then back to the queue after a delay; after
//                  `max_deliveries` deliveries it is dead-lettered with its history
//   permanent   -> dead-lettered at once, nothing deleted
//   environment -> back to the queue untouched (it is not the message's fault), and the
//                  consumer pauses with a capped backoff until the deployment works again
//   throttled   -> backpressure, not a failure: the table's pace is waited for where the write
//                  is made (capacity/), and only a write that ran out of time for it (stopping,
//                  or Lambda's deadline) gets here: back to the queue untouched and uncounted,
//                  so no quiz is ever dead-lettered because the table is slow

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "core/error.h"

namespace qrl::core {

enum class Action {
  kAck,      // done (loaded, or found already loaded)
  kReject,   // never retried again; dead-lettered where a dead-letter queue exists
  kRequeue,  // transient and out of in-process attempts: back to the queue, after a delay
  kPause,    // the environment is wrong: back to the queue, and stop taking messages for a while
  kRelease,  // backpressure (throttled): back to the queue untouched and uncounted, nothing paused
};

struct RetryPolicy {
  int max_attempts = 5;  // in-process attempts at one message before it is requeued
  std::chrono::milliseconds base_delay{100};
  std::chrono::milliseconds max_delay{5000};
  int max_deliveries = 10;  // deliveries of one message (across requeues) before it is dead-lettered
  std::chrono::milliseconds pause_base{1000};  // first pause of the consumer; doubles
  std::chrono::milliseconds pause_max{60000};
};

// nullopt = success. `deliveries` counts this delivery too (1 for the first one); 0 = unknown
// (SQS counts receives itself and dead-letters by its redrive policy).
Action decide(const std::optional<Error>& failure, int deliveries, const RetryPolicy& policy) noexcept;

// A delivery a quorum queue had back unsettled before (a lost connection, a loader that ended):
// kReject once its deliveries passed max_deliveries (it was lost that often while being worked
// on), else kRequeue: back to the main queue as a new message, so the broker's own delivery
// limit, which drops or dead-letters without the loader's reasons, never comes first.
Action decide_returned(int deliveries, const RetryPolicy& policy) noexcept;

// What an operator should do about an environment failure, in a phrase for the log.
std::string remedy(const Error& failure);

// Capped exponential backoff with full jitter: attempt 1 -> [0, base], attempt 2 -> [0, 2 base],
// ... capped at max_delay. `unit_random` is in [0, 1), injected so tests are deterministic.
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, double unit_random);

// A uniform random number in [0, 1), per thread: the jitter of backoff delays.
double unit_random();

// How long the consumer pauses after its `pauses`-th consecutive environment failure:
// pause_base doubling, capped at pause_max, no jitter (one consumer, nothing to spread).
std::chrono::milliseconds pause_delay(const RetryPolicy& policy, int pauses);

// The AWS SDKs' standard retry quota: every retry takes tokens from a bucket shared by the
// process, every success gives some back, and an empty bucket means "do not retry, give up
// now". During an outage the loader then stops multiplying its load on the failing server.
class RetryQuota {
 public:
  static constexpr int kCapacity = 500;
  static constexpr int kRetryCost = 5;
  static constexpr int kSuccessRefund = 1;

  explicit RetryQuota(int capacity = kCapacity) : capacity_(capacity), tokens_(capacity) {}
  // Takes the cost of one retry; false (nothing taken) when the bucket cannot pay it.
  bool acquire();
  // A success: gives back the retry's cost if it followed a retry, else kSuccessRefund.
  void on_success(bool after_retry);
  int tokens() const;

 private:
  mutable std::mutex mutex_;
  int capacity_;
  int tokens_;
};

}  // namespace qrl::core
