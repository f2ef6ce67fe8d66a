#include "lambda/batch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

namespace qrl::lambda {
namespace {

std::string event(const std::vector<std::tuple<std::string, std::string, std::string>>& records, bool fifo) {
  nlohmann::json out = {{"Records", nlohmann::json::array()}};
  for (const auto& [id, body, group] : records) {
    out["Records"].push_back(
        {{"messageId", id},
         {"body", body},
         {"attributes", {{"MessageGroupId", group}}},
         {"eventSource", "aws:sqs"},
         {"eventSourceARN", fifo ? "arn:aws:sqs:us-east-1:1:q.fifo" : "arn:aws:sqs:us-east-1:1:q"}});
  }
  return out.dump();
}

std::set<std::string> failures(const std::string& response) {
  std::set<std::string> out;
  auto json = nlohmann::json::parse(response);
  for (const auto& f : json.at("batchItemFailures")) out.insert(f.at("itemIdentifier").get<std::string>());
  return out;
}

TEST(Batch, ParsesRecordsAndFifo) {
  auto batch = parse_batch(event({{"m1", "b1", "g1"}, {"m2", "b2", "g2"}}, true));
  ASSERT_EQ(batch.records.size(), 2u);
  EXPECT_TRUE(batch.fifo);
  EXPECT_EQ(batch.records[1].message_id, "m2");
  EXPECT_EQ(batch.records[1].body, "b2");
  EXPECT_EQ(batch.records[1].group_id, "g2");
  EXPECT_FALSE(parse_batch(event({{"m1", "b1", "g1"}}, false)).fifo);
}

TEST(Batch, AnythingButAnSqsBatchIsNotABatch) {
  for (const char* bad : {"", "[]", "{}", R"({"Records":{}})", R"({"Records":[{"body":"x"}]})"}) {
    EXPECT_THROW(parse_batch(bad), NotABatch) << bad;
  }
  EXPECT_EQ(parse_batch(R"({"Records":[]})").records.size(), 0u);
}

TEST(Batch, FifoGroupsRunInOrderAndStopAtTheFirstFailure) {
  auto batch = parse_batch(event({{"a1", "ok", "A"},
                                  {"b1", "fail", "B"},
                                  {"a2", "ok", "A"},
                                  {"b2", "ok", "B"},
                                  {"c1", "ok", "C"},
                                  {"b3", "ok", "B"}},
                                 true));
  std::mutex mutex;
  std::vector<std::string> processed;
  auto results = run_batch(
      batch, 3,
      [&](const Record& r, int) {
        std::lock_guard lock(mutex);
        processed.push_back(r.message_id);
        return r.body == "ok";
      },
      [] { return true; });
  EXPECT_EQ(failures(batch_response(batch, results)), (std::set<std::string>{"b1", "b2", "b3"}));
  EXPECT_THAT(processed, ::testing::UnorderedElementsAre("a1", "a2", "b1", "c1"));
  // Order within group A.
  EXPECT_LT(std::find(processed.begin(), processed.end(), "a1"),
            std::find(processed.begin(), processed.end(), "a2"));
}

TEST(Batch, AStandardQueueHasNoGroups) {
  auto batch = parse_batch(event({{"b1", "fail", "B"}, {"b2", "ok", "B"}}, false));
  auto results = run_batch(
      batch, 2, [](const Record& r, int) { return r.body == "ok"; }, [] { return true; });
  EXPECT_EQ(failures(batch_response(batch, results)), (std::set<std::string>{"b1"}));
}

TEST(Batch, RecordsThatMayNotStartAreFailedUnprocessed) {
  auto batch = parse_batch(event({{"m1", "ok", "A"}, {"m2", "ok", "B"}}, true));
  int calls = 0;
  auto results = run_batch(
      batch, 1, [&](const Record&, int) { return ++calls > 0; }, [] { return false; });
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(failures(batch_response(batch, results)), (std::set<std::string>{"m1", "m2"}));
}

TEST(Batch, AllSucceededIsAnEmptyList) {
  auto batch = parse_batch(event({{"m1", "ok", "A"}}, true));
  auto results = run_batch(
      batch, 4, [](const Record&, int) { return true; }, [] { return true; });
  EXPECT_EQ(batch_response(batch, results), R"({"batchItemFailures":[]})");
}

}  // namespace
}  // namespace qrl::lambda
