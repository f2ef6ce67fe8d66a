#pragma once
// What the loader's Redis is, as `check` reports it and readiness judges it: one Redis, or a
// cluster with its primaries, replicas and the slots they serve. A cluster with a slot no
// primary serves cannot give the loader every quiz: `check` fails and the loader is not ready.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "config/config.h"
#include "redis/connection.h"

namespace qrl::redis {

struct Survey {
  std::string node;  // the node that answered first
  bool cluster = false;
  std::size_t primaries = 0;
  std::size_t replicas = 0;
  std::size_t slots_served = 0;
  std::string state;  // the cluster's own word: cluster_state of CLUSTER INFO

  // "single Redis" or "cluster: 3 primaries, 3 replicas, every slot served".
  std::string describe() const;
  // Why the loader cannot serve every quiz, if it cannot.
  std::optional<std::string> problem() const;
};

// Opens the Redis as the loader does (redis/mode.h) and, on a cluster, learns its map.
Survey survey(const config::Redis& settings, std::chrono::milliseconds timeout);

// Readiness: one connection kept to the first node that answers; ready() throws a transient
// Error when Redis does not answer PING or, on a cluster, its state is not ok.
class Pulse {
 public:
  Pulse(config::Redis settings, std::chrono::milliseconds timeout);
  void ready();

 private:
  config::Redis settings_;
  std::chrono::milliseconds timeout_;
  std::optional<Connection> connection_;
  bool cluster_ = false;
};

}  // namespace qrl::redis
