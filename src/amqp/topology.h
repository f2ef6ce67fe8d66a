#pragma once
// The loader's queues, declared in one place for every command that touches them (serve, seed,
// dlq, check). The main queue is the producer's: consumed as it is when it exists, declared
// with rabbit-mq.queue_type when it does not. The loader's own queues, the dead-letter queue and
// the holding queue (whose expired messages go back to the main queue), are of that type.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "amqp/connection.h"
#include "config/config.h"

namespace qrl::amqp::topology {

// The main queue: ready messages of the existing one, or of the one declared now.
std::uint32_t declare_main(Connection& connection, const config::Rabbit& settings);
// The dead-letter queue; returns its ready messages.
std::uint32_t declare_dead_letters(Connection& connection, const config::Rabbit& settings);
// The dead-letter queue and the holding queue: where failed messages are republished.
void declare_failure_queues(Connection& connection, const config::Rabbit& settings);

// One queue as `check` reports it, declaring nothing that does not exist.
struct Found {
  std::string role;  // "main", "holding", "dead-letter"
  std::string name;
  std::optional<std::uint32_t> ready;  // empty: absent
  std::string refused;  // not empty: the broker would refuse the loader's declaration, and why
};
std::vector<Found> survey(Connection& connection, const config::Rabbit& settings);

}  // namespace qrl::amqp::topology
