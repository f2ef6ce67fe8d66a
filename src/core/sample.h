#pragma once
// Sample quizzes as the quiz servers would leave them: the Redis commands that write one, its
// question set file and its event. Used by `seed`, the benchmark and the tests. Pure: the
// random source is a seed.

#include <cstdint>
#include <string>
#include <vector>

namespace qrl::core {

struct SampleQuiz {
  std::string id;
  std::vector<std::vector<std::string>> redis_commands;  // e.g. {"SET", "q:quizName", "x"}
  std::string question_file;                             // JSON array
};

struct SampleShape {
  int participants = 20;
  int questions = 10;
};

// `n` selects the quiz; the same (seed, n) always gives the same quiz. Ids are 8 hex digits.
SampleQuiz make_sample_quiz(std::uint64_t seed, std::uint64_t n, SampleShape shape);

}  // namespace qrl::core
