// The question-set file under a fixed, valid quiz: any file either becomes a quiz whose item
// passes check_item, or a permanent core::Error naming the file (or, for an index the file
// does not have, the list of selected indexes). And the two readings of core/question_set.h
// agree: whatever the SAX scan reads, the DOM reading reads the same.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "core/keys.h"
#include "core/question_set.h"
#include "core/transform.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view file(reinterpret_cast<const char*>(data), size);
  qrl::core::QuizHeader header;
  header.name = "quiz";
  header.question_duration = "10";
  header.start_time = "1643273678";
  header.stop_time = "1643273701";
  header.selected_indexes = {"0", "2"};
  header.leaderboard = {{"a1", "35"}};
  std::vector<std::optional<std::string>> values = {
      "user1", "1643273706", R"({"selectedOptionIndexes":[1],"answeredInDuration":8})",
      R"({"selectedOptionIndexes":[],"answeredInDuration":11})"};
  const std::vector<std::size_t> indexes{0, 2};
  if (auto fast = qrl::core::scan_questions(file, indexes)) {
    const std::vector<std::string> texts{"0", "2"};
    try {
      if (qrl::core::read_questions(file, indexes, texts, "qs.json", "k") != *fast) std::abort();
    } catch (const qrl::core::Error&) {
      std::abort();  // the scan read a file the DOM reading refuses
    }
  }
  try {
    auto quiz = qrl::core::build_quiz(qrl::core::QuizId("qs"), header, values, file);
    check_item(quiz);
  } catch (const qrl::core::Error& e) {
    if (e.kind() != qrl::core::FailureKind::kPermanent) std::abort();
    if (e.key() != "qs.json" && e.key() != "qs:selectedQuestionIndexes") std::abort();
  }
  return 0;
}
