#include "core/question_set.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json.h"

namespace qrl::core {

namespace {

using Json = nlohmann::json;

// nlohmann's SAX events for the whole file, kept only where they fall inside a selected entry.
// Every callback answers false (the parse stops, the DOM reading decides) on anything that is not
// the usual shape, including what the DOM reading would accept differently (a field twice: there
// the last one counts).
class SelectedEntries {
 public:
  explicit SelectedEntries(std::span<const std::size_t> indexes) : out_(indexes.size()) {
    wanted_.reserve(indexes.size());
    for (std::size_t slot = 0; slot < indexes.size(); ++slot) wanted_.emplace_back(indexes[slot], slot);
    std::sort(wanted_.begin(), wanted_.end());
  }

  // Whether the parse ended with the array and every selected entry found.
  bool complete() const { return where_ == Where::kDone && next_ == wanted_.size(); }
  std::vector<QuestionEntry> take() { return std::move(out_); }

  bool null() { return other(); }
  bool boolean(bool) { return other(); }
  bool number_float(Json::number_float_t, const Json::string_t&) { return other(); }
  bool binary(Json::binary_t&) { return false; }
  bool number_integer(Json::number_integer_t value) { return integer(value); }
  bool number_unsigned(Json::number_unsigned_t value) {
    if (value > static_cast<Json::number_unsigned_t>(std::numeric_limits<std::int64_t>::max()))
      return other();
    return integer(static_cast<std::int64_t>(value));
  }
  bool string(Json::string_t& value) {
    if (skip_ > 0) return true;
    if (where_ == Where::kEntry && field_ == Field::kQuestion) {
      entry_.text = std::move(value);
      return true;
    }
    if (where_ == Where::kOptions) {
      entry_.options.push_back(std::move(value));
      return true;
    }
    return other();
  }
  bool key(Json::string_t& name) {
    if (skip_ > 0) return true;
    field_ = name == "question"  ? Field::kQuestion
             : name == "options" ? Field::kOptions
             : name == "answers" ? Field::kAnswers
                                 : Field::kOther;
    if (field_ == Field::kOther) return true;
    const auto bit = 1u << static_cast<unsigned>(field_);
    if ((seen_ & bit) != 0) return false;
    seen_ |= bit;
    return true;
  }
  bool start_object(std::size_t) {
    if (skip_ > 0) return ++skip_, true;
    if (where_ == Where::kSet) {
      if (!next_selected()) return skip_ = 1, true;
      where_ = Where::kEntry;
      entry_ = {};
      entry_.index = wanted_[next_].first;
      seen_ = 0;
      return true;
    }
    if (where_ == Where::kEntry && field_ == Field::kOther) return skip_ = 1, true;
    return false;
  }
  bool end_object() {
    if (skip_ > 0) return --skip_, true;
    if (where_ != Where::kEntry || seen_ != kAllFields) return false;
    where_ = Where::kSet;
    store();
    return true;
  }
  bool start_array(std::size_t) {
    if (skip_ > 0) return ++skip_, true;
    switch (where_) {
      case Where::kTop: where_ = Where::kSet; return true;
      case Where::kSet:
        if (next_selected()) return false;  // a selected entry that is not an object
        return skip_ = 1, true;
      case Where::kEntry:
        if (field_ == Field::kOptions) return where_ = Where::kOptions, true;
        if (field_ == Field::kAnswers) return where_ = Where::kAnswers, true;
        if (field_ == Field::kOther) return skip_ = 1, true;
        return false;
      default: return false;
    }
  }
  bool end_array() {
    if (skip_ > 0) return --skip_, true;
    if (where_ == Where::kOptions || where_ == Where::kAnswers) return where_ = Where::kEntry, true;
    if (where_ == Where::kSet) return where_ = Where::kDone, true;
    return false;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

 private:
  enum class Where { kTop, kSet, kEntry, kOptions, kAnswers, kDone };
  enum class Field : unsigned { kQuestion, kOptions, kAnswers, kOther };
  static constexpr unsigned kAllFields = 0b111;

  // A value that is no container, a string or an answer: ignored in an unselected entry and in a
  // member not read, the usual shape nowhere else.
  bool other() {
    if (skip_ > 0) return true;
    if (where_ == Where::kSet) return !next_selected();
    return where_ == Where::kEntry && field_ == Field::kOther;
  }
  bool integer(std::int64_t value) {
    if (skip_ > 0) return true;
    if (where_ != Where::kAnswers) return other();
    entry_.answers.push_back(value);
    return true;
  }
  // Counts the set's next entry, and says whether a quiz selected it.
  bool next_selected() {
    const std::size_t index = count_++;
    return next_ < wanted_.size() && wanted_[next_].first == index;
  }
  // The finished entry into each slot that selected it.
  void store() {
    const std::size_t index = wanted_[next_].first;
    std::size_t last = next_;
    while (last + 1 < wanted_.size() && wanted_[last + 1].first == index) ++last;
    for (; next_ < last; ++next_) out_[wanted_[next_].second] = entry_;
    out_[wanted_[next_++].second] = std::move(entry_);
  }

  std::vector<std::pair<std::size_t, std::size_t>> wanted_;  // (index, slot), by index
  std::size_t next_ = 0;                                     // the first of wanted_ not yet found
  std::size_t count_ = 0;                                    // the set's entries so far
  std::vector<QuestionEntry> out_;
  Where where_ = Where::kTop;
  Field field_ = Field::kOther;
  unsigned seen_ = 0;
  std::size_t skip_ = 0;  // the depth inside a value that is passed over
  QuestionEntry entry_;
};

QuestionEntry parse_question(const Json& entry, std::size_t index, const std::string& file) {
  std::string where = file + " question " + std::to_string(index);
  auto fail = [&](std::string_view what) {
    return invalid_data(Stage::kBuild, "question set " + where + ": " + std::string(what), file);
  };
  if (!entry.is_object()) throw fail("is not an object");
  QuestionEntry out;
  out.index = index;
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
    // The upload service keeps any Go int (64 bits): stored as written. Unsigned values past
    // the signed range would wrap, so they are refused.
    bool ok = (answer.is_number_unsigned() &&
               answer.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX)) ||
              (answer.is_number_integer() && !answer.is_number_unsigned());
    if (!ok) throw fail("field 'answers' holds a value that is not a 64-bit signed integer");
    out.answers.push_back(answer.get<std::int64_t>());
  }
  return out;
}

}  // namespace

