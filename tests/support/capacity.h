#pragma once
// What the capacity scenarios (tests/capacity/capacity_test.cpp) and their benchmark
// (bench/capacity.cpp) read off aws_standin.py in capacity mode, and the events they publish.

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "core/event.h"
#include "core/transform.h"
#include "support/fixtures.h"

namespace qrl::testing {

// An event announced a minute ago: past its settle window, so the table's pace alone is measured.
inline std::string old_event(const std::string& quiz_id) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  return core::make_event(random_id(), core::rfc3339_utc(now.count() - 60), quiz_id);
}

// What the table saw of one operation.
struct Seen {
  int requests = 0;
  int throttled = 0;
  double units = 0;
  double first = 0, last = 0;  // wall seconds of the first and last accepted request
};

inline Seen seen(const nlohmann::json& stats, const char* operation) {
  Seen s;
  if (!stats["capacity"].contains(operation)) return s;
  const auto& c = stats["capacity"][operation];
  s.requests = c["requests"].get<int>();
  s.throttled = c["throttled"].get<int>();
  s.units = c["units"].get<double>();
  if (!c["first"].is_null()) s.first = c["first"].get<double>();
  if (!c["last"].is_null()) s.last = c["last"].get<double>();
  return s;
}

// Messages a loader's log says it finished: loaded, found loaded, or joined to a quiz being loaded.
inline std::size_t finished_in(const std::string& log) {
  auto count = [&](const std::string& needle) {
    std::size_t n = 0;
    for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + needle.size())) ++n;
    return n;
  };
  return count("msg=\"quiz loaded\"") + count("msg=\"quiz already loaded") + count("msg=\"event joined its quiz");
}

}  // namespace qrl::testing
