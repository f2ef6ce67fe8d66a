#pragma once
// The ETL step for one quiz, over the three stores, in named steps: read the quiz-level keys,
// read the question file and the roster, read and build the item (streamed; a quiz too big for
// one item is written as continuation items on the way; a quiz whose participant keys fit one
// read has its roster and values read at once), store it, delete the sources. Container
// and Lambda modes both run messages through process_message(); neither has logic of its own
// about quizzes.
//
// Idempotence without a read: the quiz's own item is stored with one conditional PutItem that
// writes only where no item is, or where the same quiz is (same StartTime: a duplicate, or a
// retry after a crash between write and delete, which writes the same content again). An older
// quiz with the same id (another StartTime) refuses the write, and this one is stored beside it
// under core::reused_id: an item is never overwritten by another quiz. Only unusual paths read
// the stored StartTime (place()): a duplicate whose sources are already gone (unless this
// process remembers loading it, RecentlyLoaded), and a split quiz before its first continuation
// item, which must not land on an older quiz's. The sources are deleted only after the write
// succeeded, the Redis keys that name the others last.

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
#include "core/roster.h"
#include "core/transform.h"
#include "pipeline/recently_loaded.h"
#include "pipeline/result.h"
#include "split/assembler.h"

namespace qrl::pipeline {

// Where a quiz is stored: under its id, or, when an older quiz with the same id (another
// StartTime) is stored there, under core::reused_id; and whether it is stored there already.
struct Placement {
  std::string item_id;
  bool loaded = false;
  bool reused = false;
  std::string start_time;  // loaded: the stored StartTime
};

class StageClock;

class Pipeline {
 public:
  Pipeline(LiveStore& live, QuestionStore& questions, ItemStore& items,
           metrics::Recorder& recorder = metrics::nothing(), core::Clock& clock = core::system_clock());

  core::Clock& clock() const { return clock_; }
  // The process's memory of quizzes stored lately (none: every duplicate whose sources are gone
  // reads the item).
  void remember_in(RecentlyLoaded& loaded) { loaded_ = &loaded; }

  // One attempt. Throws core::Error, classified.
  Outcome load(const core::QuizId& quiz_id);

  // Decided from the stored item's StartTime (a read; the sweep asks too).
  Placement place(const core::QuizId& quiz_id, const core::QuizHeader& header);

 private:
  // The item, built and, for a split quiz, its continuation items written.
  struct Built {
    split::StoredItem item;
    ItemStore::Identity identity;
    Placement placement;     // known before any continuation item; else the quiz's own id
    std::size_t parts = 0;
    std::size_t stored_size = 0;
  };
  // The steps of load(), in order.
  Built build(const core::QuizId& quiz_id, const core::QuizHeader& header, const std::optional<Placement>& known,
              StageClock& clock);
  // The roster, and, when every participant key fits one read, their values read with it.
  struct Members {
    core::Roster roster;
    std::optional<std::vector<std::optional<std::string>>> values;  // keys::participant_keys' layout
  };
  Members members(const core::QuizId& quiz_id, const core::QuizHeader& header, StageClock& clock);
  // Throws when a roster key without a value exists: it holds another type, not a missing answer.
  void confirm_absent(const std::vector<std::string>& keys, const std::vector<std::optional<std::string>>& values,
                      const core::QuizHeader& header);
  core::Roster roster(const core::QuizId& quiz_id, const core::QuizHeader& header, StageClock& clock);
  // The values of the reader's keys [from, to).
  using Values = std::function<std::vector<std::optional<std::string>>(std::size_t from, std::size_t to)>;
  void stream(core::QuizReader& reader, const Values& values, const split::Sink& sink, Built& built,
              StageClock& clock);
  // Stores the item; true when it was new, false when the same quiz was stored already.
  bool store(Built& built, const core::QuizId& quiz_id, const core::QuizHeader& header);
  // Sources gone or partly gone: stored meanwhile (by this process, another worker or replica)?
  bool stored_since(const core::QuizId& quiz_id, const core::QuizHeader& header);
  void remember(const core::QuizId& quiz_id, const std::string& start_time);
  void report(const Built& built);
  void remove_sources(const core::QuizId& quiz_id, const core::QuizHeader& header);

  LiveStore& live_;
  QuestionStore& questions_;
  ItemStore& items_;
  metrics::Recorder& recorder_;
  core::Clock& clock_;
  RecentlyLoaded* loaded_ = nullptr;
  // Key names kept from quiz to quiz (a pipeline is one worker's): hundreds a quiz, each written
  // over the last one's instead of allocated.
  std::vector<std::string> read_keys_;
  std::vector<std::string> delete_keys_;
};

// Waits before the next attempt; returns false when there is no time for one (shutdown or a
// deadline), which ends the retries.
using Sleeper = std::function<bool(std::chrono::milliseconds)>;

// One message from start to decision: parse and validate the event, load with retries of
// transient failures (capped exponential backoff with jitter), log the result once.
// `deliveries` counts this delivery of the message (0: unknown); `quota`, shared by the
// process's workers, bounds the retries during an outage (none: unbounded).
JobResult process_message(Pipeline& pipeline, std::string_view body, const core::RetryPolicy& policy,
                          const Sleeper& sleep, int deliveries = 0, core::RetryQuota* quota = nullptr);

// The same for a quiz id given directly (the `load` command).
JobResult process_quiz(Pipeline& pipeline, const core::QuizId& quiz_id, const core::RetryPolicy& policy,
                       const Sleeper& sleep, int deliveries = 0, core::RetryQuota* quota = nullptr);

// What a job's result counts as in the metrics (qrl_quizzes_total{outcome}), in both modes. Where
// the loader republishes failures itself (serve), a rejected message is dead-lettered and a
// requeued one requeued; where the queue takes a failed message back (Lambda's SQS, whose
// redrive policy dead-letters it), every failure but a pause is requeued.
enum class Failures { kRepublished, kReturnedToQueue };
metrics::Outcome outcome_of(const JobResult& result, Failures failures);

// A Sleeper that sleeps on `clock` unless `stop` becomes true.
Sleeper interruptible_sleeper(const std::function<bool()>& stop, core::Clock& clock = core::system_clock());

}  // namespace qrl::pipeline
