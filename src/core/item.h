#pragma once
// A Quiz as the DynamoDB item of docs/contract.md, "The item", in DynamoDB JSON: the attribute names
// and shapes the AWS Go SDK's default marshalling gave the replaced loader's structs. The
// pieces (a participant, an answer, a question's own attributes) are exposed for the split
// stored form, which puts the same pieces in several items.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/dynamo_size.h"
#include "core/quiz.h"

namespace qrl::core {

// DynamoDB refuses items over 400 KB, by the rules of core/dynamo_size.h.
inline constexpr std::size_t kMaxItemBytes = dynamo::kMaxItemBytes;

// The item as a DynamoDB JSON map: {"id":{"S":"..."},"Name":{"S":"..."},...}.
std::string encode_item(const Quiz& quiz);

// The item's size by DynamoDB's rules, without encoding it.
std::size_t item_size(const Quiz& quiz);

// The pieces, each with its size by the same rules. A participant and an answer are values
// ({"M":{...}}); the scalars (id, Name, QuestionDuration, StartTime, StopTime) and a question's
// header (Question, Options, CorrectOptions) are attributes, comma-separated, without braces;
// their sizes include the attribute names.
void append_participant(std::string& out, const Participant& participant);
std::size_t participant_size(const Participant& participant);
void append_answer(std::string& out, const ParticipantAnswer& answer);
std::size_t answer_size(const ParticipantAnswer& answer);
void append_question_header(std::string& out, const Question& question);
std::size_t question_header_size(const Question& question);
void append_quiz_scalars(std::string& out, const Quiz& quiz);
std::size_t quiz_scalars_size(const Quiz& quiz);

// Appends `text` as a JSON string literal; a byte that is not UTF-8 becomes U+FFFD.
void append_json_string(std::string& out, std::string_view text);

}  // namespace qrl::core
