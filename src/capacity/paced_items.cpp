#include "capacity/paced_items.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/dynamo_size.h"
#include "core/item.h"
#include "core/error.h"
#include "core/retry.h"

namespace qrl::capacity {

namespace {

// A throttle that is no capacity is retried as the SDKs retry one: full jitter, from 25 ms
// doubling to at most 1 s.
const core::RetryPolicy kNotCapacityBackoff{.base_delay = std::chrono::milliseconds(25),
                                            .max_delay = std::chrono::milliseconds(1000)};

std::string_view name(Kind kind) { return kind == Kind::kRead ? "read" : "write"; }

std::string units_text(double units) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", units);
  return text;
}

}  // namespace

double write_units(std::size_t bytes) { return std::max(1.0, std::ceil(static_cast<double>(bytes) / 1024.0)); }

double quiz_write_units(std::int64_t answers) {
  const core::ParticipantAnswer typical{"0123abcd", {1}, 12'345'678'901};
  const double bytes = static_cast<double>(answers) * static_cast<double>(core::answer_size(typical));
  const double items = std::ceil(bytes / static_cast<double>(core::dynamo::kMaxItemBytes));
  return std::ceil(bytes / 1024.0) + items;
}

PacedItems::PacedItems(pipeline::ItemStore& table, Limiter& limiter, metrics::Recorder& recorder, core::Clock& clock)
    : table_(table), limiter_(limiter), recorder_(recorder), clock_(clock) {}

template <typename Call>
auto PacedItems::paced(Kind kind, std::string_view operation, double units, Call&& call) {
  int retries = 0;
  for (;;) {
    recorder_.waiting_for_capacity(limiter_.waiting() + 1);
    const bool granted = !pacing_ || limiter_.acquire(kind, units, patience_);
    recorder_.waiting_for_capacity(limiter_.waiting());
    if (!granted) {
      throw core::transient_error(
          core::Stage::kWrite,
          "DynamoDB " + std::string(operation) + " waited for " + units_text(units) + " " + std::string(name(kind)) +
              " capacity units and ran out of time (stopping, or the deadline is near): the table is giving " +
              units_text(limiter_.accepted_rate(kind)) + " a second",
          core::Code::kThrottled);
    }
    const auto sent = clock_.now();
    try {
      auto result = call();
      const double consumed = table_.last_consumed().value_or(units);
      limiter_.accepted(kind, consumed, units, sent);
      recorder_.capacity_units(operation, "consumed", consumed);
      recorder_.limiter_rate(name(kind), limiter_.rate(kind));
      return result;
    } catch (const core::Error& e) {
      if (e.code() != core::Code::kThrottled) throw;
      recorder_.capacity_units(operation, "throttled", units);
      if (!pacing_) throw;
      const auto throttle = limiter_.throttled(kind, units, sent);
      recorder_.limiter_rate(name(kind), limiter_.rate(kind));
      if (throttle == Throttle::kNotCapacity) {
        // Not the table's capacity: retried at the same pace, after a short backoff.
        recorder_.event("throttle_not_capacity", 1);
        clock_.sleep_for(core::backoff_delay(kNotCapacityBackoff, ++retries, core::unit_random()));
      }
    }
  }
}

void PacedItems::put_part(const std::string& id, const std::string& item, std::size_t bytes) {
  if (bytes == 0) bytes = core::dynamo::item_size(nlohmann::json::parse(item));
  const double units = write_units(bytes);
  paced(Kind::kWrite, "PutItem", units, [&] {
    table_.put_part(id, item, bytes);
    return true;
  });
  quiz_units_ += units;
}

pipeline::ItemStore::Stored PacedItems::put_quiz(const std::string& id, const std::string& item,
                                                 const Identity& identity, std::size_t bytes) {
  if (bytes == 0) bytes = core::dynamo::item_size(nlohmann::json::parse(item));
  const double units = write_units(bytes);
  const auto stored = paced(Kind::kWrite, "PutItem", units, [&] { return table_.put_quiz(id, item, identity, bytes); });
  quiz_units_ += units;
  // The quiz's own item ends its writes.
  if (stored != Stored::kRefused) {
    limiter_.quiz_written(quiz_units_);
    quiz_units_ = 0;
  }
  return stored;
}

std::optional<std::string> PacedItems::start_time(const std::string& id) {
  return paced(Kind::kRead, "GetItem", 1.0, [&] { return table_.start_time(id); });
}

}  // namespace qrl::capacity
