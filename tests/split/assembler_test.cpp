#include "split/assembler.h"

#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/dynamo_size.h"
#include "core/error.h"
#include "core/ids.h"
#include "core/sample.h"
#include "core/transform.h"
#include "pipeline/pipeline.h"
#include "split/reassemble.h"
#include "support/expected_item.h"
#include "support/fixtures.h"

namespace qrl::split {
namespace {

using ::testing::HasSubstr;

core::Quiz built(const core::SampleQuiz& sample) {
  testing::MemoryRedis redis;
  redis.apply(sample.redis_commands);
  auto live = redis.read(sample.id);
  return core::build_quiz(core::QuizId(sample.id), live.header, live.participant_values, sample.question_file);
}

struct Stored {
  std::map<std::string, nlohmann::json> items;
  std::vector<std::string> order;
  Fetch fetch() {
    return [this](const std::string& id) -> std::optional<nlohmann::json> {
      auto it = items.find(id);
      if (it == items.end()) return std::nullopt;
      return it->second;
    };
  }
};

// Feeds `quiz`'s answers, as the pipeline does, into an Assembler with `limit`, and checks every
// stored item: valid JSON, its size as counted, within the limit, named and numbered in order.
StoredItem assemble(const core::Quiz& quiz, std::size_t limit, Stored& stored) {
  core::Quiz shell = quiz;
  for (auto& q : shell.questions) q.answers.clear();
  Assembler assembler(
      shell,
      [&](StoredItem part) {
        auto json = nlohmann::json::parse(part.json);
        EXPECT_EQ(core::dynamo::item_size(json), part.size) << part.id;
        EXPECT_LE(part.size, limit) << part.id;
        EXPECT_EQ(part.id, part_id(quiz.id, stored.order.size() + 1));
        EXPECT_EQ(json["PartOf"]["S"], quiz.id);
        stored.order.push_back(part.id);
        stored.items[part.id] = std::move(json);
      },
      limit);
  for (std::size_t q = 0; q < quiz.questions.size(); ++q) {
    for (const auto& answer : quiz.questions[q].answers) assembler.add(q, answer);
  }
  auto head = assembler.finish();
  EXPECT_EQ(assembler.parts(), stored.order.size());
  auto json = nlohmann::json::parse(head.json);
  EXPECT_EQ(core::dynamo::item_size(json), head.size);
  EXPECT_LE(head.size, limit);
  stored.items[head.id] = json;
  return head;
}

TEST(Split, AQuizThatFitsIsTheSingleItemByteForByte) {
  for (auto [p, q] : {std::pair{20, 10}, {0, 0}, {3, 0}, {0, 4}, {296, 20}}) {
    auto quiz = built(core::make_sample_quiz(1, static_cast<std::uint64_t>(p * 100 + q), {p, q}));
    Stored stored;
    auto head = assemble(quiz, core::kMaxItemBytes, stored);
    EXPECT_TRUE(stored.order.empty()) << p << "x" << q;
    EXPECT_EQ(head.json, core::encode_item(quiz)) << p << "x" << q;
    EXPECT_EQ(head.size, core::item_size(quiz));
  }
}

// Many shapes, cut at many limits: every piece lands in exactly one item, in order, and the
// items reassemble to the single item of the contract.
TEST(Split, EverySplitReassemblesToTheSingleItem) {
  int splits = 0;
  for (auto [p, q] : {std::pair{1, 1}, {40, 0}, {0, 30}, {5, 3}, {30, 7}, {200, 4}, {7, 60}}) {
    for (std::size_t limit : {1200u, 2048u, 5000u, 30000u}) {
      auto quiz = built(core::make_sample_quiz(limit, static_cast<std::uint64_t>(p * 100 + q), {p, q}));
      Stored stored;
      auto head = assemble(quiz, limit, stored);
      const auto whole = nlohmann::json::parse(core::encode_item(quiz));
      if (core::item_size(quiz) <= limit) {
        EXPECT_TRUE(stored.order.empty());
        continue;
      }
      ++splits;
      ASSERT_FALSE(stored.order.empty()) << p << "x" << q << " at " << limit;
      auto head_json = stored.items[quiz.id];
      EXPECT_TRUE(is_head(head_json));
      EXPECT_EQ(part_ids(head_json), stored.order);
      const auto summary = summarize(head_json);
      EXPECT_EQ(summary.items, stored.order.size() + 1);
      EXPECT_EQ(summary.participants, quiz.participants.size());
      EXPECT_EQ(summary.questions, quiz.questions.size());
      for (const auto& id : stored.order) EXPECT_TRUE(is_continuation(stored.items[id]));
      EXPECT_EQ(reassemble(head_json, stored.fetch()), whole) << p << "x" << q << " at " << limit;
    }
  }
  EXPECT_GT(splits, 12);
}

TEST(Split, APieceTooBigForAnyItemIsAPermanentErrorNamingIt) {
  auto quiz = built(core::make_sample_quiz(3, 1, {3, 2}));
  quiz.participants[1].name.assign(core::kMaxItemBytes, 'n');
  Stored stored;
  try {
    assemble(quiz, core::kMaxItemBytes, stored);
    FAIL() << "a 400 KB name was stored";
  } catch (const core::Error& e) {
    EXPECT_FALSE(e.transient());
    EXPECT_THAT(e.what(), HasSubstr("participant '" + quiz.participants[1].user_id + "'"));
    EXPECT_THAT(e.what(), HasSubstr("too big for any DynamoDB item"));
  }
}

TEST(Split, ReassemblyNamesAMissingOrForeignItem) {
  auto quiz = built(core::make_sample_quiz(4, 1, {60, 5}));
  Stored stored;
  assemble(quiz, 2000, stored);
  ASSERT_GE(stored.order.size(), 3u);
  auto head = stored.items[quiz.id];
  auto missing = stored;
  missing.items.erase(stored.order[1]);
  EXPECT_THROW(
      {
        try {
          reassemble(head, missing.fetch());
        } catch (const std::runtime_error& e) {
          EXPECT_THAT(e.what(), HasSubstr("'" + stored.order[1] + "' is missing"));
          throw;
        }
      },
      std::runtime_error);
  auto swapped = stored;
  std::swap(swapped.items[stored.order[0]], swapped.items[stored.order[2]]);
  EXPECT_THROW(reassemble(head, swapped.fetch()), std::runtime_error);
}

// The pipeline streams a quiz from the live store into items: the boundary quiz (296 x 20) is
// one item; 300 x 20 and 2000 x 50 are split, the head written last, and what the items hold
// is the item computed independently from the sources.
TEST(Split, ThePipelineStoresEachSizeWholeAndTheHeadLast) {
  for (auto [p, q, split] : {std::tuple{296, 20, false}, {300, 20, true}, {2000, 50, true}}) {
    auto sample = core::make_sample_quiz(11, static_cast<std::uint64_t>(p), {p, q});
    testing::MemoryRedis redis;
    testing::MemoryQuestions questions;
    testing::MemoryItems items;
    redis.apply(sample.redis_commands);
    questions.files[sample.id] = sample.question_file;
    pipeline::Pipeline pipeline(redis, questions, items);
    ASSERT_EQ(pipeline.load(core::QuizId(sample.id)), pipeline::Outcome::kLoaded);
    EXPECT_EQ(redis.size(), 0u);
    // The head after every continuation item; a split quiz's placement read once, before the
    // first of them, a single item's never.
    ASSERT_GE(items.order.size(), 1u);
    EXPECT_EQ(items.order.back(), sample.id);
    EXPECT_EQ(items.order.size() > 1, split) << p << "x" << q;
    EXPECT_EQ(items.probed, split ? std::vector<std::string>{sample.id} : std::vector<std::string>{});
    Stored stored;
    for (const auto& [id, json] : items.items) {
      stored.items[id] = nlohmann::json::parse(json);
      EXPECT_LE(core::dynamo::item_size(stored.items[id]), core::kMaxItemBytes) << id;
    }
    EXPECT_EQ(reassemble(stored.items[sample.id], stored.fetch()), testing::expected_item(sample))
        << p << "x" << q;
  }
}

// A split quiz reads its placement before its first continuation item: stored already (the
// sources announced again), nothing is written; an older quiz under its id, every item of this
// one goes beside it, and the older one is untouched.
TEST(Split, ASplitQuizIsPlacedBeforeItsFirstContinuationItem) {
  auto sample = core::make_sample_quiz(12, 1, {300, 20});
  testing::MemoryRedis redis;
  testing::MemoryQuestions questions;
  testing::MemoryItems items;
  const std::string older = R"({"id":{"S":")" + sample.id + R"("},"StartTime":{"S":"2001-01-01T00:00:00Z"}})";
  items.items[sample.id] = older;
  auto add = [&] {
    redis.apply(sample.redis_commands);
    questions.files[sample.id] = sample.question_file;
  };
  add();
  pipeline::Pipeline pipeline(redis, questions, items);
  ASSERT_EQ(pipeline.load(core::QuizId(sample.id)), pipeline::Outcome::kLoaded);
  EXPECT_EQ(items.items.at(sample.id), older);
  std::string beside;
  for (const auto& [id, json] : items.items) {
    if (id.find('@') != std::string::npos && id.find('#') == std::string::npos) beside = id;
  }
  ASSERT_FALSE(beside.empty());
  Stored stored;
  for (const auto& [id, json] : items.items) {
    if (id != sample.id) stored.items[id] = nlohmann::json::parse(json);
    if (id != sample.id) EXPECT_EQ(id.rfind(beside, 0), 0u) << id;  // every part beside it too
  }
  auto expected = testing::expected_item(sample);
  expected["id"]["S"] = beside;
  EXPECT_EQ(reassemble(stored.items[beside], stored.fetch()), expected);
  EXPECT_EQ(redis.size(), 0u);

  // Announced again with its sources: found stored before any continuation item is written.
  add();
  const int puts = items.puts;
  items.probed.clear();
  EXPECT_EQ(pipeline.load(core::QuizId(sample.id)), pipeline::Outcome::kAlreadyLoaded);
  EXPECT_EQ(items.puts, puts);
  EXPECT_EQ(items.probed, (std::vector<std::string>{sample.id, beside}));
  EXPECT_EQ(redis.size(), 0u);
}

TEST(Split, AnItemStoredAsAnotherIdChangesItsIdAndSize) {
  StoredItem item{"q1", R"({"id":{"S":"q1"},"Name":{"S":"n"}})", 9};
  auto moved = stored_as(item, "q1@1700000000");
  EXPECT_EQ(moved.id, "q1@1700000000");
  EXPECT_EQ(moved.json, R"({"id":{"S":"q1@1700000000"},"Name":{"S":"n"}})");
  EXPECT_EQ(moved.size, 9u + 11u);
  EXPECT_THROW(stored_as({"q2", R"({"Name":{"S":"n"}})", 5}, "x"), std::logic_error);
}

}  // namespace
}  // namespace qrl::split
