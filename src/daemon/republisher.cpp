#include "daemon/republisher.h"

#include <memory>

#include "amqp/topology.h"
#include "core/error.h"
#include "dlq/letter.h"
#include "log/log.h"

namespace qrl::daemon {

namespace {

const char* route_name(Route route) {
  switch (route) {
    case Route::kHolding: return "holding";
    case Route::kDeadLetters: return "dead-letter";
    case Route::kMain: return "main";
  }
  return "?";
}

const char* route_log(Route route) {
  switch (route) {
    case Route::kHolding: return "requeued after a delay";
    case Route::kDeadLetters: return "dead-lettered";
    case Route::kMain: return "returned to the queue as a new message";
  }
  return "?";
}

}  // namespace

Republisher::Republisher(Publish publish, std::function<void(Receipt)> receipt)
    : publish_(std::move(publish)), receipt_(std::move(receipt)) {
  thread_ = std::thread([this] {
    while (auto letter = letters_.pop()) {
      bool published = true;
      const auto* queue_kind = route_name(letter->route);
      try {
        publish_(*letter);
      } catch (const core::Error& e) {
        published = false;
        log::warn("cannot republish; the message goes back to the queue",
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
    const auto& queue = letter.route == Route::kHolding       ? rabbit.retry_queue
                        : letter.route == Route::kDeadLetters ? rabbit.dead_letter_queue
                                                              : rabbit.queue_name;
    try {
      if (!*connection) {
        connection->emplace(rabbit, std::chrono::seconds(0));
        amqp::topology::declare_failure_queues(**connection, rabbit);
        (*connection)->enable_confirms();
      }
      std::optional<std::chrono::milliseconds> expiration;
      if (letter.route == Route::kHolding) expiration = delay;
      (*connection)->publish(queue, letter.body, letter.headers, expiration);
    } catch (const core::Error&) {
      connection->reset();
      throw;
    }
    auto quiz = letter.headers.find(dlq::header::kQuizId);
    log::info(route_log(letter.route),
              {{"queue", queue},
               {"quiz", quiz == letter.headers.end() ? "" : quiz->second},
               {"deliveries", dlq::value_or_dash(letter.headers, dlq::header::kDeliveries)}});
  };
}

}  // namespace qrl::daemon
