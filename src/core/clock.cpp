#include "core/clock.h"

#include <thread>

namespace qrl::core {

namespace {

class SystemClock final : public Clock {
 public:
  time_point now() const override { return Steady::now(); }
  std::chrono::system_clock::time_point wall() const override { return std::chrono::system_clock::now(); }
  void sleep_for(duration delay) override { std::this_thread::sleep_for(delay); }
  bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& ready, time_point deadline,
                  const std::function<bool()>& done) override {
    return ready.wait_until(lock, deadline, done);
  }
};

}  // namespace

Clock& system_clock() {
  static SystemClock clock;
  return clock;
}

ManualClock::ManualClock(time_point start, std::chrono::system_clock::time_point wall_start)
    : now_(start), wall_start_(wall_start) {}

Clock::time_point ManualClock::now() const {
  std::lock_guard lock(mutex_);
  return now_;
}

std::chrono::system_clock::time_point ManualClock::wall() const {
  std::lock_guard lock(mutex_);
  return wall_start_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(elapsed_);
}

void ManualClock::sleep_for(duration delay) { advance(delay); }

void ManualClock::advance(duration by) {
  std::lock_guard lock(mutex_);
  now_ += by;
  elapsed_ += by;
}

bool ManualClock::wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& ready,
                             time_point deadline, const std::function<bool()>& done) {
  // The waiter's condition variable cannot be told that simulated time moved without its
  // mutex; it looks again every millisecond of real time instead.
  while (!done()) {
    if (now() >= deadline) return false;
    ready.wait_for(lock, std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace qrl::core
