#pragma once
// One clock and one way to wait. Everything that reads the time or waits for it (the consumer
// loop, health, the credential refresher, retries, table waits, Lambda's deadline) takes a
// Clock, so tests run on simulated time and assert exact schedules instead of sleeping.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace qrl::core {

class Clock {
 public:
  using Steady = std::chrono::steady_clock;
  using time_point = Steady::time_point;
  using duration = Steady::duration;

  virtual ~Clock() = default;
  // Monotonic time, for intervals and deadlines.
  virtual time_point now() const = 0;
  // Calendar time, for what is written down (a dead letter's x-failed-at, an EMF timestamp).
  virtual std::chrono::system_clock::time_point wall() const = 0;
  // Waits `delay`.
  virtual void sleep_for(duration delay) = 0;
  // Waits on `ready` (whose mutex `lock` holds) until `done()` or `deadline`; returns done().
  virtual bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& ready,
                          time_point deadline, const std::function<bool()>& done) = 0;
};

// The machine's clocks.
Clock& system_clock();

// Simulated time for tests: it moves only by advance(), or by sleep_for() (the sleeper's own
// time passes at once). Waiters in wait_until() see it move within a millisecond.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(time_point start = time_point(std::chrono::hours(1)),
                       std::chrono::system_clock::time_point wall_start =
                           std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000)));
  time_point now() const override;
  std::chrono::system_clock::time_point wall() const override;
  void sleep_for(duration delay) override;
  bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& ready, time_point deadline,
                  const std::function<bool()>& done) override;
  void advance(duration by);

 private:
  mutable std::mutex mutex_;
  time_point now_;
  duration elapsed_{};
  std::chrono::system_clock::time_point wall_start_;
};

}  // namespace qrl::core
