#include <unistd.h>

#include "amqp/topology.h"
#include "core/error.h"
#include "daemon/broker.h"
#include "log/log.h"

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
    drop();
    throw;
  }
}

// A lost connection sends the next open() to the next node first: its own may be the one gone.
void AmqpBroker::drop() noexcept {
  if (!connection_) return;
  first_node_ = connection_->node() + 1;
  connection_.reset();
}

void AmqpBroker::open() {
  amqp::Connection connection(settings_, settings_.heartbeat, first_node_ % amqp::nodes_of(settings_).size());
  // The main queue is declared by consume(), each time the loader starts consuming.
  amqp::topology::declare_failure_queues(connection, settings_);
  node_ = connection.endpoint();
  log::info("connected to RabbitMQ", {{"node", node_}});
  connection_.emplace(std::move(connection));
}

void AmqpBroker::close() noexcept {
  if (connection_) connection_->close();
  drop();
}

void AmqpBroker::consume(std::uint16_t prefetch) {
  try {
    guarded([&](amqp::Connection& c) {
      // Declared again first: a queue deleted under a running consumer comes back as serve
      // declares it at start.
      amqp::topology::declare_main(c, settings_);
      if (!global_prefetch_) c.prefetch_per_consumer();
      c.consume(settings_.queue_name, prefetch);
    });
  } catch (const core::Error& e) {
    // A quorum queue the producer declared, rabbit-mq.queue_type left at classic: the broker
    // refuses global QoS (540 NOT_IMPLEMENTED) and closes the connection. Known now, for good.
    if (!global_prefetch_ || std::string_view(e.what()).find("does not support global qos") == std::string_view::npos)
      throw;
    log::info("the main queue knows no global QoS (a quorum queue): prefetch per consumer",
              {{"queue", settings_.queue_name}});
    global_prefetch_ = false;
    returns_counted_ = true;
    open();
    consume(prefetch);
  }
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
      if (message->headers.count("x-delivery-count") != 0) returns_counted_ = true;
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
