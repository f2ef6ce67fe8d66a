#pragma once
// One table's capacity as the whole process shares it: every worker's DynamoDB requests wait
// here for the units they will spend, first come first served, at the pace of an AdaptiveRate
// per kind of capacity (DynamoDB provisions reads and writes apart, and throttles them apart).
// Thread-safe; waits on the injected clock.
//
// It also knows what the shells need to follow the pace: how many quizzes are worth having in
// flight at the current rate (allowed_in_flight), how many requests wait now, and, while the
// table is the bottleneck, a report due once a minute.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <condition_variable>

#include "capacity/adaptive_rate.h"
#include "core/clock.h"

namespace qrl::capacity {

enum class Kind { kRead, kWrite };

// How long a request may wait for capacity: until `stop()` (serve: a stop request), and, with
// a deadline (Lambda), only if the units can be had before it.
struct Patience {
  std::function<bool()> stop;
  std::optional<core::Clock::time_point> deadline;
};

struct Report {
  double write_rate = 0;          // units a second the limiter lets through
  double write_accepted = 0;      // units a second the table has been accepting
  double units_per_quiz = 0;      // write units a quiz has been costing
  std::uint64_t throttled = 0;    // throttled requests since the last report
  std::uint64_t not_capacity = 0; // of which the rate does not cure (retried, not paced)
  std::size_t waiting = 0;        // requests waiting for capacity now
};

// The report's log line, with the backlog (messages or records still to load) and the time to
// drain it at the pace the table is giving; `in_flight` says how many are being worked on.
void log_report(const Report& report, std::size_t backlog, const std::string& in_flight);

class Limiter {
 public:
  explicit Limiter(core::Clock& clock = core::system_clock());

  // What the table says it is provisioned for (DescribeTable); 0: on demand, found by pacing.
  void seed(Kind kind, double units_per_second);

  // Waits for `units` of `kind`. False (nothing spent) when patience runs out first: stopped,
  // or the units cannot be had before the deadline.
  bool acquire(Kind kind, double units, const Patience& patience);
  // The table's answer to a request sent at `sent`: it accepted it, consuming `units` (`spent`
  // were spent for it before), or throttled it (of `units`): a capacity, which the pace now
  // follows, or not (its units given back: retry it after a short backoff).
  void accepted(Kind kind, double units, double spent, core::Clock::time_point sent);
  Throttle throttled(Kind kind, double units, core::Clock::time_point sent);
  // A quiz's writes are done: they cost `units` (for allowed_in_flight, the drain estimate, and
  // the write pace's floor: no quiz's writes paced over kQuizSeconds, unless the table is
  // provisioned for less).
  void quiz_written(double units);
  static constexpr double kQuizSeconds = 10;

  // How many quizzes to have in flight, of `workers`: all of them unless the limiter is holding
  // writes back; then enough to keep the table busy for a few seconds, at least one.
  std::size_t allowed_in_flight(std::size_t workers);
  bool holding_back();
  double rate(Kind kind);
  double accepted_rate(Kind kind);
  std::size_t waiting();
  double units_per_quiz();
  // Once a minute while the table is the bottleneck (it throttled, or requests waited for its
  // capacity, within the minute): what it is giving (log it with the backlog).
  std::optional<Report> report_due();

 private:
  struct Lane {
    explicit Lane(double now) : pace(now) {}
    AdaptiveRate pace;
    std::deque<std::pair<std::uint64_t, double>> queue;  // tickets and their units, first served first
  };
  double seconds(core::Clock::time_point t) const;
  Lane& lane(Kind kind) { return kind == Kind::kRead ? read_ : write_; }

  core::Clock& clock_;
  core::Clock::time_point epoch_;
  std::mutex mutex_;
  std::condition_variable turn_;
  Lane read_;
  Lane write_;
  std::uint64_t next_ticket_ = 0;
  core::Clock::time_point last_wait_{};    // a request last had to wait
  core::Clock::time_point last_throttle_{};
  bool ever_throttled_ = false;
  core::Clock::time_point last_report_{};
  bool reported_ = false;
  std::optional<core::Clock::time_point> bottleneck_since_;
  std::uint64_t throttled_since_report_ = 0;
  std::uint64_t not_capacity_since_report_ = 0;
  double write_seed_ = 0;  // what the table is provisioned for (0: on demand)
  double units_per_quiz_ = 0;
};

}  // namespace qrl::capacity
