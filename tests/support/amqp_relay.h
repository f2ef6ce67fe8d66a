#pragma once
// A TCP relay in front of RabbitMQ that reads the broker's side frame by frame (AMQP 0-9-1: type,
// channel, size, payload, 0xCE) and can hold back every publisher confirm (basic.ack, class 60
// method 80, from the broker) for a while: a broker that is slow to confirm, and nothing else
// changed. Everything else passes at once, in order (a frame behind a held confirm waits too).

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace qrl::testing {

class AmqpRelay {
 public:
  explicit AmqpRelay(int broker_port);
  ~AmqpRelay();
  AmqpRelay(const AmqpRelay&) = delete;
  AmqpRelay& operator=(const AmqpRelay&) = delete;

  int port() const { return port_; }
  void hold_confirms(std::chrono::milliseconds delay) { delay_ms_ = delay.count(); }
  int confirms_held() const { return held_; }

 private:
  void relay(int client);

  int broker_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<long long> delay_ms_{0};
  std::atomic<int> held_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<int> fds_;
  std::vector<std::thread> pumps_;
};

}  // namespace qrl::testing
