// The whole transform: Redis values and a question file, all from the fuzzer, shaped like a
// quiz (so the fuzzer spends its time past the first checks). Either a permanent core::Error
// or a quiz whose item passes check_item.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>

#include "core/error.h"
#include "core/keys.h"
#include "core/transform.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  auto maybe = [&]() -> std::optional<std::string> {
    if (in.ConsumeIntegralInRange(0, 15) == 0) return std::nullopt;
    return in.ConsumeRandomLengthString(40);
  };
  qrl::core::QuizHeader header;
  header.name = maybe();
  header.question_duration = maybe();
  header.start_time = maybe();
  header.stop_time = maybe();
  for (int q = in.ConsumeIntegralInRange(0, 3); q > 0; --q)
    header.selected_indexes.push_back(std::to_string(in.ConsumeIntegralInRange(-1, 4)));
  for (int p = in.ConsumeIntegralInRange(0, 3); p > 0; --p)
    header.leaderboard.emplace_back("u" + std::to_string(p), in.ConsumeRandomLengthString(12));
  const std::string id = "fz";
  std::vector<std::optional<std::string>> values;
  try {
    auto keys = qrl::core::keys::participant_keys(id, header);
    for (std::size_t i = 0; i < keys.size(); ++i) values.push_back(maybe());
  } catch (const qrl::core::Error&) {
    return 0;
  }
  auto file = in.ConsumeRemainingBytesAsString();
  try {
    auto quiz = qrl::core::build_quiz(qrl::core::QuizId(id), header, values, file);
    check_item(quiz);
  } catch (const qrl::core::Error& e) {
    // Bad data is permanent; the one transient answer is a member still finishing (every
    // answer, no stop time), which names that stop time's key.
    const bool finishing = e.code() == qrl::core::Code::kFinishing && e.kind() == qrl::core::FailureKind::kTransient &&
                           e.key().ends_with(":stopTime");
    if (e.kind() != qrl::core::FailureKind::kPermanent && !finishing) std::abort();
  }
  return 0;
}
