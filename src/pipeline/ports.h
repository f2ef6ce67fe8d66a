#pragma once
// The three stores the pipeline talks to, as small interfaces: the real adapters (Redis, the
// question-set directory, DynamoDB) implement them, and tests put a fake behind one where a
// fault must be forced. Each implementation belongs to one thread.

#include <optional>
#include <string>
#include <vector>

#include "core/keys.h"
#include "core/quiz.h"

namespace qrl::pipeline {

class LiveStore {
 public:
  virtual ~LiveStore() = default;
  // The quiz-level keys (names, times, the lists and the leaderboard); refuses a quiz over
  // the answer cap from the lists' sizes, before reading them.
  virtual core::QuizHeader read_header(const std::string& quiz_id) = 0;
  // The values of `keys`, in order (an empty optional: no such key). A store may stop reading at
  // a missing key and leave the values after it empty: the quiz cannot load then anyway.
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
inline core::LiveQuiz read_whole(LiveStore& store, const std::string& quiz_id) {
  core::LiveQuiz live;
  live.header = store.read_header(quiz_id);
  live.participant_values = store.read_values(core::keys::participant_keys(quiz_id, live.header));
  return live;
}

class QuestionStore {
 public:
  virtual ~QuestionStore() = default;
  // The question set file's text; empty optional when there is no such file.
  virtual std::optional<std::string> read(const std::string& quiz_id) = 0;
  // Deletes the file; no file is not an error.
  virtual void remove(const std::string& quiz_id) = 0;
};

class ItemStore {
 public:
  virtual ~ItemStore() = default;
  // Writes the item (DynamoDB JSON map), durably. kReplace replaces any item with the same id;
  // kOnlyNew writes only if there is none and returns false (nothing written) if there is.
  // `bytes`: its size by DynamoDB's rules where the caller knows it (0: unknown), what the write
  // costs in capacity.
  enum class Write { kReplace, kOnlyNew };
  virtual bool put(const std::string& id, const std::string& item, Write write = Write::kReplace,
                   std::size_t bytes = 0) = 0;
  // The StartTime of the item with this id (strongly consistent), or nullopt when there is no
  // such item. An item without a StartTime gives an empty string.
  virtual std::optional<std::string> start_time(const std::string& id) = 0;
};

}  // namespace qrl::pipeline
