#pragma once
// The format of a failed message as the loader republishes it, to the holding queue (a delayed
// requeue) or to the dead-letter queue: the body byte for byte, and headers that say why. One
// place for the header names, for building them (serve) and for reading them (serve counts
// deliveries across requeues; `dlq list` prints them).

#include <chrono>
#include <string>

#include "amqp/connection.h"
#include "core/error.h"
#include "pipeline/result.h"

namespace qrl::dlq {

namespace header {
inline constexpr const char* kReason = "x-failure-reason";
inline constexpr const char* kStage = "x-failure-stage";
inline constexpr const char* kKey = "x-failure-key";
inline constexpr const char* kFailedAt = "x-failed-at";
inline constexpr const char* kAttempts = "x-attempts";
inline constexpr const char* kOriginalQueue = "x-original-queue";
inline constexpr const char* kQuizId = "x-quiz-id";
inline constexpr const char* kEventId = "x-event-id";
inline constexpr const char* kDeliveries = "x-deliveries";
inline constexpr const char* kHistory = "x-failure-history";
// The broker's: how many times a quorum queue had this message back unsettled.
inline constexpr const char* kReturns = "x-delivery-count";
}  // namespace header

// What a delivery's headers say of its past: this delivery's number (1 for a message never
// requeued; a header that is not a count in 0..1,000,000 counts as none), the times a quorum
// queue had it back unsettled (x-delivery-count; counted in `deliveries` too), and the earlier
// failures.
struct Past {
  int deliveries = 1;
  int returns = 0;
  std::string history;
};
Past past_of(const amqp::Headers& headers);

// The headers of a message put back in the main queue as new, to be delivered next as
// delivery number `past.deliveries` again (a quorum queue's count starts over).
amqp::Headers return_headers(const Past& past);

// The headers of a message that failed with `result` on delivery `past.deliveries`, at `now`.
amqp::Headers failure_headers(const pipeline::JobResult& result, const Past& past, const std::string& queue,
                              std::chrono::system_clock::time_point now);

// A header's value, or "-" when absent (for people).
std::string value_or_dash(const amqp::Headers& headers, const char* name);

}  // namespace qrl::dlq
