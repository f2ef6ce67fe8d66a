#pragma once
// Where the loader's Redis is and what it is: the first node of redis.host that answers, and
// whether it is one Redis or a cluster (redis.cluster: "auto" asks the node's CLUSTER INFO;
// "on" and "off" decide without asking). The one place that decides the mode: the quiz store,
// `check` and readiness all open their Redis here.

#include <chrono>
#include <cstdint>

#include "config/config.h"
#include "redis/connection.h"

namespace qrl::redis {

struct Opened {
  Connection connection;    // logged in to the first node that answered
  bool cluster = false;
  std::uint64_t asked = 0;  // round trips spent asking the mode (part of opening, as the login)
};

// Throws what the last node's connection threw (a refused login at once: every node would).
Opened open_first(const config::Redis& settings, std::chrono::milliseconds timeout);

// "cluster" or "single", for logs and `check`.
const char* mode_name(bool cluster);

}  // namespace qrl::redis
