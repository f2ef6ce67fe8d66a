#pragma once
// What an orchestrator asks of `serve`, and the HTTP endpoint that answers it:
//   /healthz  alive: the AMQP thread has turned its loop lately (it turns at least every 100 ms);
//   /readyz   ready: every part is up: RabbitMQ connected and consuming (not paused, not
//             draining), Redis answering PING after logging in, DynamoDB describing the table;
//   /metrics  the Prometheus text of metrics::Registry.
// Redis and DynamoDB are probed by a thread of their own (Prober) with the loader's settings,
// so readiness turns false while a server is unreachable or refuses the loader's credentials,
// and true again by itself, whether or not quizzes are flowing.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "metrics/registry.h"

namespace qrl::health {

class State {
 public:
  explicit State(core::Clock& clock = core::system_clock()) : clock_(clock), last_tick_(clock.now()) {}

  void tick();  // the AMQP thread, every turn of its loop
  // One part's state; `reason` says why it is not ready (never a secret).
  void set(const std::string& part, bool ready, const std::string& reason = "");
  // What a ready part says beside "ok" (empty: nothing), e.g. that writes are being paced.
  void note(const std::string& part, const std::string& text);

  bool alive(std::chrono::milliseconds max_silence) const;
  // Ready, and one line per part, "name: ok" or "name: reason".
  std::pair<bool, std::string> ready() const;

 private:
  core::Clock& clock_;
  mutable std::mutex mutex_;
  core::Clock::time_point last_tick_;
  std::map<std::string, std::pair<bool, std::string>> parts_;
  std::map<std::string, std::string> notes_;
};

// Runs each check every `interval` on a thread of its own and sets its part in `state`: ready
// if it returned, not ready with the error's message if it threw.
class Prober {
 public:
  using Check = std::function<void()>;
  Prober(State& state, std::vector<std::pair<std::string, Check>> checks, std::chrono::milliseconds interval);
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

 private:
  State& state_;
  std::vector<std::pair<std::string, Check>> checks_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

// The HTTP endpoint on `port`, all interfaces (a container's port must be reachable from
// outside it). Throws an environment core::Error if the port cannot be bound.
class Endpoint {
 public:
  Endpoint(int port, const State& state, const metrics::Registry& registry,
           std::chrono::milliseconds max_silence = std::chrono::seconds(10));
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace qrl::health
