// The split form both ways. A quiz of fuzzer-chosen shape and text, cut at a fuzzer-chosen item
// size: either a permanent core::Error (a piece too big for any item), or items that are each
// within the limit and sized exactly, and that reassemble to the single item. Then the same
// items, one of them replaced by fuzzer bytes: reassembly either throws or returns a value,
// never crashes.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <map>

#include "core/dynamo_size.h"
#include "core/error.h"
#include "core/item.h"
#include "split/assembler.h"
#include "split/reassemble.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  qrl::core::Quiz quiz;
  quiz.id = "fz";
  quiz.name = in.ConsumeRandomLengthString(60);
  quiz.question_duration_ns = in.ConsumeIntegral<std::int64_t>();
  quiz.start_time = quiz.stop_time = "2022-01-27T08:54:38Z";
  const int participants = in.ConsumeIntegralInRange(0, 40);
  for (int p = 0; p < participants; ++p) {
    quiz.participants.push_back({"u" + std::to_string(p), in.ConsumeRandomLengthString(30),
                                 in.ConsumeIntegral<std::int64_t>(), "2022-01-27T08:54:38Z"});
  }
  for (int q = in.ConsumeIntegralInRange(0, 8); q > 0; --q) {
    qrl::core::Question question{in.ConsumeRandomLengthString(80), {}, {in.ConsumeIntegral<std::int64_t>()}, {}};
    for (int o = in.ConsumeIntegralInRange(0, 4); o > 0; --o) question.options.push_back(in.ConsumeRandomLengthString(20));
    for (const auto& p : quiz.participants) {
      qrl::core::ParticipantAnswer answer{p.user_id, {}, in.ConsumeIntegral<std::int64_t>()};
      for (int o = in.ConsumeIntegralInRange(0, 3); o > 0; --o) answer.options.push_back(in.ConsumeIntegral<std::int64_t>());
      question.answers.push_back(std::move(answer));
    }
    quiz.questions.push_back(std::move(question));
  }
  const std::size_t limit = in.ConsumeIntegralInRange<std::size_t>(64, 4096);

  qrl::core::Quiz shell = quiz;
  for (auto& q : shell.questions) q.answers.clear();
  std::map<std::string, nlohmann::json> items;
  try {
    qrl::split::Assembler assembler(shell, [&](qrl::split::StoredItem part) {
      auto json = nlohmann::json::parse(part.json);
      if (part.size > limit || qrl::core::dynamo::item_size(json) != part.size) std::abort();
      items[part.id] = std::move(json);
    }, limit);
    for (std::size_t q = 0; q < quiz.questions.size(); ++q) {
      for (const auto& answer : quiz.questions[q].answers) assembler.add(q, answer);
    }
    auto head = assembler.finish();
    auto json = nlohmann::json::parse(head.json);
    if (head.size > limit || qrl::core::dynamo::item_size(json) != head.size) std::abort();
    items[head.id] = json;
  } catch (const qrl::core::Error& e) {
    if (e.kind() != qrl::core::FailureKind::kPermanent) std::abort();
    return 0;
  }
  auto fetch = [&](const std::string& id) -> std::optional<nlohmann::json> {
    auto it = items.find(id);
    if (it == items.end()) return std::nullopt;
    return it->second;
  };
  if (qrl::split::reassemble(items["fz"], fetch) != nlohmann::json::parse(qrl::core::encode_item(quiz))) std::abort();

  if (items.size() > 1) {
    auto damaged = nlohmann::json::parse(in.ConsumeRemainingBytesAsString(), nullptr, false);
    items[qrl::split::part_id("fz", 1)] = damaged;
    try {
      qrl::split::reassemble(items["fz"], fetch);
    } catch (const std::exception&) {
    }
  }
  return 0;
}
