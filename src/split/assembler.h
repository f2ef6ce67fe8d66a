#pragma once
// The stored form of a quiz of any size (docs/contract.md, "The split form"). A quiz whose
// item fits in 400 KB is stored as that one item, byte for byte as before. One that does not
// is stored as continuation items (`<quiz id>#1`, `#2`, ...), each holding runs of the
// Participants list and fragments of the Questions list, then a head item (id = the quiz id)
// with the quiz's scalars and a `Split` map naming the continuation items. The head is written
// last, so its existence still means "loaded".
//
// The Assembler is pure: it is fed the quiz's answers as they are read and hands each full
// continuation item to a sink, so memory holds one item at a time, not the quiz.

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "core/item.h"
#include "core/quiz.h"

namespace qrl::split {

// One item to store: its id, its DynamoDB JSON map, and its size by DynamoDB's rules.
struct StoredItem {
  std::string id;
  std::string json;
  std::size_t size = 0;
};

// Writes one continuation item durably (or throws).
using Sink = std::function<void(StoredItem)>;

// `<quiz id>#<n>`: '#' is never in a quiz id, so no continuation id is ever a quiz's.
std::string part_id(const std::string& quiz_id, std::size_t n);

// A single item (not a split head, whose parts are named after its id) stored under `id`
// instead: a quiz whose id an older quiz holds goes beside it (core::reused_id).
StoredItem stored_as(StoredItem item, const std::string& id);

class Assembler {
 public:
  // `quiz` has its scalars, its questions (without answers) and its participants, and outlives
  // the Assembler; its answers come through add(), question by question, each in
  // Participants order.
  Assembler(const core::Quiz& quiz, Sink sink, std::size_t limit = core::kMaxItemBytes);

  void add(std::size_t question, core::ParticipantAnswer answer);

  // The item with id = the quiz id: the single item when the quiz fits, else the head, to be
  // written after every continuation item the sink was given.
  StoredItem finish();

  // Continuation items given to the sink so far, and their total size.
  std::size_t parts() const noexcept { return part_ids_.size(); }
  std::size_t parts_size() const noexcept { return parts_size_; }

 private:
  void split();
  void open_part();
  void flush();
  bool fits(std::size_t cost) const noexcept { return size_ + cost <= limit_; }
  // Makes room for `cost` more bytes, starting a new item if this one has any content.
  void make_room(std::size_t cost, const std::function<std::size_t()>& cost_in_new_part,
                 const std::string& what);
  void add_participant(const core::Participant& participant);
  void begin_question(std::size_t question);
  void add_answer(const core::ParticipantAnswer& answer);
  std::size_t fragment_cost(std::size_t question, bool header) const;
  void open_fragment(std::size_t question, bool header);
  void close_lists();

  const core::Quiz& quiz_;
  Sink sink_;
  std::size_t limit_;

  // Until the quiz outgrows one item: its answers, and the single item's size.
  bool split_ = false;
  std::vector<std::vector<core::ParticipantAnswer>> answers_;
  std::size_t single_size_ = 0;

  // Once split: the continuation item being filled.
  std::vector<std::string> part_ids_;
  std::size_t parts_size_ = 0;
  std::string json_;
  std::size_t size_ = 0;
  bool has_content_ = false;
  bool participants_open_ = false;  // the Participants list is open in json_
  bool questions_open_ = false;     // the Questions list is open
  bool fragment_open_ = false;      // a question fragment's ParticipantAnswers list is open
  bool fragment_empty_ = true;      // ... and has no answer yet
  std::size_t question_ = 0;        // questions begun so far (the open one is question_ - 1)
};

}  // namespace qrl::split
