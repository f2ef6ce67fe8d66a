#include "daemon/republisher.h"

#include <memory>

#include "amqp/topology.h"
#include "core/error.h"
#include "dlq/letter.h"
#include "log/log.h"

namespace qrl::daemon {

Republisher::Republisher(Publish publish, std::function<void(Receipt)> receipt)
    : publish_(std::move(publish)), receipt_(std::move(receipt)) {
  thread_ = std::thread([this] {
    while (auto letter = letters_.pop()) {
      bool published = true;
      const auto& queue_kind = letter->requeue ? "holding" : "dead-letter";
      try {
        publish_(*letter);
      } catch (const core::Error& e) {
        published = false;
        log::warn("cannot publish to the holding or dead-letter queue; the message goes back to the queue",
                  {{"queue", queue_kind}, {"reason", e.what()}});
      }
      receipt_({letter->generation, letter->tag, published});
    }
  });
}

Republisher::~Republisher() {
  letters_.close();
  thread_.join();
}

void Republisher::submit(Letter letter) { letters_.push(std::move(letter)); }

Republisher::Publish amqp_publisher(const config::Config& config) {
  auto connection = std::make_shared<std::optional<amqp::Connection>>();
  return [connection, rabbit = config.rabbit, delay = config.loader.requeue_delay](const Letter& letter) {
    const auto& queue = letter.requeue ? rabbit.retry_queue : rabbit.dead_letter_queue;
    try {
      if (!*connection) {
        connection->emplace(rabbit, std::chrono::seconds(0));
        amqp::topology::declare_failure_queues(**connection, rabbit);
        (*connection)->enable_confirms();
      }
      std::optional<std::chrono::milliseconds> expiration;
      if (letter.requeue) expiration = delay;
      (*connection)->publish(queue, letter.body, letter.headers, expiration);
    } catch (const core::Error&) {
      connection->reset();
      throw;
    }
    auto quiz = letter.headers.find(dlq::header::kQuizId);
    log::info(letter.requeue ? "requeued after a delay" : "dead-lettered",
              {{"queue", queue},
               {"quiz", quiz == letter.headers.end() ? "" : quiz->second},
               {"deliveries", dlq::value_or_dash(letter.headers, dlq::header::kDeliveries)}});
  };
}

}  // namespace qrl::daemon
