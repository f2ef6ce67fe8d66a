#include "metrics/registry.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <nlohmann/json.hpp>

namespace qrl::metrics {

Recorder& nothing() {
  static Recorder none;
  return none;
}

namespace {

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kLoaded: return "loaded";
    case Outcome::kAlreadyLoaded: return "already_loaded";
    case Outcome::kDeadLettered: return "dead_lettered";
    case Outcome::kRequeued: return "requeued";
    case Outcome::kPaused: return "paused";
  }
  return "unknown";
}

// From 1 ms to about 2 min: a small quiz's stage to a big quiz's retries.
const prometheus::Histogram::BucketBoundaries kSeconds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                          0.5,   1,      2.5,   5,    10,    30,   120};
// From 1 KB to DynamoDB's 400 KB limit.
const prometheus::Histogram::BucketBoundaries kBytes = {1024, 4096, 16384, 65536, 131072, 262144, 409600};

}  // namespace

struct Registry::Families {
  explicit Families(prometheus::Registry& r)
      : quizzes(prometheus::BuildCounter()
                    .Name("qrl_quizzes_total")
                    .Help("Messages finished, by what became of their quiz")
                    .Register(r)),
        stage_seconds(prometheus::BuildHistogram()
                          .Name("qrl_stage_duration_seconds")
                          .Help("Time of one pipeline stage (read, build, write, delete) of one attempt")
                          .Register(r)),
        end_to_end(prometheus::BuildHistogram()
                       .Name("qrl_quiz_duration_seconds")
                       .Help("Time from a message's delivery to its decision (all attempts)")
                       .Register(r)
                       .Add({}, kSeconds)),
        item_bytes(prometheus::BuildHistogram()
                       .Name("qrl_item_size_bytes")
                       .Help("Size of the items written, by DynamoDB's rules")
                       .Register(r)
                       .Add({}, kBytes)),
        redis_round_trips(prometheus::BuildCounter()
                              .Name("qrl_redis_round_trips_total")
                              .Help("Redis pipelines sent (one round trip each), logins excluded")
                              .Register(r)
                              .Add({})),
        dynamodb_requests(
            prometheus::BuildCounter()
                .Name("qrl_dynamodb_requests_total")
                .Help("DynamoDB requests by operation and outcome (ok, throttled, retried, failed)")
                .Register(r)),
        reconnects(prometheus::BuildCounter()
                       .Name("qrl_reconnects_total")
                       .Help("Connections made again after one was lost, by server")
                       .Register(r)),
        events(prometheus::BuildCounter()
                   .Name("qrl_quiz_events_total")
                   .Help("Things that happened to quizzes: reused ids, late joiners skipped, events "
                         "coalesced, quizzes still finishing, the sweep's actions")
                   .Register(r)),
        capacity_units(prometheus::BuildCounter()
                           .Name("qrl_dynamodb_capacity_units_total")
                           .Help("DynamoDB capacity units by operation: consumed (as DynamoDB answered), "
                                 "or throttled (what the refused requests would have cost)")
                           .Register(r)),
        limiter_rate(prometheus::BuildGauge()
                         .Name("qrl_dynamodb_limiter_rate")
                         .Help("Capacity units a second the table's limiter lets through, by capacity (read, "
                               "write); 0: not pacing")
                         .Register(r)),
        waiting_for_capacity(prometheus::BuildGauge()
                                 .Name("qrl_messages_waiting_for_capacity")
                                 .Help("Messages whose next DynamoDB request waits for the table's capacity")
                                 .Register(r)
                                 .Add({})),
        in_flight(prometheus::BuildGauge()
                      .Name("qrl_messages_in_flight")
                      .Help("Messages delivered and not yet settled")
                      .Register(r)
                      .Add({})),
        last_success(prometheus::BuildGauge()
                         .Name("qrl_last_success_timestamp_seconds")
                         .Help("Unix time of the last quiz loaded (or found loaded)")
                         .Register(r)
                         .Add({})) {}

  prometheus::Family<prometheus::Counter>& quizzes;
  prometheus::Family<prometheus::Histogram>& stage_seconds;
  prometheus::Histogram& end_to_end;
  prometheus::Histogram& item_bytes;
  prometheus::Counter& redis_round_trips;
  prometheus::Family<prometheus::Counter>& dynamodb_requests;
  prometheus::Family<prometheus::Counter>& reconnects;
  prometheus::Family<prometheus::Counter>& events;
  prometheus::Family<prometheus::Counter>& capacity_units;
  prometheus::Family<prometheus::Gauge>& limiter_rate;
  prometheus::Gauge& waiting_for_capacity;
  prometheus::Gauge& in_flight;
  prometheus::Gauge& last_success;
};

