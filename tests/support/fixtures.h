#pragma once
// Quizzes the tests load, each in its input forms (Redis commands, question set file) with the
// item it must become. Written for this project; ids are parameters so tests never collide.

#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/quiz.h"
#include "pipeline/ports.h"

namespace qrl::testing {

struct Fixture {
  std::string quiz_id;
  std::vector<std::vector<std::string>> redis;  // commands that write the quiz
  std::string question_file;
  nlohmann::json expected_item;   // DynamoDB JSON
  std::vector<std::string> keys;  // every key the quiz has in Redis
};

// The quiz of the data contract's example: 2 participants, questions 3, 4 and 5 of a set of 9.
Fixture contract_quiz(const std::string& quiz_id = "4b927076");
// Ties broken by user id, a fractional score truncated, a negative one, a user who joined but
// has no score (keys deleted, not loaded), text that needs JSON escaping, a repeated option.
Fixture edge_quiz(const std::string& quiz_id);
// No participants and no selected questions: still a quiz, with empty lists.
Fixture empty_quiz(const std::string& quiz_id);

std::string random_id();

// One to three random edits of `text` (a character inserted, erased or replaced, each from
// `alphabet`): the differential tests' inputs, near a valid text.
void edit_randomly(std::string& text, std::mt19937& rng, std::string_view alphabet);

// Redis in memory, enough for the commands above: a LiveStore for pipeline tests.
class MemoryRedis final : public pipeline::LiveStore {
 public:
  void apply(const std::vector<std::vector<std::string>>& commands);
  core::QuizHeader read_header(const core::QuizId& quiz_id) override;
  std::vector<std::optional<std::string>> read_values(const std::vector<std::string>& keys) override;
  core::LiveQuiz read(std::string_view quiz_id) { return pipeline::read_whole(*this, core::QuizId(quiz_id)); }
  std::vector<bool> exist(const std::vector<std::string>& keys) override;
  void remove(const std::vector<std::string>& keys) override;
  std::size_t keys_per_read() const override { return window; }
  bool contains(const std::string& key) const;
  std::size_t window = 16'000;  // keys a read takes at once
  int value_reads = 0;          // read_values() calls
  int exist_reads = 0;          // exist() calls
  std::size_t size() const;
  std::vector<std::string> keys() const;  // every key, sorted

 private:
  std::map<std::string, std::string> strings_;
  std::map<std::string, std::vector<std::string>> lists_;
  std::map<std::string, std::map<std::string, double>> zsets_;
};

class MemoryQuestions final : public pipeline::QuestionStore {
 public:
  std::map<std::string, std::string> files;
  std::optional<std::string> read(const core::QuizId& quiz_id) override;
  void remove(const core::QuizId& quiz_id) override { files.erase(quiz_id.str()); }
};

class MemoryItems final : public pipeline::ItemStore {
 public:
  std::map<std::string, std::string> items;
  std::vector<std::string> order;  // ids, as they were put
  int puts = 0;
  std::vector<std::string> probed;  // ids whose StartTime was asked, in order
  // put_quiz as DynamoDB's condition decides it: no item, or one with the same Identity.
  Stored put_quiz(const std::string& id, const std::string& item, const Identity& identity,
                  std::size_t bytes = 0) override;
  void put_part(const std::string& id, const std::string& item, std::size_t bytes = 0) override;
  std::optional<std::string> start_time(const std::string& id) override;
  bool exists(const std::string& id) const { return items.count(id) > 0; }
};

}  // namespace qrl::testing
