#include "core/retry.h"

#include <gtest/gtest.h>

namespace qrl::core {
namespace {

using std::chrono::milliseconds;

TEST(Decide, SuccessAcksTransientRequeuesPermanentRejects) {
  EXPECT_EQ(decide(std::nullopt), Action::kAck);
  EXPECT_EQ(decide(transient_error(Stage::kWrite, "throttled")), Action::kRequeue);
  EXPECT_EQ(decide(invalid_data(Stage::kBuild, "bad")), Action::kReject);
  EXPECT_EQ(decide(missing_data("gone", "k")), Action::kReject);
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

}  // namespace
}  // namespace qrl::core
