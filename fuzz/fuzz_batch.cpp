// The SQS batch of a Lambda invocation: any event is a batch or NotABatch, and the partial
// batch response made from it is JSON naming only its records.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "lambda/batch.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view event(reinterpret_cast<const char*>(data), size);
  try {
    auto batch = qrl::lambda::parse_batch(event);
    std::vector<qrl::lambda::RecordResult> results(batch.records.size(), qrl::lambda::RecordResult::kFailed);
    auto response = nlohmann::json::parse(qrl::lambda::batch_response(batch, results));
    if (response["batchItemFailures"].size() != batch.records.size()) std::abort();
    std::size_t in_lanes = 0;
    for (const auto& lane : qrl::lambda::lanes(batch)) in_lanes += lane.size();
    if (in_lanes != batch.records.size()) std::abort();
  } catch (const qrl::lambda::NotABatch&) {
  }
  return 0;
}
