#include "dlq/dlq.h"

#include <string>

#include "amqp/connection.h"
#include "amqp/topology.h"
#include "dlq/letter.h"
#include "log/log.h"
#include "progress/progress.h"

namespace qrl::dlq {

std::size_t list(const config::Config& config, std::FILE* out) {
  amqp::Connection connection(config.rabbit);
  const auto& queue = config.rabbit.dead_letter_queue;
  const auto count = amqp::topology::declare_dead_letters(connection, config.rabbit);
  // basic.get without ack: every message stays unacked until the connection closes, so each
  // is seen once, and closing puts them all back.
  std::size_t n = 0;
  for (; n < count; ++n) {
    auto message = connection.get(queue);
    if (!message) break;
    const auto& h = message->headers;
    std::fprintf(out, "%zu\tquiz=%s\tevent=%s\tstage=%s\tfailed_at=%s\tattempts=%s\treason=%s\n", n + 1,
                 value_or_dash(h, header::kQuizId).c_str(), value_or_dash(h, header::kEventId).c_str(),
                 value_or_dash(h, header::kStage).c_str(), value_or_dash(h, header::kFailedAt).c_str(),
                 value_or_dash(h, header::kAttempts).c_str(), value_or_dash(h, header::kReason).c_str());
  }
  connection.close();
  return n;
}

std::size_t replay(const config::Config& config, std::size_t limit) {
  amqp::Connection source(config.rabbit);
  // Only what is there now: a message that fails again while a daemon runs comes back to the
  // dead-letter queue, and must not be moved round and round.
  std::size_t present = amqp::topology::declare_dead_letters(source, config.rabbit);
  if (limit == 0 || limit > present) limit = present;
  amqp::Connection target(config.rabbit);
  amqp::topology::declare_main(target, config.rabbit);
  target.enable_confirms();
  std::size_t moved = 0;
  auto progress = progress::Progress::on_stderr("replaying", "dead letters", limit);
  while (moved < limit) {
    auto message = source.get(config.rabbit.dead_letter_queue);
    if (!message) break;
    target.publish(config.rabbit.queue_name, message->body);  // waits for the confirm
    source.ack(message->delivery_tag);
    ++moved;
    progress.advance();
    log::info("replayed",
              {{"quiz", value_or_dash(message->headers, header::kQuizId)}, {"queue", config.rabbit.queue_name}});
  }
  progress.finish();
  source.close();
  target.close();
  return moved;
}

}  // namespace qrl::dlq
