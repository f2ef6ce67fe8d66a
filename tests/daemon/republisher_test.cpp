// The republisher's thread: a letter whose publish fails is published once more (on the new
// connection the publish function then makes) before its receipt says the broker did not take it.

#include "daemon/republisher.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "core/error.h"

namespace qrl::daemon {
namespace {

struct Outcome {
  std::mutex mutex;
  std::vector<Receipt> receipts;
  int calls = 0;
};

// Runs `letters` through a republisher whose publish fails the first `failures` calls.
void run(Outcome& outcome, int failures, int letters) {
  Republisher republisher(
      [&](const Letter&) {
        std::lock_guard lock(outcome.mutex);
        if (++outcome.calls <= failures) throw core::transient_error(core::Stage::kUnknown, "a socket error occurred");
      },
      [&](Receipt receipt) {
        std::lock_guard lock(outcome.mutex);
        outcome.receipts.push_back(receipt);
      });
  for (int i = 1; i <= letters; ++i) republisher.submit({7, static_cast<std::uint64_t>(i), Route::kMain, "{}", {}});
}  // publishes what was submitted, then stops

TEST(Republisher, APublishThatFailsOnceIsPublishedOnTheSecondTry) {
  Outcome outcome;
  run(outcome, 1, 2);
  ASSERT_EQ(outcome.receipts.size(), 2u);
  EXPECT_EQ(outcome.calls, 3);
  for (std::uint64_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(outcome.receipts[i].published);
    EXPECT_EQ(outcome.receipts[i].tag, i + 1);
    EXPECT_EQ(outcome.receipts[i].generation, 7u);
  }
}

TEST(Republisher, APublishThatFailsTwiceIsReportedNotTakenAndTheNextLetterGoesOn) {
  Outcome outcome;
  run(outcome, 2, 2);
  ASSERT_EQ(outcome.receipts.size(), 2u);
  EXPECT_EQ(outcome.calls, 3);
  EXPECT_FALSE(outcome.receipts[0].published);
  EXPECT_TRUE(outcome.receipts[1].published);
}

}  // namespace
}  // namespace qrl::daemon
