// The loader's own CPU per quiz, without any server: transform and encode a quiz of P x Q.

#include <benchmark/benchmark.h>

#include "core/item.h"
#include "core/sample.h"
#include "core/transform.h"
#include "support/fixtures.h"

namespace {

void BM_BuildAndEncode(benchmark::State& state) {
  auto shape = qrl::core::SampleShape{static_cast<int>(state.range(0)), static_cast<int>(state.range(1))};
  auto sample = qrl::core::make_sample_quiz(1, 1, shape);
  qrl::testing::MemoryRedis redis;
  redis.apply(sample.redis_commands);
  auto live = redis.read(sample.id);
  std::size_t json_bytes = 0, size = 0;
  for (auto _ : state) {
    auto quiz = qrl::core::build_quiz(qrl::core::QuizId(sample.id), live.header, live.participant_values, sample.question_file);
    size = qrl::core::item_size(quiz);
    auto item = qrl::core::encode_item(quiz);
    json_bytes = item.size();
    benchmark::DoNotOptimize(item);
  }
  // The item's size by DynamoDB's rules (what its 400 KB limit counts), and the JSON sent.
  state.counters["item_size"] = static_cast<double>(size);
  state.counters["json_bytes"] = static_cast<double>(json_bytes);
}
BENCHMARK(BM_BuildAndEncode)->Args({2, 3})->Args({20, 10})->Args({100, 30})->Unit(benchmark::kMicrosecond);

}  // namespace
