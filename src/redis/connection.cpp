#include "redis/connection.h"

#include <sys/time.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace qrl::redis {

namespace {

timeval to_timeval(std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  return tv;
}

}  // namespace

Connection::Connection(const std::string& host, int port, std::chrono::milliseconds timeout,
                       std::size_t max_reply_bytes)
    : endpoint_(host + ":" + std::to_string(port)), timeout_(timeout), max_reply_bytes_(max_reply_bytes) {
  auto tv = to_timeval(timeout);
  context_.reset(redisConnectWithTimeout(host.c_str(), port, tv));
  if (!context_) throw core::transient_error(core::Stage::kRead, "redis " + endpoint_ + ": out of memory");
  if (context_->err != 0) fail("cannot connect");
  if (redisSetTimeout(context_.get(), tv) != REDIS_OK) fail("cannot set timeout");
}

void Connection::fail(const char* what) {
  std::string reason = context_ ? context_->errstr : "no connection";
  // hiredis reports a socket timeout as the errno it saw, EAGAIN: say what it means.
  if (context_ && context_->err == REDIS_ERR_IO && reason == std::strerror(EAGAIN)) {
    reason = "timed out after " + std::to_string(timeout_.count()) + " ms";
  }
  context_.reset();
  throw core::transient_error(core::Stage::kUnknown,
                              std::string("redis ") + endpoint_ + ": " + what + ": " + reason);
}

namespace {

// RESP, written directly: hiredis's own formatter builds each argument with sdscatfmt, which
// for a quiz's few hundred keys costs more than everything else the adapter does.
void append_resp(std::string& out, const Command& command) {
  out += '*';
  out += std::to_string(command.size());
  out += "\r\n";
  for (const auto& arg : command) {
    out += '$';
    out += std::to_string(arg.size());
    out += "\r\n";
    out += arg;
    out += "\r\n";
  }
}

}  // namespace

std::vector<Reply> Connection::pipeline(const std::vector<Command>& commands) {
  if (!context_) fail("connection is closed");
  std::string buffer;
  std::size_t bytes = 0;
  for (const auto& command : commands) {
    for (const auto& arg : command) bytes += arg.size() + 16;
  }
  buffer.reserve(bytes + 16 * commands.size());
  for (const auto& command : commands) append_resp(buffer, command);
  if (redisAppendFormattedCommand(context_.get(), buffer.data(), buffer.size()) != REDIS_OK) {
    fail("cannot queue commands");
  }
  ++round_trips_;
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  // Everything written first (as redisGetReply would), then each reply read by hand so its size
  // can be bounded while it arrives.
  int done = 0;
  while (done == 0) {
    if (redisBufferWrite(context_.get(), &done) != REDIS_OK) fail("lost connection");
  }
  for (std::size_t i = 0; i < commands.size(); ++i)
    replies.emplace_back(static_cast<redisReply*>(read_reply()));
  return replies;
}

void* Connection::read_reply() {
  for (;;) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(context_.get(), &raw) != REDIS_OK) fail("bad reply");
    if (raw != nullptr) return raw;
    const redisReader* reader = context_->reader;
    if (reader->len - reader->pos > max_reply_bytes_) {
      const std::string limit = std::to_string(max_reply_bytes_);
      context_.reset();
      throw core::transient_error(core::Stage::kUnknown, "redis " + endpoint_ + ": a reply larger than " +
                                                             limit + " bytes; connection dropped");
    }
    if (redisBufferRead(context_.get()) != REDIS_OK) fail("lost connection");
  }
}

Reply Connection::command(const Command& args) {
  return std::move(pipeline({args}).front());
}

}  // namespace qrl::redis
