#pragma once
// The loader's figures, kept in a prometheus-cpp registry: rendered as Prometheus text for
// `serve`'s /metrics, or as one CloudWatch Embedded Metric Format line for a Lambda
// invocation. Thread-safe: prometheus-cpp's metrics are atomic.
//
// Names follow the Prometheus conventions: the qrl_ prefix, base units (seconds, bytes),
// _total for counters.

#include <memory>
#include <string>

#include "metrics/recorder.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace qrl::metrics {

class Registry final : public Recorder {
 public:
  Registry();
  ~Registry() override;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  void stage(core::Stage stage, std::chrono::nanoseconds took) override;
  void item(std::size_t dynamodb_bytes) override;
  void dynamodb_request(std::string_view operation, std::string_view outcome) override;
  void redis_round_trips(std::uint64_t n) override;
  void reconnect(std::string_view server) override;
  void quiz(Outcome outcome, std::chrono::nanoseconds end_to_end) override;
  void in_flight(std::size_t n) override;
  void event(std::string_view name, std::uint64_t n) override;
  void capacity_units(std::string_view operation, std::string_view kind, double units) override;
  void limiter_rate(std::string_view kind, double rate) override;
  void waiting_for_capacity(std::size_t n) override;

  // The Prometheus text exposition format (version 0.0.4).
  std::string prometheus_text() const;
  // One CloudWatch Embedded Metric Format document (a single JSON line) with the figures
  // recorded so far, in namespace `ns`, with the dimension function=`function_name`.
  std::string emf(const std::string& ns, const std::string& function_name, std::int64_t timestamp_ms) const;

 private:
  struct Families;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> families_;
};

}  // namespace qrl::metrics
