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
  fill_rate_ = std::max(rate, floor_);
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

void AdaptiveRate::accepted(double units, double spent, double now, std::optional<double> sent) {
  sample(now, rate_at(sent.value_or(now)), false);
  measure(units, now);
  if (!enabled_) return;
  refill(now);
  tokens_ -= units - spent;
  set_rate(std::min(cubic(now), 2 * std::max(measured_, kMinRate)));
}

double AdaptiveRate::sending_rate() const { return enabled_ ? fill_rate_ : std::max(measured_, kMinRate); }

double AdaptiveRate::rate_at(double sent) const {
  return enabled_ && sent < last_throttle_ ? rate_before_cut_ : sending_rate();
}

void AdaptiveRate::sample(double now, double rate, bool throttled) {
  samples_.push_back({now, rate, throttled});
  while (samples_.size() > kSamples || (!samples_.empty() && now - samples_.front().at > kSampleSeconds))
    samples_.pop_front();
}

AdaptiveRate::Verdict AdaptiveRate::follows_rate(double rate) const {
  struct Group {
    double n = 0, throttled = 0;
    double share() const { return n > 0 ? throttled / n : 0; }
    void add(bool throttled_) {
      n += 1;
      throttled += throttled_ ? 1 : 0;
    }
  } recent, lower, near, higher;
  // The last kRecent answers since the last cut: what the rate it set gets.
  for (auto it = samples_.rbegin(); it != samples_.rend() && recent.n < kRecent && it->at >= last_throttle_; ++it)
    recent.add(it->throttled);
  for (const auto& s : samples_) (s.rate < rate / kApart ? lower : s.rate > rate * kApart ? higher : near).add(s.throttled);
  // Too few answers since the last cut to judge it: with no history at all, the rate's doing,
  // as botocore has it; else the cut is still being tried, and this throttle waits for it.
  if (recent.n < kCompared) return samples_.size() < kCompared ? Verdict::kFollows : Verdict::kUndecided;
  // A throttle among few (the top of a rate that otherwise gets through), or among most
  // requests (far over a capacity): the rate's doing.
  if (recent.share() < kNoise || recent.share() > kMaxNoise) return Verdict::kFollows;
  // Throttled often: the rate's doing only where a rate apart was throttled clearly less below
  // it, or clearly more above it (by a tenth, plus two standard errors of the difference).
  auto apart = [](const Group& less, const Group& more) {
    if (less.n < kCompared || more.n < kCompared) return false;
    const double p = (less.throttled + more.throttled) / (less.n + more.n);
    return more.share() - less.share() > 0.1 + 2 * std::sqrt(p * (1 - p) * (1 / less.n + 1 / more.n));
  };
  const bool follows = (lower.n >= kCompared && lower.share() < kNoise) || apart(lower, near) || apart(near, higher);
  return follows ? Verdict::kFollows : Verdict::kNoise;
}

void AdaptiveRate::cut(double now) {
  const double rate = enabled_ ? std::min(std::max(measured_, kMinRate), fill_rate_) : std::max(measured_, kMinRate);
  rate_before_cut_ = sending_rate();
  w_max_ = rate;
  k_ = std::cbrt(w_max_ * (1 - kBeta) / kScale);
  last_throttle_ = now;
  if (!enabled_) tokens_ = 0;
  enabled_ = true;
  set_rate(rate * kBeta);
}

Throttle AdaptiveRate::throttled(double sent, double now, double units) {
  const double rate = rate_at(sent);
  sample(now, rate, true);
  measure(0, now);
  refill(now);
  // One overshoot throttles every request in flight; only the first of them is news.
  if (enabled_ && sent < last_throttle_) return Throttle::kCapacity;
  // Unpaced, too few answers yet to tell (the first requests of a run), and the rate measured
  // is no base for a cut: retried.
  const auto verdict = !enabled_ && samples_.size() < kCompared ? Verdict::kUndecided : follows_rate(rate);
  if (verdict != Verdict::kFollows) {
    ++not_capacity_;
    // Noise: the table did not take the units, and the rate is not the cause.
    if (verdict == Verdict::kNoise) tokens_ = std::min(capacity_, tokens_ + units);
    return Throttle::kNotCapacity;
  }
  cut(now);
  return Throttle::kCapacity;
}

}  // namespace qrl::capacity