std::optional<std::vector<QuestionEntry>> scan_questions(std::string_view file,
                                                         std::span<const std::size_t> indexes) {
  if (file.find('\0') != std::string_view::npos) return std::nullopt;
  SelectedEntries entries(indexes);
  if (!Json::sax_parse(file.begin(), file.end(), &entries) || !entries.complete()) return std::nullopt;
  return entries.take();
}

std::vector<QuestionEntry> read_questions(std::string_view file, std::span<const std::size_t> indexes,
                                          std::span<const std::string> index_texts,
                                          const std::string& file_name, const std::string& indexes_key) {
  std::string not_json;
  auto questions = parse_json(file, &not_json);
  if (questions.is_discarded() || !questions.is_array()) {
    throw invalid_data(Stage::kBuild,
                       "question set " + file_name + " is not a JSON array" +
                           (questions.is_discarded() ? " (it " + not_json + ")" : ""),
                       file_name);
  }
  std::vector<QuestionEntry> out;
  out.reserve(indexes.size());
  for (std::size_t i = 0; i < indexes.size(); ++i) {
    if (indexes[i] >= questions.size()) {
      throw invalid_data(Stage::kBuild,
                         "question index " + index_texts[i] + " in key '" + indexes_key +
                             "' is outside question set " + file_name + " of " +
                             std::to_string(questions.size()) + " questions",
                         indexes_key);
    }
    out.push_back(parse_question(questions[indexes[i]], indexes[i], file_name));
  }
  return out;
}

std::vector<QuestionEntry> select_questions(std::string_view file, std::span<const std::string> index_texts,
                                            const std::string& file_name, const std::string& indexes_key) {
  std::vector<std::size_t> indexes;
  indexes.reserve(index_texts.size());
  for (const auto& text : index_texts) indexes.push_back(static_cast<std::size_t>(std::stoll(text)));
  if (auto entries = scan_questions(file, indexes)) return std::move(*entries);
  return read_questions(file, indexes, index_texts, file_name, indexes_key);
}

}  // namespace qrl::core
