#include "core/event.h"

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

}  // namespace
}  // namespace qrl::core
