#include <unistd.h>

#include "amqp/topology.h"
#include "core/error.h"
#include "daemon/broker.h"

namespace qrl::daemon {

AmqpBroker::AmqpBroker(config::Rabbit settings)
    : settings_(std::move(settings)), wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (wake_fd_ < 0) throw core::transient_error(core::Stage::kSetup, "eventfd failed");
}

AmqpBroker::~AmqpBroker() { ::close(wake_fd_); }

template <typename F>
auto AmqpBroker::guarded(F&& call) {
  if (!connection_) throw core::transient_error(core::Stage::kUnknown, "rabbitmq: not connected");
  try {
    return call(*connection_);
  } catch (const core::Error&) {
    connection_.reset();
    throw;
  }
}

void AmqpBroker::open() {
  amqp::Connection connection(settings_);
  // The main queue is declared by consume(), each time the loader starts consuming.
  amqp::topology::declare_failure_queues(connection, settings_);
  connection_.emplace(std::move(connection));
}

void AmqpBroker::close() noexcept {
  if (connection_) connection_->close();
  connection_.reset();
}

void AmqpBroker::consume(std::uint16_t prefetch) {
  guarded([&](amqp::Connection& c) {
    // Declared again first: a queue deleted under a running consumer comes back as serve
    // declares it at start.
    amqp::topology::declare_main(c, settings_);
    c.consume(settings_.queue_name, prefetch);
  });
}

void AmqpBroker::set_prefetch(std::uint16_t prefetch) {
  guarded([&](amqp::Connection& c) { c.set_prefetch(prefetch); });
}

void AmqpBroker::cancel() {
  guarded([](amqp::Connection& c) { c.cancel(); });
}

Polled AmqpBroker::next(std::chrono::milliseconds timeout) {
  return guarded([&](amqp::Connection& c) {
    Polled polled;
    auto message = c.next(timeout, wake_fd_);
    std::uint64_t drained = 0;
    (void)!::read(wake_fd_, &drained, sizeof drained);
    if (message) {
      polled.kind = Polled::Kind::kDelivery;
      polled.delivery = {message->delivery_tag, std::move(message->body), std::move(message->headers)};
    } else if (c.consumer_cancelled()) {
      polled.kind = Polled::Kind::kCancelled;
    }
    return polled;
  });
}

void AmqpBroker::wake() {
  std::uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void AmqpBroker::ack(std::uint64_t tag) {
  guarded([&](amqp::Connection& c) { c.ack(tag); });
}

void AmqpBroker::reject(std::uint64_t tag, bool requeue) {
  guarded([&](amqp::Connection& c) { c.reject(tag, requeue); });
}

std::optional<std::uint32_t> AmqpBroker::ready_messages() {
  // The queue declared again as the producer declares it: the answer carries its ready count.
  return guarded([&](amqp::Connection& c) { return amqp::topology::declare_main(c, settings_); });
}

}  // namespace qrl::daemon
