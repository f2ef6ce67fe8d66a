// The sweep's judge over an in-memory key space: each verdict from the state of a quiz's keys,
// its item and the clock, and what each verdict does (or, in a dry run, does not do).
#include "sweep/sweep.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/clock.h"
#include "support/fixtures.h"

namespace qrl::sweep {
namespace {

using qrl::testing::MemoryItems;
using qrl::testing::MemoryQuestions;
using qrl::testing::MemoryRedis;
using ::testing::HasSubstr;

// SCAN over MemoryRedis: pages of `count` keys, the cursor the index of the next one. Every key
// is idle for `idle[key]` seconds (0 unless set).
class MemoryKeySpace final : public KeySpace {
 public:
  explicit MemoryKeySpace(MemoryRedis& redis) : redis_(redis) {}
  std::map<std::string, std::int64_t> idle;
  std::size_t scans = 0;

  Page scan(const std::string& cursor, std::size_t count) override {
    ++scans;
    const auto keys = redis_.keys();
    const std::size_t from = std::stoul(cursor);
    const std::size_t to = std::min(keys.size(), from + count);
    Page page{to == keys.size() ? "0" : std::to_string(to), {keys.begin() + static_cast<std::ptrdiff_t>(from),
                                                             keys.begin() + static_cast<std::ptrdiff_t>(to)}};
    return page;
  }
  std::optional<std::int64_t> idle_seconds(const std::vector<std::string>& keys) override {
    std::optional<std::int64_t> least;
    for (const auto& key : keys) {
      if (!redis_.contains(key)) continue;
      const auto it = idle.find(key);
      const std::int64_t s = it == idle.end() ? 0 : it->second;
      least = least ? std::min(*least, s) : s;
    }
    return least;
  }

 private:
  MemoryRedis& redis_;
};

// The ManualClock's wall time, 1,800,000,000 s after the epoch.
constexpr std::int64_t kNow = 1'800'000'000;

struct World {
  MemoryRedis redis;
  MemoryQuestions questions;
  MemoryItems items;
  MemoryKeySpace keys{redis};
  core::ManualClock clock;
  pipeline::Pipeline pipeline{redis, questions, items, metrics::nothing(), clock};
  Options options;

