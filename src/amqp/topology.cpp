#include "amqp/topology.h"

#include "core/error.h"

namespace qrl::amqp::topology {

namespace {

// A message expiring in the holding queue goes back to the main queue through the default
// exchange: a delayed requeue without a plugin. A quorum queue dead-letters at most once unless
// told otherwise; at least once needs it to refuse publishes when full rather than drop.
Headers holding_arguments(const config::Rabbit& settings) {
  Headers arguments{{"x-dead-letter-exchange", ""}, {"x-dead-letter-routing-key", settings.queue_name}};
  if (settings.queue_type == "quorum") {
    arguments["x-dead-letter-strategy"] = "at-least-once";
    arguments["x-overflow"] = "reject-publish";
  }
  return arguments;
}

}  // namespace

std::uint32_t declare_main(Connection& connection, const config::Rabbit& settings) {
  if (auto ready = connection.find_queue(settings.queue_name)) return *ready;
  return connection.declare_queue(settings.queue_name, settings.queue_type);
}

std::uint32_t declare_dead_letters(Connection& connection, const config::Rabbit& settings) {
  return connection.declare_queue(settings.dead_letter_queue, settings.queue_type);
}

void declare_failure_queues(Connection& connection, const config::Rabbit& settings) {
  declare_dead_letters(connection, settings);
  connection.declare_queue(settings.retry_queue, settings.queue_type, holding_arguments(settings));
}

std::vector<Found> survey(Connection& connection, const config::Rabbit& settings) {
  std::vector<Found> found{{"main", settings.queue_name, connection.find_queue(settings.queue_name), ""}};
  const std::pair<const char*, const std::string*> owned[] = {{"holding", &settings.retry_queue},
                                                               {"dead-letter", &settings.dead_letter_queue}};
  for (const auto& [role, name] : owned) {
    Found queue{role, *name, connection.find_queue(*name), ""};
    if (queue.ready) {
      // Declared again exactly as serve would: a no-op where the arguments match.
      try {
        connection.declare_queue(*name, settings.queue_type,
                                 role == std::string("holding") ? holding_arguments(settings) : Headers{});
      } catch (const core::Error& e) {
        if (e.code() != core::Code::kRabbitQueue) throw;
        queue.refused = e.what();
      }
    }
    found.push_back(std::move(queue));
  }
  return found;
}

}  // namespace qrl::amqp::topology
