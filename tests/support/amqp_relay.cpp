#include "support/amqp_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "support/listen.h"

namespace qrl::testing {

namespace {

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

AmqpRelay::AmqpRelay(int broker_port) : broker_port_(broker_port) {
  listen_fd_ = listen_loopback(16, port_, "AMQP relay");
  acceptor_ = std::thread([this] {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      relay(client);
    }
  });
}

AmqpRelay::~AmqpRelay() {
  stopping_ = true;
  acceptor_.join();
  {
    std::lock_guard lock(mutex_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& pump : pumps_) pump.join();
  for (int fd : fds_) ::close(fd);
  ::close(listen_fd_);
}

void AmqpRelay::relay(int client) {
  int broker = connect_loopback(broker_port_);
  if (broker < 0) {
    ::close(client);
    return;
  }
  std::lock_guard lock(mutex_);
  fds_.push_back(client);
  fds_.push_back(broker);
  // Client to broker: as it comes.
  pumps_.emplace_back([client, broker] {
    char buffer[16384];
    for (;;) {
      ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
      if (n <= 0 || !write_all(broker, buffer, static_cast<std::size_t>(n))) break;
    }
    ::shutdown(broker, SHUT_RDWR);
  });
  // Broker to client: frame by frame, a confirm held back when asked.
  pumps_.emplace_back([this, client, broker] {
    std::string pending;
    char buffer[16384];
    for (;;) {
      ssize_t n = ::recv(broker, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      pending.append(buffer, static_cast<std::size_t>(n));
      std::size_t used = 0;
      while (pending.size() - used >= 7) {
        const auto* h = reinterpret_cast<const unsigned char*>(pending.data() + used);
        const std::size_t size = (std::size_t{h[3]} << 24) | (std::size_t{h[4]} << 16) | (std::size_t{h[5]} << 8) | h[6];
        if (pending.size() - used < 7 + size + 1) break;
        const bool confirm = h[0] == 1 && size >= 4 && h[7] == 0 && h[8] == 60 && h[9] == 0 && h[10] == 80;
        if (confirm && delay_ms_ > 0) {
          ++held_;
          std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_.load()));
        }
        if (!write_all(client, pending.data() + used, 7 + size + 1)) return;
        used += 7 + size + 1;
      }
      pending.erase(0, used);
    }
    ::shutdown(client, SHUT_RDWR);
  });
}

}  // namespace qrl::testing
