#include "core/retry.h"

#include <gtest/gtest.h>

namespace qrl::core {
namespace {

using std::chrono::milliseconds;

TEST(Decide, EachFailureClassHasOneAction) {
  RetryPolicy policy;
  EXPECT_EQ(decide(std::nullopt, 1, policy), Action::kAck);
  EXPECT_EQ(decide(transient_error(Stage::kWrite, "reset"), 1, policy), Action::kRequeue);
  EXPECT_EQ(decide(invalid_data(Stage::kBuild, "bad"), 1, policy), Action::kReject);
  EXPECT_EQ(decide(missing_data("gone", "k"), 1, policy), Action::kReject);
  EXPECT_EQ(decide(environment_error(Stage::kWrite, "AccessDeniedException"), 1, policy), Action::kPause);
}

// Throttling is backpressure: back to the queue uncounted, on any delivery, never dead-lettered.
TEST(Decide, AThrottledWriteIsReleasedUncountedHoweverOftenItCameBack) {
  RetryPolicy policy;
  policy.max_deliveries = 3;
  const auto throttled = transient_error(Stage::kWrite, "ProvisionedThroughputExceededException", Code::kThrottled);
  for (int deliveries : {0, 1, 3, 1000}) EXPECT_EQ(decide(throttled, deliveries, policy), Action::kRelease);
}

TEST(Decide, TransientFailuresGiveUpAfterMaxDeliveries) {
  RetryPolicy policy;
  policy.max_deliveries = 3;
  auto failure = transient_error(Stage::kWrite, "throttled");
  EXPECT_EQ(decide(failure, 2, policy), Action::kRequeue);
  EXPECT_EQ(decide(failure, 3, policy), Action::kReject);
  EXPECT_EQ(decide(failure, 7, policy), Action::kReject);
  // Unknown count (SQS keeps it): never given up on here.
  EXPECT_EQ(decide(failure, 0, policy), Action::kRequeue);
  // The environment's fault never counts against the message.
  EXPECT_EQ(decide(environment_error(Stage::kRead, "NOAUTH"), 9, policy), Action::kPause);
}

TEST(Backoff, GrowsExponentiallyUpToTheCap) {
  RetryPolicy policy{10, milliseconds(100), milliseconds(1000)};
  EXPECT_EQ(backoff_delay(policy, 1, 0.999999).count(), 99);
  EXPECT_EQ(backoff_delay(policy, 2, 0.5).count(), 100);
  EXPECT_EQ(backoff_delay(policy, 3, 0.5).count(), 200);
  EXPECT_EQ(backoff_delay(policy, 4, 1.0).count(), 800);
  EXPECT_EQ(backoff_delay(policy, 5, 1.0).count(), 1000);
  EXPECT_EQ(backoff_delay(policy, 60, 1.0).count(), 1000);
}

TEST(Backoff, FullJitterStartsAtZero) {
  RetryPolicy policy;
  EXPECT_EQ(backoff_delay(policy, 3, 0.0).count(), 0);
}

TEST(Pause, DoublesFromOneSecondToAMinute) {
  RetryPolicy policy;
  EXPECT_EQ(pause_delay(policy, 1).count(), 1000);
  EXPECT_EQ(pause_delay(policy, 2).count(), 2000);
  EXPECT_EQ(pause_delay(policy, 6).count(), 32000);
  EXPECT_EQ(pause_delay(policy, 7).count(), 60000);
  EXPECT_EQ(pause_delay(policy, 1000).count(), 60000);
}

TEST(RetryQuota, AnOutageEmptiesTheBucketAndSuccessesRefillIt) {
  RetryQuota quota(20);
  EXPECT_TRUE(quota.acquire());
  EXPECT_TRUE(quota.acquire());
  EXPECT_TRUE(quota.acquire());
  EXPECT_TRUE(quota.acquire());
  EXPECT_FALSE(quota.acquire());  // 0 left: no more retries
  EXPECT_EQ(quota.tokens(), 0);
  quota.on_success(/*after_retry=*/true);
  EXPECT_EQ(quota.tokens(), RetryQuota::kRetryCost);
  for (int i = 0; i < 100; ++i) quota.on_success(false);
  EXPECT_EQ(quota.tokens(), 20);  // never above capacity
}

}  // namespace
}  // namespace qrl::core
