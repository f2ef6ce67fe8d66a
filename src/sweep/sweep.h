#pragma once
// The sweep: what the events alone cannot finish. The live quiz server's event can be lost (a
// failed publish is logged and dropped, a crash between the quiz's stop time and the publish),
// and keys come back after a quiz is loaded (a resent answer, a join after the end). The sweep
// walks Redis with SCAN (a bounded COUNT, paced, never KEYS), groups the contract's keys by quiz
// id, and decides per quiz:
//   stored      an item with this quiz's StartTime exists: what is left (keys, file) is deleted;
//   loaded      no item, stopped at least `min_age` ago: the event was lost, so it is loaded;
//   waiting     no item, stopped recently: its event is on the way, left alone;
//   in play     no stop time, active within `abandoned_after`: left alone;
//   abandoned   no stop time and idle longer than that: reported, deleted only if asked;
//   failed      the load or the cleanup failed (the reason is given).
// A new quiz under a reused id (a StartTime other than the stored one) is never taken for the
// stored one: it is judged by its own stop time.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/retry.h"
#include "metrics/recorder.h"
#include "pipeline/pipeline.h"

namespace qrl::sweep {

// The keyspace it walks (pipeline/ports.h), implemented by the Redis adapter.
using KeySpace = pipeline::KeySpace;

struct Options {
  std::size_t count = 1000;                     // SCAN's COUNT
  std::chrono::milliseconds pace{10};           // between two SCAN calls
  std::chrono::seconds min_age{600};            // a stopped quiz without an item is loaded after this
  std::chrono::seconds abandoned_after{7 * 86400};  // a quiz without a stop time is abandoned after this idle
  bool delete_abandoned = false;
  bool dry_run = false;                         // decide and report, change nothing
  std::function<void(std::size_t keys)> on_page;  // after each SCAN page, the keys it gave (progress)
};

enum class Verdict { kStored, kLoaded, kWaiting, kInPlay, kAbandoned, kFailed };
std::string_view to_string(Verdict verdict);

struct Entry {
  core::QuizId quiz_id;
  Verdict verdict = Verdict::kInPlay;
  std::size_t keys = 0;  // its keys the walk found
  std::string detail;    // what was done, or why not
};

struct Report {
  std::vector<Entry> entries;  // one per quiz found, in id order
  std::size_t keys_scanned = 0;
  std::size_t scans = 0;
  std::size_t count(Verdict verdict) const;
};

struct Ports {
  KeySpace& keys;
  pipeline::LiveStore& live;
  pipeline::QuestionStore& questions;
  pipeline::Pipeline& pipeline;
  core::Clock& clock;
  metrics::Recorder& recorder;
  core::RetryPolicy policy;
  std::function<bool(std::chrono::milliseconds)> sleep;  // false: stop now
};

Report sweep(const Options& options, Ports ports);

// What a sweep found, counted once for every place that reports it (`sweep`'s table, serve's
// log line, the Lambda's answer): quizzes, keys_scanned, then each verdict's quizzes.
struct Total {
  std::string name;
  std::size_t count = 0;
};
std::vector<Total> totals(const Report& report);

// The summary table printed at the end of `sweep`.
std::string summary(const Report& report, bool dry_run);

}  // namespace qrl::sweep
