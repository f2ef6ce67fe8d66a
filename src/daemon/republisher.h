#pragma once
// Publishes failed messages, to the holding queue (a delayed requeue) or to the dead-letter
// queue, and messages a quorum queue would count as returned, back to the main queue; each confirmed by the broker, on a thread and a connection of its own: waiting for a
// slow broker's confirm (up to 10 s, after up to 10 s connecting) never stalls the consumer
// loop, whose turns /healthz watches. Each letter's outcome comes back through `receipt`.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "amqp/connection.h"
#include "config/config.h"
#include "daemon/work_queue.h"

namespace qrl::daemon {

// Where a letter goes: the holding queue (a delayed requeue), the dead-letter queue, or straight
// back to the main queue (a quorum queue's message returned as new: its delivery count starts over).
enum class Route { kHolding, kDeadLetters, kMain };

struct Letter {
  std::uint64_t generation = 0;
  std::uint64_t tag = 0;
  Route route = Route::kDeadLetters;
  std::string body;
  amqp::Headers headers;
};

struct Receipt {
  std::uint64_t generation = 0;
  std::uint64_t tag = 0;
  bool published = false;  // false: the broker did not take it; the original goes back
};

class Republish {
 public:
  virtual ~Republish() = default;
  virtual void submit(Letter letter) = 0;
};

class Republisher final : public Republish {
 public:
  using Publish = std::function<void(const Letter&)>;  // throws core::Error when not confirmed
  Republisher(Publish publish, std::function<void(Receipt)> receipt);
  ~Republisher() override;  // publishes what was submitted, then stops
  Republisher(const Republisher&) = delete;
  Republisher& operator=(const Republisher&) = delete;
  void submit(Letter letter) override;

 private:
  // Empty when the broker took the letter, else why not.
  std::optional<std::string> try_publish(const Letter& letter);

  Publish publish_;
  std::function<void(Receipt)> receipt_;
  WorkQueue<Letter> letters_;
  std::thread thread_;
};

// The real publish: a connection in confirm mode, made when first needed and again after a
// failure. It sits idle between letters, when rabbitmq-c could not answer heartbeats, so it asks
// for none (a dead socket shows as a missing confirm, and the message goes back to the queue).
Republisher::Publish amqp_publisher(const config::Config& config);

}  // namespace qrl::daemon
