#include "amqp/topology.h"

namespace qrl::amqp::topology {

std::uint32_t declare_main(Connection& connection, const config::Rabbit& settings) {
  return connection.declare_queue(settings.queue_name);
}

std::uint32_t declare_dead_letters(Connection& connection, const config::Rabbit& settings) {
  return connection.declare_queue(settings.dead_letter_queue);
}

void declare_failure_queues(Connection& connection, const config::Rabbit& settings) {
  declare_dead_letters(connection, settings);
  connection.declare_delay_queue(settings.retry_queue, settings.queue_name);
}

}  // namespace qrl::amqp::topology
