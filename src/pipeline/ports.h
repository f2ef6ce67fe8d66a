#pragma once
// The stores the use cases talk to, as small interfaces: the real adapters (Redis, the
// question-set directory, DynamoDB) implement them, and tests put a fake behind one where a
// fault must be forced. Each implementation belongs to one thread.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/ids.h"
#include "core/keys.h"
#include "core/quiz.h"

namespace qrl::pipeline {

class LiveStore {
 public:
  virtual ~LiveStore() = default;
  // The quiz-level keys (names, times, the lists and the leaderboard); refuses a quiz over
  // the answer cap from the lists' sizes, before reading them.
  virtual core::QuizHeader read_header(const core::QuizId& quiz_id) = 0;
  // The values of `keys`, in order (an empty optional: no such key, or a key of another type). A
  // store may stop after a round trip that met a missing key and leave the values of later round
  // trips empty, but reads every key of a call of at most keys_per_read() keys: the roster is
  // taken from those (pipeline.cpp, members()).
  virtual std::vector<std::optional<std::string>> read_values(const std::vector<std::string>& keys) = 0;
  // Whether each of `keys` exists, in order.
  virtual std::vector<bool> exist(const std::vector<std::string>& keys) = 0;
  // How many keys read_values() reads, or remove() deletes, best at once (one round trip).
  virtual std::size_t keys_per_read() const { return 16'000; }
  // Deletes the keys in the order given, in round trips of keys_per_read(), the last ones last.
  virtual void remove(const std::vector<std::string>& keys) = 0;
};

// Everything at once, in keys::participant_keys' layout: for tests and benchmarks (memory
// grows with the quiz; the pipeline streams instead).
inline core::LiveQuiz read_whole(LiveStore& store, const core::QuizId& quiz_id) {
  core::LiveQuiz live;
  live.header = store.read_header(quiz_id);
  live.participant_values = store.read_values(core::keys::participant_keys(quiz_id, live.header));
  return live;
}

class QuestionStore {
 public:
  virtual ~QuestionStore() = default;
  // The question set file's text; empty optional when there is no such file.
  virtual std::optional<std::string> read(const core::QuizId& quiz_id) = 0;
  // Deletes the file; no file is not an error.
  virtual void remove(const core::QuizId& quiz_id) = 0;
};

class ItemStore {
 public:
  virtual ~ItemStore() = default;
  // What storing a quiz's own item found under its id.
  enum class Stored {
    kNew,       // no item: the quiz's item is written
    kSameQuiz,  // the same quiz's item: written again, the same content
    kRefused,   // another item: another quiz's (a reused id), or this quiz's with other
                // participants (read while its sources were being deleted); nothing written
  };
  // What tells a quiz's item apart: its StartTime (as the item has it) and how many
  // participants it holds (the Participants list, or a split head's Split.ParticipantCount). A
  // reread of the same quiz while another loader deletes its sources loses participants (their
  // answers look missing, as a late joiner's): it must never replace the whole item.
  struct Identity {
    std::string start_time;
    std::size_t participants = 0;
  };
  // The item of a quiz (its single item, or the head of a split quiz), durably, in one
  // conditional request: written only where there is no item, or the same quiz's (the same
  // Identity). `bytes`: its size by DynamoDB's rules, what the write costs in capacity.
  virtual Stored put_quiz(const std::string& id, const std::string& item, const Identity& identity,
                          std::size_t bytes) = 0;
  // A continuation item of a split quiz, durably, over whatever is stored under its id.
  virtual void put_part(const std::string& id, const std::string& item, std::size_t bytes) = 0;
  // The StartTime of the item with this id (strongly consistent), or nullopt when there is no
  // such item. An item without a StartTime gives an empty string. DynamoDB charges the whole
  // item's size for it: the pipeline asks only on unusual paths.
  virtual std::optional<std::string> start_time(const std::string& id) = 0;
  // The capacity units the last call consumed, as the table answered; empty when it did not say.
  virtual std::optional<double> last_consumed() const { return std::nullopt; }
};

// The part of Redis the sweep walks: the keyspace, a page at a time, and how long keys have
// been idle.
class KeySpace {
 public:
  virtual ~KeySpace() = default;
  struct Page {
    std::string cursor;  // "0": the walk is over
    std::vector<std::string> keys;
  };
  virtual Page scan(const std::string& cursor, std::size_t count) = 0;
  // The smallest OBJECT IDLETIME of `keys` (the most recent use of any), in seconds; empty if
  // none of them exists.
  virtual std::optional<std::int64_t> idle_seconds(const std::vector<std::string>& keys) = 0;
};

}  // namespace qrl::pipeline
