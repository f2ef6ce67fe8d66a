#include "core/item.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/dynamo_size.h"
#include "core/error.h"
#include "core/ids.h"
#include "core/utf8.h"

namespace qrl::core {

using namespace std::string_view_literals;

namespace {

// An integer's decimal digits, without a temporary string.
void append_integer(std::string& out, std::int64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, static_cast<std::size_t>(end - digits));
}

// Writes DynamoDB JSON by hand: the shape is fixed, and a 20 x 10 quiz is ~27 KB, so going
// through a DOM would double the loader's CPU per quiz for nothing.
class Writer {
 public:
  explicit Writer(std::string& out, bool first = true) : out_(out), first_(first) {}

  void s(std::string_view name, std::string_view value) {
    key(name);
    string_value(value);
  }
  void n(std::string_view name, std::int64_t value) {
    key(name);
    number(value);
  }
  void number(std::int64_t value) {
    out_ += "{\"N\":\""sv;
    append_integer(out_, value);
    out_ += "\"}"sv;
  }
  void string_value(std::string_view value) {
    out_ += "{\"S\":"sv;
    append_json_string(out_, value);
    out_ += '}';
  }
  // `name` is one of this file's attribute names: plain ASCII that needs no escaping.
  void key(std::string_view name) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += name;
    out_ += "\":"sv;
  }
  void open_map() {
    out_ += "{\"M\":{"sv;
    first_ = true;
  }
  void close_map() {
    out_ += "}}"sv;
    first_ = false;
  }
  void open_list(std::string_view name) {
    key(name);
    out_ += "{\"L\":["sv;
    first_ = true;
  }
  void close_list() {
    out_ += "]}"sv;
    first_ = false;
  }
  void element() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  template <typename T, typename F>
  void list(std::string_view name, const T& items, F&& each) {
    open_list(name);
    for (const auto& item : items) {
      element();
      each(item);
      first_ = false;
    }
    close_list();
  }
  void numbers(std::string_view name, const std::vector<std::int64_t>& values) {
    list(name, values, [&](std::int64_t v) { number(v); });
  }

 private:
  std::string& out_;
  bool first_;
};

using dynamo::kContainer;
using dynamo::kEntry;
using dynamo::number_size;
using dynamo::string_size;

std::size_t numbers_size(const std::vector<std::int64_t>& values) {
  std::size_t size = kContainer;
  for (auto v : values) size += kEntry + number_size(v);
  return size;
}

// A map of `entries` attributes, before their names and values.
constexpr std::size_t map_overhead(std::size_t entries) {
  return kContainer + entries * kEntry;
}

std::size_t str(std::string_view name, std::string_view value) {
  return name.size() + string_size(value);
}
std::size_t num(std::string_view name, std::int64_t value) {
  return name.size() + number_size(value);
}

constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;

// Whether some byte of `word` is below `n` (n at most 0x80), eight bytes at a time.
constexpr bool has_byte_below(std::uint64_t word, std::uint64_t n) {
  return ((word - kOnes * n) & ~word & kHighBits) != 0;
}
constexpr bool has_byte(std::uint64_t word, unsigned char c) {
  return has_byte_below(word ^ (kOnes * c), 1);
}

// Whether any of the eight bytes of `word` needs a look of its own: a control character, '"',
// '\\', or a byte of a multi-byte UTF-8 sequence. Most text has none, so it is copied in runs.
constexpr bool needs_look(std::uint64_t word) {
  return (word & kHighBits) != 0 || has_byte_below(word, 0x20) || has_byte(word, '"') || has_byte(word, '\\');
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the current run of characters that need no escaping
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (std::uint64_t word = 0; i + sizeof word <= text.size()) {
      std::memcpy(&word, text.data() + i, sizeof word);
      if (!needs_look(word)) {
        i += sizeof word - 1;
        continue;
      }
    }
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      // The body must be valid JSON text: a byte that is not UTF-8 becomes U+FFFD (the
      // transform has already replaced them and said so; this is the last line).
      auto n = utf8_sequence_length(text, i);
      if (n > 0) {
        i += n - 1;
        continue;
      }
      out.append(text.data() + run, i - run);
      run = i + 1;
      out += "\xef\xbf\xbd"sv;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""sv; break;
      case '\\': out += "\\\\"sv; break;
      case '\n': out += "\\n"sv; break;
      case '\r': out += "\\r"sv; break;
      case '\t': out += "\\t"sv; break;
      default:
        out += "\\u00"sv;
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
    }
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
}

