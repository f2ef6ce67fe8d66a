#pragma once
// The work of one Lambda invocation, with no I/O of its own: an SQS batch through the same
// pipeline as `serve` (records concurrently, one worker's stores each), the partial batch
// response naming exactly the records that did not succeed, and the invocation's figures as one
// CloudWatch Embedded Metric Format line. The stores do the I/O; tests give it in-memory ones.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "capacity/limiter.h"
#include "core/clock.h"
#include "core/retry.h"
#include "metrics/recorder.h"
#include "pipeline/pipeline.h"

namespace qrl::lambda {

// One worker: its pipeline, and how to tell its stores the invocation's deadline.
struct Worker {
  pipeline::Pipeline* pipeline;
  std::function<void(core::Clock::time_point)> set_deadline;
};

struct Answer {
  std::string response;  // {"batchItemFailures":[...]}
  std::string emf;       // the invocation's figures, one line
  std::size_t records = 0;
  std::size_t failed = 0;
};

class Handler {
 public:
  // `relay` is what the workers' stores report to; each invocation points it at figures of its own.
  Handler(std::vector<Worker> workers, core::RetryPolicy policy, std::chrono::milliseconds deadline_margin,
          metrics::Relay& relay, std::string function_name, core::Clock& clock = core::system_clock());

  // A record younger than `settle` (core/settle.h) waits for it in process, if the deadline
  // allows; otherwise it fails, and SQS delivers it again later. 0: off.
  void set_settle(std::chrono::milliseconds settle) { settle_ = settle; }
  // The table's limiter, shared by the workers' stores: while the table is the bottleneck, a
  // line a minute says what it gives and how long the batch's rest takes.
  void set_limiter(capacity::Limiter* limiter) { limiter_ = limiter; }

  // Throws NotABatch (batch.h) when the body is not an SQS batch.
  Answer handle(const std::string& body, const std::string& request_id, core::Clock::time_point deadline);

 private:
  // Waits out the settle window of the record's event; false when the deadline does not allow it.
  bool settled(const std::string& body, core::Clock::time_point deadline);

  std::vector<Worker> workers_;
  core::RetryPolicy policy_;
  std::chrono::milliseconds margin_;
  metrics::Relay& relay_;
  std::string function_name_;
  core::Clock& clock_;
  core::RetryQuota quota_;
  std::chrono::milliseconds settle_{0};
  capacity::Limiter* limiter_ = nullptr;
};

}  // namespace qrl::lambda
