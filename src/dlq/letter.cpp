#include "dlq/letter.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "core/transform.h"

namespace qrl::dlq {

namespace {

constexpr std::size_t kHistoryLines = 10;

// The earlier failures plus this one, one line each, the newest last, at most kHistoryLines.
std::string with_failure(const std::string& history, const std::string& at, const std::string& reason) {
  std::string line = at + " " + reason.substr(0, 300);
  std::string out = history.empty() ? line : history + "\n" + line;
  std::size_t lines = static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n')) + 1;
  while (lines-- > kHistoryLines) out.erase(0, out.find('\n') + 1);
  return out;
}

// A header holding a count in 0..1,000,000, or empty.
std::optional<int> count_of(const amqp::Headers& headers, const char* name) {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  int n = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || n < 0 || n > 1000000) return std::nullopt;
  return n;
}

}  // namespace

Past past_of(const amqp::Headers& headers) {
  Past past;
  if (auto it = headers.find(header::kHistory); it != headers.end()) past.history = it->second;
  if (auto n = count_of(headers, header::kDeliveries)) past.deliveries = *n + 1;
  if (auto n = count_of(headers, header::kReturns)) {
    past.returns = *n;
    past.deliveries += *n;
  }
  return past;
}

amqp::Headers return_headers(const Past& past) {
  amqp::Headers headers{{header::kDeliveries, std::to_string(past.deliveries - 1)}};
  if (!past.history.empty()) headers[header::kHistory] = past.history;
  return headers;
}

amqp::Headers failure_headers(const pipeline::JobResult& result, const Past& past, const std::string& queue,
                              std::chrono::system_clock::time_point now) {
  const auto& failure = *result.failure;
  const auto at = core::rfc3339_utc(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  std::string reason = failure.what();
  if (failure.transient() && result.action == core::Action::kReject) {
    reason = "gave up after " + std::to_string(past.deliveries) + " deliveries: " + reason;
  }
  amqp::Headers headers = {
      {header::kReason, reason},
      {header::kStage, std::string(core::to_string(failure.stage()))},
      {header::kFailedAt, at},
      {header::kAttempts, std::to_string(std::max(result.attempts, 1))},
      {header::kOriginalQueue, queue},
      {header::kDeliveries, std::to_string(past.deliveries)},
      {header::kHistory, with_failure(past.history, at, failure.what())},
  };
  if (!failure.key().empty()) headers[header::kKey] = failure.key();
  if (result.event) {
    headers[header::kQuizId] = result.event->quiz_id.str();
    if (!result.event->id.empty()) headers[header::kEventId] = result.event->id;
  }
  return headers;
}

std::string value_or_dash(const amqp::Headers& headers, const char* name) {
  auto it = headers.find(name);
  return it == headers.end() ? "-" : it->second;
}

}  // namespace qrl::dlq
