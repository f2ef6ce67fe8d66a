#include "capacity/adaptive_rate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace qrl::capacity {
namespace {

TEST(AdaptiveRate, NothingIsPacedBeforeTheFirstThrottle) {
  AdaptiveRate rate(0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(rate.try_spend(400, 0.001 * i), 0);
  EXPECT_FALSE(rate.pacing());
}

TEST(AdaptiveRate, AThrottleCutsToBetaOfTheAcceptedRateAndCubicBringsItBack) {
  AdaptiveRate rate(0);
  // 100 units a second accepted for 3 s, in 10-unit requests.
  double t = 0;
  for (; t < 3; t += 0.1) rate.accepted(10, 10, t);
  EXPECT_NEAR(rate.measured(), 100, 1);
  rate.throttled(t, t);
  ASSERT_TRUE(rate.pacing());
  const double w_max = rate.measured();
  EXPECT_NEAR(rate.rate(), AdaptiveRate::kBeta * w_max, 1e-9);
  // W(t) = C (t - K)^3 + W_max: back at W_max after K seconds, and above it after.
  const double k = std::cbrt(w_max * (1 - AdaptiveRate::kBeta) / AdaptiveRate::kScale);
  const double throttled_at = t;
  for (; t < throttled_at + k; t += 0.1) rate.accepted(10, 10, t);
  rate.accepted(10, 10, throttled_at + k);
  EXPECT_NEAR(rate.rate(), w_max, 0.5);
  for (t = throttled_at + k; t < throttled_at + k + 2; t += 0.1) rate.accepted(10, 10, t);
  rate.accepted(10, 10, throttled_at + k + 2);
  EXPECT_NEAR(rate.rate(), w_max + AdaptiveRate::kScale * 8, 0.5);
}

TEST(AdaptiveRate, TheRateNeverPassesTwiceWhatIsAcceptedNorFallsUnderTheFloor) {
  AdaptiveRate rate(0);
  rate.accepted(1, 1, 0.6);
  rate.throttled(0.6, 0.6);
  for (int i = 0; i < 20; ++i) rate.throttled(1.0 + i, 1.0 + i);
  EXPECT_EQ(rate.rate(), AdaptiveRate::kMinRate);
  // A long quiet spell lets CUBIC grow, but not past twice the measured rate.
  rate.accepted(1, 1, 100);
  EXPECT_LE(rate.rate(), 2 * std::max(rate.measured(), AdaptiveRate::kMinRate) + 1e-9);
}

TEST(AdaptiveRate, ABigItemWaitsForAFullBucketAndLeavesItInDebt) {
  AdaptiveRate rate(0);
  rate.seed(100, 0);  // a full bucket: 100 units
  EXPECT_EQ(rate.try_spend(400, 0), 0);  // more than the bucket: taken when it is full
  EXPECT_NEAR(rate.tokens(0), -300, 1e-9);
  // The next request waits until the debt is paid and its own units are in the bucket.
  EXPECT_NEAR(rate.try_spend(10, 0), 3.1, 1e-9);
  EXPECT_GT(rate.try_spend(10, 3.0), 0);
  EXPECT_EQ(rate.try_spend(10, 3.1), 0);
}

TEST(AdaptiveRate, OneOvershootCutsOnceHoweverManyRequestsItThrottled) {
  AdaptiveRate rate(0);
  rate.seed(100, 0);
  rate.throttled(0.5, 1.0);
  const double once = rate.rate();
  rate.throttled(0.6, 1.01);  // sent before the cut: the same overshoot
  rate.throttled(0.9, 1.02);
  EXPECT_EQ(rate.rate(), once);
  rate.throttled(1.5, 1.6);  // sent after it: news
  EXPECT_LT(rate.rate(), once);
}

TEST(AdaptiveRate, ConsumedCapacityAboveTheEstimateIsChargedWhenItIsKnown) {
  AdaptiveRate rate(0);
  rate.seed(10, 0);
  EXPECT_EQ(rate.try_spend(1, 0), 0);
  rate.accepted(5, 1, 0);  // the read was of a 20 KB item: 5 units, not the 1 estimated
  EXPECT_NEAR(rate.tokens(0), 5, 1e-9);
}

// The algorithm against a table of fixed capacity, on simulated time: four writers of 17-unit
// items (a 20 x 10 quiz and its marker, in two requests) against 300 units a second, the table
// holding one second of unused capacity. The table must be kept busy (most of its capacity
// used) and seldom refuse (few requests throttled).
TEST(AdaptiveRate, KeepsATableOfFixedCapacityBusyWithFewThrottles) {
  for (bool seeded : {false, true}) {
    AdaptiveRate rate(0);
    if (seeded) rate.seed(300, 0);
    const double capacity = 300;
    double table_tokens = capacity, table_at = 0;
    auto table_admits = [&](double units, double now) {
      table_tokens = std::min(capacity, table_tokens + (now - table_at) * capacity);
      table_at = now;
      if (table_tokens < std::min(units, capacity)) return false;
      table_tokens -= units;
      return true;
    };
    std::vector<double> next(4, 0);  // when each writer sends next
    const std::vector<double> sizes = {16, 1};
    std::vector<std::size_t> step(4, 0);
    double accepted = 0, requests = 0, throttled = 0;
    const double end = 60, latency = 0.02;
    while (true) {
      auto w = static_cast<std::size_t>(std::min_element(next.begin(), next.end()) - next.begin());
      const double now = next[w];
      if (now >= end) break;
      const double units = sizes[step[w] % 2];
      const double wait = rate.try_spend(units, now);
      if (wait > 0) {
        next[w] = now + wait;
        continue;
      }
      ++requests;
      if (table_admits(units, now)) {
        rate.accepted(units, units, now + latency);
        accepted += units;
        ++step[w];
      } else {
        rate.throttled(now, now + latency);
        ++throttled;
      }
      next[w] = now + latency;
    }
    const double used = accepted / (capacity * end);
    EXPECT_GT(used, 0.9) << "seeded=" << seeded;
    EXPECT_LT(throttled / requests, 0.05) << "seeded=" << seeded;
  }
}

}  // namespace
}  // namespace qrl::capacity
