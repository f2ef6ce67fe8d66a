#include "daemon/workers.h"

#include <malloc.h>

#include "dlq/letter.h"

namespace qrl::daemon {

namespace {

// Returns the free memory of glibc's malloc arenas to the system. Under AddressSanitizer the
// heap is the sanitizer's and glibc's malloc is never set up before this call: two workers
// making the first call at once race in its lazy set-up, and one walks bins not yet made (a
// crash the sanitized suite met). Nothing to give back there anyway, so a sanitized build skips it.
void give_back_free_memory() {
#ifndef __SANITIZE_ADDRESS__
  malloc_trim(0);
#endif
}

// Free memory stays in the arenas while the workers are busy (up to this much above each
// arena's top) instead of each free() unmapping pages as glibc's default threshold has it: the
// idle give-back above returns it. Set once; a fixed threshold also stops glibc from moving it.
void keep_free_memory_while_busy() {
#ifndef __SANITIZE_ADDRESS__
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

constexpr auto kIdle = std::chrono::seconds(1);

}  // namespace

Workers::Workers(const config::Config& config, std::vector<std::unique_ptr<wiring::Stores>>& stores,
                 WorkQueue<Job>& jobs, Report report, std::function<bool()> stop_retrying,
                 metrics::Recorder& recorder, core::Clock& clock)
    : config_(config),
      jobs_(jobs),
      report_(std::move(report)),
      stop_retrying_(std::move(stop_retrying)),
      recorder_(recorder),
      clock_(clock),
      policy_(wiring::retry_policy(config)) {
  keep_free_memory_while_busy();
  threads_.reserve(stores.size());
  for (auto& worker_stores : stores) {
    threads_.emplace_back([this, s = worker_stores.get()] {
      auto sleep = pipeline::interruptible_sleeper(stop_retrying_, clock_);
      // A big quiz leaves its windows' memory in this thread's malloc arena, where glibc keeps
      // it; once no work has come for kIdle, it is given back, so an idle daemon returns to its
      // baseline. Not after every quiz: malloc_trim walks every arena and unmaps pages, which
      // costs each CPU a TLB flush (it was most of the loader's CPU per quiz).
      bool used = false;
      for (;;) {
        auto job = used ? jobs_.pop_until(clock_, clock_.now() + kIdle) : jobs_.pop();
        if (!job) {
          if (jobs_.closed()) break;
          give_back_free_memory();
          used = false;
          continue;
        }
        report_(work(*s, *job, sleep));
        used = true;
      }
    });
  }
}

Workers::~Workers() {
  jobs_.close();
  for (auto& thread : threads_) thread.join();
}

Finished Workers::work(wiring::Stores& stores, Job& job, const pipeline::Sleeper& sleep) {
  auto result =
      pipeline::process_message(stores.pipeline, job.body, policy_, sleep, job.past.deliveries, &quota_);
  recorder_.quiz(pipeline::outcome_of(result, pipeline::Failures::kRepublished), clock_.now() - job.delivered);
  Finished finished{job.generation, job.tag, result.action, {}, {}, {}};
  if (result.action == core::Action::kReject || result.action == core::Action::kRequeue) {
    finished.headers = dlq::failure_headers(result, job.past, config_.rabbit.queue_name, clock_.wall());
    finished.body = std::move(job.body);
  } else if (result.action == core::Action::kPause || result.action == core::Action::kRelease) {
    finished.headers = dlq::return_headers(job.past);
    finished.body = std::move(job.body);
  }
  if (result.failure) finished.reason = result.failure->what();
  if (result.action == core::Action::kPause) finished.reason += "; " + core::remedy(*result.failure);
  return finished;
}

}  // namespace qrl::daemon
