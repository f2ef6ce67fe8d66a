// The question set's two readings (core/question_set.h): the SAX scan of the selected entries
// must give exactly what the DOM reading gives, or step aside; and it must not step aside for
// the files the platform writes.

#include "core/question_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "core/sample.h"
#include "support/fixtures.h"

namespace qrl::core {
namespace {

using ::testing::HasSubstr;

// What the DOM reading gives: the entries, or its error's text.
struct Outcome {
  std::optional<std::vector<QuestionEntry>> entries;
  std::string error;
};

Outcome dom(std::string_view file, const std::vector<std::size_t>& indexes) {
  std::vector<std::string> texts;
  for (auto index : indexes) texts.push_back(std::to_string(index));
  try {
    return {read_questions(file, indexes, texts, "q.json", "q:selectedQuestionIndexes"), ""};
  } catch (const Error& e) {
    return {std::nullopt, e.what()};
  }
}

// The scan either steps aside or agrees with the DOM reading, entry for entry.
void expect_agreement(std::string_view file, const std::vector<std::size_t>& indexes) {
  const auto fast = scan_questions(file, indexes);
  if (!fast) return;
  const auto full = dom(file, indexes);
  ASSERT_TRUE(full.entries) << "the scan read what the DOM reading refuses (" << full.error << "): " << file;
  ASSERT_EQ(*fast, *full.entries) << file;
}

TEST(QuestionSet, TheScanReadsTheFilesThePlatformWritesAsTheDomDoes) {
  const std::string file = R"([
    {"question": "Capital of France?", "options": ["Paris", "Lyon"], "answers": [0], "category": "geo"},
    {"question": "2 + 2?", "options": ["3", "4", "5"], "answers": [1]},
    {"category": {"name": "x", "tags": [1, [2]]}, "answers": [-1, 9223372036854775807],
     "options": [], "question": "\u00e9t\u00e9 \"quoted\"", "extra": null}
  ])";
  const std::vector<std::size_t> indexes{2, 0, 2};
  const auto fast = scan_questions(file, indexes);
  ASSERT_TRUE(fast);
  ASSERT_EQ(*fast, *dom(file, indexes).entries);
  EXPECT_EQ((*fast)[0].text, "\u00e9t\u00e9 \"quoted\"");
  EXPECT_EQ((*fast)[0].answers, (std::vector<std::int64_t>{-1, 9223372036854775807}));
  EXPECT_EQ((*fast)[1].options, (std::vector<std::string>{"Paris", "Lyon"}));
  EXPECT_EQ((*fast)[2], (*fast)[0]);
  for (std::uint64_t n = 0; n < 50; ++n) {
    const auto quiz = make_sample_quiz(7, n, {3, 1 + static_cast<int>(n % 12)});
    std::vector<std::size_t> all;
    for (std::size_t i = 0; i < 1 + n % 12; ++i) all.push_back(i);
    const auto sample = scan_questions(quiz.question_file, all);
    ASSERT_TRUE(sample) << quiz.question_file;
    EXPECT_EQ(*sample, *dom(quiz.question_file, all).entries);
  }
}

TEST(QuestionSet, WhatTheScanDoesNotExpectIsLeftToTheDomWhichNamesIt) {
  struct Case {
    std::string file;
    std::string error;  // the DOM reading's; empty: it reads the file
  };
  const std::vector<Case> cases = {
      {R"({"question": "x"})", "is not a JSON array"},
      {R"([{"question": "x", "options": [], "answers": []}] [])", "is not JSON"},
      {std::string(R"([{"question": "x)") + '\0' + R"(", "options": [], "answers": []}])",
       "holds a NUL byte"},
      {R"([{"question": "x", "options": [], "answers": []}, {"unselected": 1.5}])", ""},  // index 1 unread
      {R"([[1]])", "is not an object"},
      {R"(["text"])", "is not an object"},
      {R"([{"options": [], "answers": []}])", "field 'question' is missing"},
      {R"([{"question": 1, "options": [], "answers": []}])", "field 'question' is missing or not a string"},
      {R"([{"question": "x", "options": [1], "answers": []}])", "holds a value that is not a string"},
      {R"([{"question": "x", "options": [["a"]], "answers": []}])", "holds a value that is not a string"},
      {R"([{"question": "x", "options": "a", "answers": []}])", "field 'options' is missing or not a list"},
      {R"([{"question": "x", "options": [], "answers": [1.0]}])", "not a 64-bit signed integer"},
      {R"([{"question": "x", "options": [], "answers": [9223372036854775808]}])",
       "not a 64-bit signed integer"},
      {R"([{"question": "x", "options": [], "answers": {}}])", "field 'answers' is missing or not a list"},
      {R"([{"question": "x", "options": [], "answers": [], "question": "y"}])", ""},  // the DOM keeps "y"
      {R"([])", "is outside question set q.json of 0 questions"},
  };
  for (const auto& c : cases) {
    const auto fast = scan_questions(c.file, std::vector<std::size_t>{0});
    const auto full = dom(c.file, {0});
    if (c.error.empty()) {
      ASSERT_TRUE(full.entries) << c.file << ": " << full.error;
    } else {
      EXPECT_FALSE(fast) << c.file;
      EXPECT_THAT(full.error, HasSubstr(c.error)) << c.file;
    }
    expect_agreement(c.file, {0});
  }
  const auto twice = scan_questions(R"([{"question": "x", "options": [], "answers": [], "question": "y"}])",
                                    std::vector<std::size_t>{0});
  EXPECT_FALSE(twice);  // a member twice: the DOM reading decides (the last one counts)
  EXPECT_EQ(
      dom(R"([{"question": "x", "options": [], "answers": [], "question": "y"}])", {0}).entries->at(0).text,
      "y");
}

TEST(QuestionSet, RandomEditsNeverMakeTheTwoReadingsDisagree) {
  // A light form of the fuzzer's differential check, on every run.
  std::mt19937 rng(26);
  const std::string alphabet = "{}[],:\" -+.eE0123456789questionspawrtx\\u00e9\t\nnul\x80";
  const std::string base =
      R"([{"question":"a?","options":["x","y"],"answers":[1]},{"question":"b","options":[],"answers":[-2,0]},)"
      R"({"other":[{"question":"c"}],"question":"d","options":["z"],"answers":[0]}])";
  std::size_t scanned = 0;
  for (int i = 0; i < 100000; ++i) {
    std::string file = base;
    qrl::testing::edit_randomly(file, rng, alphabet);
    std::vector<std::size_t> indexes;
    for (auto n = rng() % 4; n > 0; --n) indexes.push_back(rng() % 4);
    if (scan_questions(file, indexes)) ++scanned;
    expect_agreement(file, indexes);
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GT(scanned, 10000u);  // the scan read many of them itself
}

}  // namespace
}  // namespace qrl::core
