#include "core/transform.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <unordered_map>

#include "core/answer.h"
#include "core/error.h"
#include "core/ids.h"
#include "core/keys.h"
#include "core/question_set.h"
#include "core/roster.h"
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

// A Redis integer as the producer writes it (Kotlin's Int.toString()): an optional minus sign,
// then digits without a leading zero ("0" itself excepted). std::from_chars alone would take
// "-0" and "010".
std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '-') digits.remove_prefix(1);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  if (digits.front() == '0' && (digits.size() > 1 || digits.size() != text.size())) return std::nullopt;
  std::int64_t out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return out;
}

std::int64_t int32_value(const std::string& key, std::string_view text) {
  auto value = parse_integer(text);
  if (!value || *value < kMinInt32 || *value > kMaxInt32)
    throw bad_value(key, text, "an integer from -2147483648 to 2147483647");
  return *value;
}

// Warnings are for the log: a hostile quiz could have one per answer, so only the first few
// are kept, and the count of the rest.
constexpr std::size_t kMaxWarnings = 20;

void warn(std::vector<std::string>& warnings, std::size_t& suppressed, std::string text) {
  if (warnings.size() < kMaxWarnings) {
    warnings.push_back(std::move(text));
  } else {
    ++suppressed;
  }
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
  auto value = epoch_seconds(text);
  if (!value) throw bad_value(key, text, "Unix epoch seconds");
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

constexpr std::int64_t kLastSecondOf9999 = 253402300799;

// Writes `value` as `width` digits, zero-padded, ending just before `end`.
void put_digits(char* end, unsigned value, int width) {
  for (int i = 0; i < width; ++i, value /= 10) *--end = static_cast<char>('0' + value % 10);
}

}  // namespace

std::optional<std::int64_t> epoch_seconds(std::string_view text) {
  auto value = parse_integer(text);
  // Up to year 9999: RFC 3339 has four-digit years.
  if (!value || *value < 0 || *value > kLastSecondOf9999) return std::nullopt;
  return value;
}

std::string rfc3339_utc(std::int64_t epoch_seconds) {
  if (epoch_seconds >= 0 && epoch_seconds <= kLastSecondOf9999) {
    // The years epoch_seconds() accepts, by hand: strftime was most of each stop time's cost.
    const std::chrono::year_month_day date{std::chrono::sys_days{std::chrono::days{epoch_seconds / 86400}}};
    const auto in_day = static_cast<unsigned>(epoch_seconds % 86400);
    std::string out = "0000-00-00T00:00:00Z";
    put_digits(out.data() + 4, static_cast<unsigned>(static_cast<int>(date.year())), 4);
    put_digits(out.data() + 7, static_cast<unsigned>(date.month()), 2);
    put_digits(out.data() + 10, static_cast<unsigned>(date.day()), 2);
    put_digits(out.data() + 13, in_day / 3600, 2);
    put_digits(out.data() + 16, in_day / 60 % 60, 2);
    put_digits(out.data() + 19, in_day % 60, 2);
    return out;
  }
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buffer, n);
}

QuizReader::QuizReader(const QuizId& quiz_id, const QuizHeader& header, std::string_view question_file) {
  quiz_.id = quiz_id.str();
  source_id_ = quiz_.id;
  read_quiz_keys(header);
  validate_members(header);
  take_participants(header);
  take_questions(header, question_file);
  indexes_ = header.selected_indexes;
}

// The quiz-level values: name, question duration, start and stop.
void QuizReader::read_quiz_keys(const QuizHeader& header) {
  const auto& id = source_id_;
  const auto name_key = keys::quiz(id, "quizName");
  quiz_.name = valid_text(require(header.name, name_key), name_key, quiz_.warnings);
  const auto duration_key = keys::quiz(id, "questionDuration");
  const auto& duration_text = require(header.question_duration, duration_key);
  // Any Kotlin Int, stored as written: its nanoseconds fit a signed 64-bit integer.
  duration_s_ = int32_value(duration_key, duration_text);
  if (duration_s_ <= 0) {
    warn(
        quiz_.warnings, suppressed_warnings_,
        "key '" + duration_key + "' holds " + duration_text + ", not a positive duration: stored as written");
  }
  quiz_.question_duration_ns = duration_s_ * kNanosPerSecond;
  const auto start_key = keys::quiz(id, "startTime");
  quiz_.start_time = epoch_to_rfc3339(start_key, require(header.start_time, start_key));
  const auto stop_key = keys::quiz(id, "stopTime");
  quiz_.stop_time = epoch_to_rfc3339(stop_key, require(header.stop_time, stop_key));
}

// Every id that becomes part of a key: the userIds, the leaderboard's members, the indexes.
void QuizReader::validate_members(const QuizHeader& header) const {
  const auto users_key = keys::quiz(source_id_, "userIds");
  for (const auto& user_id : header.user_ids) {
    if (!is_valid_id(user_id)) {
      throw invalid_data(Stage::kValidate,
                         "invalid user id " + printable(user_id) + " in key '" + users_key + "'", users_key);
    }
  }
  keys::validate_participants(source_id_, header);
}

// Participants by score descending, ties by user id: the order of Participants and of every
// question's ParticipantAnswers, so the keys are read in it.
void QuizReader::take_participants(const QuizHeader& header) {
  const auto leaderboard_key = keys::quiz(source_id_, "leaderboard");
  quiz_.participants.reserve(header.leaderboard.size());
  for (const auto& [user_id, score] : header.leaderboard) {
    Participant participant;
    participant.user_id = user_id;
    participant.score = truncated_score(leaderboard_key + " member " + user_id, score);
    quiz_.participants.push_back(std::move(participant));
  }
  std::stable_sort(quiz_.participants.begin(), quiz_.participants.end(),
                   [](const Participant& a, const Participant& b) {
                     if (a.score != b.score) return a.score > b.score;
                     return a.user_id < b.user_id;
                   });
}

