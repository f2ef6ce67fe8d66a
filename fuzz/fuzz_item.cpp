// The item encoder on quizzes of any shape and any bytes in their strings.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>

#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  auto text = [&] { return in.ConsumeRandomLengthString(64); };
  auto number = [&] { return in.ConsumeIntegral<std::int64_t>(); };
  qrl::core::Quiz quiz;
  quiz.id = text();
  quiz.name = text();
  quiz.question_duration_ns = number();
  quiz.start_time = text();
  quiz.stop_time = text();
  for (int q = in.ConsumeIntegralInRange(0, 4); q > 0; --q) {
    qrl::core::Question question;
    question.text = text();
    for (int o = in.ConsumeIntegralInRange(0, 4); o > 0; --o) question.options.push_back(text());
    for (int c = in.ConsumeIntegralInRange(0, 3); c > 0; --c) question.correct_options.push_back(number());
    for (int a = in.ConsumeIntegralInRange(0, 4); a > 0; --a) {
      qrl::core::ParticipantAnswer answer{text(), {}, number()};
      for (int o = in.ConsumeIntegralInRange(0, 3); o > 0; --o) answer.options.push_back(number());
      question.answers.push_back(answer);
    }
    quiz.questions.push_back(question);
  }
  for (int p = in.ConsumeIntegralInRange(0, 4); p > 0; --p)
    quiz.participants.push_back({text(), text(), number(), text()});
  check_item(quiz);
  return 0;
}
