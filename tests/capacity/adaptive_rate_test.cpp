#include "capacity/adaptive_rate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
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

// The algorithm against a simulated table, on simulated time: four writers of a 20 x 10 quiz's
// item (17 units), each sending its next request 20 ms after the last answer, as the pipeline's
// workers do. The table has a capacity (units a second; 0: none) and holds `burst` seconds of
// unused capacity, starting full; it also throttles `noise` of all requests at random, whatever
// the rate. `change_at` (seconds) sets the capacity to `changed_to` from then on.
struct Table {
  double capacity = 300;
  double burst = 1;
  double noise = 0;
  double change_at = 1e9;
  double changed_to = 0;
};

struct Figures {
  double accepted = 0;  // units accepted in the measured span
  double requests = 0;
  double throttled = 0;
  double span = 0;  // seconds measured
  double min_rate = 1e9;  // the pace's lowest fill rate while pacing
  double throttled_share() const { return requests > 0 ? throttled / requests : 0; }
  double units_per_s() const { return accepted / span; }
};

// Runs `end` seconds and measures from `from` on; `paced` off sends without the limiter (the
// baseline), as set_pacing(false) does.
Figures simulate(const Table& table, double end, double from = 0, bool seeded = false, bool paced = true) {
  AdaptiveRate rate(0);
  if (seeded) rate.seed(table.capacity, 0);
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> unit(0, 1);
  double capacity = table.capacity;
  double table_tokens = capacity * table.burst, table_at = 0;
  auto table_admits = [&](double units, double now) {
    if (now >= table.change_at) capacity = table.changed_to;
    if (unit(rng) < table.noise) return false;
    if (capacity <= 0) return true;
    table_tokens = std::min(capacity * table.burst, table_tokens + (now - table_at) * capacity);
    table_at = now;
    if (table_tokens < std::min(units, capacity)) return false;
    table_tokens -= units;
    return true;
  };
  const double units = 17, latency = 0.02;
  std::vector<double> next(4, 0);
  std::vector<int> backoff(4, 0);
  Figures figures;
  figures.span = end - from;
  while (true) {
    auto w = static_cast<std::size_t>(std::min_element(next.begin(), next.end()) - next.begin());
    const double now = next[w];
    if (now >= end) break;
    const double wait = paced ? rate.try_spend(units, now) : 0;
    if (wait > 0) {
      next[w] = now + wait;
      continue;
    }
    if (rate.pacing() && now >= from) figures.min_rate = std::min(figures.min_rate, rate.rate());
    const bool measured = now >= from;
    if (measured) ++figures.requests;
    if (table_admits(units, now)) {
      rate.accepted(units, units, now + latency, now);
      if (measured) figures.accepted += units;
      backoff[w] = 0;
      next[w] = now + 2 * latency;
    } else {
      if (measured) ++figures.throttled;
      const auto throttle = rate.throttled(now, now + latency, units);
      // A throttle that is not the capacity: retried after a backoff, as PacedItems does.
      const double delay = throttle == Throttle::kNotCapacity || !paced
                               ? unit(rng) * std::min(1.0, 0.025 * (1 << std::min(backoff[w]++, 6)))
                               : 0;
      next[w] = now + latency + delay;
    }
  }
  return figures;
}

// A table of fixed capacity, unseeded and seeded: kept busy (most of its capacity used), seldom
// refusing (few requests throttled).
TEST(AdaptiveRate, KeepsATableOfFixedCapacityBusyWithFewThrottles) {
  for (bool seeded : {false, true}) {
    auto figures = simulate({.capacity = 300}, 60, 0, seeded);
    EXPECT_GT(figures.units_per_s() / 300, 0.9) << "seeded=" << seeded;
    EXPECT_LT(figures.throttled_share(), 0.05) << "seeded=" << seeded;
  }
}

// A table with no capacity limit that throttles 30% of requests at random: the throttles do not
// follow the rate, so they do not sink it. The loader keeps at least 80% of what it loads with
// no pace at all, and the pace never falls near its floor.
TEST(AdaptiveRate, RandomThrottlesAreNotACapacity) {
  const Table noisy{.capacity = 0, .noise = 0.3};
  const auto unpaced = simulate(noisy, 120, 20, false, false);
  const auto paced = simulate(noisy, 120, 20);
  EXPECT_GT(paced.units_per_s(), 0.8 * unpaced.units_per_s())
      << paced.units_per_s() << " vs " << unpaced.units_per_s() << " units/s unpaced";
  EXPECT_GT(paced.min_rate, 50) << "the pace sank";
  // The same noise on a table of 300 units a second: paced at its capacity all the same.
  auto both = simulate({.capacity = 300, .noise = 0.3}, 120, 20, true);
  EXPECT_GT(both.units_per_s() / 300, 0.6);
}

// Capacity that goes away is followed down, whatever the throttles before it looked like: a
// burst of 30 s of credit running out, and a table whose capacity falls from 300 to 100 units a
// second (another writer came). Within 20 s the pace holds the table busy with few throttles.
TEST(AdaptiveRate, CapacityThatGoesAwayIsFollowedDown) {
  auto burst = simulate({.capacity = 300, .burst = 30}, 120, 60);
  EXPECT_GT(burst.units_per_s() / 300, 0.85);
  EXPECT_LT(burst.throttled_share(), 0.1);
  auto fall = simulate({.capacity = 300, .change_at = 30, .changed_to = 100}, 120, 50, true);
  EXPECT_GT(fall.units_per_s() / 100, 0.85);
  EXPECT_LT(fall.throttled_share(), 0.1);
}

// The verdict itself: a table paced at 100 units a second that throttles every third request
// at that rate, as it did at the rate before: not a capacity; its units go back, the rate stays.
TEST(AdaptiveRate, AThrottleTheRateDoesNotCureGivesItsUnitsBack) {
  AdaptiveRate rate(0);
  rate.seed(100, 0);
  double t = 0;
  for (int i = 0; i < 60; ++i, t += 0.1) {
    if (i % 3 == 2) {
      rate.throttled(t, t, 10);
    } else {
      rate.accepted(10, 10, t, t);
    }
  }
  const double paced = rate.rate();
  const double tokens = rate.tokens(t);
  EXPECT_EQ(rate.throttled(t, t, 5), Throttle::kNotCapacity);
  EXPECT_EQ(rate.rate(), paced);
  EXPECT_NEAR(rate.tokens(t), std::min(tokens + 5, std::max(paced, 1.0)), 1e-9);
  EXPECT_GE(rate.not_capacity(), 1u);
  // The first throttles of an unpaced run are retried until answers enough can tell.
  AdaptiveRate fresh(0);
  fresh.accepted(17, 17, 0.02, 0);
  EXPECT_EQ(fresh.throttled(0.02, 0.04, 17), Throttle::kNotCapacity);
  EXPECT_FALSE(fresh.pacing());
}

TEST(AdaptiveRate, TheFloorHoldsAgainstEveryCut) {
  AdaptiveRate rate(0);
  rate.set_floor(2);
  rate.accepted(1, 1, 0.6);
  for (int i = 0; i < 30; ++i) rate.throttled(1.0 + i, 1.0 + i);
  EXPECT_EQ(rate.rate(), 2);
}

}  // namespace
}  // namespace qrl::capacity
