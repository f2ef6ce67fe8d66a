#pragma once
// The pace of one kind of capacity (a table's writes, or its reads), in capacity units a second,
// as the AWS SDKs' adaptive retry mode paces requests (botocore retries/adaptive.py, bucket.py,
// throttling.py), with units for requests: a write of a 16 KB item spends 16 units, not 1.
//
// - A token bucket fills at the current rate and holds at most a second of it (at least one
//   unit). A spend of more units than the bucket holds waits for a full bucket and leaves it in
//   debt, as a DynamoDB partition admits a large item: a 400 KB item waits for 400 units of
//   time instead of failing again and again.
// - Every throttle cuts the rate to beta (0.7) times the rate the table was accepting, and from
//   there it grows back along a CUBIC curve, W(t) = C (t - K)^3 + W_max with C = 0.4 and
//   K = cbrt(W_max (1 - beta) / C): fast at first, flat near the rate that was throttled, then
//   probing above it. It never exceeds twice the rate measured accepted, and never falls below
//   0.5 units a second.
// - The accepted rate is measured, not configured: the units the table accepted over the last
//   two seconds, or over the last four requests it accepted if those span longer.
//
// Three departures from botocore, all for requests that are units rather than counts. The
// measure: botocore counts requests per half second, but a request of 16 units at 1 unit a
// second comes every 16 s, and half-second buckets would read that as 0 most of the time and
// then 32. A throttle of a request sent before the last cut does not cut again (the concurrent
// requests of one overshoot are one signal, not N). And the rate may be seeded with what the
// table says it is provisioned for, so the first large items do not have to find it by being
// throttled.
//
// Pure: the time (seconds on any monotonic scale) is passed in; the caller waits.

#include <cstddef>
#include <deque>
#include <utility>

namespace qrl::capacity {

class AdaptiveRate {
 public:
  static constexpr double kBeta = 0.7;
  static constexpr double kScale = 0.4;  // C
  static constexpr double kMinRate = 0.5;
  static constexpr double kWindow = 2;          // seconds of accepted requests measured, at least
  static constexpr std::size_t kWindowRequests = 4;  // and at least this many requests

  explicit AdaptiveRate(double now);

  // Starts pacing at `rate` units a second, as if a throttle at that rate had been recovered
  // from: the table's provisioned capacity, which burst credit may let it exceed.
  void seed(double rate, double now);

  // Spends `units` if the bucket allows it now and returns 0; else returns the seconds to wait
  // before asking again, and spends nothing. Before the first throttle (and without a seed)
  // nothing is paced: every spend is allowed.
  double try_spend(double units, double now);

  // The table accepted a request that consumed `units` (its answer says), of which `spent` were
  // spent before it was sent: the difference is spent now.
  void accepted(double units, double spent, double now);
  // The table throttled a request that was sent at `sent`.
  void throttled(double sent, double now);

  bool pacing() const { return enabled_; }
  // The rate the bucket fills at (units a second), while pacing.
  double rate() const { return fill_rate_; }
  // The rate the table has been accepting (units a second, smoothed).
  double measured() const { return measured_; }
  double last_throttle() const { return last_throttle_; }
  // Units in the bucket at `now` (negative: in debt).
  double tokens(double now);

 private:
  void refill(double now);
  void set_rate(double rate);
  void measure(double units, double now);
  double cubic(double now) const;

  bool enabled_ = false;
  double fill_rate_ = 0;
  double capacity_ = 1;
  double tokens_ = 0;
  double refilled_at_;
  // CUBIC
  double w_max_ = 0;
  double k_ = 0;
  double last_throttle_;
  // measuring: accepted requests (time, units), oldest first
  double measured_ = 0;
  std::deque<std::pair<double, double>> accepted_;
  double started_;
};

}  // namespace qrl::capacity
