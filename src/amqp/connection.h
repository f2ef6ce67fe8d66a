#pragma once
// A rabbitmq-c connection with one channel, owned by one thread. rabbitmq-c does no I/O of its
// own between calls (heartbeats are serviced only inside them), so the owner polls next() with
// a short timeout and never blocks on anything else. Failures are core::Errors that say which
// broker and what happened; after one the connection is dead.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <amqp.h>

#include "config/config.h"

namespace qrl::amqp {

using Headers = std::map<std::string, std::string>;

struct Message {
  std::uint64_t delivery_tag = 0;
  std::string body;
  bool redelivered = false;
  Headers headers;  // string and integer headers, as text
};

class Connection {
 public:
  // Connects (over TLS if the settings say so), logs in to the settings' vhost and opens
  // channel 1, with the settings' heartbeat or `heartbeat` (0 disables heartbeats). A refused
  // login, vhost or certificate is an environment core::Error; a lost connection a transient one.
  // With several nodes (rabbit-mq.host as a list), the first that answers, from `first_node`
  // on, in the list's order; node() says which.
  explicit Connection(const config::Rabbit& settings);
  Connection(const config::Rabbit& settings, std::chrono::seconds heartbeat, std::size_t first_node = 0);
  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;

  // Declares a durable queue (not exclusive, not auto-delete) of `type` ("classic": no
  // arguments, as the producer declares it; "quorum": x-queue-type) with `arguments` on top.
  // Returns its ready message count. A queue that exists with other arguments is refused (406):
  // an environment core::Error, code kRabbitQueue, naming rabbit-mq.queue_type; the connection
  // stays usable.
  std::uint32_t declare_queue(const std::string& queue, const std::string& type = "classic",
                              const Headers& arguments = {});
  // Ready messages of an existing queue, declaring nothing (a passive declare), or empty when it
  // does not exist (the connection stays usable).
  std::optional<std::uint32_t> find_queue(const std::string& queue);
  // Ready messages of an existing queue; one that does not exist throws.
  std::uint32_t inspect_queue(const std::string& queue);

  // Starts consuming with manual acknowledgement and `prefetch` unacked messages at most: for
  // the channel (global QoS, changed under the running consumer), or, after
  // prefetch_per_consumer(), for each consumer (quorum queues know no global QoS; a change then
  // starts a new consumer).
  void prefetch_per_consumer() { global_prefetch_ = false; }
  void set_prefetch(std::uint16_t prefetch);
  void consume(const std::string& queue, std::uint16_t prefetch);
  void cancel();  // stops deliveries; unacked ones stay ours until acked or the channel closes

  // The next delivery, or empty after `timeout` with none, or as soon as `wake_fd` (if not -1)
  // becomes readable: other threads use it to have the owner act on their results at once.
  // Also empty when the broker cancels the consumer (consumer_cancel_notify, advertised at
  // login): consumer_cancelled() then says so until the next consume().
  std::optional<Message> next(std::chrono::milliseconds timeout, int wake_fd = -1);
  bool consumer_cancelled() const noexcept { return cancelled_by_broker_; }
  // One message without a consumer (basic.get), or empty if the queue is empty.
  std::optional<Message> get(const std::string& queue);

  void ack(std::uint64_t delivery_tag);
  void reject(std::uint64_t delivery_tag, bool requeue);

  // Puts the channel in confirm mode: publish() then waits for the broker's confirm, and
  // publishes as mandatory: a message the broker routes to no queue (the queue is gone, or a
  // node going down found none) comes back, and publish() throws instead of reporting a confirm
  // the broker gives for a message it dropped.
  void enable_confirms();
  // Persistent message to `queue` through the default exchange; with `expiration`, the broker
  // drops (or dead-letters) it after that long in the queue.
  void publish(const std::string& queue, std::string_view body, const Headers& headers = {},
               std::optional<std::chrono::milliseconds> expiration = std::nullopt);

  // Closes politely (channel, then connection); errors are ignored.
  void close() noexcept;

  const std::string& endpoint() const noexcept { return endpoint_; }  // "host:port" of the node in use
  std::size_t node() const noexcept { return node_; }                  // its index in the node list

 private:
  void open(const config::Rabbit& settings, const config::Node& node, std::chrono::seconds heartbeat);
  // After the broker closed the channel (a refused declaration): acknowledges the close and
  // opens the channel again. Returns the broker's reply code and text, e.g. "404 NOT_FOUND - …".
  std::pair<int, std::string> recover_channel();
  struct StateDeleter {
    void operator()(amqp_connection_state_t state) const noexcept { amqp_destroy_connection(state); }
  };
  amqp_socket_t* open_tls_socket(const config::Tls& tls);
  void check_reply(const char* what);
  [[noreturn]] void fail(const std::string& what);
  void wait_confirm(const std::string& queue);
  void start_consumer();

  std::unique_ptr<amqp_connection_state_t_, StateDeleter> state_;
  std::string endpoint_;
  std::string consumer_tag_;
  bool confirms_ = false;
  bool cancelled_by_broker_ = false;
  std::uint64_t published_ = 0;
  std::size_t node_ = 0;
  bool global_prefetch_ = true;
  std::string consumer_queue_;
};

// The nodes of the settings: rabbit-mq.host's list, or its one host and port.
std::vector<config::Node> nodes_of(const config::Rabbit& settings);

}  // namespace qrl::amqp
