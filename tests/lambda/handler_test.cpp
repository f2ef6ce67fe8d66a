// Lambda's handler of one invocation over in-memory stores: the partial batch response, the
// figures, and the deadline, on simulated time, with no Runtime API and no server.

#include "lambda/handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "core/event.h"
#include "core/transform.h"
#include "lambda/batch.h"
#include "support/fixtures.h"

namespace qrl::lambda {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::string sqs_event(const std::vector<std::pair<std::string, std::string>>& records) {
  nlohmann::json out = {{"Records", nlohmann::json::array()}};
  for (const auto& [id, body] : records) {
    out["Records"].push_back({{"messageId", id}, {"body", body}, {"eventSourceARN", "arn:aws:sqs:eu-west-1:1:q"}});
  }
  return out.dump();
}

std::set<std::string> failures(const std::string& response) {
  std::set<std::string> out;
  const auto json = nlohmann::json::parse(response);
  for (const auto& f : json.at("batchItemFailures")) out.insert(f.at("itemIdentifier").get<std::string>());
  return out;
}

class HandlerTest : public ::testing::Test {
 protected:
  HandlerTest() : pipeline(redis, questions, items) {}
  Handler handler() {
    return Handler({{&pipeline, [this](core::Clock::time_point d) { deadlines.push_back(d); }}}, core::RetryPolicy{},
                   1000ms, relay, "loader-fn", clock);
  }
  void add(const testing::Fixture& f) {
    redis.apply(f.redis);
    questions.files[f.quiz_id] = f.question_file;
  }

  core::ManualClock clock;
  testing::MemoryRedis redis;
  testing::MemoryQuestions questions;
  testing::MemoryItems items;
  pipeline::Pipeline pipeline;
  metrics::Relay relay;
  std::vector<core::Clock::time_point> deadlines;
};

TEST_F(HandlerTest, TheResponseNamesExactlyTheRecordsThatFailedAndTheFiguresCountEachOnce) {
  auto good = testing::contract_quiz("a1b2c3d4");
  add(good);
  const auto deadline = clock.now() + 30s;
  auto answer = handler().handle(sqs_event({{"m1", core::make_event("e1", "t", good.quiz_id)},
                                            {"m2", "not an event"},
                                            {"m3", core::make_event("e3", "t", "../etc")},
                                            {"m4", core::make_event("e4", "t", "ffffffff")},
                                            {"m5", core::make_event("e5", "t", good.quiz_id)}}),
                                 "request-1", deadline);
  EXPECT_EQ(failures(answer.response), (std::set<std::string>{"m2", "m3", "m4"}));
  EXPECT_EQ(answer.records, 5u);
  EXPECT_EQ(answer.failed, 3u);
  EXPECT_EQ(nlohmann::json::parse(items.items.at(good.quiz_id)), good.expected_item);
  EXPECT_EQ(items.puts, 1);  // the item; the duplicate found it loaded
  EXPECT_EQ(deadlines, std::vector<core::Clock::time_point>{deadline});
  auto emf = nlohmann::json::parse(answer.emf);
  EXPECT_EQ(emf["function"], "loader-fn");
  EXPECT_EQ(emf["qrl_quizzes_total.loaded"], 1);
  EXPECT_EQ(emf["qrl_quizzes_total.already_loaded"], 1);
  EXPECT_EQ(emf["qrl_quizzes_total.requeued"], 3);  // SQS has them again; its redrive dead-letters
}

TEST_F(HandlerTest, RecordsWithTooLittleTimeLeftFailUntouched) {
  auto good = testing::contract_quiz("0a0b0c0d");
  add(good);
  auto answer = handler().handle(sqs_event({{"m1", core::make_event("e1", "t", good.quiz_id)}}), "r",
                                 clock.now() + 999ms);  // under the 1 s margin
  EXPECT_EQ(failures(answer.response), (std::set<std::string>{"m1"}));
  EXPECT_TRUE(items.items.empty());
  EXPECT_TRUE(redis.contains(good.quiz_id + ":quizName"));
}

// The settle window: a record younger than it waits in process when the deadline allows, and
// fails untouched (SQS delivers it again) when it does not.
TEST_F(HandlerTest, ARecordYoungerThanTheSettleWindowWaitsForItWithinTheDeadline) {
  auto f = testing::contract_quiz("s1e2t3l4");
  add(f);
  const auto wall = std::chrono::duration_cast<std::chrono::seconds>(clock.wall().time_since_epoch()).count();
  const auto fresh = core::make_event("e1", core::rfc3339_utc(wall - 2), f.quiz_id);  // 2 s old
  auto h = handler();
  h.set_settle(5000ms);
  // 30 s left: it waits the 3 s the window still needs, then loads.
  const auto before = clock.now();
  auto answer = h.handle(sqs_event({{"m1", fresh}}), "r1", clock.now() + 30s);
  EXPECT_TRUE(failures(answer.response).empty());
  EXPECT_GE(clock.now() - before, 3s);
  EXPECT_EQ(nlohmann::json::parse(items.items.at(f.quiz_id)), f.expected_item);
  // 3.5 s left with a 1 s margin: no time to wait 3 s, so it fails and nothing is read.
  auto g = testing::contract_quiz("s5e6t7l8");
  add(g);
  const auto wall2 = std::chrono::duration_cast<std::chrono::seconds>(clock.wall().time_since_epoch()).count();
  answer = h.handle(sqs_event({{"m2", core::make_event("e2", core::rfc3339_utc(wall2 - 2), g.quiz_id)}}), "r2",
                    clock.now() + 3500ms);
  EXPECT_EQ(failures(answer.response), (std::set<std::string>{"m2"}));
  EXPECT_FALSE(items.items.count(g.quiz_id));
  EXPECT_EQ(redis.size(), g.keys.size());
  // An old record (the queue's delivery delay did the waiting) goes at once.
  const auto now = clock.now();
  answer = h.handle(sqs_event({{"m3", core::make_event("e3", core::rfc3339_utc(wall2 - 60), g.quiz_id)}}), "r3",
                    clock.now() + 30s);
  EXPECT_TRUE(failures(answer.response).empty());
  EXPECT_LT(clock.now() - now, 1s);
}

TEST_F(HandlerTest, AnInvocationThatIsNotABatchIsRefusedAsSuch) {
  try {
    handler().handle("{\"hello\":1}", "r", clock.now() + 30s);
    FAIL();
  } catch (const NotABatch& e) {
    EXPECT_EQ(e.code(), core::Code::kNotABatch);
    EXPECT_THAT(e.what(), HasSubstr("Records"));
  }
}

}  // namespace
}  // namespace qrl::lambda