Registry::Registry()
    : registry_(std::make_shared<prometheus::Registry>()), families_(std::make_unique<Families>(*registry_)) {
  // Every outcome and stage shows from the start, at zero: a rate over a series that appears
  // only on its first event misses that event.
  for (auto o : {Outcome::kLoaded, Outcome::kAlreadyLoaded, Outcome::kDeadLettered, Outcome::kRequeued,
                 Outcome::kPaused})
    families_->quizzes.Add({{"outcome", std::string(outcome_name(o))}});
  for (auto s : {core::Stage::kRead, core::Stage::kBuild, core::Stage::kWrite, core::Stage::kDelete})
    families_->stage_seconds.Add({{"stage", std::string(core::to_string(s))}}, kSeconds);
  for (const char* server : {"rabbitmq", "redis"}) families_->reconnects.Add({{"server", server}});
  for (const char* event : {"reused_id", "late_joiner_skipped", "finishing", "coalesced", "throttle_not_capacity"})
    families_->events.Add({{"event", event}});
  for (const char* operation : {"GetItem", "PutItem"})
    for (const char* kind : {"consumed", "throttled"})
      families_->capacity_units.Add({{"operation", operation}, {"kind", kind}});
  for (const char* kind : {"read", "write"}) families_->limiter_rate.Add({{"capacity", kind}});
}

Registry::~Registry() = default;

void Registry::stage(core::Stage stage, std::chrono::nanoseconds took) {
  families_->stage_seconds.Add({{"stage", std::string(core::to_string(stage))}}, kSeconds)
      .Observe(seconds(took));
}

void Registry::item(std::size_t dynamodb_bytes) {
  families_->item_bytes.Observe(static_cast<double>(dynamodb_bytes));
}

void Registry::dynamodb_request(std::string_view operation, std::string_view outcome) {
  families_->dynamodb_requests.Add({{"operation", std::string(operation)}, {"outcome", std::string(outcome)}})
      .Increment();
}

void Registry::redis_round_trips(std::uint64_t n) {
  families_->redis_round_trips.Increment(static_cast<double>(n));
}

void Registry::reconnect(std::string_view server) {
  families_->reconnects.Add({{"server", std::string(server)}}).Increment();
}

void Registry::quiz(Outcome outcome, std::chrono::nanoseconds end_to_end) {
  families_->quizzes.Add({{"outcome", std::string(outcome_name(outcome))}}).Increment();
  families_->end_to_end.Observe(seconds(end_to_end));
  if (outcome == Outcome::kLoaded || outcome == Outcome::kAlreadyLoaded)
    families_->last_success.SetToCurrentTime();
}

void Registry::event(std::string_view name, std::uint64_t n) {
  families_->events.Add({{"event", std::string(name)}}).Increment(static_cast<double>(n));
}

void Registry::capacity_units(std::string_view operation, std::string_view kind, double units) {
  families_->capacity_units.Add({{"operation", std::string(operation)}, {"kind", std::string(kind)}}).Increment(units);
}

void Registry::limiter_rate(std::string_view kind, double rate) {
  families_->limiter_rate.Add({{"capacity", std::string(kind)}}).Set(rate);
}

void Registry::waiting_for_capacity(std::size_t n) {
  families_->waiting_for_capacity.Set(static_cast<double>(n));
}

void Registry::in_flight(std::size_t n) {
  families_->in_flight.Set(static_cast<double>(n));
}

std::string Registry::prometheus_text() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

std::string Registry::emf(const std::string& ns, const std::string& function_name,
                          std::int64_t timestamp_ms) const {
  nlohmann::json document = {{"function", function_name}};
  nlohmann::json metrics = nlohmann::json::array();
  auto add = [&](const std::string& name, const char* unit, double value) {
    metrics.push_back({{"Name", name}, {"Unit", unit}});
    document[name] = value;
  };
  for (const auto& family : registry_->Collect()) {
    const char* unit = family.name.find("_seconds") != std::string::npos ? "Seconds"
                       : family.name.find("_bytes") != std::string::npos ? "Bytes"
                                                                         : "Count";
    // The process-wide gauges say nothing of one invocation.
    if (family.type == prometheus::MetricType::Gauge) continue;
    for (const auto& metric : family.metric) {
      std::string name = family.name;
      for (const auto& label : metric.label) name += "." + label.value;
      if (family.type == prometheus::MetricType::Counter) {
        if (metric.counter.value != 0) add(name, "Count", metric.counter.value);
      } else if (family.type == prometheus::MetricType::Histogram && metric.histogram.sample_count > 0) {
        add(name + ".count", "Count", static_cast<double>(metric.histogram.sample_count));
        add(name + ".sum", unit, metric.histogram.sample_sum);
      }
    }
  }
  document["_aws"] = {
      {"Timestamp", timestamp_ms},
      {"CloudWatchMetrics", {{{"Namespace", ns}, {"Dimensions", {{"function"}}}, {"Metrics", metrics}}}}};
  return document.dump();
}

}  // namespace qrl::metrics
