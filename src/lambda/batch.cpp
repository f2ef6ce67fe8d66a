#include "lambda/batch.h"

#include <atomic>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/json.h"
namespace qrl::lambda {

Batch parse_batch(std::string_view event) {
  std::string not_json;
  auto json = core::parse_json(event, &not_json);
  if (json.is_discarded()) throw NotABatch("the event " + not_json);
  if (!json.is_object()) throw NotABatch("the event is not a JSON object");
  auto records = json.find("Records");
  if (records == json.end() || !records->is_array()) throw NotABatch("the event has no 'Records' list");
  Batch batch;
  for (const auto& record : *records) {
    if (!record.is_object() || !record.contains("messageId") || !record["messageId"].is_string()) {
      throw NotABatch("a record has no 'messageId'");
    }
    Record out;
    out.message_id = record["messageId"].get<std::string>();
    if (auto body = record.find("body"); body != record.end() && body->is_string())
      out.body = body->get<std::string>();
    if (auto arn = record.find("eventSourceARN"); arn != record.end() && arn->is_string()) {
      const auto& text = arn->get_ref<const std::string&>();
      if (text.size() >= 5 && text.compare(text.size() - 5, 5, ".fifo") == 0) batch.fifo = true;
    }
    if (auto attributes = record.find("attributes"); attributes != record.end() && attributes->is_object()) {
      if (auto group = attributes->find("MessageGroupId"); group != attributes->end() && group->is_string()) {
        out.group_id = group->get<std::string>();
      }
    }
    batch.records.push_back(std::move(out));
  }
  return batch;
}

std::vector<std::vector<std::size_t>> lanes(const Batch& batch) {
  std::vector<std::vector<std::size_t>> out;
  std::map<std::string, std::size_t> by_group;
  for (std::size_t i = 0; i < batch.records.size(); ++i) {
    if (batch.fifo) {
      auto [it, added] = by_group.emplace(batch.records[i].group_id, out.size());
      if (added) out.emplace_back();
      out[it->second].push_back(i);
    } else {
      out.push_back({i});
    }
  }
  return out;
}

std::vector<RecordResult> run_batch(const Batch& batch, int workers,
                                    const std::function<bool(const Record&, int worker)>& process,
                                    const std::function<bool()>& may_start) {
  std::vector<RecordResult> results(batch.records.size(), RecordResult::kSkipped);
  const auto plan = lanes(batch);
  std::atomic<std::size_t> next{0};
  auto work = [&](int worker) {
    for (std::size_t lane = next++; lane < plan.size(); lane = next++) {
      bool failed = false;  // a failure in a FIFO group fails the rest of the group unprocessed
      for (auto index : plan[lane]) {
        if (failed || !may_start()) {
          results[index] = RecordResult::kSkipped;
          failed = true;
          continue;
        }
        bool ok = process(batch.records[index], worker);
        results[index] = ok ? RecordResult::kSucceeded : RecordResult::kFailed;
        failed = !ok;
      }
    }
  };
  const int threads = std::max(1, std::min<int>(workers, static_cast<int>(plan.size())));
  std::vector<std::thread> pool;
  for (int w = 1; w < threads; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
  return results;
}

std::string batch_response(const Batch& batch, const std::vector<RecordResult>& results) {
  nlohmann::json failures = nlohmann::json::array();
  for (std::size_t i = 0; i < batch.records.size(); ++i) {
    if (results[i] != RecordResult::kSucceeded)
      failures.push_back({{"itemIdentifier", batch.records[i].message_id}});
  }
  return nlohmann::json{{"batchItemFailures", failures}}.dump();
}

bool is_scheduled_event(std::string_view event) {
  auto json = nlohmann::json::parse(event, nullptr, false);
  if (!json.is_object()) return false;
  auto source = json.find("source");
  return source != json.end() && source->is_string() && *source == "aws.events" && !json.contains("Records");
}

}  // namespace qrl::lambda
