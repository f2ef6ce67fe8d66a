#pragma once
// SIGTERM and SIGINT, blocked in every thread and taken by a thread of their own: the first asks
// for a drain, the second for an immediate exit. count() is what the consumer loop reads.

#include <atomic>
#include <thread>

namespace qrl::daemon {

class StopSignals {
 public:
  StopSignals();  // before any other thread is made, so every thread inherits the mask
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  int count() const { return count_.load(); }

 private:
  std::atomic<int> count_{0};
  std::thread thread_;
};

}  // namespace qrl::daemon
