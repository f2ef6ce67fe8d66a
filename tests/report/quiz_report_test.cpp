// `show`'s report, from items made here: ties, a question nobody got right, an answer from
// someone who is not a participant, names in emoji and right-to-left scripts, widths; and the
// plain JSON of an item.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "report/quiz_report.h"
#include "report/table.h"
#include "report/text_width.h"

namespace qrl::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using nlohmann::json;

json s(const std::string& v) { return {{"S", v}}; }
json n(long long v) { return {{"N", std::to_string(v)}}; }
json l(std::vector<json> v) { return {{"L", v}}; }
json m(json v) { return {{"M", v}}; }

json participant(const std::string& id, const std::string& name, long long score, const std::string& stop) {
  return m({{"UserId", s(id)}, {"Name", s(name)}, {"Score", n(score)}, {"StopTime", s(stop)}});
}
json answer(const std::string& id, std::vector<long long> options, long long nanoseconds) {
  std::vector<json> chosen;
  for (auto o : options) chosen.push_back(n(o));
  return m({{"UserId", s(id)}, {"ParticipantOptions", l(chosen)}, {"AnsweredInDuration", n(nanoseconds)}});
}
json question(const std::string& text, std::vector<std::string> options, std::vector<long long> correct,
              std::vector<json> answers) {
  std::vector<json> os, cs;
  for (const auto& o : options) os.push_back(s(o));
  for (auto c : correct) cs.push_back(n(c));
  return m({{"Question", s(text)}, {"Options", l(os)}, {"CorrectOptions", l(cs)}, {"ParticipantAnswers", l(answers)}});
}

