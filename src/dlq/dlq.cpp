#include "dlq/dlq.h"

#include <string>

#include "amqp/connection.h"
#include "log/log.h"

namespace qrl::dlq {

namespace {

std::string header(const amqp::Headers& headers, const char* name) {
  auto it = headers.find(name);
  return it == headers.end() ? "-" : it->second;
}

}  // namespace

std::size_t list(const config::Config& config, std::FILE* out) {
  amqp::Connection connection(config.rabbit);
  const auto& queue = config.rabbit.dead_letter_queue;
  const auto count = connection.declare_queue(queue);
  // basic.get without ack: every message stays unacked until the connection closes, so each
  // is seen once, and closing puts them all back.
  std::size_t n = 0;
  for (; n < count; ++n) {
    auto message = connection.get(queue);
    if (!message) break;
    const auto& h = message->headers;
    std::fprintf(out, "%zu\tquiz=%s\tevent=%s\tstage=%s\tfailed_at=%s\tattempts=%s\treason=%s\n", n + 1,
                 header(h, "x-quiz-id").c_str(), header(h, "x-event-id").c_str(),
                 header(h, "x-failure-stage").c_str(), header(h, "x-failed-at").c_str(),
                 header(h, "x-attempts").c_str(), header(h, "x-failure-reason").c_str());
  }
  connection.close();
  return n;
}

std::size_t replay(const config::Config& config, std::size_t limit) {
  amqp::Connection source(config.rabbit);
  // Only what is there now: a message that fails again while a daemon runs comes back to the
  // dead-letter queue, and must not be moved round and round.
  std::size_t present = source.declare_queue(config.rabbit.dead_letter_queue);
  if (limit == 0 || limit > present) limit = present;
  amqp::Connection target(config.rabbit);
  target.declare_queue(config.rabbit.queue_name);
  target.enable_confirms();
  std::size_t moved = 0;
  while (moved < limit) {
    auto message = source.get(config.rabbit.dead_letter_queue);
    if (!message) break;
    target.publish(config.rabbit.queue_name, message->body);  // waits for the confirm
    source.ack(message->delivery_tag);
    ++moved;
    log::info("replayed",
              {{"quiz", header(message->headers, "x-quiz-id")}, {"queue", config.rabbit.queue_name}});
  }
  source.close();
  target.close();
  return moved;
}

}  // namespace qrl::dlq
