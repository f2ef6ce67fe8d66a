#include "core/transform.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/answer.h"
#include "core/error.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/keys.h"
#include "core/utf8.h"

namespace qrl::core {

namespace {

Error bad_value(const std::string& key, std::string_view value, std::string_view expected) {
  return invalid_data(Stage::kBuild,
                      "key '" + key + "' holds " + printable(value) + ", expected " + std::string(expected),
                      key);
}

const std::string& require(const std::optional<std::string>& value, const std::string& key) {
  if (!value) throw missing_data("quiz data incomplete: missing key '" + key + "'", key);
  return *value;
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return out;
}

std::int64_t non_negative_integer(const std::string& key, std::string_view text) {
  auto value = parse_integer(text);
  if (!value || *value < 0) throw bad_value(key, text, "a non-negative integer");
  return *value;
}

// Text from Redis as it will be stored: valid UTF-8, each byte that is not replaced by U+FFFD
// with a warning naming the key (the replaced Go loader's encoder did the same, silently).
std::string valid_text(const std::string& text, const std::string& key, std::vector<std::string>& warnings) {
  if (is_valid_utf8(text)) return text;
  warnings.push_back("key '" + key +
                     "' holds bytes that are not UTF-8, stored as U+FFFD: " + printable(text));
  return to_valid_utf8(text);
}

std::string epoch_to_rfc3339(const std::string& key, std::string_view text) {
  auto value = parse_integer(text);
  // Up to year 9999: RFC 3339 has four-digit years.
  if (!value || *value < 0 || *value > 253402300799) throw bad_value(key, text, "Unix epoch seconds");
  return rfc3339_utc(*value);
}

std::int64_t truncated_score(const std::string& key, const std::string& text) {
  char* end = nullptr;
  double score = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || text.empty() || !std::isfinite(score) ||
      std::fabs(score) >= 9.2e18) {
    throw bad_value(key, text, "a finite score");
  }
  return static_cast<std::int64_t>(std::trunc(score));
}

struct QuestionEntry {
  std::string text;
  std::vector<std::string> options;
  std::vector<std::int64_t> answers;
};

QuestionEntry parse_question(const nlohmann::json& entry, std::size_t index, const std::string& file) {
  std::string where = file + " question " + std::to_string(index);
  auto fail = [&](std::string_view what) {
    return invalid_data(Stage::kBuild, "question set " + where + ": " + std::string(what), file);
  };
  if (!entry.is_object()) throw fail("is not an object");
  QuestionEntry out;
  auto text = entry.find("question");
  if (text == entry.end() || !text->is_string()) throw fail("field 'question' is missing or not a string");
  out.text = text->get<std::string>();
  auto options = entry.find("options");
  if (options == entry.end() || !options->is_array()) throw fail("field 'options' is missing or not a list");
  for (const auto& option : *options) {
    if (!option.is_string()) throw fail("field 'options' holds a value that is not a string");
    out.options.push_back(option.get<std::string>());
  }
  auto answers = entry.find("answers");
  if (answers == entry.end() || !answers->is_array()) throw fail("field 'answers' is missing or not a list");
  for (const auto& answer : *answers) {
    // Unsigned values past the signed range would wrap: only 0 .. kMaxOptionIndex is an index.
    bool ok = (answer.is_number_unsigned() && answer.get<std::uint64_t>() <= kMaxOptionIndex) ||
              (answer.is_number_integer() && !answer.is_number_unsigned() &&
               answer.get<std::int64_t>() >= 0 && answer.get<std::int64_t>() <= kMaxOptionIndex);
    if (!ok) throw fail("field 'answers' holds a value that is not an option index (0 to 2147483647)");
    out.answers.push_back(answer.get<std::int64_t>());
  }
  return out;
}

}  // namespace

std::string rfc3339_utc(std::int64_t epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buffer, n);
}

