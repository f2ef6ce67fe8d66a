#pragma once
// A blocking hiredis connection owned by one thread. Every command goes out in a pipeline:
// the caller hands over all the commands of one step and gets all the replies back in a
// single round trip. Connection-level failures (refused, reset, timeout, EOF) are transient
// core::Errors; after one, the connection is dead and the owner makes a new one.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <hiredis/hiredis.h>

namespace qrl::redis {

struct ReplyDeleter {
  void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

using Command = std::vector<std::string>;

class Connection {
 public:
  // A reply whose unread part grows past `max_reply_bytes` (a broken or hostile server
  // streaming an endless value) fails the call instead of growing the loader's memory.
  static constexpr std::size_t kDefaultMaxReplyBytes = std::size_t{64} << 20;
  Connection(const std::string& host, int port, std::chrono::milliseconds timeout,
             std::size_t max_reply_bytes = kDefaultMaxReplyBytes);

  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;

  // Sends all commands, then reads all replies: one round trip. Error replies are returned
  // as replies (type REDIS_REPLY_ERROR) for the caller to attribute to a key.
  std::vector<Reply> pipeline(const std::vector<Command>& commands);
  Reply command(const Command& args);

  // Round trips made so far; the tests use it to prove a quiz costs a fixed number of them.
  std::uint64_t round_trips() const noexcept { return round_trips_; }

 private:
  struct ContextDeleter {
    void operator()(redisContext* context) const noexcept { redisFree(context); }
  };
  [[noreturn]] void fail(const char* what);
  void* read_reply();

  std::unique_ptr<redisContext, ContextDeleter> context_;
  std::string endpoint_;
  std::chrono::milliseconds timeout_;
  std::size_t max_reply_bytes_;
  std::uint64_t round_trips_ = 0;
};

}  // namespace qrl::redis
