// Quizzes of any size (docs/design.md, "Big quizzes"): the boundary quiz that still fits stays one
// item; bigger ones are split, reassembled by `show` into exactly the item computed
// independently from the sources, listed as one quiz; crashes between two writes and in the
// middle of a chunked delete converge; duplicates on two daemons end as one quiz. And the size
// rule itself, against dynalite's own count at the 400 KB limit.

#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "core/dynamo_size.h"
#include "core/ids.h"
#include "core/event.h"
#include "core/item.h"
#include "split/reassemble.h"
#include "support/expected_item.h"
#include "support/stack_test.h"

namespace qrl::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class Big : public StackTest {
 protected:
  core::SampleQuiz seed(int participants, int questions) {
    auto sample = core::make_sample_quiz(std::random_device{}(), 1, {participants, questions});
    stack.write_sample(sample);
    return sample;
  }

  static std::vector<std::string> keys_of(const core::SampleQuiz& sample) {
    std::set<std::string> keys;
    for (const auto& c : sample.redis_commands) keys.insert(c[1]);
    return {keys.begin(), keys.end()};
  }

  // Every item of the table that belongs to the quiz: its head or single item, and its parts.
  std::vector<nlohmann::json> items_of(const std::string& quiz_id) {
    std::vector<nlohmann::json> out;
    for (auto& item : stack.dynamo().scan(100000, /*quizzes_only=*/false)) {
      const auto id = item["id"]["S"].get<std::string>();
      if (id == quiz_id || id.rfind(quiz_id + "#", 0) == 0) out.push_back(std::move(item));
    }
    return out;
  }

  // Loaded whole: `show` prints the independently computed item, every item of the quiz is
  // within 400 KB and named by the head (no stray part), and no source is left.
  void expect_loaded_whole(const core::SampleQuiz& sample, bool split) {
    auto shown = run({"show", sample.id, "--output", "dynamodb"}, stack.env());
    ASSERT_EQ(shown.code, 0) << shown.err;
    EXPECT_TRUE(nlohmann::json::parse(shown.out) == expected_item(sample)) << sample.id;
    auto head = stack.item(sample.id);
    ASSERT_TRUE(head);
    EXPECT_EQ(split::is_head(*head), split);
    auto items = items_of(sample.id);
    EXPECT_EQ(items.size(), split::summarize(*head).items);
    for (const auto& item : items) EXPECT_LE(core::dynamo::item_size(item), core::kMaxItemBytes);
    if (!split) EXPECT_TRUE(*head == expected_item(sample)) << "a quiz that fits is stored as before";
    EXPECT_EQ(stack.redis_count(keys_of(sample)), 0u);
    EXPECT_FALSE(stack.file_exists(sample.id));
  }
};

TEST_F(Big, EachSizeLoadsWholeAndShowAndListSeeOneQuiz) {
  auto fits = seed(296, 20);
  auto just_over = seed(300, 20);
  auto big = seed(2000, 50);
  for (const auto* s : {&fits, &just_over, &big}) stack.publish_event(s->id);
  auto daemon = start();
  ASSERT_TRUE(eventually([&] { return loaded(fits.id) && loaded(just_over.id) && loaded(big.id); }, 120s))
      << daemon->stderr_text();
  ASSERT_TRUE(eventually([&] { return stack.queue_depth() == 0 && !stack.file_exists(big.id); }));
  auto log = stop(*daemon);
  EXPECT_THAT(log, Not(HasSubstr("rejected")));
  expect_loaded_whole(fits, false);
  expect_loaded_whole(just_over, true);
  expect_loaded_whole(big, true);
  EXPECT_EQ(stack.dlq_depth(), 0u);

  auto listed = run({"list", "--limit", "1000", "--output", "tsv"}, stack.env());
  ASSERT_EQ(listed.code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr(fits.id + "\tSample quiz 1\t296 participants\t20 questions\t1 item\n"));
  EXPECT_THAT(listed.out,
              HasSubstr(just_over.id + "\tSample quiz 1\t300 participants\t20 questions\t3 items\n"));
  const auto big_items = split::summarize(*stack.item(big.id)).items;
  EXPECT_GT(big_items, 10u);
  EXPECT_THAT(listed.out, HasSubstr(big.id + "\tSample quiz 1\t2000 participants\t50 questions\t" +
                                    std::to_string(big_items) + " items\n"));
  EXPECT_THAT(listed.out, Not(HasSubstr("#")));  // continuation items are not quizzes
  EXPECT_EQ(count(listed.out, "\n"), 3u);
}

TEST_F(Big, ACrashBetweenTwoPartWritesConverges) {
  auto sample = seed(300, 20);
  auto env = stack.env();
  env["QRL_FAILPOINT"] = "between-parts";
  auto crashed = run({"load", sample.id}, env);
  EXPECT_EQ(crashed.code, 128 + SIGKILL) << crashed.err;
  EXPECT_FALSE(stack.item(sample.id)) << "the head goes last";
  EXPECT_TRUE(stack.item(sample.id + "#1")) << "the first part was written";
  EXPECT_FALSE(stack.item(sample.id + "#2"));
  EXPECT_EQ(stack.redis_count(keys_of(sample)), keys_of(sample).size());
  EXPECT_TRUE(stack.file_exists(sample.id));

  auto again = run({"load", sample.id}, stack.env());
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr(sample.id + "\tloaded"));
  expect_loaded_whole(sample, true);
}

