#pragma once
// The table as the pipeline writes to it, at the table's pace: each request first waits at the
// process's Limiter for the capacity units it will spend (a write: its item's size in KB,
// rounded up; a strongly consistent read: one unit, corrected by what DynamoDB says it
// consumed), and a throttled request is the limiter's news, not the caller's: it waits again
// and is sent again, for as long as its Patience lasts. Only then does the caller see a
// throttling error (core::Code::kThrottled), which core::decide treats as backpressure: the
// message goes back to the queue uncounted.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "capacity/limiter.h"
#include "core/clock.h"
#include "metrics/recorder.h"
#include "pipeline/ports.h"

namespace qrl::capacity {

// Capacity units of a write of an item of `bytes` (DynamoDB's rules): one per KB, rounded up.
double write_units(std::size_t bytes);
// The write units a quiz of `answers` answers costs at least: each answer's element in the item
// (core::answer_size of an 8-character user id, one option, seconds in nanoseconds), and one
// unit per item the quiz is split into.
double quiz_write_units(std::int64_t answers);

class PacedItems final : public pipeline::ItemStore {
 public:
  PacedItems(pipeline::ItemStore& table, Limiter& limiter, metrics::Recorder& recorder = metrics::nothing(),
             core::Clock& clock = core::system_clock());

  void set_patience(Patience patience) { patience_ = std::move(patience); }
  // Off: requests go straight to the table, and a throttle is the caller's (for comparison).
  void set_pacing(bool on) { pacing_ = on; }

  Stored put_quiz(const std::string& id, const std::string& item, const Identity& identity,
                  std::size_t bytes) override;
  void put_part(const std::string& id, const std::string& item, std::size_t bytes) override;
  std::optional<std::string> start_time(const std::string& id) override;

 private:
  template <typename Call>
  auto paced(Kind kind, std::string_view operation, double units, Call&& call);

  pipeline::ItemStore& table_;
  Limiter& limiter_;
  metrics::Recorder& recorder_;
  core::Clock& clock_;
  Patience patience_;
  double quiz_units_ = 0;  // written since the last quiz's head item
  bool pacing_ = true;
};

}  // namespace qrl::capacity
