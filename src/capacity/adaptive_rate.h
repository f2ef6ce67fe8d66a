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
// Throttles the rate does not cure are not a capacity. A table throttles below any capacity
// too: an on-demand partition splitting, a hot key, a stand-in's random fault. Cutting the rate
// for those would sink it to the floor, throttle after throttle. So every outcome is kept with the
// rate its request was sent at (the last minute, at most kSamples), and a throttle cuts only when
// the throttles follow the rate:
// - few of the last kRecent requests were throttled (under kNoise): the top of a rate that
//   otherwise gets through, an overshoot; or most were (over kMaxNoise): far over a capacity;
// - in between, only where a rate apart tells: lower rates were seldom throttled, or clearly less
//   than this one, or higher rates clearly more.
// A throttle that does not follow the rate is answered kNotCapacity: its units go back to the
// bucket and the caller retries it after a short backoff, at the same pace. One that comes before
// kCompared answers since the last cut can judge it is kNotCapacity too, but keeps its units
// spent: the cut is still being tried. The floor is at least kMinRate, and set_floor() raises it (the
// limiter: no quiz's writes paced over kQuizSeconds, unless the table is provisioned for less).
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
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

namespace qrl::capacity {

// What a throttle says: the table's capacity (paced: wait at the new rate), or not (retry).
enum class Throttle { kCapacity, kNotCapacity };

class AdaptiveRate {
 public:
  static constexpr double kBeta = 0.7;
  static constexpr double kScale = 0.4;  // C
  static constexpr double kMinRate = 0.5;
  static constexpr double kWindow = 2;          // seconds of accepted requests measured, at least
  static constexpr std::size_t kWindowRequests = 4;  // and at least this many requests
  // Telling capacity from noise: outcomes kept, for how long; how far apart two rates must be
  // to compare (a factor); how many outcomes a rate needs to be compared; the throttled share
  // under which a rate counts as cured; and over which a throttle is always a capacity.
  static constexpr std::size_t kSamples = 256;
  static constexpr std::size_t kRecent = 50;
  static constexpr double kSampleSeconds = 60;
  static constexpr double kApart = 1.15;
  static constexpr std::size_t kCompared = 8;
  static constexpr double kNoise = 0.1;
  static constexpr double kMaxNoise = 0.5;

  explicit AdaptiveRate(double now);

  // Starts pacing at `rate` units a second, as if a throttle at that rate had been recovered
  // from: the table's provisioned capacity, which burst credit may let it exceed.
  void seed(double rate, double now);

  // Spends `units` if the bucket allows it now and returns 0; else returns the seconds to wait
  // before asking again, and spends nothing. Before the first throttle (and without a seed)
  // nothing is paced: every spend is allowed.
  double try_spend(double units, double now);

  // The table accepted a request that consumed `units` (its answer says), of which `spent` were
  // spent before it was sent (at `sent`; default: now): the difference is spent now.
  void accepted(double units, double spent, double now, std::optional<double> sent = std::nullopt);
  // The table throttled a request of `units`, sent at `sent`: a capacity (the rate is cut, or was
  // cut for it already), or not (the units go back to the bucket; the caller retries).
  Throttle throttled(double sent, double now, double units = 0);
  // The rate never falls under `rate` (nor under kMinRate).
  void set_floor(double rate) { floor_ = std::max(rate, kMinRate); }
  double floor() const { return floor_; }
  // Throttles answered kNotCapacity so far.
  std::uint64_t not_capacity() const { return not_capacity_; }

  bool pacing() const { return enabled_; }
  // The rate the bucket fills at (units a second), while pacing.
  double rate() const { return fill_rate_; }
  // The rate the table has been accepting (units a second, smoothed).
  double measured() const { return measured_; }
  // Units in the bucket at `now` (negative: in debt).
  double tokens(double now);

 private:
  struct Sample {
    double at;
    double rate;
    bool throttled;
  };
  void refill(double now);
  void set_rate(double rate);
  void cut(double now);
  // The rate a request sent at `sent` went out at.
  double rate_at(double sent) const;
  double sending_rate() const;
  void sample(double now, double rate, bool throttled);
  // Whether the throttles seen follow the rate, at `rate`: yes; no (noise); or not yet known
  // (a cut too recent to judge).
  enum class Verdict { kFollows, kNoise, kUndecided };
  Verdict follows_rate(double rate) const;
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
  double last_throttle_;   // the last cut
  double rate_before_cut_ = 0;
  double floor_ = kMinRate;
  std::deque<Sample> samples_;
  std::uint64_t not_capacity_ = 0;
  // measuring: accepted requests (time, units), oldest first
  double measured_ = 0;
  std::deque<std::pair<double, double>> accepted_;
  double started_;
};

}  // namespace qrl::capacity
