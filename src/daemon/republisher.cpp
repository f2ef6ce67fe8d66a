#include "daemon/republisher.h"

#include <memory>

#include "amqp/topology.h"
#include "core/error.h"
#include "core/event.h"
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

// The quiz a letter is about: its header, or else its event's (a message put back as new
// carries no failure headers); empty for a body that is no event.
std::string quiz_of(const Letter& letter) {
  if (auto quiz = letter.headers.find(dlq::header::kQuizId); quiz != letter.headers.end()) return quiz->second;
  try {
    return core::parse_event(letter.body).quiz_id.str();
  } catch (const core::Error&) {
    return "";
  }
}

}  // namespace

Republisher::Republisher(Publish publish, std::function<void(Receipt)> receipt)
    : publish_(std::move(publish)), receipt_(std::move(receipt)) {
  thread_ = std::thread([this] {
    while (auto letter = letters_.pop()) {
      // A connection whose node went away is found by the next publish: the letter is published
      // once more, on a new connection (to a node that answers), before its message is given
      // back to the queue, which on a quorum queue counts one more delivery. A publish that did
      // reach the broker before the failure leaves a duplicate, which loads once.
      auto failure = try_publish(*letter);
      if (failure) failure = try_publish(*letter);
      if (failure) {
        log::warn("cannot republish; the message goes back to the queue",
                  {{"queue", route_name(letter->route)}, {"reason", *failure}});
      }
      receipt_({letter->generation, letter->tag, /*published=*/!failure});
    }
  });
}

std::optional<std::string> Republisher::try_publish(const Letter& letter) {
  try {
    publish_(letter);
    return std::nullopt;
  } catch (const core::Error& e) {
    return e.what();
  }
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
    log::info(route_log(letter.route),
              {{"queue", queue},
               {"quiz", quiz_of(letter)},
               {"deliveries", dlq::value_or_dash(letter.headers, dlq::header::kDeliveries)}});
  };
}

}  // namespace qrl::daemon