TEST_F(Big, ACrashInTheMiddleOfTheChunkedDeleteOfASplitQuizConverges) {
  auto sample = seed(300, 20);
  auto env = stack.env();
  env["REDIS_MAX_KEYS_PER_COMMAND"] = "100";  // 6,608 keys: five round trips of UNLINKs
  auto crash_env = env;
  crash_env["QRL_FAILPOINT"] = "mid-delete";
  auto crashed = run({"load", sample.id}, crash_env);
  EXPECT_EQ(crashed.code, 128 + SIGKILL) << crashed.err;
  EXPECT_TRUE(stack.item(sample.id));
  const auto left = stack.redis_count(keys_of(sample));
  EXPECT_GT(left, 0u);
  EXPECT_LT(left, keys_of(sample).size());
  EXPECT_TRUE(stack.redis_has(sample.id + ":leaderboard")) << "the keys naming the rest go last";

  auto again = run({"load", sample.id}, env);
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr(sample.id + "\talready loaded"));
  expect_loaded_whole(sample, true);
}

TEST_F(Big, TheSameSplitQuizAnnouncedThreeTimesToTwoDaemonsEndsAsOneQuiz) {
  auto a = seed(700, 30);
  auto b = seed(400, 25);
  const auto messages = publish_copies({a.id, b.id}, 3, 7);
  auto one = start();
  auto two = start();
  ASSERT_TRUE(eventually(
      [&] {
        return finished({one.get(), two.get()}) == messages;
      },
      120s))
      << finished({one.get(), two.get()});
  auto log = stop(*one) + stop(*two);
  EXPECT_THAT(log, Not(HasSubstr("rejected")));
  expect_loaded_whole(a, true);
  expect_loaded_whole(b, true);
  EXPECT_EQ(stack.queue_depth(), 0u);
  EXPECT_EQ(stack.dlq_depth(), 0u);
}

// dynalite computes an item's size with its own code: an item of random shape that our count
// puts at exactly 400 KB is accepted, one byte more is refused. ASCII only: dynalite counts
// UTF-16 units where DynamoDB counts UTF-8 bytes (our rule; see core/dynamo_size.h).
TEST_F(Big, RandomShapesAgreeWithDynalitesSizeAtTheLimit) {
  stack.dynamo().ensure_table();
  std::mt19937_64 rng(std::random_device{}());
  auto text = [&](std::size_t max) {
    std::string s(rng() % (max + 1), ' ');
    for (auto& c : s) c = static_cast<char>(' ' + rng() % 95);
    return s;
  };
  auto number = [&]() -> std::string {
    switch (rng() % 4) {
      case 0: return std::to_string(static_cast<std::int64_t>(rng()) >> (rng() % 64));
      case 1: return std::to_string(rng() % 1000) + "." + std::to_string(rng() % 100000);
      case 2: return "-0.00" + std::to_string(1 + rng() % 999);
      default: return std::to_string(1 + rng() % 9) + "E" + std::to_string(rng() % 30);
    }
  };
  std::function<nlohmann::json(int)> value = [&](int depth) -> nlohmann::json {
    switch (rng() % (depth > 3 ? 4 : 6)) {
      case 0: return {{"S", text(40)}};
      case 1: return {{"N", number()}};
      case 2: return {{"BOOL", rng() % 2 == 0}};
      case 3: return {{"NULL", true}};
      case 4: {
        auto list = nlohmann::json::array();
        for (int i = static_cast<int>(rng() % 8); i > 0; --i) list.push_back(value(depth + 1));
        return {{"L", list}};
      }
      default: {
        auto map = nlohmann::json::object();
        for (int i = static_cast<int>(rng() % 8); i > 0; --i) map["k" + text(10)] = value(depth + 1);
        return {{"M", map}};
      }
    }
  };
  for (int shape = 0; shape < 30; ++shape) {
    SCOPED_TRACE(shape);
    nlohmann::json item = {{"id", {{"S", "shape-" + std::to_string(shape)}}}};
    for (int i = static_cast<int>(1 + rng() % 30); i > 0; --i) item["a" + text(12)] = value(0);
    item["pad"] = {{"S", ""}};
    const auto base = core::dynamo::item_size(item);
    ASSERT_LT(base, core::kMaxItemBytes);
    item["pad"]["S"] = std::string(core::kMaxItemBytes - base, 'p');
    ASSERT_EQ(core::dynamo::item_size(item), core::kMaxItemBytes);
    EXPECT_NO_THROW(stack.dynamo().put_part("", item.dump(), 0));
    item["pad"]["S"] = item["pad"]["S"].get<std::string>() + "p";
    try {
      stack.dynamo().put_part("", item.dump(), 0);
      ADD_FAILURE() << "one byte over 400 KB was accepted: " << item.dump().substr(0, 300);
    } catch (const core::Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("Item size has exceeded the maximum allowed size"));
    }
  }
}

}  // namespace
}  // namespace qrl::testing