  World() { options.pace = std::chrono::milliseconds(0); }
  void add(const qrl::testing::Fixture& f) {
    redis.apply(f.redis);
    questions.files[f.quiz_id] = f.question_file;
  }
  Report run() {
    return sweep(options, {keys, redis, questions, pipeline, clock, metrics::nothing(), core::RetryPolicy{},
                           [](std::chrono::milliseconds) { return true; }});
  }
  // The one entry of a sweep that found one quiz.
  Entry run_one() {
    auto report = run();
    EXPECT_EQ(report.entries.size(), 1u);
    return report.entries.empty() ? Entry{core::QuizId("none")} : report.entries.front();
  }
};

TEST(Sweep, AQuizStoppedLongerThanMinAgeAgoWithoutAnItemIsLoaded) {
  World w;
  auto f = qrl::testing::contract_quiz("s1");  // stopped in 2022
  w.add(f);
  auto entry = w.run_one();
  EXPECT_EQ(entry.verdict, Verdict::kLoaded);
  EXPECT_EQ(entry.keys, f.keys.size());
  EXPECT_THAT(entry.detail, HasSubstr("the event was lost"));
  EXPECT_EQ(nlohmann::json::parse(w.items.items.at("s1")), f.expected_item);
  EXPECT_EQ(w.redis.size(), 0u);
  EXPECT_TRUE(w.questions.files.empty());
}

TEST(Sweep, AQuizStoppedWithinMinAgeWaitsForItsEvent) {
  World w;
  auto f = qrl::testing::contract_quiz("s2");
  w.add(f);
  w.redis.apply({{"SET", "s2:stopTime", std::to_string(kNow - 60)}});
  auto entry = w.run_one();
  EXPECT_EQ(entry.verdict, Verdict::kWaiting);
  EXPECT_THAT(entry.detail, HasSubstr("stopped 60 s ago"));
  EXPECT_TRUE(w.items.items.empty());
  EXPECT_EQ(w.redis.size(), f.keys.size());
  EXPECT_EQ(w.questions.files.count("s2"), 1u);
}

TEST(Sweep, KeysLeftBesideAStoredItemAreDeletedWithTheQuestionFile) {
  World w;
  auto f = qrl::testing::contract_quiz("s3");
  w.add(f);
  ASSERT_EQ(w.pipeline.load(core::QuizId("s3")), pipeline::Outcome::kLoaded);
  // The producer as it behaves: the quiz's start time and a late join written after the load.
  w.redis.apply({{"SET", "s3:startTime", "1643273678"}, {"SET", "s3:late1:username", "late"}});
  w.questions.files["s3"] = f.question_file;
  auto entry = w.run_one();
  EXPECT_EQ(entry.verdict, Verdict::kStored);
  EXPECT_EQ(entry.keys, 2u);
  EXPECT_EQ(w.redis.size(), 0u);
  EXPECT_TRUE(w.questions.files.empty());
  EXPECT_EQ(w.items.puts, 1);  // the item is not written again
}

TEST(Sweep, LeftoversWithoutAStartTimeAreLeftWhileRecentlyUsedAndDeletedOnceIdle) {
  World w;
  auto f = qrl::testing::contract_quiz("s4");
  w.add(f);
  ASSERT_EQ(w.pipeline.load(core::QuizId("s4")), pipeline::Outcome::kLoaded);
  // A key without a start time could be a new quiz's lobby under the same id.
  w.redis.apply({{"SET", "s4:late1:username", "late"}});
  w.keys.idle["s4:late1:username"] = 30;
  EXPECT_EQ(w.run_one().verdict, Verdict::kWaiting);
  EXPECT_TRUE(w.redis.contains("s4:late1:username"));

  w.keys.idle["s4:late1:username"] = w.options.min_age.count();
  EXPECT_EQ(w.run_one().verdict, Verdict::kStored);
  EXPECT_EQ(w.redis.size(), 0u);
}

TEST(Sweep, AQuizWithoutAStopTimeIsInPlayUntilIdleForAbandonedAfter) {
  World w;
  w.redis.apply({{"SET", "s5:startTime", std::to_string(kNow - 100)}, {"RPUSH", "s5:userIds", "u1"},
                 {"SET", "s5:u1:username", "one"}});
  w.keys.idle = {{"s5:startTime", 200}, {"s5:userIds", 100}, {"s5:u1:username", 100}};
  auto entry = w.run_one();
  EXPECT_EQ(entry.verdict, Verdict::kInPlay);
  EXPECT_THAT(entry.detail, HasSubstr("used 100 s ago"));  // the most recent use of any key

  for (auto& [key, s] : w.keys.idle) s = w.options.abandoned_after.count() + 1;
  entry = w.run_one();
  EXPECT_EQ(entry.verdict, Verdict::kAbandoned);
  EXPECT_THAT(entry.detail, HasSubstr("kept"));
  EXPECT_EQ(w.redis.size(), 3u);

  w.options.delete_abandoned = true;
  entry = w.run_one();
  EXPECT_EQ(entry.verdict, Verdict::kAbandoned);
  EXPECT_THAT(entry.detail, HasSubstr("deleted"));
  EXPECT_EQ(w.redis.size(), 0u);
  EXPECT_TRUE(w.items.items.empty());
}

TEST(Sweep, ADryRunJudgesEveryQuizAndChangesNothing) {
  World w;
  w.options.dry_run = true;
  w.options.delete_abandoned = true;
  auto lost = qrl::testing::contract_quiz("d1");
  w.add(lost);
  w.redis.apply({{"SET", "d2:startTime", "1"}});
  w.keys.idle["d2:startTime"] = w.options.abandoned_after.count() + 1;
  const auto before = w.redis.keys();
  auto report = w.run();
  ASSERT_EQ(report.entries.size(), 2u);
  EXPECT_EQ(report.entries[0].verdict, Verdict::kLoaded);
  EXPECT_EQ(report.entries[1].verdict, Verdict::kAbandoned);
  EXPECT_EQ(w.redis.keys(), before);
  EXPECT_TRUE(w.items.items.empty());
  EXPECT_EQ(w.questions.files.size(), 1u);
  EXPECT_THAT(summary(report, true), HasSubstr("dry run: nothing changed"));
}

TEST(Sweep, TheWalkIsPagedAndEachQuizJudgedOnceWhateverThePageSize) {
  World w;
  w.options.count = 3;
  for (const auto* id : {"p1", "p2", "p3"}) w.add(qrl::testing::contract_quiz(id));
  auto report = w.run();
  EXPECT_EQ(report.entries.size(), 3u);
  EXPECT_EQ(report.count(Verdict::kLoaded), 3u);
  EXPECT_EQ(report.scans, w.keys.scans);
  EXPECT_GT(report.scans, 3u);
  EXPECT_EQ(w.items.items.size(), 3u);
}

TEST(Sweep, AQuizWhoseLoadFailsIsReportedFailedAndKeepsItsKeys) {
  World w;
  auto f = qrl::testing::contract_quiz("f1");
  w.add(f);
  w.questions.files["f1"] = "not json";  // a question file the loader cannot read: permanent
  auto report = w.run();
  ASSERT_EQ(report.entries.size(), 1u);
  EXPECT_EQ(report.entries[0].verdict, Verdict::kFailed);
  EXPECT_THAT(report.entries[0].detail, HasSubstr("load failed"));
  EXPECT_EQ(w.redis.size(), f.keys.size());
  EXPECT_TRUE(w.items.items.empty());
}

TEST(Sweep, TotalsCountEveryVerdictOnceForEveryReport) {
  Report report;
  report.keys_scanned = 12;
  report.entries = {{core::QuizId("a"), Verdict::kLoaded, 4, ""},
                    {core::QuizId("b"), Verdict::kLoaded, 4, ""},
                    {core::QuizId("c"), Verdict::kInPlay, 4, ""}};
  std::map<std::string, std::size_t> totals_by_name;
  for (const auto& t : totals(report)) totals_by_name[t.name] = t.count;
  EXPECT_EQ(totals_by_name, (std::map<std::string, std::size_t>{{"quizzes", 3}, {"keys_scanned", 12}, {"stored", 0},
                                                                {"loaded", 2}, {"waiting", 0}, {"in_play", 1},
                                                                {"abandoned", 0}, {"failed", 0}}));
  EXPECT_THAT(summary(report, false), HasSubstr("loaded\t2\n"));
}

}  // namespace
}  // namespace qrl::sweep
