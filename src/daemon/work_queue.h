#pragma once
// A queue between threads: producers push, consumers pop (blocking, or until a time) or take
// everything there.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

#include "core/clock.h"

namespace qrl::daemon {

template <typename T>
class WorkQueue {
 public:
  void push(T value) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(std::move(value));
    }
    ready_.notify_one();
  }
  // Blocks until an item or close(); empty when closed and drained.
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return std::nullopt;
    T value = std::move(items_.front());
    items_.pop_front();
    return value;
  }
  // The same, waiting on `clock` until `deadline` at most: empty when it passes, or when closed
  // and drained (closed() tells which).
  std::optional<T> pop_until(core::Clock& clock, core::Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    clock.wait_until(lock, ready_, deadline, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return std::nullopt;
    T value = std::move(items_.front());
    items_.pop_front();
    return value;
  }
  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  bool empty() const {
    std::lock_guard lock(mutex_);
    return items_.empty();
  }
  std::deque<T> take_all() {
    std::lock_guard lock(mutex_);
    return std::exchange(items_, {});
  }
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace qrl::daemon
