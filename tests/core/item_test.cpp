#include "core/item.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "split/assembler.h"

namespace qrl::core {
namespace {

Quiz quiz_with(std::size_t participants, std::size_t questions, std::size_t name_bytes) {
  Quiz quiz;
  quiz.id = "big";
  quiz.name = std::string(name_bytes, 'n');
  quiz.start_time = quiz.stop_time = "2022-01-27T08:54:38Z";
  for (std::size_t p = 0; p < participants; ++p) {
    quiz.participants.push_back({"user" + std::to_string(p), "name", 10, "2022-01-27T08:54:38Z"});
  }
  for (std::size_t q = 0; q < questions; ++q) {
    Question question{"question text", {"a", "b", "c", "d"}, {1}, {}};
    for (const auto& p : quiz.participants) question.answers.push_back({p.user_id, {1}, 2'000'000'000});
    quiz.questions.push_back(question);
  }
  return quiz;
}

TEST(Item, SizeIsCloseToTheEncodedLengthForTypicalQuizzes) {
  auto quiz = quiz_with(20, 10, 10);
  auto size = item_size(quiz);
  auto encoded = encode_item(quiz).size();
  // DynamoDB's count leaves out the JSON punctuation: well below the encoded length.
  EXPECT_GT(size, encoded / 5);
  EXPECT_LT(size, encoded);
}

// What cannot be split (the name, in the item holding the scalars) over 400 KB is permanent;
// anything else over 400 KB is split (tests/split/).
TEST(Item, RejectsAnItemOverFourHundredKilobytesAsPermanent) {
  auto store = [](const Quiz& quiz) {
    split::Assembler assembler(quiz, [](split::StoredItem) {});
    return assembler.finish();
  };
  EXPECT_NO_THROW(store(quiz_with(2, 2, 1000)));
  EXPECT_LE(item_size(quiz_with(2, 2, 1000)), kMaxItemBytes);
  try {
    store(quiz_with(2, 2, kMaxItemBytes));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), FailureKind::kPermanent);
    EXPECT_NE(std::string(e.what()).find("over DynamoDB's limit"), std::string::npos);
  }
}

TEST(Item, NumbersHaveNoExponentOrFraction) {
  auto quiz = quiz_with(1, 1, 1);
  quiz.question_duration_ns = 10'000'000'000;
  auto encoded = encode_item(quiz);
  EXPECT_NE(encoded.find(R"("QuestionDuration":{"N":"10000000000"})"), std::string::npos);
}

TEST(Item, EscapesStrings) {
  std::string out;
  append_json_string(out, std::string("a\"b\\c\n\x01", 7));
  EXPECT_EQ(out, R"("a\"b\\c\n\u0001")");
}

}  // namespace
}  // namespace qrl::core
