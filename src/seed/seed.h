#pragma once
// `seed`: writes sample quizzes as the quiz servers would (Redis keys, question set file) and
// publishes their quiz complete events, declaring the queue exactly as the daemon does.

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "core/sample.h"

namespace qrl::seed {

struct Options {
  int count = 10;
  core::SampleShape shape;
  std::uint64_t seed = 0;  // 0: from the clock
  bool publish = true;
  bool progress = true;
};

// Returns the ids of the quizzes written. Throws core::Error on failure.
std::vector<std::string> seed(const config::Config& config, const Options& options,
                              const core::Clock& clock = core::system_clock());

}  // namespace qrl::seed
