#include "lambda/handler.h"

#include <atomic>

#include "core/event.h"
#include "core/settle.h"
#include "lambda/batch.h"
#include "log/log.h"
#include "metrics/registry.h"

namespace qrl::lambda {

Handler::Handler(std::vector<Worker> workers, core::RetryPolicy policy, std::chrono::milliseconds deadline_margin,
                 metrics::Relay& relay, std::string function_name, core::Clock& clock)
    : workers_(std::move(workers)),
      policy_(policy),
      margin_(deadline_margin),
      relay_(relay),
      function_name_(std::move(function_name)),
      clock_(clock) {}

bool Handler::settled(const std::string& body, core::Clock::time_point deadline) {
  if (settle_.count() == 0) return true;
  std::optional<std::chrono::system_clock::time_point> announced;
  try {
    announced = core::event_time(core::parse_event(body).time);
  } catch (const core::Error&) {
    return true;  // not an event: nothing to wait for, the pipeline rejects it
  }
  const auto wait = core::settle_wait(settle_, clock_.wall(), announced);
  if (wait.count() == 0) return true;
  if (clock_.now() + wait + margin_ >= deadline) return false;
  clock_.sleep_for(wait);
  return true;
}

Answer Handler::handle(const std::string& body, const std::string& request_id, core::Clock::time_point deadline) {
  Batch batch = parse_batch(body);
  metrics::Registry figures;
  relay_.to(figures);
  for (auto& worker : workers_) worker.set_deadline(deadline);
  auto may_start = [&] { return clock_.now() + margin_ < deadline; };
  auto sleep = [&](std::chrono::milliseconds delay) {
    if (clock_.now() + delay + margin_ >= deadline) return false;
    clock_.sleep_for(delay);
    return true;
  };
  std::atomic<std::size_t> done{0};
  auto results = run_batch(
      batch, static_cast<int>(workers_.size()),
      [&](const Record& record, int worker) {
        log::Context context({{"request_id", request_id}, {"message_id", record.message_id}});
        // The queue's delivery delay settles most records; one younger than the window waits
        // for it here, if it can within the deadline.
        if (!settled(record.body, deadline)) {
          log::warn("record failed: too young to read and no time left to wait for it",
                    {{"settle_ms", std::to_string(settle_.count())}});
          figures.quiz(metrics::Outcome::kRequeued, std::chrono::nanoseconds(0));
          return false;
        }
        // SQS counts receives and dead-letters by the queue's redrive policy: deliveries 0.
        const auto started = clock_.now();
        auto result = pipeline::process_message(*workers_[static_cast<std::size_t>(worker)].pipeline, record.body,
                                                policy_, sleep, 0, &quota_);
        figures.quiz(pipeline::outcome_of(result, pipeline::Failures::kReturnedToQueue), clock_.now() - started);
        const auto left = batch.records.size() - ++done;
        if (limiter_ != nullptr) {
          if (auto report = limiter_->report_due())
            capacity::log_report(*report, left, std::to_string(workers_.size()) + " workers, batch of " +
                                                    std::to_string(batch.records.size()));
        }
        if (result.action == core::Action::kPause)
          log::error("record failed: the environment is wrong", {{"remedy", core::remedy(*result.failure)}});
        return result.action == core::Action::kAck;
      },
      may_start);
  relay_.to(metrics::nothing());

  Answer answer;
  answer.records = batch.records.size();
  std::size_t skipped = 0;
  for (auto r : results) {
    answer.failed += r != RecordResult::kSucceeded ? 1 : 0;
    skipped += r == RecordResult::kSkipped ? 1 : 0;
  }
  if (skipped > 0) {
    log::warn("records not processed (deadline near, or after a failure in their FIFO group)",
              {{"skipped", std::to_string(skipped)}});
  }
  log::info("batch done", {{"records", std::to_string(answer.records)}, {"failed", std::to_string(answer.failed)}});
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.wall().time_since_epoch()).count();
  answer.emf = figures.emf("QuizResultLoader", function_name_, now_ms);
  answer.response = batch_response(batch, results);
  return answer;
}

}  // namespace qrl::lambda
