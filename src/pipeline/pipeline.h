#pragma once
// The ETL step for one quiz, over the three stores: read Redis and the question file, build the
// item, write it, delete the sources. Container and Lambda modes both run messages through
// process_message(); neither has logic of its own about quizzes.
//
// Idempotence: before writing, the stored StartTime tells the same quiz (loaded before:
// a duplicate event, or a crash between write and delete; the pipeline finishes the cleanup and
// succeeds, writing nothing) from an older quiz that had the same id (this one is stored beside
// it, under core::reused_id). An item is never overwritten by another quiz. The sources are
// deleted only after the write succeeded, the Redis keys that name the others last. The
// StartTime is read from a small marker item written after the quiz's, so a duplicate costs a
// read unit whatever the quiz's size; a quiz stored without one (by an older loader, or cut
// short between the two writes) is read from its item and marked then.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/error.h"
#include "core/event.h"
#include "core/retry.h"
#include "metrics/recorder.h"
#include "pipeline/ports.h"

namespace qrl::pipeline {

enum class Outcome { kLoaded, kAlreadyLoaded };

// Where a quiz is stored: under its id, or, when an older quiz with the same id (another
// StartTime) is stored there, under core::reused_id; and whether it is stored there already,
// and if so, whether its marker (core::marker_id) says so.
struct Placement {
  std::string item_id;
  bool loaded = false;
  bool reused = false;
  bool marked = false;
  std::string stored_start;  // loaded: the stored StartTime
};

class Pipeline {
 public:
  Pipeline(LiveStore& live, QuestionStore& questions, ItemStore& items,
           metrics::Recorder& recorder = metrics::nothing(), core::Clock& clock = core::system_clock());

  core::Clock& clock() const { return clock_; }

  // One attempt. Throws core::Error, classified.
  Outcome load(const std::string& quiz_id);

  // Decided from the stored item's StartTime before anything is written (the sweep asks too).
  Placement place(const std::string& quiz_id, const core::QuizHeader& header);

 private:
  void remove_sources(const std::string& quiz_id, const core::QuizHeader& header);
  // The StartTime stored under `item_id`: from its marker, or else from the item itself.
  struct Stored {
    std::optional<std::string> start;
    bool marked = false;
  };
  Stored stored(const std::string& item_id);
  // Writes the marker of a quiz stored under `item_id`. A failure to is only logged: the item
  // is what says "loaded", and the next duplicate that finds it unmarked writes the marker.
  void mark(const std::string& item_id, const std::string& start_time);

  LiveStore& live_;
  QuestionStore& questions_;
  ItemStore& items_;
  metrics::Recorder& recorder_;
  core::Clock& clock_;
};

// Waits before the next attempt; returns false when there is no time for one (shutdown or a
// deadline), which ends the retries.
using Sleeper = std::function<bool(std::chrono::milliseconds)>;

struct JobResult {
  core::Action action = core::Action::kAck;
  std::optional<core::Error> failure;
  std::optional<core::Event> event;
  Outcome outcome = Outcome::kLoaded;
  int attempts = 0;
};

// One message from start to decision: parse and validate the event, load with retries of
// transient failures (capped exponential backoff with jitter), log the result once.
// `deliveries` counts this delivery of the message (0: unknown); `quota`, shared by the
// process's workers, bounds the retries during an outage (none: unbounded).
JobResult process_message(Pipeline& pipeline, std::string_view body, const core::RetryPolicy& policy,
                          const Sleeper& sleep, int deliveries = 0, core::RetryQuota* quota = nullptr);

// The same for a quiz id given directly (the `load` command).
JobResult process_quiz(Pipeline& pipeline, const std::string& quiz_id, const core::RetryPolicy& policy,
                       const Sleeper& sleep, int deliveries = 0, core::RetryQuota* quota = nullptr);

// What a job's result counts as in the metrics (qrl_quizzes_total{outcome}), in both modes. Where
// the loader republishes failures itself (serve), a rejected message is dead-lettered and a
// requeued one requeued; where the queue takes a failed message back (Lambda's SQS, whose
// redrive policy dead-letters it), every failure but a pause is requeued.
enum class Failures { kRepublished, kReturnedToQueue };
metrics::Outcome outcome_of(const JobResult& result, Failures failures);

// A uniform random number in [0, 1), per thread: the jitter of backoff delays.
double unit_random();

// A Sleeper that sleeps on `clock` unless `stop` becomes true.
Sleeper interruptible_sleeper(const std::function<bool()>& stop, core::Clock& clock = core::system_clock());

}  // namespace qrl::pipeline
