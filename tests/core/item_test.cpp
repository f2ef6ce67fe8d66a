#include "core/item.h"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/utf8.h"
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

// Any bytes, of any length (runs of eight are copied whole when none needs a look): the text is
// valid JSON whose string is the bytes with each invalid UTF-8 byte replaced by U+FFFD, and the
// size counted for them is that string's.
TEST(Item, AnyBytesEncodeToJsonThatDecodesToTheirValidUtf8OfTheSizeCounted) {
  const std::vector<std::string> pieces = {"a",
                                           "Z",
                                           " ",
                                           "~",
                                           "\"",
                                           "\\",
                                           "\n",
                                           std::string(1, '\0'),
                                           "\x1f",
                                           "\x7f",
                                           "\xc3\xa9",
                                           "\xf0\x9f\x98\x80",
                                           "\xff",
                                           "\xc3",
                                           "\xed\xa0\x80",
                                           "plain text "};
  std::mt19937 rng(11);
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    const auto length = rng() % 24;
    for (std::size_t p = 0; p < length; ++p) text += pieces[rng() % pieces.size()];
    std::string out = "x";  // appended to, not replaced
    append_json_string(out, text);
    ASSERT_EQ(out.front(), 'x');
    nlohmann::json decoded;
    ASSERT_NO_THROW(decoded = nlohmann::json::parse(out.substr(1))) << out;
    ASSERT_EQ(decoded.get<std::string>(), to_valid_utf8(text)) << out;
    // Its size by DynamoDB's rules (eight ASCII bytes at a time) is that string's length.
    ASSERT_EQ(valid_utf8_size(text), to_valid_utf8(text).size()) << out;
  }
}

}  // namespace
}  // namespace qrl::core
