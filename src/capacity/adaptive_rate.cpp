#include "capacity/adaptive_rate.h"

#include <algorithm>
#include <cmath>

namespace qrl::capacity {

AdaptiveRate::AdaptiveRate(double now)
    : refilled_at_(now), last_throttle_(now), started_(now) {}

void AdaptiveRate::refill(double now) {
  if (now > refilled_at_) {
    tokens_ = std::min(capacity_, tokens_ + (now - refilled_at_) * fill_rate_);
    refilled_at_ = now;
  }
}

void AdaptiveRate::set_rate(double rate) {
  fill_rate_ = std::max(rate, kMinRate);
  capacity_ = std::max(fill_rate_, 1.0);
  tokens_ = std::min(tokens_, capacity_);
}

double AdaptiveRate::tokens(double now) {
  refill(now);
  return tokens_;
}

void AdaptiveRate::seed(double rate, double now) {
  if (rate <= 0) return;
  refill(now);
  enabled_ = true;
  w_max_ = rate;
  k_ = std::cbrt(w_max_ * (1 - kBeta) / kScale);
  // As if the throttle at `rate` was K seconds ago: the curve is at W_max now and grows from it.
  last_throttle_ = now - k_;
  set_rate(rate);
  tokens_ = capacity_;
  measured_ = std::max(measured_, rate);
}

double AdaptiveRate::try_spend(double units, double now) {
  if (!enabled_) return 0;
  refill(now);
  // More than the bucket holds: wait for a full bucket, then go into debt.
  const double needed = std::min(units, capacity_);
  if (tokens_ >= needed - 1e-9) {  // a wait computed from the last try comes out exact, not 1 ulp short
    tokens_ -= units;
    return 0;
  }
  return (needed - tokens_) / fill_rate_;
}

void AdaptiveRate::measure(double units, double now) {
  if (units > 0) accepted_.emplace_back(now, units);
  while (accepted_.size() > kWindowRequests && now - accepted_[1].first >= kWindow) accepted_.pop_front();
  if (accepted_.empty()) return;
  // The units accepted after the oldest request kept, over the time since it: the rate between.
  double units_since = 0;
  for (std::size_t i = 1; i < accepted_.size(); ++i) units_since += accepted_[i].second;
  const double from = accepted_.size() > 1 ? accepted_.front().first : started_;
  if (accepted_.size() == 1) units_since = accepted_.front().second;
  const double span = now - from;
  if (span > 0.05) measured_ = units_since / span;
}

double AdaptiveRate::cubic(double now) const {
  const double t = now - last_throttle_ - k_;
  return kScale * t * t * t + w_max_;
}

void AdaptiveRate::accepted(double units, double spent, double now) {
  measure(units, now);
  if (!enabled_) return;
  refill(now);
  tokens_ -= units - spent;
  set_rate(std::min(cubic(now), 2 * std::max(measured_, kMinRate)));
}

void AdaptiveRate::throttled(double sent, double now) {
  measure(0, now);
  refill(now);
  // One overshoot throttles every request in flight; only the first of them is news.
  if (enabled_ && sent < last_throttle_) return;
  const double rate = enabled_ ? std::min(std::max(measured_, kMinRate), fill_rate_) : std::max(measured_, kMinRate);
  w_max_ = rate;
  k_ = std::cbrt(w_max_ * (1 - kBeta) / kScale);
  last_throttle_ = now;
  if (!enabled_) tokens_ = 0;
  enabled_ = true;
  set_rate(rate * kBeta);
}

}  // namespace qrl::capacity