// Three participants, two tied; one question nobody got right; an answer from "late", who is
// not a participant (a late joiner the loader left out), which counts for nobody.
json quiz() {
  return {{"id", s("4b927076")},
          {"Name", s("Capitals")},
          {"QuestionDuration", n(30'000'000'000)},
          {"StartTime", s("2022-01-27T08:54:38Z")},
          {"StopTime", s("2022-01-27T08:59:12Z")},
          {"Participants", l({participant("u1", "Ada", 190, "2022-01-27T08:58:40Z"),
                              participant("u2", "Linus", 120, "2022-01-27T08:59:00Z"),
                              participant("u3", "Grace", 120, "2022-01-27T08:59:12Z")})},
          {"Questions",
           l({question("Capital of France?", {"Berlin", "Paris", "Rome"}, {1},
                       {answer("u1", {1}, 2'100'000'000), answer("u2", {1}, 4'000'000'000), answer("u3", {0}, 1'000'000'000),
                        answer("late", {1}, 500'000'000)}),
              question("Which are islands?", {"Malta", "Chad", "Cuba"}, {0, 2},
                       {answer("u1", {0}, 9'000'000'000), answer("u2", {2, 0, 1}, 3'000'000'000),
                        answer("u3", {}, 30'000'000'000)})})}};
}

TEST(QuizReport, TiesShareARankAndEachAnswerIsJudgedWhole) {
  auto report = read_report(quiz());
  ASSERT_EQ(report.standings.size(), 3u);
  EXPECT_EQ(report.standings[0].rank, 1u);
  EXPECT_EQ(report.standings[1].rank, 2u);
  EXPECT_EQ(report.standings[2].rank, 2u);  // tied with Linus
  EXPECT_EQ(report.standings[0].correct, 1u);
  EXPECT_EQ(report.standings[1].correct, 1u);
  EXPECT_EQ(report.standings[2].correct, 0u);
  EXPECT_EQ(report.standings[0].seconds, 242);
  EXPECT_EQ(report.seconds, 274);
  ASSERT_EQ(report.questions.size(), 2u);
  EXPECT_EQ(report.questions[0].right, 2u);  // the late joiner's right answer is not counted
  EXPECT_EQ(report.questions[0].fastest_name, "Ada");
  EXPECT_DOUBLE_EQ(report.questions[0].fastest_seconds, 2.1);
  EXPECT_EQ(report.questions[1].right, 0u);  // a part of the answer, or more than it, is wrong
  EXPECT_FALSE(report.questions[1].fastest_name);
  EXPECT_THAT(report.questions[1].correct_options, ::testing::ElementsAre("A) Malta", "C) Cuba"));
}

TEST(QuizReport, TheTextSaysWhoWonAndWhatEachQuestionWas) {
  const auto text = render(read_report(quiz()), 80);
  EXPECT_THAT(text, HasSubstr("Capitals  (quiz 4b927076)"));
  EXPECT_THAT(text, HasSubstr("2022-01-27T08:54:38Z to 2022-01-27T08:59:12Z, 4 min 34 s, 30 s a question"));
  EXPECT_THAT(text, HasSubstr("3 participants, 2 questions"));
  EXPECT_THAT(text, HasSubstr("     1  Ada"));
  EXPECT_THAT(text, HasSubstr("     2  Linus"));
  EXPECT_THAT(text, HasSubstr("     2  Grace"));
  EXPECT_THAT(text, HasSubstr("answer: B) Paris"));
  EXPECT_THAT(text, HasSubstr("2 of 3 right (66%), fastest Ada in 2.1 s"));
  EXPECT_THAT(text, HasSubstr("0 of 3 right (0%), nobody right"));
  EXPECT_THAT(text, Not(HasSubstr("late")));
}

TEST(QuizReport, NoParticipantsNoQuestionsIsStillAReport) {
  auto empty = quiz();
  empty["Participants"] = l({});
  empty["Questions"] = l({});
  const auto text = render(read_report(empty), 80);
  EXPECT_THAT(text, HasSubstr("0 participants, 0 questions"));
  EXPECT_THAT(text, HasSubstr("nobody took part"));
}

// Every line fits the width, in columns as a terminal counts them; the leaderboard's columns
// line up whatever the names' scripts.
TEST(QuizReport, LinesFitTheTerminalAndColumnsAlignWithEmojiAndRightToLeftNames) {
  auto item = quiz();
  item["Participants"]["L"][0]["M"]["Name"] = s("🦊 Füchsin");
  item["Participants"]["L"][1]["M"]["Name"] = s("שרה");
  item["Participants"]["L"][2]["M"]["Name"] = s("A very long name that a person typed into the quiz, longer than any column");
  item["Questions"]["L"][0]["M"]["Question"] =
      s("Which city, the capital of a country in western Europe, is crossed by the Seine and home to the Louvre?");
  for (std::size_t width : {60u, 80u, 120u}) {
    const auto text = render(read_report(item), width);
    std::istringstream lines(text);
    std::vector<std::size_t> score_columns;
    for (std::string line; std::getline(lines, line);) {
      EXPECT_LE(display_width(line), width) << line;
      if (line.find("/2") != std::string::npos) {
        // The score column ends where the "correct" column starts: the same place on each row.
        score_columns.push_back(display_width(line.substr(0, line.find("/2"))));
      }
    }
    ASSERT_EQ(score_columns.size(), 3u) << text;
    EXPECT_EQ(score_columns[0], score_columns[1]) << text;
    EXPECT_EQ(score_columns[1], score_columns[2]) << text;
    EXPECT_THAT(text, HasSubstr("\u2068שרה"));  // isolated, so the columns after it stay put
  }
}

TEST(TextWidth, WideAndZeroWidthCharactersAreCountedAsATerminalShowsThem) {
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(display_width("🦊"), 2u);
  EXPECT_EQ(display_width("日本"), 4u);
  EXPECT_EQ(display_width("e\u0301"), 1u);  // e and a combining acute
  EXPECT_EQ(display_width("👍🏽"), 2u);       // a skin tone modifies, adds nothing
  EXPECT_EQ(fit("abcdef", 4), "abc\u2026");
  EXPECT_EQ(fit("ab", 4, true), "  ab");
  EXPECT_EQ(display_width(fit("🦊🦊🦊", 5)), 5u);
  EXPECT_EQ(isolated("Ada"), "Ada");
  EXPECT_THAT(wrap("one two three", 7), ::testing::ElementsAre("one two", "three"));
}

TEST(Table, ColumnsAreAsWideAsTheirWidestCellAndNumbersAlignRight) {
  const auto text = table({"ID", "NAME", "N"}, {{"a1", "Ada", "7"}, {"b22", "🦊", "123"}}, {false, false, true}, 80);
  EXPECT_EQ(text, "ID   NAME    N\na1   Ada     7\nb22  🦊    123\n");
}

TEST(Plain, DynamoDbJsonBecomesPlainJson) {
  const auto out = plain(quiz());
  EXPECT_EQ(out["id"], "4b927076");
  EXPECT_EQ(out["QuestionDuration"], 30'000'000'000LL);
  EXPECT_EQ(out["Participants"][0], (json{{"UserId", "u1"}, {"Name", "Ada"}, {"Score", 190}, {"StopTime", "2022-01-27T08:58:40Z"}}));
  EXPECT_EQ(out["Questions"][1]["CorrectOptions"], (json{0, 2}));
  EXPECT_EQ(out["Questions"][1]["ParticipantAnswers"][2]["ParticipantOptions"], json::array());
}

}  // namespace
}  // namespace qrl::report
