#include "dlq/dlq.h"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "amqp/connection.h"
#include "amqp/topology.h"
#include "dlq/letter.h"
#include "log/log.h"
#include "progress/progress.h"
#include "report/table.h"

namespace qrl::dlq {

std::size_t list(const config::Config& config, std::FILE* out, report::Output output) {
  amqp::Connection connection(config.rabbit);
  const auto& queue = config.rabbit.dead_letter_queue;
  const auto count = amqp::topology::declare_dead_letters(connection, config.rabbit);
  // basic.get without ack: every message stays unacked until the connection closes, so each
  // is seen once, and closing puts them all back.
  static constexpr const char* kFields[] = {header::kQuizId, header::kEventId, header::kStage, header::kFailedAt,
                                            header::kAttempts, header::kReason};
  std::vector<report::Row> rows;
  for (std::size_t n = 0; n < count; ++n) {
    auto message = connection.get(queue);
    if (!message) break;
    report::Row row = {std::to_string(n + 1)};
    for (const char* field : kFields) row.push_back(value_or_dash(message->headers, field));
    rows.push_back(std::move(row));
  }
  connection.close();
  switch (output) {
    case report::Output::kJson: {
      auto letters = nlohmann::json::array();
      for (const auto& row : rows) {
        letters.push_back({{"position", std::stoul(row[0])}, {"quiz", row[1]}, {"event", row[2]}, {"stage", row[3]},
                           {"failed_at", row[4]}, {"attempts", row[5]}, {"reason", row[6]}});
      }
      std::fprintf(out, "%s\n", letters.dump(2).c_str());
      break;
    }
    case report::Output::kText:
      if (!rows.empty()) {
        std::fputs(report::table({"#", "QUIZ", "EVENT", "STAGE", "FAILED AT", "ATTEMPTS", "REASON"}, rows,
                                 {true, false, false, false, false, true, false}, 1000)
                       .c_str(),
                   out);
      }
      break;
    default:
      for (const auto& row : rows) {
        std::fprintf(out, "%s\tquiz=%s\tevent=%s\tstage=%s\tfailed_at=%s\tattempts=%s\treason=%s\n", row[0].c_str(),
                     row[1].c_str(), row[2].c_str(), row[3].c_str(), row[4].c_str(), row[5].c_str(), row[6].c_str());
      }
  }
  return rows.size();
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
