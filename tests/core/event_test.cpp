#include "core/event.h"
#include "core/keys.h"
#include "core/settle.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace qrl::core {
namespace {

constexpr const char* kGood =
    R"({"type":"com.ryangwaite.mc-speedrun.quiz.complete.v1","source":"/mc-speedrun/quiz-complete",)"
    R"("id":"555a472a-5797-4935-8d84-aba4212dd865","time":"2022-03-12T07:49:21Z","data":{"quizId":"4b927076"}})";

std::string with_quiz_id(const std::string& id_json) {
  return R"({"type":"com.ryangwaite.mc-speedrun.quiz.complete.v1","id":"e","data":{"quizId":)" + id_json +
         "}}";
}

Error parse_error(const std::string& body) {
  try {
    parse_event(body);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for " << body;
  return Error(FailureKind::kTransient, Stage::kUnknown, "none");
}

TEST(Event, ParsesTheContractEvent) {
  auto event = parse_event(kGood);
  EXPECT_EQ(event.quiz_id, "4b927076");
  EXPECT_EQ(event.id, "555a472a-5797-4935-8d84-aba4212dd865");
  EXPECT_EQ(event.time, "2022-03-12T07:49:21Z");
}

TEST(Event, MakeEventRoundTrips) {
  auto event = parse_event(make_event("ev-1", "2022-01-01T00:00:00Z", "abc"));
  EXPECT_EQ(event.quiz_id, "abc");
  EXPECT_EQ(event.id, "ev-1");
}

TEST(Event, IdAndTimeAreOptional) {
  auto event =
      parse_event(R"({"type":"com.ryangwaite.mc-speedrun.quiz.complete.v1","data":{"quizId":"q1"}})");
  EXPECT_EQ(event.quiz_id, "q1");
  EXPECT_EQ(event.id, "");
}

TEST(Event, RejectsBodiesThatAreNotEventsAsPermanent) {
  for (const std::string body :
       {"not an event", "", "[]", "42", "{}", R"({"type":"x","data":{"quizId":"a"}})",
        R"({"type":"com.ryangwaite.mc-speedrun.quiz.complete.v2","data":{"quizId":"a"}})",
        R"({"type":"com.ryangwaite.mc-speedrun.quiz.complete.v1"})",
        R"({"type":"com.ryangwaite.mc-speedrun.quiz.complete.v1","data":{}})",
        R"({"type":"com.ryangwaite.mc-speedrun.quiz.complete.v1","data":"q"})"}) {
    auto error = parse_error(body);
    EXPECT_EQ(error.kind(), FailureKind::kPermanent) << body;
    EXPECT_NE(std::string(error.what()).find("not a quiz complete event"), std::string::npos) << error.what();
  }
}

TEST(Event, NamesTheUnexpectedType) {
  auto error = parse_error(R"({"type":"com.ryangwaite.mc-speedrun.quiz.complete.v2","data":{"quizId":"a"}})");
  EXPECT_NE(std::string(error.what()).find("complete.v2"), std::string::npos);
}

TEST(Event, RejectsHostileQuizIdsBeforeAnythingIsBuiltFromThem) {
  for (const std::string& id : std::vector<std::string>{
           R"("*")", R"("../x")", R"("a:b")", R"("")", R"("a b")", R"("a/b")", R"("x*")", R"("é")", "42",
           "null", R"("a\u0000b")", "\"" + std::string(65, 'a') + "\""}) {
    auto error = parse_error(with_quiz_id(id));
    EXPECT_EQ(error.kind(), FailureKind::kPermanent) << id;
  }
  auto error = parse_error(with_quiz_id(R"("../x")"));
  EXPECT_EQ(error.stage(), Stage::kValidate);
  EXPECT_NE(std::string(error.what()).find("invalid quiz id '../x'"), std::string::npos) << error.what();
}

// The event's time, for the settle window: the producer's RFC 3339 form, or nothing.
TEST(Event, ItsTimeIsReadAsTheProducerWritesItAndNothingElse) {
  using namespace std::chrono;
  auto t = event_time("2022-03-12T07:49:21Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(duration_cast<seconds>(t->time_since_epoch()).count(), 1647071361);
  auto fraction = event_time("2022-03-12T07:49:21.250Z");
  ASSERT_TRUE(fraction);
  EXPECT_EQ(duration_cast<milliseconds>(*fraction - *t).count(), 250);
  for (const char* bad : {"", "t", "2022-03-12", "2022-03-12T07:49:21", "2022-13-12T07:49:21Z", "2022-02-30T07:49:21Z",
                          "2022-03-12T24:00:00Z", "2022-03-12 07:49:21Z", "2022-03-12T07:49:21+01:00", "2022-03-12T07:49:21.Z1"}) {
    EXPECT_FALSE(event_time(bad)) << bad;
  }
}

// The wait, whatever the clocks: from the announcement, bounded by the window both ways.
TEST(Event, TheSettleWaitCountsFromTheAnnouncementAndNeverExceedsTheWindow) {
  using namespace std::chrono;
  const auto now = system_clock::time_point(seconds(1'800'000'000));
  const auto window = milliseconds(5000);
  EXPECT_EQ(settle_wait(window, now, now - seconds(2)), milliseconds(3000));
  EXPECT_EQ(settle_wait(window, now, now - seconds(60)), milliseconds(0));
  EXPECT_EQ(settle_wait(window, now, now + hours(1)), window);  // a clock ahead: the window, not an hour
  EXPECT_EQ(settle_wait(window, now, std::nullopt), window);    // no time: the whole window
  EXPECT_EQ(settle_wait(milliseconds(0), now, now), milliseconds(0));
}

TEST(Keys, OnlyTheContractsKeysBelongToAQuiz) {
  EXPECT_EQ(keys::quiz_of_key("4b927076:quizName"), "4b927076");
  EXPECT_EQ(keys::quiz_of_key("4b927076:leaderboard"), "4b927076");
  EXPECT_EQ(keys::quiz_of_key("4b927076:ee14ccb2:username"), "4b927076");
  EXPECT_EQ(keys::quiz_of_key("4b927076:ee14ccb2:stopTime"), "4b927076");
  EXPECT_EQ(keys::quiz_of_key("4b927076:ee14ccb2:answer:12"), "4b927076");
  for (const char* other : {"4b927076", "4b927076:subscribe", "4b927076:quizname", "4b927076:u:answer:x",
                            "4b927076:u:answer:-1", "4b927076:u:score", "a*b:quizName", "4b927076:u*:username",
                            "session:abc:token:1", ":quizName", "4b927076:ee14ccb2:answer:1:x"}) {
    EXPECT_FALSE(keys::quiz_of_key(other)) << other;
  }
}

// The keys written over a kept vector (a worker's, from quiz to quiz) are the keys made afresh,
// whatever the vector held before: longer keys, more of them, fewer.
TEST(Keys, KeysWrittenOverAKeptVectorAreTheKeysMadeAfresh) {
  QuizHeader small;
  small.selected_indexes = {"3", "0"};
  small.leaderboard = {{"ee14ccb2", "10"}, {"a1", "5"}};
  QuizHeader big = small;
  big.selected_indexes = {"12", "7", "100"};
  big.leaderboard.push_back({"longer-user-id-0123456789", "1"});
  big.user_ids = {"zz", "a1", "late"};

  std::vector<std::string> kept;
  for (const auto* header : {&big, &small, &big}) {
    keys::participant_keys("4b927076", *header, kept);
    EXPECT_EQ(kept, keys::participant_keys("4b927076", *header));
  }
  EXPECT_EQ(kept[2], "4b927076:ee14ccb2:answer:12");
  EXPECT_EQ(kept[0], "4b927076:ee14ccb2:username");

  // Every key of the quiz: the union of members and userIds once each, sorted, quiz-level last.
  const keys::SourceKeys sources("4b927076", big);
  std::string key = "a much longer key than any of the quiz's, to be written over";
  std::vector<std::string> all;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    sources.key(i, key);
    EXPECT_EQ(key, sources[i]);
    all.push_back(key);
  }
  EXPECT_EQ(all, keys::source_keys("4b927076", big));
  EXPECT_EQ(all.size(), 5u * (2 + 3) + 8);  // five users: a1 is both a member and a userId
}

}  // namespace
}  // namespace qrl::core
