#pragma once
// Where `serve` keeps deliveries that may not be worked on yet, and events that need no work of
// their own. The live quiz server announces a quiz while its other handlers are still writing
// (a stop time, the last score) and reads the whole quiz again after announcing it, so a quiz is
// read only once `settle` has passed since its event's time, and never later than `settle` after
// its receipt, whatever the clocks say. Waiting deliveries hold no worker: they stay unacked
// here, in arrival order. And a timer that ends a quiz for 20 participants announces it 20
// times: a delivery for a quiz already waiting or loading joins it (coalesced) and is settled
// as it is, so the quiz is loaded once.
//
// Pure: the consumer loop feeds it jobs and times, and does the acking.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "daemon/job.h"

namespace qrl::daemon {

class SettleWindow {
 public:
  using time_point = core::Clock::time_point;

  explicit SettleWindow(std::chrono::milliseconds settle) : settle_(settle) {}

  std::chrono::milliseconds settle() const { return settle_; }

  // When an event received `now` (wall clock: `wall_now`) and announced at `announced` (empty:
  // unknown) may be read: `settle` after its announcement, but no later than `settle` after now.
  time_point ready_at(time_point now, std::chrono::system_clock::time_point wall_now,
                      std::optional<std::chrono::system_clock::time_point> announced) const;

  // A delivery for `quiz_id`. True: it joined that quiz, waiting or loading, and is settled with
  // it (see finish). False: it is the quiz's own, and waits until `ready`.
  bool admit(Job job, const core::QuizId& quiz_id, time_point ready);

  // Up to `limit` jobs whose time has come, in arrival order; their quizzes are loading from
  // now on. The others stay waiting (and go back to the queue on a stop or a pause).
  std::vector<Job> due(time_point now, std::size_t limit);
  // When the next waiting job comes due; empty when none waits.
  std::optional<time_point> next_due() const;

  // The job `tag` finished (whatever the outcome): the tags that joined it, to settle alike.
  // Empty for a tag the window does not know.
  std::vector<std::uint64_t> finish(std::uint64_t tag);

  // For a pause or a stop: every job still waiting, and the tags that joined them; they go back
  // to the queue. Quizzes loading keep theirs.
  std::vector<std::uint64_t> take_waiting();
  // The connection is lost: every tag is void.
  void clear();

  std::size_t waiting() const { return waiting_.size(); }
  // Waiting jobs whose time has not come yet at `now`: what the window holds on purpose.
  std::size_t settling(time_point now) const;
  // Deliveries that joined a quiz waiting or loading.
  std::size_t joined() const { return joined_; }
  // Unacked deliveries no worker holds: waiting jobs and joined ones.
  std::size_t held() const { return waiting_.size() + joined_; }

 private:
  struct Waiting {
    Job job;
    core::QuizId quiz_id;
    time_point ready;
  };
  std::chrono::milliseconds settle_;
  std::deque<Waiting> waiting_;
  std::map<core::QuizId, std::uint64_t> quizzes_;               // quiz id -> its own job's tag
  std::map<std::uint64_t, std::vector<std::uint64_t>> joined_by_;  // its own job's tag -> joined tags
  std::map<std::uint64_t, core::QuizId> quiz_of_;                // its own job's tag -> quiz id
  std::size_t joined_ = 0;
};

}  // namespace qrl::daemon