void append_participant(std::string& out, const Participant& p) {
  Writer w(out);
  w.open_map();
  w.s("UserId", p.user_id);
  w.s("Name", p.name);
  w.n("Score", p.score);
  w.s("StopTime", p.stop_time);
  w.close_map();
}

std::size_t participant_size(const Participant& p) {
  return map_overhead(4) + str("UserId", p.user_id) + str("Name", p.name) + num("Score", p.score) +
         str("StopTime", p.stop_time);
}

// What the Writer would write, in as few appends as it can be: a quiz has participants x questions
// of these, and they are most of the item.
void append_answer(std::string& out, const ParticipantAnswer& a) {
  out += R"({"M":{"UserId":{"S":)"sv;
  append_json_string(out, a.user_id);
  out += R"(},"ParticipantOptions":{"L":[)"sv;
  for (std::size_t i = 0; i < a.options.size(); ++i) {
    out += i == 0 ? R"({"N":")"sv : R"(,{"N":")"sv;
    append_integer(out, a.options[i]);
    out += R"("})"sv;
  }
  out += R"(]},"AnsweredInDuration":{"N":")"sv;
  append_integer(out, a.answered_in_ns);
  out += R"("}}})"sv;
}

std::size_t answer_size(const ParticipantAnswer& a) {
  return map_overhead(3) + str("UserId", a.user_id) + std::string_view("ParticipantOptions").size() +
         numbers_size(a.options) + num("AnsweredInDuration", a.answered_in_ns);
}

void append_question_header(std::string& out, const Question& q) {
  Writer w(out);
  w.s("Question", q.text);
  w.list("Options", q.options, [&](const std::string& o) { w.string_value(o); });
  w.numbers("CorrectOptions", q.correct_options);
}

std::size_t question_header_size(const Question& q) {
  std::size_t size = str("Question", q.text) + std::string_view("Options").size() + kContainer;
  for (const auto& o : q.options) size += kEntry + string_size(o);
  return size + std::string_view("CorrectOptions").size() + numbers_size(q.correct_options);
}

void append_quiz_scalars(std::string& out, const Quiz& quiz) {
  Writer w(out);
  w.s("id", quiz.id);
  w.s("Name", quiz.name);
  w.n("QuestionDuration", quiz.question_duration_ns);
  w.s("StartTime", quiz.start_time);
  w.s("StopTime", quiz.stop_time);
}

std::size_t quiz_scalars_size(const Quiz& quiz) {
  return str("id", quiz.id) + str("Name", quiz.name) + num("QuestionDuration", quiz.question_duration_ns) +
         str("StartTime", quiz.start_time) + str("StopTime", quiz.stop_time);
}

std::string encode_item(const Quiz& quiz) {
  std::string out;
  out.reserve(1024 + quiz.questions.size() * (256 + quiz.participants.size() * 140) +
              quiz.participants.size() * 160);
  out += '{';
  append_quiz_scalars(out, quiz);
  Writer w(out, /*first=*/false);  // after the scalars
  w.list("Questions", quiz.questions, [&](const Question& q) {
    out += "{\"M\":{"sv;
    append_question_header(out, q);
    out += ",\"ParticipantAnswers\":{\"L\":["sv;
    for (std::size_t i = 0; i < q.answers.size(); ++i) {
      if (i > 0) out += ',';
      append_answer(out, q.answers[i]);
    }
    out += "]}}}"sv;
  });
  w.list("Participants", quiz.participants, [&](const Participant& p) { append_participant(out, p); });
  out += '}';
  return out;
}

std::size_t item_size(const Quiz& quiz) {
  std::size_t size = quiz_scalars_size(quiz) + std::string_view("Questions").size() + kContainer;
  for (const auto& q : quiz.questions) {
    size += kEntry + map_overhead(4) + question_header_size(q) +
            std::string_view("ParticipantAnswers").size() + kContainer;
    for (const auto& a : q.answers) size += kEntry + answer_size(a);
  }
  size += std::string_view("Participants").size() + kContainer;
  for (const auto& p : quiz.participants) size += kEntry + participant_size(p);
  return size;
}

}  // namespace qrl::core
