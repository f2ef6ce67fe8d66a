#include "capacity/limiter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "log/log.h"

namespace qrl::capacity {

namespace {

constexpr auto kSlice = std::chrono::milliseconds(100);  // a waiter looks at its patience this often
constexpr auto kHoldingBack = std::chrono::seconds(10);  // a wait this recent means "paced"
constexpr auto kReportEvery = std::chrono::seconds(60);
constexpr double kBusySeconds = 2;  // allowed_in_flight: quizzes enough for this much of the rate

core::Clock::duration to_duration(double seconds) {
  return std::chrono::duration_cast<core::Clock::duration>(std::chrono::duration<double>(seconds));
}

}  // namespace

void log_report(const Report& report, std::size_t backlog, const std::string& in_flight) {
  auto fixed = [](double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", value);
    return std::string(text);
  };
  const double rate = report.write_accepted > 0 ? report.write_accepted : report.write_rate;
  std::string drain = "unknown";
  if (rate > 0 && report.units_per_quiz > 0)
    drain = std::to_string(static_cast<long long>(std::ceil(static_cast<double>(backlog) * report.units_per_quiz / rate)));
  log::warn("writing at the table's pace: its capacity is the bottleneck",
            {{"accepted_units_per_s", fixed(report.write_accepted)},
             {"limiter_units_per_s", fixed(report.write_rate)},
             {"throttled_requests", std::to_string(report.throttled)},
             {"throttles_not_capacity", std::to_string(report.not_capacity)},
             {"waiting_for_capacity", std::to_string(report.waiting)},
             {"backlog", std::to_string(backlog)},
             {"units_per_quiz", fixed(report.units_per_quiz)},
             {"drain_estimate_s", drain},
             {"in_flight", in_flight}});
}

Limiter::Limiter(core::Clock& clock) : clock_(clock), epoch_(clock.now()), read_(0), write_(0) {}

double Limiter::seconds(core::Clock::time_point t) const {
  return std::chrono::duration<double>(t - epoch_).count();
}

void Limiter::seed(Kind kind, double units_per_second) {
  std::lock_guard lock(mutex_);
  lane(kind).pace.seed(units_per_second, seconds(clock_.now()));
  if (kind == Kind::kWrite) write_seed_ = units_per_second;
}

bool Limiter::acquire(Kind kind, double units, const Patience& patience) {
  std::unique_lock lock(mutex_);
  auto& l = lane(kind);
  const auto ticket = next_ticket_++;
  l.queue.emplace_back(ticket, units);
  auto leave = [&] {
    l.queue.erase(std::find_if(l.queue.begin(), l.queue.end(), [&](const auto& q) { return q.first == ticket; }));
    turn_.notify_all();
  };
  for (;;) {
    const auto now = clock_.now();
    const bool first = l.queue.front().first == ticket;
    double wait = 0;
    if (first) {
      wait = l.pace.try_spend(units, seconds(now));
      if (wait == 0) {
        leave();
        return true;
      }
    }
    last_wait_ = now;
    if (patience.stop && patience.stop()) {
      leave();
      return false;
    }
    if (patience.deadline) {
      // Everything queued up to this request first, at the current rate.
      double ahead = 0;
      for (const auto& [t, u] : l.queue) {
        ahead += std::min(u, std::max(l.pace.rate(), 1.0));
        if (t == ticket) break;
      }
      const double need = std::max(0.0, ahead - l.pace.tokens(seconds(now))) / std::max(l.pace.rate(), 1e-9);
      if (now + to_duration(need) >= *patience.deadline) {
        leave();
        return false;
      }
    }
    if (first) {
      // The first in line waits for the bucket: a sleep on the clock (simulated time moves
      // by it), in slices, so a stop is seen.
      const auto nap = std::min<core::Clock::duration>(kSlice, to_duration(wait) + std::chrono::microseconds(100));
      lock.unlock();
      clock_.sleep_for(nap);
      lock.lock();
    } else {
      // Woken early when the queue moves: this request may have become the first.
      clock_.wait_until(lock, turn_, now + kSlice, [&] { return l.queue.front().first == ticket; });
    }
  }
}

void Limiter::accepted(Kind kind, double units, double spent, core::Clock::time_point sent) {
  std::lock_guard lock(mutex_);
  lane(kind).pace.accepted(units, spent, seconds(clock_.now()), seconds(sent));
}

Throttle Limiter::throttled(Kind kind, double units, core::Clock::time_point sent) {
  std::lock_guard lock(mutex_);
  const auto now = clock_.now();
  const auto throttle = lane(kind).pace.throttled(seconds(sent), seconds(now), units);
  last_throttle_ = now;
  ever_throttled_ = true;
  ++throttled_since_report_;
  if (throttle == Throttle::kNotCapacity) ++not_capacity_since_report_;
  return throttle;
}

void Limiter::quiz_written(double units) {
  std::lock_guard lock(mutex_);
  units_per_quiz_ = units_per_quiz_ == 0 ? units : 0.8 * units_per_quiz_ + 0.2 * units;
  double floor = units_per_quiz_ / kQuizSeconds;
  if (write_seed_ > 0) floor = std::min(floor, write_seed_);
  write_.pace.set_floor(floor);
}

bool Limiter::holding_back() {
  std::lock_guard lock(mutex_);
  return !write_.queue.empty() || (last_wait_ != core::Clock::time_point{} && clock_.now() - last_wait_ < kHoldingBack);
}

std::size_t Limiter::allowed_in_flight(std::size_t workers) {
  if (workers <= 1 || !holding_back()) return workers;
  std::lock_guard lock(mutex_);
  if (!write_.pace.pacing()) return workers;
  const double per_quiz = std::max(units_per_quiz_, 1.0);
  const double worth = std::floor(write_.pace.rate() * kBusySeconds / per_quiz);
  return static_cast<std::size_t>(std::clamp(worth, 1.0, static_cast<double>(workers)));
}

double Limiter::rate(Kind kind) {
  std::lock_guard lock(mutex_);
  return lane(kind).pace.pacing() ? lane(kind).pace.rate() : 0;
}

double Limiter::accepted_rate(Kind kind) {
  std::lock_guard lock(mutex_);
  return lane(kind).pace.measured();
}

std::size_t Limiter::waiting() {
  std::lock_guard lock(mutex_);
  return read_.queue.size() + write_.queue.size();
}

double Limiter::units_per_quiz() {
  std::lock_guard lock(mutex_);
  return units_per_quiz_;
}

std::optional<Report> Limiter::report_due() {
  std::lock_guard lock(mutex_);
  const auto now = clock_.now();
  // The table is the bottleneck: it throttled, or requests waited for its capacity, lately.
  const bool throttled = ever_throttled_ && now - last_throttle_ <= kReportEvery;
  const bool waited = last_wait_ != core::Clock::time_point{} && now - last_wait_ <= kReportEvery;
  if (!throttled && !waited) {
    bottleneck_since_.reset();
    return std::nullopt;
  }
  if (!bottleneck_since_) bottleneck_since_ = now;
  // The first report once a quiz's cost is known (for the drain estimate), or after a minute.
  if (!reported_ && units_per_quiz_ == 0 && now - *bottleneck_since_ < kReportEvery) return std::nullopt;
  if (reported_ && now - last_report_ < kReportEvery) return std::nullopt;
  reported_ = true;
  last_report_ = now;
  Report report;
  report.write_rate = write_.pace.pacing() ? write_.pace.rate() : 0;
  report.write_accepted = write_.pace.measured();
  report.units_per_quiz = units_per_quiz_;
  report.throttled = throttled_since_report_;
  report.not_capacity = not_capacity_since_report_;
  report.waiting = read_.queue.size() + write_.queue.size();
  throttled_since_report_ = 0;
  not_capacity_since_report_ = 0;
  return report;
}

}  // namespace qrl::capacity
