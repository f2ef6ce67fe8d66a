#pragma once
// A loaded quiz as a person reads it (`show`): the quiz, its leaderboard and each question,
// made from the stored item (docs/contract.md, "The item"; a split quiz put back together
// first). Pure: no I/O; the command prints what render() returns.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace qrl::report {

struct Standing {
  std::size_t rank = 0;  // ties share one: 1, 1, 3
  std::string name;
  std::int64_t score = 0;
  std::size_t correct = 0;                  // questions answered with exactly the correct options
  std::optional<std::int64_t> seconds;      // from the quiz's start to the participant's stop
};

struct QuestionLine {
  std::string text;
  std::vector<std::string> correct_options;
  std::size_t right = 0;  // participants who chose exactly the correct options
  std::optional<std::string> fastest_name;
  double fastest_seconds = 0;
};

struct QuizReport {
  std::string id, name, start, stop;
  std::optional<std::int64_t> seconds;  // stop - start
  std::int64_t question_nanoseconds = 0;
  std::vector<Standing> standings;
  std::vector<QuestionLine> questions;
};

// Throws std::invalid_argument naming the attribute an item of another shape lacks.
QuizReport read_report(const nlohmann::json& item);

// The report in lines of at most `width` columns (at least 60).
std::string render(const QuizReport& report, std::size_t width);

// DynamoDB JSON ({"S": ...}, {"N": ...}, {"L": [...]}, {"M": {...}}) as plain JSON: strings,
// integers, arrays and objects.
nlohmann::json plain(const nlohmann::json& attribute_map);

// "4 min 34 s", "1 h 02 min", "12 s", "2.1 s".
std::string duration_text(double seconds);

}  // namespace qrl::report
