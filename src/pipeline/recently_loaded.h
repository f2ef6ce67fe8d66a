#pragma once
// The quizzes this process stored, or found stored, lately: quiz id and StartTime. The producer
// announces a quiz once per participant, so most duplicates come after the quiz was loaded and
// its sources deleted; one found here is answered without reading the quiz's item, which
// DynamoDB charges by its whole size (a 20 x 10 quiz: 5 read units). A duplicate not found here
// (another process loaded it, or it was forgotten) reads the item, as it must.
//
// Bounded: the oldest entries are forgotten first. Thread-safe: a process's workers share one.

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/ids.h"

namespace qrl::pipeline {

class RecentlyLoaded {
 public:
  explicit RecentlyLoaded(std::size_t capacity = 4096) : capacity_(capacity) {}

  // `quiz_id` is stored, with StartTime `start_time` (RFC 3339, as the item has it).
  void remember(const core::QuizId& quiz_id, const std::string& start_time);
  // Whether `quiz_id` is known stored with this StartTime; with none (the quiz-level keys are
  // gone), whether it is known stored at all.
  bool knows(const core::QuizId& quiz_id, const std::optional<std::string>& start_time) const;

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::string> start_of_;
  std::deque<std::string> order_;  // ids, oldest first
};

}  // namespace qrl::pipeline
