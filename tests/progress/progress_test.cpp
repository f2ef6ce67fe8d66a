// The progress line: done, total, rate and time left, drawn in place on a terminal at most five
// times a second, erased before a log line and at the end; nothing at all off a terminal.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "core/clock.h"
#include "log/log.h"
#include "progress/progress.h"

namespace qrl::progress {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// What was written to a memory stream.
struct Captured {
  char* data = nullptr;
  std::size_t size = 0;
  std::FILE* file = open_memstream(&data, &size);
  ~Captured() {
    std::fclose(file);
    std::free(data);
  }
  std::string text() {
    std::fflush(file);
    return std::string(data, size);
  }
};

TEST(Progress, ALineSaysDoneTotalRateAndTimeLeft) {
  core::ManualClock clock;
  Captured out;
  Progress progress("seeding", "quizzes", 500, clock, out.file, true);
  EXPECT_EQ(progress.line(), "seeding: 0/500 quizzes");
  clock.advance(10s);
  progress.advance(120);
  EXPECT_EQ(progress.line(), "seeding: 120/500 quizzes, 12/s, 32 s left");
  EXPECT_THAT(out.text(), HasSubstr("\rseeding: 120/500 quizzes, 12/s, 32 s left\x1b[K"));
  Progress open_ended("sweeping", "keys", std::nullopt, clock, out.file, false);
  clock.advance(4s);
  open_ended.advance(6);
  EXPECT_EQ(open_ended.line(), "sweeping: 6 keys, 1.5/s");
}

TEST(Progress, RedrawnAtMostFiveTimesASecondAndTheLastStepAlways) {
  core::ManualClock clock;
  Captured out;
  Progress progress("loading", "quizzes", 100, clock, out.file, true);
  for (int i = 0; i < 99; ++i) {
    clock.advance(10ms);
    progress.advance();
  }
  progress.advance();  // the last: drawn however soon
  const auto text = out.text();
  const auto draws = std::count(text.begin(), text.end(), '\r');
  EXPECT_GE(draws, 5);
  EXPECT_LE(draws, 7);  // about a second of steps, then the last
  EXPECT_THAT(text, HasSubstr("loading: 100/100 quizzes"));
  progress.finish();
  EXPECT_EQ(out.text().substr(out.text().size() - 4), "\r\x1b[K");
}

TEST(Progress, OffATerminalNothingIsWritten) {
  core::ManualClock clock;
  Captured out;
  {
    Progress progress("replaying", "dead letters", 3, clock, out.file, false);
    for (int i = 0; i < 3; ++i) progress.advance();
  }
  EXPECT_EQ(out.text(), "");
}

TEST(Progress, ALogLineErasesTheLineFirst) {
  core::ManualClock clock;
  Captured out;
  Progress progress("loading", "quizzes", 10, clock, out.file, true);
  progress.advance();
  const auto before = out.text().size();
  log::info("quiz loaded");  // on stderr; the progress line on `out` is erased first
  EXPECT_EQ(out.text().substr(before), "\r\x1b[K");
  progress.finish();
  log::info("after the end");
  EXPECT_EQ(out.text().substr(before), "\r\x1b[K");  // nothing more once finished
}

}  // namespace
}  // namespace qrl::progress