Quiz build_quiz(std::string_view quiz_id, const QuizHeader& header,
                const std::vector<std::optional<std::string>>& participant_values,
                std::string_view question_file) {
  require_valid_id(quiz_id, "quiz id");
  const std::string id(quiz_id);
  Quiz quiz;
  quiz.id = id;

  const auto name_key = keys::quiz(id, "quizName");
  quiz.name = valid_text(require(header.name, name_key), name_key, quiz.warnings);
  const auto duration_key = keys::quiz(id, "questionDuration");
  const auto& duration_text = require(header.question_duration, duration_key);
  // Checked before it is multiplied: the nanoseconds must fit in a signed 64-bit integer.
  const auto duration = non_negative_integer(duration_key, duration_text);
  if (duration > kMaxDurationSeconds) {
    throw bad_value(duration_key, duration_text, "a duration of 0 to 9223372035 seconds");
  }
  quiz.question_duration_ns = duration * kNanosPerSecond;
  const auto start_key = keys::quiz(id, "startTime");
  quiz.start_time = epoch_to_rfc3339(start_key, require(header.start_time, start_key));
  const auto stop_key = keys::quiz(id, "stopTime");
  quiz.stop_time = epoch_to_rfc3339(stop_key, require(header.stop_time, stop_key));

  for (const auto& user_id : header.user_ids) {
    if (!is_valid_id(user_id)) {
      throw invalid_data(
          Stage::kValidate,
          "invalid user id " + printable(user_id) + " in key '" + keys::quiz(id, "userIds") + "'",
          keys::quiz(id, "userIds"));
    }
  }

  // Validates user ids and indexes, and fixes the layout of participant_values.
  const auto participant_keys = keys::participant_keys(id, header);
  if (participant_values.size() != participant_keys.size()) {
    throw invalid_data(Stage::kBuild, "participant values do not match the participant keys");
  }
  const std::size_t stride = keys::participant_stride(header);
  const std::size_t question_count = header.selected_indexes.size();

  // The question set: one parse, then only the selected entries are looked at.
  const std::string file_name = id + ".json";
  std::string not_json;
  auto questions = parse_json(question_file, &not_json);
  if (questions.is_discarded() || !questions.is_array()) {
    throw invalid_data(Stage::kBuild,
                       "question set " + file_name + " is not a JSON array" +
                           (questions.is_discarded() ? " (it " + not_json + ")" : ""),
                       file_name);
  }

  // Participants, with the position of each one's values so answers can follow the sort.
  struct Row {
    Participant participant;
    std::size_t base;
  };
  std::vector<Row> rows;
  rows.reserve(header.leaderboard.size());
  const auto leaderboard_key = keys::quiz(id, "leaderboard");
  for (std::size_t p = 0; p < header.leaderboard.size(); ++p) {
    const auto& [user_id, score] = header.leaderboard[p];
    const std::size_t base = p * stride;
    Row row{{}, base};
    row.participant.user_id = user_id;
    row.participant.score = truncated_score(leaderboard_key + " member " + user_id, score);
    row.participant.name = valid_text(require(participant_values[base], participant_keys[base]),
                                      participant_keys[base], quiz.warnings);
    row.participant.stop_time = epoch_to_rfc3339(
        participant_keys[base + 1], require(participant_values[base + 1], participant_keys[base + 1]));
    rows.push_back(std::move(row));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.participant.score != b.participant.score) return a.participant.score > b.participant.score;
    return a.participant.user_id < b.participant.user_id;
  });

  quiz.questions.reserve(question_count);
  for (std::size_t q = 0; q < question_count; ++q) {
    const auto& index_text = header.selected_indexes[q];
    const auto index = static_cast<std::size_t>(std::stoll(index_text));
    if (index >= questions.size()) {
      throw invalid_data(Stage::kBuild,
                         "question index " + index_text + " in key '" +
                             keys::quiz(id, "selectedQuestionIndexes") + "' is outside question set " +
                             file_name + " of " + std::to_string(questions.size()) + " questions",
                         keys::quiz(id, "selectedQuestionIndexes"));
    }
    auto entry = parse_question(questions[index], index, file_name);
    Question question;
    question.text = std::move(entry.text);
    question.options = std::move(entry.options);
    question.correct_options = std::move(entry.answers);
    question.answers.reserve(rows.size());
    for (const auto& row : rows) {
      const std::size_t slot = row.base + 2 + q;
      question.answers.push_back(parse_answer(participant_keys[slot], row.participant.user_id,
                                              require(participant_values[slot], participant_keys[slot])));
    }
    quiz.questions.push_back(std::move(question));
  }

  quiz.participants.reserve(rows.size());
  for (auto& row : rows) quiz.participants.push_back(std::move(row.participant));
  return quiz;
}

}  // namespace qrl::core