// The question set: only the selected entries are read (core/question_set.h).
void QuizReader::take_questions(const QuizHeader& header, std::string_view question_file) {
  const std::string file_name = source_id_ + ".json";
  auto entries = select_questions(question_file, header.selected_indexes, file_name,
                                  keys::quiz(source_id_, "selectedQuestionIndexes"));
  quiz_.questions.reserve(entries.size());
  for (auto& entry : entries) {
    for (auto answer : entry.answers) {
      if (answer < 0 || static_cast<std::uint64_t>(answer) >= entry.options.size()) {
        warn(quiz_.warnings, suppressed_warnings_,
             "question set " + file_name + " question " + std::to_string(entry.index) + " has answer " +
                 std::to_string(answer) + ", not one of its " + std::to_string(entry.options.size()) +
                 " options: stored as written");
        break;
      }
    }
    Question question;
    question.text = std::move(entry.text);
    question.options = std::move(entry.options);
    question.correct_options = std::move(entry.answers);
    quiz_.questions.push_back(std::move(question));
  }
}

std::size_t QuizReader::key_count() const noexcept {
  const auto participants = quiz_.participants.size();
  return participants * (2 + quiz_.questions.size());
}

std::string QuizReader::key(std::size_t i) const {
  const auto participants = quiz_.participants.size();
  if (i < 2 * participants) {
    return keys::user(source_id_, quiz_.participants[i / 2].user_id, i % 2 == 0 ? "username" : "stopTime");
  }
  i -= 2 * participants;
  return keys::answer(source_id_, quiz_.participants[i % participants].user_id, indexes_[i / participants]);
}

std::optional<QuizReader::Answer> QuizReader::feed(std::size_t i, const std::optional<std::string>& value) {
  const auto participants = quiz_.participants.size();
  if (i < 2 * participants) {
    auto& participant = quiz_.participants[i / 2];
    const auto key_name = key(i);
    if (i % 2 == 0) {
      participant.name = valid_text(require(value, key_name), key_name, quiz_.warnings);
    } else {
      participant.stop_time = epoch_to_rfc3339(key_name, require(value, key_name));
    }
    return std::nullopt;
  }
  const std::size_t n = i - 2 * participants;
  const std::size_t q = n / participants;
  const auto& user_id = quiz_.participants[n % participants].user_id;
  // The key's name only where a message needs it: a quiz has participants x questions answers.
  if (!value) require(value, key(i));  // throws: the key is missing
  auto scanned = scan_answer(*value);
  Answer answer{q, scanned ? std::move(*scanned) : parse_answer(key(i), user_id, *value)};
  answer.answer.user_id = user_id;
  if (is_unusual(answer.answer, duration_s_)) {
    warn(
        quiz_.warnings, suppressed_warnings_,
        "key '" + key(i) + "' holds " + printable(*value) +
            ", not what a client sends (a negative option, or a duration outside 0 to questionDuration + 1): "
            "stored as written");
  }
  return answer;
}

std::vector<std::string> QuizReader::warnings() const {
  auto out = quiz_.warnings;
  if (suppressed_warnings_ > 0)
    out.push_back(std::to_string(suppressed_warnings_) + " more values like these");
  return out;
}

std::vector<std::size_t> participant_slots(const QuizHeader& header, const QuizReader& reader) {
  const std::size_t stride = keys::participant_stride(header);
  std::unordered_map<std::string_view, std::size_t> base;  // each member's first value, leaderboard order
  base.reserve(header.leaderboard.size());
  for (std::size_t m = 0; m < header.leaderboard.size(); ++m)
    base.emplace(header.leaderboard[m].first, m * stride);
  const auto& participants = reader.quiz().participants;
  const std::size_t count = participants.size();
  std::vector<std::size_t> first(count);  // each participant's looked up once, not once a key
  for (std::size_t p = 0; p < count; ++p) first[p] = base.at(participants[p].user_id);
  std::vector<std::size_t> slots(reader.key_count());
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (i < 2 * count) {
      slots[i] = first[i / 2] + i % 2;  // username, stopTime
    } else {
      const std::size_t n = i - 2 * count;  // answers: question-major
      slots[i] = first[n % count] + 2 + n / count;
    }
  }
  return slots;
}

Quiz build_quiz(const QuizId& quiz_id, const QuizHeader& header,
                const std::vector<std::optional<std::string>>& participant_values,
                std::string_view question_file) {
  keys::validate_participants(quiz_id, header);
  // Who is a participant, from which values are there (core/roster.h), as the pipeline does.
  auto roster = take_roster(header, participant_values);
  if (!roster.finishing.empty()) throw finishing_error(quiz_id, roster);
  QuizReader reader(quiz_id, roster.participants, question_file);
  const auto slots = participant_slots(header, reader);
  std::vector<std::vector<ParticipantAnswer>> answers(header.selected_indexes.size());
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (auto answer = reader.feed(i, participant_values[slots[i]]))
      answers[answer->question].push_back(std::move(answer->answer));
  }
  Quiz quiz = reader.take();
  for (std::size_t q = 0; q < quiz.questions.size(); ++q) quiz.questions[q].answers = std::move(answers[q]);
  return quiz;
}

}  // namespace qrl::core
