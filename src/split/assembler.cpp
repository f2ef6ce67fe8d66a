#include "split/assembler.h"

#include <stdexcept>
#include <string_view>

#include "core/dynamo_size.h"
#include "core/error.h"

namespace qrl::split {

namespace {

using core::dynamo::kContainer;
using core::dynamo::kEntry;
using core::dynamo::number_size;
using core::dynamo::string_size;

constexpr std::size_t name(std::string_view n) {
  return n.size();
}

void append_s(std::string& out, std::string_view attribute, std::string_view value) {
  core::append_json_string(out, attribute);
  out += ":{\"S\":";
  core::append_json_string(out, value);
  out += '}';
}

void append_n(std::string& out, std::string_view attribute, std::size_t value) {
  core::append_json_string(out, attribute);
  out += ":{\"N\":\"" + std::to_string(value) + "\"}";
}

}  // namespace

std::string part_id(const std::string& quiz_id, std::size_t n) {
  return quiz_id + "#" + std::to_string(n);
}

StoredItem stored_as(StoredItem item, const std::string& id) {
  // core::encode_item writes the id first: {"id":{"S":"<id>"},...
  std::string from = "{";
  append_s(from, "id", item.id);
  if (item.json.compare(0, from.size(), from) != 0)
    throw std::logic_error("stored_as: item '" + item.id + "' does not begin with its id");
  std::string to = "{";
  append_s(to, "id", id);
  item.json.replace(0, from.size(), to);
  item.size = item.size - item.id.size() + id.size();
  item.id = id;
  return item;
}

Assembler::Assembler(const core::Quiz& quiz, Sink sink, std::size_t limit)
    : quiz_(quiz), sink_(std::move(sink)), limit_(limit), answers_(quiz.questions.size()) {
  // The single item without answers; each answer adds its element.
  single_size_ = core::item_size(quiz_);
  if (single_size_ > limit_) split();
}

void Assembler::add(std::size_t question, core::ParticipantAnswer answer) {
  if (!split_) {
    single_size_ += kEntry + core::answer_size(answer);
    answers_.at(question).push_back(std::move(answer));
    if (single_size_ > limit_) split();
    return;
  }
  while (question_ < question + 1) begin_question(question_);
  add_answer(answer);
}

void Assembler::split() {
  split_ = true;
  open_part();
  for (const auto& participant : quiz_.participants) add_participant(participant);
  auto held = std::move(answers_);
  answers_.clear();
  for (std::size_t q = 0; q < held.size(); ++q) {
    if (held[q].empty()) continue;
    while (question_ < q + 1) begin_question(question_);
    for (const auto& answer : held[q]) add_answer(answer);
  }
}

void Assembler::open_part() {
  const auto n = part_ids_.size() + 1;
  const auto id = part_id(quiz_.id, n);
  json_.clear();
  json_ += '{';
  append_s(json_, "id", id);
  json_ += ',';
  append_s(json_, "PartOf", quiz_.id);
  json_ += ',';
  append_n(json_, "Part", n);
  size_ = name("id") + string_size(id) + name("PartOf") + string_size(quiz_.id) + name("Part") +
          number_size(static_cast<std::int64_t>(n));
  has_content_ = participants_open_ = questions_open_ = fragment_open_ = false;
}

void Assembler::close_lists() {
  if (fragment_open_) json_ += "]}}}";
  if (participants_open_ || questions_open_) json_ += "]}";
  fragment_open_ = participants_open_ = questions_open_ = false;
}

void Assembler::flush() {
  close_lists();
  json_ += '}';
  StoredItem item{part_id(quiz_.id, part_ids_.size() + 1), std::move(json_), size_};
  part_ids_.push_back(item.id);
  parts_size_ += item.size;
  sink_(std::move(item));
  open_part();
}

void Assembler::make_room(std::size_t cost, const std::function<std::size_t()>& cost_in_new_part,
                          const std::string& what) {
  if (fits(cost)) return;
  if (has_content_) {
    flush();
    if (fits(cost_in_new_part())) return;
  }
  throw core::invalid_data(core::Stage::kBuild,
                           "quiz '" + quiz_.id + "': " + what + " is too big for any DynamoDB item (" +
                               std::to_string(cost_in_new_part()) +
                               " bytes with the item's own attributes, over DynamoDB's limit of " +
                               std::to_string(limit_) + ")");
}

void Assembler::add_participant(const core::Participant& participant) {
  const auto element = kEntry + core::participant_size(participant);
  auto cost = [&] { return (participants_open_ ? 0 : name("Participants") + kContainer) + element; };
  make_room(cost(), cost, "participant '" + participant.user_id + "'");
  size_ += cost();
  if (!participants_open_) {
    json_ += ",\"Participants\":{\"L\":[";
    participants_open_ = true;
  } else {
    json_ += ',';
  }
  core::append_participant(json_, participant);
  has_content_ = true;
}

std::size_t Assembler::fragment_cost(std::size_t question, bool header) const {
  std::size_t cost = questions_open_ ? 0 : name("Questions") + kContainer;
  cost += kEntry + kContainer + kEntry * (header ? 5 : 2) + name("Index") +
          number_size(static_cast<std::int64_t>(question)) + name("ParticipantAnswers") + kContainer;
  if (header) cost += core::question_header_size(quiz_.questions[question]);
  return cost;
}

void Assembler::open_fragment(std::size_t question, bool header) {
  if (fragment_open_) {
    json_ += "]}}},";
  } else if (questions_open_) {
    json_ += ',';
  } else {
    if (participants_open_) json_ += "]}";
    participants_open_ = false;
    json_ += ",\"Questions\":{\"L\":[";
  }
  size_ += fragment_cost(question, header);
  questions_open_ = true;
  json_ += "{\"M\":{";
  append_n(json_, "Index", question);
  if (header) {
    json_ += ',';
    core::append_question_header(json_, quiz_.questions[question]);
  }
  json_ += ",\"ParticipantAnswers\":{\"L\":[";
  fragment_open_ = true;
  fragment_empty_ = true;
  has_content_ = true;
}

void Assembler::begin_question(std::size_t question) {
  auto cost = [&] { return fragment_cost(question, true); };
  make_room(cost(), cost, "question " + std::to_string(question) + " (its text, options and answers)");
  open_fragment(question, true);
  question_ = question + 1;
}

void Assembler::add_answer(const core::ParticipantAnswer& answer) {
  const auto element = kEntry + core::answer_size(answer);
  const std::size_t question = question_ - 1;
  auto cost = [&] { return (fragment_open_ ? 0 : fragment_cost(question, false)) + element; };
  make_room(cost(), cost, "the answer of '" + answer.user_id + "' to question " + std::to_string(question));
  if (!fragment_open_) open_fragment(question, false);
  if (!fragment_empty_) json_ += ',';
  core::append_answer(json_, answer);
  size_ += element;
  fragment_empty_ = false;
}

StoredItem Assembler::finish() {
  if (!split_) {
    core::Quiz whole = quiz_;
    for (std::size_t q = 0; q < whole.questions.size(); ++q)
      whole.questions[q].answers = std::move(answers_[q]);
    answers_.clear();
    return {quiz_.id, core::encode_item(whole), single_size_};
  }
  while (question_ < quiz_.questions.size()) begin_question(question_);
  if (has_content_) flush();

  // The head: the scalars, and where the rest is.
  StoredItem head{quiz_.id, "{", 0};
  core::append_quiz_scalars(head.json, quiz_);
  head.json += ",\"Split\":{\"M\":{\"Parts\":{\"L\":[";
  std::size_t parts = name("Parts") + kContainer;
  for (std::size_t i = 0; i < part_ids_.size(); ++i) {
    if (i > 0) head.json += ',';
    head.json += "{\"S\":";
    core::append_json_string(head.json, part_ids_[i]);
    head.json += '}';
    parts += kEntry + string_size(part_ids_[i]);
  }
  head.json += "]},";
  append_n(head.json, "ParticipantCount", quiz_.participants.size());
  head.json += ',';
  append_n(head.json, "QuestionCount", quiz_.questions.size());
  head.json += "}}}";
  head.size = core::quiz_scalars_size(quiz_) + name("Split") + kContainer + 3 * kEntry + parts +
              name("ParticipantCount") + number_size(static_cast<std::int64_t>(quiz_.participants.size())) +
              name("QuestionCount") + number_size(static_cast<std::int64_t>(quiz_.questions.size()));
  if (head.size > limit_) {
    // Only the scalars cannot be split: in practice, a name of hundreds of kilobytes.
    throw core::invalid_data(core::Stage::kBuild,
                             "quiz '" + quiz_.id + "': the item holding its name (" +
                                 std::to_string(quiz_.name.size()) + " bytes) and times is " +
                                 std::to_string(head.size) + " bytes, over DynamoDB's limit of " +
                                 std::to_string(limit_),
                             quiz_.id + ":quizName");
  }
  return head;
}

}  // namespace qrl::split
