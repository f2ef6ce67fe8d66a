#pragma once
// A blocking Redis connection owned by one thread: hiredis's RESP reader over a tls::Stream
// (plain TCP or TLS). Every command goes out in a pipeline: the caller hands over all the
// commands of one step and gets all the replies back in a single round trip.
//
// Opening a connection logs in before anything else: AUTH (with the ACL user if one is set),
// SELECT of the database, and a PING, in one round trip. A refused login is an environment
// failure (no quiz can be read until an operator fixes the password or the ACL); a lost,
// refused or timed-out connection is transient. After a failure the connection is dead and the
// owner makes a new one, which logs in again.

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <hiredis/hiredis.h>

#include "config/config.h"
#include "tls/stream.h"

namespace qrl::redis {

struct ReplyDeleter {
  void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

using Command = std::vector<std::string>;
// A command whose arguments live elsewhere (keys the caller holds), sent without copying them.
using CommandView = std::vector<std::string_view>;

class Connection {
 public:
  // A reply whose unread part grows past `max_reply_bytes` (a broken or hostile server
  // streaming an endless value) fails the call instead of growing the loader's memory.
  static constexpr std::size_t kDefaultMaxReplyBytes = std::size_t{64} << 20;
  Connection(const config::Redis& settings, std::chrono::milliseconds timeout,
             std::size_t max_reply_bytes = kDefaultMaxReplyBytes);

  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;

  // Sends all commands, then reads all replies: one round trip. Error replies are returned
  // as replies (type REDIS_REPLY_ERROR) for the caller to attribute to a key.
  std::vector<Reply> pipeline(const std::vector<Command>& commands);
  std::vector<Reply> pipeline(std::span<const CommandView> commands);
  Reply command(const Command& args);
  // The two halves of a pipeline, for a cluster: commands sent to every node before the
  // replies of any are read, so the nodes answer at once. One round trip.
  void send(std::span<const CommandView> commands);
  std::vector<Reply> receive(std::size_t count);

  // Round trips made so far for the caller (the login is not counted); the tests use it to
  // prove a quiz costs a fixed number of them.
  std::uint64_t round_trips() const noexcept { return round_trips_; }

  const std::string& endpoint() const noexcept { return endpoint_; }

 private:
  struct ReaderDeleter {
    void operator()(redisReader* reader) const noexcept { redisReaderFree(reader); }
  };
  void log_in(const config::Redis& settings);
  redisReply* read_reply();
  // Sends `count` commands encoded in `buffer` and reads their replies.
  std::vector<Reply> exchange(std::string buffer, std::size_t count);
  void write(const std::string& buffer);
  [[noreturn]] void fail(const std::string& what);

  std::string endpoint_;
  std::unique_ptr<tls::Stream> stream_;
  std::unique_ptr<redisReader, ReaderDeleter> reader_;
  std::size_t max_reply_bytes_;
  std::uint64_t round_trips_ = 0;
};

}  // namespace qrl::redis
