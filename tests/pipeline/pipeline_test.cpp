#include "pipeline/pipeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/event.h"
#include "core/ids.h"
#include "support/fixtures.h"

namespace qrl::pipeline {
namespace {

using qrl::testing::MemoryItems;
using qrl::testing::MemoryQuestions;
using qrl::testing::MemoryRedis;

// Fails the first `failures` puts with a transient error, as a throttled DynamoDB would.
class FlakyItems final : public ItemStore {
 public:
  explicit FlakyItems(int failures, core::FailureKind kind = core::FailureKind::kTransient)
      : failures_(failures), kind_(kind) {}
  MemoryItems inner;
  int attempts = 0;
  Stored put_quiz(const std::string& id, const std::string& item, const Identity& identity,
                  std::size_t) override {
    ++attempts;
    if (failures_-- > 0) throw core::Error(kind_, core::Stage::kWrite, "ThrottlingException or AccessDenied");
    return inner.put_quiz(id, item, identity);
  }
  void put_part(const std::string& id, const std::string& item, std::size_t) override { inner.put_part(id, item); }
  std::optional<std::string> start_time(const std::string& id) override { return inner.start_time(id); }

 private:
  int failures_;
  core::FailureKind kind_;
};

struct World {
  MemoryRedis redis;
  MemoryQuestions questions;
  void add(const qrl::testing::Fixture& f) {
    redis.apply(f.redis);
    questions.files[f.quiz_id] = f.question_file;
  }
};

const Sleeper kNoSleep = [](std::chrono::milliseconds) { return true; };

// The error of an attempt that must fail.
core::Error load_error(Pipeline& pipeline, const std::string& quiz_id) {
  try {
    pipeline.load(core::QuizId(quiz_id));
  } catch (const core::Error& e) {
    return e;
  }
  ADD_FAILURE() << quiz_id << " loaded";
  return core::Error(core::FailureKind::kTransient, core::Stage::kUnknown, "none");
}

TEST(Pipeline, LoadsWritesThenDeletesEverySource) {
  World w;
  MemoryItems items;
  auto f = qrl::testing::edge_quiz("p1");
  w.add(f);
  Pipeline pipeline(w.redis, w.questions, items);
  EXPECT_EQ(pipeline.load(core::QuizId("p1")), Outcome::kLoaded);
  EXPECT_EQ(nlohmann::json::parse(items.items.at("p1")), f.expected_item);
  EXPECT_EQ(w.redis.size(), 0u);  // u5, who only joined, too
  EXPECT_TRUE(w.questions.files.empty());
}

// A first load is one conditional write, and nothing is read from the table before it.
TEST(Pipeline, AFirstLoadIsOneWriteAndNoRead) {
  World w;
  MemoryItems items;
  w.add(qrl::testing::contract_quiz("p2"));
  Pipeline pipeline(w.redis, w.questions, items);
  EXPECT_EQ(pipeline.load(core::QuizId("p2")), Outcome::kLoaded);
  EXPECT_EQ(items.puts, 1);
  EXPECT_TRUE(items.probed.empty());
  EXPECT_EQ(items.items.size(), 1u);  // one item per quiz: nothing beside it
}

// A duplicate after the sources are gone reads the item's StartTime: loaded, nothing written.
// One this process remembers loading reads nothing at all.
TEST(Pipeline, ADuplicateAfterTheSourcesAreGoneReadsOnceOrRemembers) {
  World w;
  MemoryItems items;
  w.add(qrl::testing::contract_quiz("p3"));
  Pipeline pipeline(w.redis, w.questions, items);
  ASSERT_EQ(pipeline.load(core::QuizId("p3")), Outcome::kLoaded);
  EXPECT_EQ(pipeline.load(core::QuizId("p3")), Outcome::kAlreadyLoaded);
  EXPECT_EQ(items.puts, 1);
  EXPECT_EQ(items.probed, std::vector<std::string>{"p3"});

  RecentlyLoaded loaded;
  pipeline.remember_in(loaded);
  w.add(qrl::testing::contract_quiz("p4"));
  items.probed.clear();
  ASSERT_EQ(pipeline.load(core::QuizId("p4")), Outcome::kLoaded);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(pipeline.load(core::QuizId("p4")), Outcome::kAlreadyLoaded);
  EXPECT_TRUE(items.probed.empty());
  EXPECT_EQ(items.puts, 2);
  // Nor does it answer for a quiz it does not know: the item is read, and missing, the data is.
  EXPECT_EQ(load_error(pipeline, "p5").problem(), core::DataProblem::kMissing);
  EXPECT_EQ(items.probed, std::vector<std::string>{"p5"});
}

// A duplicate while the sources are still there (a crash between the write and the delete, or
// two replicas at once) writes the same item again, in the same one request, and cleans up.
TEST(Pipeline, ADuplicateWhileTheSourcesRemainWritesTheSameItemAgain) {
  World w;
  MemoryItems items;
  auto f = qrl::testing::contract_quiz("p6");
  w.add(f);
  Pipeline pipeline(w.redis, w.questions, items);
  ASSERT_EQ(pipeline.load(core::QuizId("p6")), Outcome::kLoaded);
  const auto stored = items.items.at("p6");
  w.add(f);
  EXPECT_EQ(pipeline.load(core::QuizId("p6")), Outcome::kAlreadyLoaded);
  EXPECT_EQ(items.puts, 2);
  EXPECT_TRUE(items.probed.empty());
  EXPECT_EQ(items.items.at("p6"), stored);
  EXPECT_EQ(w.redis.size(), 0u);
  EXPECT_TRUE(w.questions.files.empty());
}

// The loader before this one wrote a marker item `<id>#loaded` beside each quiz: a table that
// holds them still works, and they are neither read nor written.
TEST(Pipeline, MarkersOfTheVersionBeforeAreIgnored) {
  World w;
  MemoryItems items;
  const std::string marker = R"({"id":{"S":"p7#loaded"},"PartOf":{"S":"p7"},"StartTime":{"S":"2022-01-27T08:54:38Z"}})";
  items.items["p7#loaded"] = marker;
  w.add(qrl::testing::contract_quiz("p7"));
  Pipeline pipeline(w.redis, w.questions, items);
  EXPECT_EQ(pipeline.load(core::QuizId("p7")), Outcome::kLoaded);
  EXPECT_EQ(items.puts, 1);
  EXPECT_TRUE(items.probed.empty());
  EXPECT_EQ(items.items.at("p7#loaded"), marker);
}

// A quiz id is 8 random characters with no uniqueness check: once a quiz is loaded and gone
// from Redis, a new quiz may get its id. It is stored beside the old one, never over it.
TEST(Pipeline, AReusedIdKeepsBothQuizzes) {
  World w;
  MemoryItems items;
  auto first = qrl::testing::contract_quiz("r1");
  w.add(first);
  Pipeline pipeline(w.redis, w.questions, items);
  ASSERT_EQ(pipeline.load(core::QuizId("r1")), Outcome::kLoaded);
  const auto stored = items.items.at("r1");
  auto second = qrl::testing::edge_quiz("r1");
  w.add(second);
  w.redis.apply({{"SET", "r1:startTime", "1700000000"}});
  ASSERT_EQ(pipeline.load(core::QuizId("r1")), Outcome::kLoaded);
  EXPECT_EQ(items.items.at("r1"), stored);  // untouched
  ASSERT_EQ(items.items.count("r1@1700000000"), 1u);
  auto beside = nlohmann::json::parse(items.items.at("r1@1700000000"));
  EXPECT_EQ(beside["id"]["S"], "r1@1700000000");
  EXPECT_EQ(beside["StartTime"]["S"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(beside["Participants"], second.expected_item["Participants"]);
  EXPECT_EQ(w.redis.size(), 0u);
  // The second quiz announced again: found where it was stored (written again, the same), the
  // first quiz's item untouched.
  w.add(second);
  w.redis.apply({{"SET", "r1:startTime", "1700000000"}});
  const auto beside_before = items.items.at("r1@1700000000");
  EXPECT_EQ(pipeline.load(core::QuizId("r1")), Outcome::kAlreadyLoaded);
  EXPECT_EQ(items.items.at("r1"), stored);
  EXPECT_EQ(items.items.at("r1@1700000000"), beside_before);
  EXPECT_EQ(w.redis.size(), 0u);
}

// A quiz whose participant keys fit one read takes its roster from the values read at once; a
// bigger one asks which keys exist first, then streams the values. Both decide alike.
class Roster : public ::testing::TestWithParam<std::size_t> {
 protected:
  void SetUp() override { w.redis.window = GetParam(); }
  // The reads one load made: one of values when the quiz fits one read, and of existence only
  // where keys had no value (`absent`: whether some had).
  void expect_reads_of_its_size(bool absent = false) const {
    if (GetParam() >= 1000) {
      EXPECT_EQ(w.redis.exist_reads, absent ? 1 : 0);
      EXPECT_EQ(w.redis.value_reads, 1);
    } else {
      EXPECT_GT(w.redis.exist_reads, 1);
      EXPECT_GT(w.redis.value_reads, 1);
    }
  }
  World w;
};

INSTANTIATE_TEST_SUITE_P(Window, Roster, ::testing::Values(std::size_t{16'000}, std::size_t{3}),
                         [](const auto& info) { return info.param >= 1000 ? "OneRead" : "Streamed"; });

TEST_P(Roster, LateJoinersAreLeftOutAndTheirKeysDeletedWithTheQuiz) {
  MemoryItems items;
  auto f = qrl::testing::contract_quiz("lj1");
  w.add(f);
  w.redis.apply({{"RPUSH", "lj1:userIds", "late0001"},
                 {"SET", "lj1:late0001:username", "Late"},
                 {"ZADD", "lj1:leaderboard", "0", "late0001"}});
  Pipeline pipeline(w.redis, w.questions, items);
  EXPECT_EQ(pipeline.load(core::QuizId("lj1")), Outcome::kLoaded);
  auto item = nlohmann::json::parse(items.items.at("lj1"));
  EXPECT_EQ(item["Participants"], f.expected_item["Participants"]);
  EXPECT_EQ(nlohmann::json::parse(items.items.at("lj1")), f.expected_item);
  EXPECT_EQ(w.redis.size(), 0u);
  expect_reads_of_its_size(/*absent=*/true);
}

TEST_P(Roster, AFinishingMemberMakesTheAttemptTransientAndTouchesNothing) {
  MemoryItems items;
  auto f = qrl::testing::contract_quiz("fin1");
  w.add(f);
  w.redis.remove({"fin1:ee14ccb2:stopTime"});
  Pipeline pipeline(w.redis, w.questions, items);
  const auto e = load_error(pipeline, "fin1");
  EXPECT_EQ(e.code(), core::Code::kFinishing);
  EXPECT_TRUE(e.transient());
  EXPECT_TRUE(items.items.empty());
  EXPECT_EQ(w.redis.size(), f.keys.size() - 1);
  // Its handler writes the stop time a moment later: the next attempt loads it whole.
  for (const auto& command : f.redis) {
    if (command.size() == 3 && command[1] == "fin1:ee14ccb2:stopTime") w.redis.apply({command});
  }
  EXPECT_EQ(pipeline.load(core::QuizId("fin1")), Outcome::kLoaded);
  EXPECT_EQ(nlohmann::json::parse(items.items.at("fin1")), f.expected_item);
}

// MGET answers nil for a key of another type too: a participant's damaged answer must never be
// taken for a late joiner's missing one (which would leave the participant out and delete its
// keys), whatever else is missing before it.
TEST_P(Roster, ADamagedAnswerBehindALateJoinerDeletesNothing) {
  MemoryItems items;
  auto f = qrl::testing::contract_quiz("dm1");
  w.add(f);
  w.redis.apply({{"RPUSH", "dm1:userIds", "aaaa0001"},
                 {"SET", "dm1:aaaa0001:username", "Late"},
                 {"ZADD", "dm1:leaderboard", "100", "aaaa0001"}});  // ranks first: read first
  w.redis.remove({"dm1:ee14ccb2:answer:3"});
  w.redis.apply({{"RPUSH", "dm1:ee14ccb2:answer:3", "not a string"}});
  const auto before = w.redis.size();
  Pipeline pipeline(w.redis, w.questions, items);
  load_error(pipeline, "dm1");
  EXPECT_TRUE(items.items.empty());
  EXPECT_EQ(w.redis.size(), before);
  EXPECT_TRUE(w.redis.contains("dm1:ee14ccb2:answer:3"));
  EXPECT_EQ(w.questions.files.count("dm1"), 1u);
}

TEST_P(Roster, EveryShapeLoadsTheSameItem) {
  MemoryItems items;
  auto f = qrl::testing::edge_quiz("sh1");
  w.add(f);
  Pipeline pipeline(w.redis, w.questions, items);
  EXPECT_EQ(pipeline.load(core::QuizId("sh1")), Outcome::kLoaded);
  EXPECT_EQ(nlohmann::json::parse(items.items.at("sh1")), f.expected_item);
  expect_reads_of_its_size();
}

TEST(Pipeline, CleanupAfterACrashBetweenWriteAndDelete) {
  World w;
  MemoryItems items;
  auto f = qrl::testing::contract_quiz("p3");
  w.add(f);
  Pipeline pipeline(w.redis, w.questions, items);
  EXPECT_EQ(pipeline.load(core::QuizId("p3")), Outcome::kLoaded);
  // As if the process died after DEL but before the file went.
  w.questions.files["p3"] = f.question_file;
  EXPECT_EQ(pipeline.load(core::QuizId("p3")), Outcome::kAlreadyLoaded);
  EXPECT_TRUE(w.questions.files.empty());
}

TEST(Pipeline, BadDataDeletesNothingAndIsPermanent) {
  World w;
  MemoryItems items;
  auto f = qrl::testing::contract_quiz("p4");
  w.add(f);
  w.redis.remove({"p4:2c3ca3d2:username"});
  Pipeline pipeline(w.redis, w.questions, items);
  const auto e = load_error(pipeline, "p4");
  EXPECT_EQ(e.kind(), core::FailureKind::kPermanent);
  EXPECT_EQ(e.key(), "p4:2c3ca3d2:username");
  EXPECT_EQ(w.redis.size(), f.keys.size() - 1);
  EXPECT_EQ(w.questions.files.size(), 1u);
  EXPECT_TRUE(items.items.empty());
}

TEST(Pipeline, AMissingQuestionFileWithoutItemIsPermanentAndDeletesNothing) {
  World w;
  MemoryItems items;
  auto f = qrl::testing::contract_quiz("p5");
  w.redis.apply(f.redis);
  Pipeline pipeline(w.redis, w.questions, items);
  EXPECT_THROW(pipeline.load(core::QuizId("p5")), core::Error);
  EXPECT_EQ(w.redis.size(), f.keys.size());
}

TEST(ProcessMessage, RetriesTransientFailuresThenAcks) {
  World w;
  FlakyItems items(2);
  w.add(qrl::testing::contract_quiz("p6"));
  Pipeline pipeline(w.redis, w.questions, items);
  auto result = process_message(pipeline, core::make_event("e", "t", "p6"), core::RetryPolicy{}, kNoSleep);
  EXPECT_EQ(result.action, core::Action::kAck);
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(items.inner.puts, 1);  // the item, once
}

TEST(ProcessMessage, RequeuesWhenAttemptsRunOutAndKeepsTheSources) {
  World w;
  FlakyItems items(100);
  auto f = qrl::testing::contract_quiz("p7");
  w.add(f);
  Pipeline pipeline(w.redis, w.questions, items);
  core::RetryPolicy policy;
  policy.max_attempts = 3;
  auto result = process_message(pipeline, core::make_event("e", "t", "p7"), policy, kNoSleep);
  EXPECT_EQ(result.action, core::Action::kRequeue);
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(w.redis.size(), f.keys.size());
}

TEST(ProcessMessage, TheEnvironmentIsNotRetriedInProcessAndPausesKeepingTheSources) {
  World w;
  FlakyItems items(100, core::FailureKind::kEnvironment);
  auto f = qrl::testing::contract_quiz("p9");
  w.add(f);
  Pipeline pipeline(w.redis, w.questions, items);
  auto result = process_message(pipeline, core::make_event("e", "t", "p9"), core::RetryPolicy{}, kNoSleep, 7);
  EXPECT_EQ(result.action, core::Action::kPause);
  EXPECT_EQ(items.attempts, 1);
  EXPECT_EQ(w.redis.size(), f.keys.size());
}

TEST(ProcessMessage, AnEmptyRetryQuotaStopsRetriesAndASuccessRefillsIt) {
  World w;
  FlakyItems items(100);
  w.add(qrl::testing::contract_quiz("p10"));
  Pipeline pipeline(w.redis, w.questions, items);
  core::RetryQuota quota(2 * core::RetryQuota::kRetryCost);
  auto result =
      process_message(pipeline, core::make_event("e", "t", "p10"), core::RetryPolicy{}, kNoSleep, 1, &quota);
  EXPECT_EQ(result.action, core::Action::kRequeue);
  EXPECT_EQ(items.attempts, 3);  // the first try and the two retries the quota paid for
  EXPECT_EQ(quota.tokens(), 0);
  FlakyItems good(0);
  w.add(qrl::testing::contract_quiz("p11"));
  Pipeline ok(w.redis, w.questions, good);
  EXPECT_EQ(
      process_message(ok, core::make_event("e", "t", "p11"), core::RetryPolicy{}, kNoSleep, 1, &quota).action,
      core::Action::kAck);
  EXPECT_EQ(quota.tokens(), core::RetryQuota::kSuccessRefund);
}

TEST(ProcessMessage, TransientFailuresOfTheLastAllowedDeliveryAreDeadLettered) {
  World w;
  FlakyItems items(100);
  w.add(qrl::testing::contract_quiz("p12"));
  Pipeline pipeline(w.redis, w.questions, items);
  core::RetryPolicy policy;
  policy.max_attempts = 1;
  policy.max_deliveries = 4;
  EXPECT_EQ(process_message(pipeline, core::make_event("e", "t", "p12"), policy, kNoSleep, 3).action,
            core::Action::kRequeue);
  EXPECT_EQ(process_message(pipeline, core::make_event("e", "t", "p12"), policy, kNoSleep, 4).action,
            core::Action::kReject);
}

TEST(ProcessMessage, AStopDuringBackoffEndsTheRetries) {
  World w;
  FlakyItems items(100);
  w.add(qrl::testing::contract_quiz("p8"));
  Pipeline pipeline(w.redis, w.questions, items);
  auto result = process_message(pipeline, core::make_event("e", "t", "p8"), core::RetryPolicy{},
                                [](std::chrono::milliseconds) { return false; });
  EXPECT_EQ(result.action, core::Action::kRequeue);
  EXPECT_EQ(result.attempts, 1);
}

TEST(ProcessMessage, PoisonIsRejectedWithoutTouchingAnything) {
  World w;
  MemoryItems items;
  Pipeline pipeline(w.redis, w.questions, items);
  for (const std::string body :
       {std::string("not an event"), core::make_event("e", "t", "*"), core::make_event("e", "t", "../x")}) {
    auto result = process_message(pipeline, body, core::RetryPolicy{}, kNoSleep);
    EXPECT_EQ(result.action, core::Action::kReject) << body;
    ASSERT_TRUE(result.failure);
  }
  EXPECT_EQ(items.puts, 0);
}

}  // namespace
}  // namespace qrl::pipeline

namespace qrl::pipeline {
namespace {

// Stage times come off the injected clock: the item's write, which takes 50 ms of simulated
// time, is recorded as exactly 50 ms of write, and nothing else as time.
TEST(Pipeline, StageTimesAreReadOffTheInjectedClock) {
  core::ManualClock clock;
  class SlowItems final : public ItemStore {
   public:
    explicit SlowItems(core::ManualClock& clock) : clock_(clock) {}
    Stored put_quiz(const std::string& id, const std::string& item, const Identity& identity,
                    std::size_t) override {
      clock_.advance(std::chrono::milliseconds(50));
      return inner.put_quiz(id, item, identity);
    }
    void put_part(const std::string& id, const std::string& item, std::size_t) override {
      clock_.advance(std::chrono::milliseconds(50));
      inner.put_part(id, item);
    }
    std::optional<std::string> start_time(const std::string& id) override { return inner.start_time(id); }
    MemoryItems inner;

   private:
    core::ManualClock& clock_;
  } items(clock);
  class Recording final : public metrics::Recorder {
   public:
    void stage(core::Stage stage, std::chrono::nanoseconds spent) override { times[stage] += spent; }
    std::map<core::Stage, std::chrono::nanoseconds> times;
  } recorder;
  MemoryRedis redis;
  MemoryQuestions questions;
  auto f = qrl::testing::contract_quiz("c10c1234");
  redis.apply(f.redis);
  questions.files[f.quiz_id] = f.question_file;
  Pipeline pipeline(redis, questions, items, recorder, clock);
  EXPECT_EQ(pipeline.load(core::QuizId(f.quiz_id)), Outcome::kLoaded);
  EXPECT_EQ(recorder.times[core::Stage::kWrite], std::chrono::milliseconds(50));
  EXPECT_EQ(recorder.times[core::Stage::kRead], std::chrono::nanoseconds(0));
  EXPECT_EQ(recorder.times[core::Stage::kBuild], std::chrono::nanoseconds(0));
  EXPECT_EQ(recorder.times[core::Stage::kDelete], std::chrono::nanoseconds(0));
}

}  // namespace
}  // namespace qrl::pipeline
