#pragma once
// The consumer's side of RabbitMQ, as the consumer loop needs it: a small interface, so the
// loop's states can be driven in tests by a broker of the test's own. AmqpBroker is the real one.
// Every call but wake() is made by the loop's thread only; a core::Error from any of them means
// the connection is lost (and closed), and every delivery tag of it is void.

#include <sys/eventfd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "amqp/connection.h"
#include "config/config.h"

namespace qrl::daemon {

struct Delivery {
  std::uint64_t tag = 0;
  std::string body;
  amqp::Headers headers;
};

// What next() found: nothing within its timeout (or woken), a delivery, or the news that the
// broker cancelled the consumer (its queue was deleted, or its node lost).
struct Polled {
  enum class Kind { kNothing, kDelivery, kCancelled };
  Kind kind = Kind::kNothing;
  Delivery delivery;
};

class Broker {
 public:
  virtual ~Broker() = default;
  // Connects, logs in and declares the queues failed messages go to.
  virtual void open() = 0;
  virtual void close() noexcept = 0;
  virtual bool is_open() const = 0;
  // Declares the main queue (as the producer does, so a deleted one comes back) and consumes it.
  virtual void consume(std::uint16_t prefetch) = 0;
  // Changes the most unacked deliveries the broker sends, under the running consumer.
  virtual void set_prefetch(std::uint16_t prefetch) = 0;
  virtual void cancel() = 0;
  virtual Polled next(std::chrono::milliseconds timeout) = 0;
  // From any thread: the loop's next() returns at once.
  virtual void wake() = 0;
  virtual void ack(std::uint64_t tag) = 0;
  virtual void reject(std::uint64_t tag, bool requeue) = 0;
  // The main queue's ready messages (the backlog), where the broker can tell.
  virtual std::optional<std::uint32_t> ready_messages() { return std::nullopt; }
  // "host:port" of the node in use (empty when not connected, or unknown).
  virtual std::string node() const { return ""; }
  // Whether the main queue counts a message's returns (a quorum queue: x-delivery-count, and a
  // delivery limit after which it drops or dead-letters the message itself).
  virtual bool counts_returns() const { return false; }
};

class AmqpBroker final : public Broker {
 public:
  explicit AmqpBroker(config::Rabbit settings);
  ~AmqpBroker() override;
  AmqpBroker(const AmqpBroker&) = delete;
  AmqpBroker& operator=(const AmqpBroker&) = delete;

  void open() override;
  void close() noexcept override;
  bool is_open() const override { return connection_.has_value(); }
  void consume(std::uint16_t prefetch) override;
  void set_prefetch(std::uint16_t prefetch) override;
  void cancel() override;
  Polled next(std::chrono::milliseconds timeout) override;
  void wake() override;
  void ack(std::uint64_t tag) override;
  void reject(std::uint64_t tag, bool requeue) override;
  std::optional<std::uint32_t> ready_messages() override;
  std::string node() const override { return connection_ ? node_ : ""; }
  // Known when rabbit-mq.queue_type says quorum, or a delivery carried x-delivery-count.
  bool counts_returns() const override { return settings_.queue_type == "quorum" || returns_counted_; }

 private:
  void drop() noexcept;
  // Runs `call` on the connection; a failure drops it before passing the error on.
  template <typename F>
  auto guarded(F&& call);

  config::Rabbit settings_;
  std::optional<amqp::Connection> connection_;
  std::size_t first_node_ = 0;  // where the next open() starts in the node list
  bool global_prefetch_ = settings_.queue_type != "quorum";
  std::string node_;
  bool returns_counted_ = false;
  int wake_fd_;
};

}  // namespace qrl::daemon
