#include "redis/connection.h"

#include <charconv>
#include <string_view>

#include "core/error.h"

namespace qrl::redis {

namespace {

// "<mark><count>\r\n", one append.
void append_count(std::string& out, char mark, std::size_t count) {
  char text[24];
  text[0] = mark;
  char* end = std::to_chars(text + 1, text + sizeof text - 2, count).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out.append(text, static_cast<std::size_t>(end - text));
}

// RESP, written directly: hiredis's own formatter builds each argument with sdscatfmt, which
// for a quiz's few hundred keys costs more than everything else the adapter does.
template <typename Args>
void append_resp(std::string& out, const Args& command) {
  append_count(out, '*', command.size());
  for (const auto& arg : command) {
    append_count(out, '$', arg.size());
    out += arg;
    out.append("\r\n", 2);
  }
}

std::string_view text_of(const redisReply& reply) {
  return reply.str == nullptr ? std::string_view() : std::string_view(reply.str, reply.len);
}

}  // namespace

Connection::Connection(const config::Redis& settings, std::chrono::milliseconds timeout,
                       std::size_t max_reply_bytes)
    : endpoint_(settings.host + ":" + std::to_string(settings.port)), max_reply_bytes_(max_reply_bytes) {
  stream_ = std::make_unique<tls::Stream>(
      tls::Stream::open("redis " + endpoint_, settings.host, settings.port, settings.tls, timeout));
  reader_.reset(redisReaderCreate());
  if (!reader_) throw core::transient_error(core::Stage::kUnknown, "redis " + endpoint_ + ": out of memory");
  try {
    log_in(settings);
  } catch (const core::Error& e) {
    // A TLS port drops a plain client at its first bytes: say what that most likely means.
    if (settings.tls.enabled ||
        (e.code() != core::Code::kConnectionLost && e.code() != core::Code::kConnectionClosed))
      throw;
    throw core::transient_error(core::Stage::kUnknown,
                                std::string(e.what()) + " (if port " + std::to_string(settings.port) +
                                    " is a TLS port, set redis.tls / REDIS_TLS)",
                                core::Code::kConnectionLost);
  }
}

void Connection::log_in(const config::Redis& settings) {
  std::vector<Command> commands;
  if (!settings.password.empty()) {
    if (settings.username.empty()) {
      commands.push_back({"AUTH", settings.password});
    } else {
      commands.push_back({"AUTH", settings.username, settings.password});
    }
  }
  if (settings.db != 0) commands.push_back({"SELECT", std::to_string(settings.db)});
  commands.push_back({"PING"});
  auto replies = pipeline(commands);
  round_trips_ = 0;
  const std::string user =
      settings.username.empty() ? "the default user" : "user '" + settings.username + "'";
  for (std::size_t i = 0; i < replies.size(); ++i) {
    const redisReply& reply = *replies[i];
    if (reply.type != REDIS_REPLY_ERROR) continue;
    // The reply never contains the password; the command's name and the user are safe to say.
    const auto& name = commands[i].front();
    std::string message = "redis " + endpoint_ + ": ";
    if (name == "AUTH") {
      message += "login refused for " + user + ": " + std::string(text_of(reply));
    } else if (name == "SELECT") {
      message += "cannot select database " + std::to_string(settings.db) + ": " + std::string(text_of(reply));
    } else if (text_of(reply).substr(0, 6) == "NOAUTH") {
      message += "the server requires a password (set redis.password / REDIS_PASSWORD): " +
                 std::string(text_of(reply));
    } else {
      message += name + " refused: " + std::string(text_of(reply));
    }
    stream_.reset();
    // LOADING (a server restarting) passes; everything else is the deployment's to fix. The
    // reply's first word is Redis's error code.
    if (text_of(reply).substr(0, 7) == "LOADING") throw core::transient_error(core::Stage::kUnknown, message);
    throw core::environment_error(core::Stage::kUnknown, message,
                                  name == "SELECT" ? core::Code::kRedisDatabase : core::Code::kRedisLogin);
  }
}

void Connection::fail(const std::string& what) {
  stream_.reset();
  throw core::transient_error(core::Stage::kUnknown, "redis " + endpoint_ + ": " + what);
}

namespace {

template <typename Commands>
std::string encode(const Commands& commands) {
  std::size_t bytes = 0;
  for (const auto& command : commands) {
    for (const auto& arg : command) bytes += arg.size() + 16;
  }
  std::string buffer;
  buffer.reserve(bytes + 16 * commands.size());
  for (const auto& command : commands) append_resp(buffer, command);
  return buffer;
}

}  // namespace

std::vector<Reply> Connection::pipeline(const std::vector<Command>& commands) {
  return exchange(encode(commands), commands.size());
}

std::vector<Reply> Connection::pipeline(std::span<const CommandView> commands) {
  return exchange(encode(commands), commands.size());
}

void Connection::send(std::span<const CommandView> commands) { write(encode(commands)); }

void Connection::write(const std::string& buffer) {
  if (!stream_) fail("connection is closed");
  ++round_trips_;
  try {
    stream_->write_all(buffer);
  } catch (const core::Error&) {
    stream_.reset();
    throw;
  }
}

std::vector<Reply> Connection::receive(std::size_t count) {
  std::vector<Reply> replies;
  replies.reserve(count);
  for (std::size_t i = 0; i < count; ++i) replies.emplace_back(read_reply());
  return replies;
}

std::vector<Reply> Connection::exchange(std::string buffer, std::size_t count) {
  write(buffer);
  buffer = std::string();  // sent: memory holds the replies, not the commands too
  return receive(count);
}

// One reply, read in chunks so its size can be bounded while it arrives.
redisReply* Connection::read_reply() {
  char chunk[64 * 1024];
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
      fail(std::string("bad reply: ") + reader_->errstr);
    }
    if (raw != nullptr) return static_cast<redisReply*>(raw);
    if (reader_->len - reader_->pos > max_reply_bytes_) {
      fail("a reply larger than " + std::to_string(max_reply_bytes_) + " bytes; connection dropped");
    }
    std::size_t n = 0;
    try {
      n = stream_->read_some(chunk, sizeof chunk);
    } catch (const core::Error&) {
      stream_.reset();
      throw;
    }
    if (redisReaderFeed(reader_.get(), chunk, n) != REDIS_OK) fail("out of memory reading a reply");
  }
}

Reply Connection::command(const Command& args) {
  return std::move(pipeline({args}).front());
}

}  // namespace qrl::redis
