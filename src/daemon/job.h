#pragma once
// A delivery as the workers get it.

#include <cstdint>
#include <string>

#include "core/clock.h"
#include "dlq/letter.h"

namespace qrl::daemon {

struct Job {
  std::uint64_t generation = 0;
  std::uint64_t tag = 0;
  std::string body;
  dlq::Past past;
  core::Clock::time_point delivered;
};

}  // namespace qrl::daemon
