#pragma once
// The three stores the pipeline talks to, as small interfaces: the real adapters (Redis, the
// question-set directory, DynamoDB) implement them, and tests put a fake behind one where a
// fault must be forced. Each implementation belongs to one thread.

#include <optional>
#include <string>
#include <vector>

#include "core/quiz.h"

namespace qrl::pipeline {

class LiveStore {
 public:
  virtual ~LiveStore() = default;
  // Everything Redis holds for the quiz, in a fixed number of round trips.
  virtual core::LiveQuiz read(const std::string& quiz_id) = 0;
  // Deletes the keys in the order given (keys::source_keys puts the quiz-level keys last), at
  // most a few round trips; a crash part-way leaves the last ones.
  virtual void remove(const std::vector<std::string>& keys) = 0;
};

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
  // Writes the item (DynamoDB JSON map), durably, replacing any item with the same id.
  virtual void put(const std::string& quiz_id, const std::string& item) = 0;
  // Whether an item with this id exists (strongly consistent).
  virtual bool exists(const std::string& quiz_id) = 0;
};

}  // namespace qrl::pipeline
