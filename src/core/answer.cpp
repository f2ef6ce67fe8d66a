#include "core/answer.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/ids.h"
#include "core/json.h"

namespace qrl::core {

namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

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
        if (!integer(seconds)) return std::nullopt;
        answer.answered_in_ns = seconds * kNanosPerSecond;  // cannot overflow: a 32-bit value
        has_duration = true;
      } else {
        return std::nullopt;  // other members, duplicates: the full parser's to judge
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
  // A key without escapes or control characters (anything else: the full parser's).
  bool string(std::string_view& out) {
    if (!consume('"')) return false;
    auto end = text_.find('"', pos_);
    if (end == std::string_view::npos) return false;
    out = text_.substr(pos_, end - pos_);
    for (char c : out) {
      if (c == '\\' || static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x80)
        return false;
    }
    pos_ = end + 1;
    return true;
  }
  // A JSON integer, exactly: -?(0|[1-9][0-9]*), not followed by a fraction or an exponent, in
  // the 32-bit signed range ("-0" is 0, as JSON parsers read it).
  bool integer(std::int64_t& out) {
    skip_space();
    std::size_t p = pos_;
    if (p < text_.size() && text_[p] == '-') ++p;
    if (p >= text_.size() || text_[p] < '0' || text_[p] > '9') return false;
    if (text_[p] == '0' && p + 1 < text_.size() && text_[p + 1] >= '0' && text_[p + 1] <= '9') return false;
    std::size_t digits_end = p;
    while (digits_end < text_.size() && text_[digits_end] >= '0' && text_[digits_end] <= '9') ++digits_end;
    if (digits_end < text_.size() &&
        (text_[digits_end] == '.' || text_[digits_end] == 'e' || text_[digits_end] == 'E'))
      return false;
    std::int64_t value = 0;
    auto [next, ec] = std::from_chars(text_.data() + pos_, text_.data() + digits_end, value);
    if (ec != std::errc() || next != text_.data() + digits_end || value < kMinInt32 || value > kMaxInt32)
      return false;
    out = value;
    pos_ = digits_end;
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

// A JSON number that is an integer (no fraction, no exponent) in the 32-bit signed range.
std::optional<std::int64_t> int32_value(const nlohmann::json& value) {
  if (value.is_number_unsigned()) {
    auto v = value.get<std::uint64_t>();
    if (v <= static_cast<std::uint64_t>(kMaxInt32)) return static_cast<std::int64_t>(v);
    return std::nullopt;
  }
  if (value.is_number_integer()) {
    auto v = value.get<std::int64_t>();
    if (v >= kMinInt32 && v <= kMaxInt32) return v;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ParticipantAnswer> scan_answer(std::string_view text) {
  return Scanner(text).scan();
}

std::optional<ParticipantAnswer> parse_answer_json(std::string_view text, std::string* problem) {
  auto fail = [&](const char* what) -> std::optional<ParticipantAnswer> {
    if (problem != nullptr) *problem = what;
    return std::nullopt;
  };
  std::string not_json;
  auto json = parse_json(text, &not_json);
  if (json.is_discarded() || !json.is_object()) {
    if (problem != nullptr) {
      *problem = (json.is_discarded() ? "the text " + not_json + "; " : std::string()) +
                 "expected an answer object {\"selectedOptionIndexes\":[...],\"answeredInDuration\":N}";
    }
    return std::nullopt;
  }
  ParticipantAnswer answer;
  auto options = json.find("selectedOptionIndexes");
  if (options == json.end() || !options->is_array())
    return fail("expected a list 'selectedOptionIndexes' (null is not a list)");
  answer.options.reserve(options->size());
  for (const auto& option : *options) {
    auto value = int32_value(option);
    if (!value) return fail("expected option indexes that are integers from -2147483648 to 2147483647");
    answer.options.push_back(*value);
  }
  auto duration = json.find("answeredInDuration");
  if (duration == json.end()) return fail("expected a field 'answeredInDuration'");
  auto seconds = int32_value(*duration);
  if (!seconds) return fail("expected 'answeredInDuration' to be whole seconds from -2147483648 to 2147483647");
  answer.answered_in_ns = *seconds * kNanosPerSecond;
  return answer;
}

bool is_unusual(const ParticipantAnswer& answer, std::int64_t question_duration_s) {
  for (auto option : answer.options) {
    if (option < 0) return true;
  }
  return answer.answered_in_ns < 0 || answer.answered_in_ns > (question_duration_s + 1) * kNanosPerSecond;
}

ParticipantAnswer parse_answer(const std::string& key, const std::string& user_id, std::string_view text) {
  auto answer = scan_answer(text);
  std::string problem;
  if (!answer) answer = parse_answer_json(text, &problem);
  if (!answer) {
    throw invalid_data(Stage::kBuild, "key '" + key + "' holds " + printable(text) + ": " + problem, key);
  }
  answer->user_id = user_id;
  return std::move(*answer);
}

}  // namespace qrl::core
