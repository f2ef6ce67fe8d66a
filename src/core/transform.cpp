#include "core/transform.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/ids.h"
#include "core/keys.h"

namespace qrl::core {

namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

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

std::int64_t seconds_to_nanos(const std::string& key, std::string_view text, double seconds) {
  constexpr double kMax = static_cast<double>(std::numeric_limits<std::int64_t>::max()) / 1e9;
  if (!std::isfinite(seconds) || seconds < 0 || seconds >= kMax) {
    throw bad_value(key, text, "a duration in seconds");
  }
  return static_cast<std::int64_t>(std::llround(seconds * static_cast<double>(kNanosPerSecond)));
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

std::vector<std::int64_t> integer_list(const nlohmann::json& array, const std::string& where,
                                       std::string_view raw) {
  std::vector<std::int64_t> out;
  if (array.is_null()) return out;
  if (!array.is_array()) throw bad_value(where, raw, "a list of integers");
  out.reserve(array.size());
  for (const auto& element : array) {
    if (!element.is_number_integer()) throw bad_value(where, raw, "a list of integers");
    out.push_back(element.get<std::int64_t>());
  }
  return out;
}

// The answer exactly as the quiz servers write it, {"selectedOptionIndexes":[1],
// "answeredInDuration":8}, parsed without building a DOM: a quiz has participants x questions
// of them, and a general JSON parser spends most of the loader's CPU on them. Anything else
// (other keys, fractions, escapes, null) returns empty and goes to the general parser.
class AnswerScanner {
 public:
  explicit AnswerScanner(std::string_view text) : text_(text) {}

  std::optional<ParticipantAnswer> scan() {
    ParticipantAnswer answer;
    bool has_options = false, has_duration = false;
    if (!consume('{')) return std::nullopt;
    for (;;) {
      std::string_view key;
      if (!string(key) || !consume(':')) return std::nullopt;
      if (key == "selectedOptionIndexes" && !has_options) {
        if (!integers(answer.options)) return std::nullopt;
        has_options = true;
      } else if (key == "answeredInDuration" && !has_duration) {
        std::int64_t seconds = 0;
        if (!integer(seconds) || seconds < 0 || seconds > 9'000'000'000) return std::nullopt;
        answer.answered_in_ns = seconds * kNanosPerSecond;
        has_duration = true;
      } else {
        return std::nullopt;
      }
      if (consume(',')) continue;
      if (!consume('}')) return std::nullopt;
      break;
    }
    skip_space();
    if (pos_ != text_.size() || !has_options || !has_duration) return std::nullopt;
    return answer;
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  bool consume(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool string(std::string_view& out) {
    if (!consume('"')) return false;
    auto end = text_.find('"', pos_);
    if (end == std::string_view::npos) return false;
    out = text_.substr(pos_, end - pos_);
    if (out.find('\\') != std::string_view::npos) return false;
    pos_ = end + 1;
    return true;
  }
  bool integer(std::int64_t& out) {
    skip_space();
    const char* begin = text_.data() + pos_;
    const char* end = text_.data() + text_.size();
    auto [next, ec] = std::from_chars(begin, end, out);
    if (ec != std::errc() || next == begin) return false;
    if (next != end && (*next == '.' || *next == 'e' || *next == 'E')) return false;
    pos_ += static_cast<std::size_t>(next - begin);
    return true;
  }
  bool integers(std::vector<std::int64_t>& out) {
    if (!consume('[')) return false;
    if (consume(']')) return true;
    for (;;) {
      std::int64_t value = 0;
      if (!integer(value)) return false;
      out.push_back(value);
      if (consume(',')) continue;
      return consume(']');
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

ParticipantAnswer parse_answer(const std::string& key, const std::string& user_id, const std::string& text) {
  if (auto fast = AnswerScanner(text).scan()) {
    fast->user_id = user_id;
    return std::move(*fast);
  }
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    throw bad_value(key, text, "an answer object {\"selectedOptionIndexes\":[...],\"answeredInDuration\":N}");
  }
  ParticipantAnswer answer;
  answer.user_id = user_id;
  auto options = json.find("selectedOptionIndexes");
  if (options == json.end()) throw bad_value(key, text, "a field 'selectedOptionIndexes'");
  answer.options = integer_list(*options, key, text);
  auto duration = json.find("answeredInDuration");
  if (duration == json.end() || !duration->is_number()) {
    throw bad_value(key, text, "a numeric field 'answeredInDuration'");
  }
  answer.answered_in_ns = seconds_to_nanos(key, text, duration->get<double>());
  return answer;
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
    if (!answer.is_number_integer()) throw fail("field 'answers' holds a value that is not an integer");
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
  quiz.name = require(header.name, name_key);
  const auto duration_key = keys::quiz(id, "questionDuration");
  quiz.question_duration_ns =
      non_negative_integer(duration_key, require(header.question_duration, duration_key)) * kNanosPerSecond;
  if (quiz.question_duration_ns / kNanosPerSecond > 9'000'000'000) {
    throw bad_value(duration_key, *header.question_duration, "a duration in seconds");
  }
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
  auto questions = nlohmann::json::parse(question_file, nullptr, false);
  if (questions.is_discarded() || !questions.is_array()) {
    throw invalid_data(Stage::kBuild, "question set " + file_name + " is not a JSON array", file_name);
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
    row.participant.name = require(participant_values[base], participant_keys[base]);
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
