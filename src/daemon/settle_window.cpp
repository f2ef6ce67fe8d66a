#include "daemon/settle_window.h"

#include "core/settle.h"

namespace qrl::daemon {

SettleWindow::time_point SettleWindow::ready_at(time_point now, std::chrono::system_clock::time_point wall_now,
                                                std::optional<std::chrono::system_clock::time_point> announced) const {
  return now + core::settle_wait(settle_, wall_now, announced);
}

bool SettleWindow::admit(Job job, const core::QuizId& quiz_id, time_point ready) {
  auto known = quizzes_.find(quiz_id);
  if (known != quizzes_.end()) {
    joined_by_[known->second].push_back(job.tag);
    ++joined_;
    return true;
  }
  quizzes_.emplace(quiz_id, job.tag);
  quiz_of_.emplace(job.tag, quiz_id);
  waiting_.push_back({std::move(job), quiz_id, ready});
  return false;
}

std::vector<Job> SettleWindow::due(time_point now, std::size_t limit) {
  std::vector<Job> out;
  // In arrival order; one that is due behind one that is not (an older event received later)
  // goes too.
  for (auto it = waiting_.begin(); it != waiting_.end() && out.size() < limit;) {
    if (it->ready <= now) {
      out.push_back(std::move(it->job));
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::optional<SettleWindow::time_point> SettleWindow::next_due() const {
  std::optional<time_point> next;
  for (const auto& w : waiting_) {
    if (!next || w.ready < *next) next = w.ready;
  }
  return next;
}

std::size_t SettleWindow::settling(time_point now) const {
  std::size_t count = 0;
  for (const auto& w : waiting_) count += w.ready > now ? 1 : 0;
  return count;
}

std::vector<std::uint64_t> SettleWindow::finish(std::uint64_t tag) {
  std::vector<std::uint64_t> joined;
  auto quiz = quiz_of_.find(tag);
  if (quiz == quiz_of_.end()) return joined;
  quizzes_.erase(quiz->second);
  quiz_of_.erase(quiz);
  auto it = joined_by_.find(tag);
  if (it != joined_by_.end()) {
    joined = std::move(it->second);
    joined_by_.erase(it);
    joined_ -= joined.size();
  }
  return joined;
}

std::vector<std::uint64_t> SettleWindow::take_waiting() {
  std::vector<std::uint64_t> tags;
  for (auto& w : waiting_) {
    tags.push_back(w.job.tag);
    auto joined = finish(w.job.tag);
    tags.insert(tags.end(), joined.begin(), joined.end());
  }
  waiting_.clear();
  return tags;
}

void SettleWindow::clear() {
  waiting_.clear();
  quizzes_.clear();
  joined_by_.clear();
  quiz_of_.clear();
  joined_ = 0;
}

}  // namespace qrl::daemon
