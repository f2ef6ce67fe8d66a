#pragma once
// The loader's queues, declared in one place for every command that touches them (serve, seed,
// dlq, check): the main queue (as the producer declares it), the dead-letter queue, and the
// holding queue whose expired messages go back to the main queue.

#include <cstdint>

#include "amqp/connection.h"
#include "config/config.h"

namespace qrl::amqp::topology {

// The main queue, as the producer declares it; returns its ready messages.
std::uint32_t declare_main(Connection& connection, const config::Rabbit& settings);
// The dead-letter queue; returns its ready messages.
std::uint32_t declare_dead_letters(Connection& connection, const config::Rabbit& settings);
// The dead-letter queue and the holding queue: where failed messages are republished.
void declare_failure_queues(Connection& connection, const config::Rabbit& settings);

}  // namespace qrl::amqp::topology
