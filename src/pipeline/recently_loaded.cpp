#include "pipeline/recently_loaded.h"

namespace qrl::pipeline {

void RecentlyLoaded::remember(const core::QuizId& quiz_id, const std::string& start_time) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mutex_);
  auto [it, added] = start_of_.insert_or_assign(quiz_id.str(), start_time);
  if (!added) return;
  order_.push_back(quiz_id.str());
  if (order_.size() > capacity_) {
    start_of_.erase(order_.front());
    order_.pop_front();
  }
}

bool RecentlyLoaded::knows(const core::QuizId& quiz_id, const std::optional<std::string>& start_time) const {
  std::lock_guard lock(mutex_);
  auto it = start_of_.find(quiz_id.str());
  return it != start_of_.end() && (!start_time || it->second == *start_time);
}

}  // namespace qrl::pipeline
