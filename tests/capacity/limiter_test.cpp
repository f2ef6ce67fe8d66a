#include "capacity/limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace qrl::capacity {
namespace {

using namespace std::chrono_literals;

TEST(Limiter, AWriteWaitsForItsUnitsOnTheInjectedClock) {
  core::ManualClock clock;
  Limiter limiter(clock);
  limiter.seed(Kind::kWrite, 10);
  const auto start = clock.now();
  ASSERT_TRUE(limiter.acquire(Kind::kWrite, 10, {}));  // the full bucket
  ASSERT_TRUE(limiter.acquire(Kind::kWrite, 5, {}));   // half a second more (ManualClock: sleeps advance it)
  EXPECT_GE(clock.now() - start, 500ms);
  EXPECT_LT(clock.now() - start, 700ms);
}

TEST(Limiter, ReadsAndWritesArePacedApart) {
  core::ManualClock clock;
  Limiter limiter(clock);
  limiter.seed(Kind::kWrite, 1);
  limiter.seed(Kind::kRead, 100);
  ASSERT_TRUE(limiter.acquire(Kind::kWrite, 1, {}));
  const auto start = clock.now();
  ASSERT_TRUE(limiter.acquire(Kind::kRead, 50, {}));  // not behind the write's empty bucket
  EXPECT_EQ(clock.now(), start);
}

TEST(Limiter, NoWaitPastTheDeadlineNorAfterAStop) {
  core::ManualClock clock;
  Limiter limiter(clock);
  limiter.seed(Kind::kWrite, 1);
  ASSERT_TRUE(limiter.acquire(Kind::kWrite, 20, {}));  // a full bucket, then 19 units of debt
  // The next unit comes in 20 s at 1 a second: not within 5 s, so refused at once, nothing spent.
  const auto start = clock.now();
  EXPECT_FALSE(limiter.acquire(Kind::kWrite, 1, {nullptr, clock.now() + 5s}));
  EXPECT_EQ(clock.now(), start);
  EXPECT_TRUE(limiter.acquire(Kind::kWrite, 1, {nullptr, clock.now() + 30s}));
  EXPECT_GE(clock.now() - start, 20s);
  EXPECT_FALSE(limiter.acquire(Kind::kWrite, 1, {[] { return true; }, std::nullopt}));
  EXPECT_EQ(limiter.waiting(), 0u);
}

// First come, first served: a big write at the head of the queue is not starved by small ones
// that would fit the bucket before it fills.
TEST(Limiter, ABigWriteFirstInLineIsNotOvertakenBySmallOnes) {
  Limiter limiter;  // the machine's clock: threads wait for real, briefly
  limiter.seed(Kind::kWrite, 200);
  ASSERT_TRUE(limiter.acquire(Kind::kWrite, 200, {}));  // empty now
  std::atomic<int> order{0};
  int big_at = -1;
  std::thread big([&] {
    limiter.acquire(Kind::kWrite, 200, {});  // a full bucket: one second
    big_at = order++;
  });
  while (limiter.waiting() == 0) std::this_thread::sleep_for(1ms);
  std::vector<std::thread> small;
  std::vector<int> small_at(5, -1);
  for (int i = 0; i < 5; ++i) {
    small.emplace_back([&, i] {
      limiter.acquire(Kind::kWrite, 2, {});
      small_at[static_cast<std::size_t>(i)] = order++;
    });
  }
  big.join();
  for (auto& t : small) t.join();
  EXPECT_EQ(big_at, 0);
  for (int at : small_at) EXPECT_GT(at, 0);
}

TEST(Limiter, FewerQuizzesInFlightWhileWritesAreHeldBack) {
  core::ManualClock clock;
  Limiter limiter(clock);
  EXPECT_EQ(limiter.allowed_in_flight(8), 8u);  // nothing known: all
  limiter.seed(Kind::kWrite, 1);
  limiter.quiz_written(17);
  ASSERT_TRUE(limiter.acquire(Kind::kWrite, 1, {}));
  ASSERT_TRUE(limiter.acquire(Kind::kWrite, 1, {}));  // waited: the table is the bottleneck
  EXPECT_EQ(limiter.allowed_in_flight(8), 1u);
  // Ten seconds with no wait: the table keeps up again.
  clock.advance(11s);
  EXPECT_EQ(limiter.allowed_in_flight(8), 8u);
}

TEST(Limiter, AReportOnceAMinuteWhileTheTableIsTheBottleneck) {
  core::ManualClock clock;
  Limiter limiter(clock);
  EXPECT_FALSE(limiter.report_due());
  limiter.throttled(Kind::kWrite, 1, clock.now());
  EXPECT_FALSE(limiter.report_due());  // no quiz's cost known yet: no drain estimate to give
  limiter.quiz_written(17);
  auto first = limiter.report_due();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->throttled, 1u);
  EXPECT_FALSE(limiter.report_due());
  clock.advance(30s);
  limiter.throttled(Kind::kWrite, 1, clock.now());
  EXPECT_FALSE(limiter.report_due());
  clock.advance(31s);
  ASSERT_TRUE(limiter.report_due());
  clock.advance(120s);  // no throttle for two minutes: quiet
  EXPECT_FALSE(limiter.report_due());
  // Paced without a throttle (the seeded rate held): the table is the bottleneck all the same.
  limiter.seed(Kind::kWrite, 1);
  ASSERT_TRUE(limiter.acquire(Kind::kWrite, 1, {}));
  ASSERT_TRUE(limiter.acquire(Kind::kWrite, 1, {}));
  auto paced = limiter.report_due();
  ASSERT_TRUE(paced);
  EXPECT_EQ(paced->throttled, 0u);
}

}  // namespace
}  // namespace qrl::capacity
