// The Redis adapter against a real server: round trips per quiz, commands of at most
// max_keys_per_command keys or members, no scans, and wrong types classified.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/keys.h"
#include "core/sample.h"
#include "redis/quiz_store.h"
#include "support/harness.h"

namespace qrl::testing {
namespace {

std::size_t command_calls(redis::Connection& connection, const std::string& command) {
  auto reply = connection.command({"INFO", "commandstats"});
  std::string info(reply->str, reply->len);
  auto pos = info.find("cmdstat_" + command + ":calls=");
  if (pos == std::string::npos) return 0;
  return std::stoul(info.substr(pos + command.size() + 15));
}

TEST(RedisStore, AQuizCostsTwoRoundTripsToReadAndOneToDeleteWhateverItsSize) {
  Stack stack;
  redis::QuizStore store(stack.config().redis, 5000ms);
  for (auto shape : {core::SampleShape{1, 1}, core::SampleShape{20, 10}, core::SampleShape{200, 40}}) {
    auto quiz = core::make_sample_quiz(static_cast<std::uint64_t>(::getpid()),
                                       static_cast<std::uint64_t>(shape.participants), shape);
    stack.write_sample(quiz);
    auto before = store.round_trips();
    auto live = pipeline::read_whole(store, core::QuizId(quiz.id));
    EXPECT_EQ(store.round_trips() - before, 2u) << shape.participants << "x" << shape.questions;
    EXPECT_EQ(live.header.leaderboard.size(), static_cast<std::size_t>(shape.participants));
    EXPECT_EQ(live.participant_values.size(),
              static_cast<std::size_t>(shape.participants * (2 + shape.questions)));

    before = store.round_trips();
    store.remove(core::keys::source_keys(quiz.id, live.header));
    EXPECT_EQ(store.round_trips() - before, 1u);
    EXPECT_EQ(stack.redis().command({"EXISTS", quiz.id + ":quizName"})->integer, 0);
  }
}

TEST(RedisStore, NoCommandTouchesMoreKeysOrMembersThanTheSetting) {
  Stack stack;
  auto settings = stack.config().redis;
  settings.max_keys_per_command = 100;
  redis::QuizStore store(settings, 10000ms);
  // 250 participants x 2 questions: 1,000 participant keys.
  auto quiz = core::make_sample_quiz(static_cast<std::uint64_t>(::getpid()) + 11, 3, {250, 2});
  stack.write_sample(quiz);
  auto calls = [&] {
    std::map<std::string, std::size_t> out;
    for (const char* c : {"zrange", "lrange", "mget", "unlink", "del"})
      out[c] = command_calls(stack.redis(), c);
    return out;
  };
  auto before = calls();
  auto live = pipeline::read_whole(store, core::QuizId(quiz.id));
  EXPECT_EQ(live.header.leaderboard.size(), 250u);
  EXPECT_EQ(live.participant_values.size(), 1000u);
  auto keys = core::keys::source_keys(quiz.id, live.header);
  store.remove(keys);
  auto after = calls();
  EXPECT_EQ(after["zrange"] - before["zrange"], 3u);  // ranks 0-99, 100-199, 200-249
  EXPECT_EQ(after["mget"] - before["mget"], 10u);
  EXPECT_EQ(after["unlink"] - before["unlink"], (keys.size() + 99) / 100);
  EXPECT_EQ(after["del"] - before["del"], 0u);
  // Read: sizes and first ranges; then 2 ZRANGEs and the userIds' ranges; then 10 MGETs.
  // Deleted: the UNLINKs, 16 per round trip.
  EXPECT_EQ(store.round_trips(), 3u + (keys.size() + 1599) / 1600);
  EXPECT_EQ(stack.redis().command({"EXISTS", quiz.id + ":quizName"})->integer, 0);
}

TEST(RedisStore, DeletingAQuizNeverScansAndLeavesOtherKeysAlone) {
  Stack stack;
  auto other = contract_quiz(random_id());
  auto f = contract_quiz(random_id());
  stack.write(other);
  stack.write(f);
  redis::QuizStore store(stack.config().redis, 5000ms);
  auto scans = command_calls(stack.redis(), "scan") + command_calls(stack.redis(), "keys");
  auto live = pipeline::read_whole(store, core::QuizId(f.quiz_id));
  store.remove(core::keys::source_keys(f.quiz_id, live.header));
  EXPECT_EQ(command_calls(stack.redis(), "scan") + command_calls(stack.redis(), "keys"), scans);
  EXPECT_EQ(stack.redis_count(f.keys), 0u);
  EXPECT_EQ(stack.redis_count(other.keys), other.keys.size());
  stack.redis().command({"DEL", other.quiz_id + ":quizName"});
}

// The contract quiz with key `<quiz>:<field>` written as a list: the error its read gives.
core::Error wrong_type_error(const std::string& field) {
  Stack stack;
  auto f = contract_quiz(random_id());
  const auto key = f.quiz_id + ":" + field;
  for (auto& command : f.redis) {
    if (command[1] == key) command = {"RPUSH", key, command.back()};
  }
  stack.write(f);
  redis::QuizStore store(stack.config().redis, 5000ms);
  std::optional<core::Error> error;
  try {
    pipeline::read_whole(store, core::QuizId(f.quiz_id));
  } catch (const core::Error& e) {
    error = e;
  }
  stack.redis().pipeline({{"DEL", key}});
  EXPECT_TRUE(error) << "no error for " << key;
  if (!error) return core::transient_error(core::Stage::kUnknown, "none");
  EXPECT_EQ(error->key(), key);
  return *error;
}

TEST(RedisStore, AWrongTypeIsPermanentAndNamesTheKey) {
  auto error = wrong_type_error("questionDuration");
  EXPECT_EQ(error.kind(), core::FailureKind::kPermanent);
  EXPECT_EQ(error.problem(), core::DataProblem::kInvalid);
}

TEST(RedisStore, AWrongTypeAmongTheParticipantKeysIsNotMistakenForAMissingKey) {
  auto error = wrong_type_error("ee14ccb2:username");
  EXPECT_EQ(error.problem(), core::DataProblem::kInvalid);
  EXPECT_THAT(error.what(), ::testing::HasSubstr("wrong Redis type"));
}

TEST(RedisStore, AnUnreachableServerIsTransient) {
  redis::QuizStore store({"127.0.0.1", 1}, 1000ms);
  try {
    pipeline::read_whole(store, core::QuizId("q"));
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_TRUE(e.transient());
  }
}

}  // namespace
}  // namespace qrl::testing

namespace qrl::testing {
namespace {

TEST(RedisStore, ABigQuizIsReadInMgetsOfAThousandKeysSixteenPerRoundTrip) {
  Stack stack;
  redis::QuizStore store(stack.config().redis, 10000ms);
  auto quiz =
      core::make_sample_quiz(static_cast<std::uint64_t>(::getpid()) + 7, 1, {1000, 20});  // 22,000 keys
  stack.write_sample(quiz);
  const auto mgets_before = command_calls(stack.redis(), "mget");
  auto live = pipeline::read_whole(store, core::QuizId(quiz.id));
  EXPECT_EQ(store.round_trips(), 3u);  // the header, then 16 + 6 MGETs in two windows
  EXPECT_EQ(command_calls(stack.redis(), "mget") - mgets_before, 22u);
  ASSERT_EQ(live.participant_values.size(), 22000u);
  for (const auto& value : live.participant_values) EXPECT_TRUE(value.has_value());
  store.remove(core::keys::source_keys(quiz.id, live.header));
}

}  // namespace
}  // namespace qrl::testing
