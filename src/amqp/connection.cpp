#include "amqp/connection.h"

#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <poll.h>
#include <sys/time.h>

#include <vector>

#include "core/error.h"
#include "tls/stream.h"

namespace qrl::amqp {

namespace {

constexpr amqp_channel_t kChannel = 1;

amqp_bytes_t bytes(std::string_view text) {
  return amqp_bytes_t{text.size(), const_cast<char*>(text.data())};
}

std::string text(amqp_bytes_t b) {
  return std::string(static_cast<const char*>(b.bytes), b.len);
}

timeval to_timeval(std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  return tv;
}

Headers read_headers(const amqp_basic_properties_t& properties) {
  Headers out;
  if ((properties._flags & AMQP_BASIC_HEADERS_FLAG) == 0) return out;
  for (int i = 0; i < properties.headers.num_entries; ++i) {
    const auto& entry = properties.headers.entries[i];
    std::string key = text(entry.key);
    switch (entry.value.kind) {
      case AMQP_FIELD_KIND_UTF8:
      case AMQP_FIELD_KIND_BYTES: out[key] = text(entry.value.value.bytes); break;
      case AMQP_FIELD_KIND_I64: out[key] = std::to_string(entry.value.value.i64); break;
      case AMQP_FIELD_KIND_U64: out[key] = std::to_string(entry.value.value.u64); break;
      case AMQP_FIELD_KIND_I32: out[key] = std::to_string(entry.value.value.i32); break;
      case AMQP_FIELD_KIND_TIMESTAMP: out[key] = std::to_string(entry.value.value.u64); break;
      default: break;
    }
  }
  return out;
}

}  // namespace

namespace {

constexpr std::chrono::milliseconds kConnectTimeout{10000};

bool tls_failure(int status) {
  switch (status) {
    case AMQP_STATUS_SSL_ERROR:
    case AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED:
    case AMQP_STATUS_SSL_PEER_VERIFY_FAILED:
    case AMQP_STATUS_SSL_CONNECTION_FAILED:
    case AMQP_STATUS_SSL_SET_ENGINE_FAILED: return true;
    default: return false;
  }
}

}  // namespace

Connection::Connection(const config::Rabbit& settings) : Connection(settings, settings.heartbeat) {}

Connection::Connection(const config::Rabbit& settings, std::chrono::seconds heartbeat, std::size_t first_node) {
  const auto nodes = nodes_of(settings);
  std::optional<core::Error> refused;  // the first environment failure: the deployment's to fix
  std::string tried;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const auto index = (first_node + i) % nodes.size();
    try {
      open(settings, nodes[index], heartbeat);
      node_ = index;
      return;
    } catch (const core::Error& e) {
      if (nodes.size() == 1) throw;
      if (!e.transient() && !refused) refused = e;
      tried += (tried.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  if (refused) throw *refused;
  throw core::transient_error(core::Stage::kUnknown, "rabbitmq: no node answered: " + tried);
}

std::vector<config::Node> nodes_of(const config::Rabbit& settings) {
  if (!settings.nodes.empty()) return settings.nodes;
  return {{settings.host, settings.port}};
}

void Connection::open(const config::Rabbit& settings, const config::Node& node, std::chrono::seconds heartbeat) {
  state_.reset(amqp_new_connection());
  endpoint_ = node.host + ":" + std::to_string(node.port);
  consumer_tag_.clear();
  if (!state_) fail("out of memory");
  amqp_socket_t* socket = settings.tls.enabled ? open_tls_socket(settings.tls)
                                               : amqp_tcp_socket_new(state_.get());  // owned by the state
  if (socket == nullptr) fail("cannot create socket");
  auto tv = to_timeval(kConnectTimeout);
  int status = amqp_socket_open_noblock(socket, node.host.c_str(), node.port, &tv);
  if (status != AMQP_STATUS_OK && settings.tls.enabled && tls_failure(status)) {
    // rabbitmq-c says only that the handshake failed; a handshake of our own says why.
    state_.reset();
    auto why = tls::diagnose(node.host, node.port, settings.tls, kConnectTimeout);
    if (!why) {
      throw core::environment_error(core::Stage::kUnknown,
                                    "rabbitmq " + endpoint_ + ": TLS handshake failed: " +
                                        amqp_error_string2(status),
                                    core::Code::kTlsHandshake);
    }
    throw core::Error(why->kind(), core::Stage::kUnknown, "rabbitmq " + endpoint_ + ": " + why->what(), {},
                      core::DataProblem::kNone, why->code());
  }
  if (status != AMQP_STATUS_OK) fail(std::string("cannot connect: ") + amqp_error_string2(status));
  // Ask to be told when the broker cancels our consumer (its queue deleted, its node lost):
  // without the capability it drops the consumer silently. rabbitmq-c merges this table into
  // the capabilities it advertises itself.
  amqp_table_entry_t capability{};
  capability.key = amqp_cstring_bytes("consumer_cancel_notify");
  capability.value.kind = AMQP_FIELD_KIND_BOOLEAN;
  capability.value.value.boolean = 1;
  amqp_table_entry_t property{};
  property.key = amqp_cstring_bytes("capabilities");
  property.value.kind = AMQP_FIELD_KIND_TABLE;
  property.value.value.table = amqp_table_t{1, &capability};
  amqp_table_t properties{1, &property};
  auto login = amqp_login_with_properties(state_.get(), settings.vhost.c_str(), 0, 131072,
                                          static_cast<int>(heartbeat.count()), &properties,
                                          AMQP_SASL_METHOD_PLAIN, settings.username.c_str(),
                                          settings.password.c_str());
  if (login.reply_type != AMQP_RESPONSE_NORMAL) {
    // Never echo the credentials; the broker's reply names the user at most. A refused login
    // or vhost is the deployment's to fix: an environment failure, not a retry.
    std::string detail;
    // The broker refuses a vhost with 530 NOT_ALLOWED, a login with 403 ACCESS_REFUSED (or by
    // closing the socket, before AMQP 0-9-1's authentication_failure_close capability).
    bool vhost = false;
    if (login.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        login.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
      auto* close = static_cast<amqp_connection_close_t*>(login.reply.decoded);
      detail = std::to_string(close->reply_code) + " " + text(close->reply_text);
      vhost = close->reply_code == AMQP_NOT_ALLOWED;
    }
    if (login.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION ||
        login.library_error == AMQP_STATUS_CONNECTION_CLOSED) {
      state_.reset();
      throw core::environment_error(
          core::Stage::kUnknown,
          "rabbitmq " + endpoint_ + ": " +
              (vhost ? "access to vhost '" + settings.vhost + "' refused for user '" + settings.username + "'"
                     : "login refused for user '" + settings.username + "' (wrong user or password?)") +
              (detail.empty() ? "" : ": " + detail),
          vhost ? core::Code::kRabbitVhost : core::Code::kRabbitLogin);
    }
    std::string hint;
    if (!settings.tls.enabled && login.library_error == AMQP_STATUS_SOCKET_ERROR) {
      hint =
          " (if port " + std::to_string(node.port) + " is a TLS port, set rabbit-mq.tls / RABBITMQ_TLS)";
    }
    fail(std::string("login failed: ") + amqp_error_string2(login.library_error) + hint);
  }
  amqp_channel_open(state_.get(), kChannel);
  check_reply("cannot open channel");
}

// A TLS socket that verifies the broker's certificate chain and host name, always.
amqp_socket_t* Connection::open_tls_socket(const config::Tls& tls) {
  amqp_socket_t* socket = amqp_ssl_socket_new(state_.get());
  if (socket == nullptr) fail("cannot create TLS socket");
  amqp_ssl_socket_set_verify_peer(socket, 1);
  amqp_ssl_socket_set_verify_hostname(socket, 1);
  amqp_ssl_socket_set_ssl_versions(socket, AMQP_TLSv1_2, AMQP_TLSvLATEST);
  const std::string ca = tls.ca_file.empty() ? tls::system_ca_file() : tls.ca_file;
  if (!ca.empty() && amqp_ssl_socket_set_cacert(socket, ca.c_str()) != AMQP_STATUS_OK) {
    state_.reset();
    throw core::environment_error(core::Stage::kUnknown,
                                  "rabbitmq " + endpoint_ + ": TLS: cannot use CA file '" + ca + "'",
                                  core::Code::kTlsCertificate);
  }
  if (!tls.cert_file.empty() &&
      amqp_ssl_socket_set_key(socket, tls.cert_file.c_str(), tls.key_file.c_str()) != AMQP_STATUS_OK) {
    state_.reset();
    throw core::environment_error(core::Stage::kUnknown,
                                  "rabbitmq " + endpoint_ + ": TLS: cannot use client certificate '" +
                                      tls.cert_file + "' and key '" + tls.key_file + "'",
                                  core::Code::kTlsCertificate);
  }
  return socket;
}

void Connection::fail(const std::string& what) {
  state_.reset();
  throw core::transient_error(core::Stage::kUnknown, "rabbitmq " + endpoint_ + ": " + what);
}

void Connection::check_reply(const char* what) {
  auto reply = amqp_get_rpc_reply(state_.get());
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL: return;
    case AMQP_RESPONSE_SERVER_EXCEPTION: {
      std::string detail = "broker closed the channel";
      if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* close = static_cast<amqp_channel_close_t*>(reply.reply.decoded);
        detail = std::to_string(close->reply_code) + " " + text(close->reply_text);
      } else if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* close = static_cast<amqp_connection_close_t*>(reply.reply.decoded);
        detail = std::to_string(close->reply_code) + " " + text(close->reply_text);
      }
      fail(std::string(what) + ": " + detail);
    }
    default: fail(std::string(what) + ": " + amqp_error_string2(reply.library_error));
  }
}

namespace {

// The entry points into `key` and `value`: they must outlive it.
amqp_table_entry_t utf8_entry(std::string_view key, std::string_view value) {
  amqp_table_entry_t entry{};
  entry.key = bytes(key);
  entry.value.kind = AMQP_FIELD_KIND_UTF8;
  entry.value.value.bytes = bytes(value);
  return entry;
}

// Arguments whose value is a number go as one (x-message-ttl, x-delivery-limit); the broker
// refuses a number given as text.
amqp_table_entry_t argument_entry(std::string_view key, const std::string& value) {
  if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos) {
    amqp_table_entry_t entry{};
    entry.key = bytes(key);
    entry.value.kind = AMQP_FIELD_KIND_I64;
    entry.value.value.i64 = std::stoll(value);
    return entry;
  }
  return utf8_entry(key, value);
}

}  // namespace

std::pair<int, std::string> Connection::recover_channel() {
  auto reply = amqp_get_rpc_reply(state_.get());
  if (reply.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION || reply.reply.id != AMQP_CHANNEL_CLOSE_METHOD) {
    return {0, ""};
  }
  auto* close = static_cast<amqp_channel_close_t*>(reply.reply.decoded);
  std::pair<int, std::string> out{close->reply_code, text(close->reply_text)};
  amqp_channel_close_ok_t ok{};
  if (amqp_send_method(state_.get(), kChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) != AMQP_STATUS_OK) {
    fail("lost connection after a channel error: " + out.second);
  }
  amqp_channel_open(state_.get(), kChannel);
  check_reply("cannot open channel");
  if (confirms_) {
    published_ = 0;  // a new channel numbers its deliveries, and so its confirms, from 1
    enable_confirms();
  }
  return out;
}

std::uint32_t Connection::declare_queue(const std::string& queue, const std::string& type, const Headers& arguments) {
  if (!state_) fail("connection is closed");
  std::vector<amqp_table_entry_t> entries;
  if (type != "classic") entries.push_back(utf8_entry("x-queue-type", type));
  for (const auto& [key, value] : arguments) entries.push_back(argument_entry(key, value));
  amqp_table_t table{static_cast<int>(entries.size()), entries.data()};
  auto* ok = amqp_queue_declare(state_.get(), kChannel, bytes(queue), /*passive=*/0, /*durable=*/1,
                                /*exclusive=*/0, /*auto_delete=*/0, table);
  if (ok == nullptr) {
    auto [code, why] = recover_channel();
    if (code == AMQP_PRECONDITION_FAILED) {
      throw core::environment_error(core::Stage::kSetup,
                                    "rabbitmq " + endpoint_ + ": the broker refused to declare queue '" + queue +
                                        "' as a " + type + " queue (rabbit-mq.queue_type = " + type + "): " +
                                        std::to_string(code) + " " + why,
                                    core::Code::kRabbitQueue);
    }
    if (code != 0) fail("cannot declare queue '" + queue + "': " + std::to_string(code) + " " + why);
    check_reply(("cannot declare queue '" + queue + "'").c_str());
  }
  return ok == nullptr ? 0 : ok->message_count;
}

std::optional<std::uint32_t> Connection::find_queue(const std::string& queue) {
  if (!state_) fail("connection is closed");
  auto* ok = amqp_queue_declare(state_.get(), kChannel, bytes(queue), /*passive=*/1, /*durable=*/0,
                                /*exclusive=*/0, /*auto_delete=*/0, amqp_empty_table);
  if (ok != nullptr) return ok->message_count;
  auto [code, why] = recover_channel();
  if (code == AMQP_NOT_FOUND) return std::nullopt;
  if (code != 0) fail("queue '" + queue + "': " + std::to_string(code) + " " + why);
  check_reply(("queue '" + queue + "'").c_str());
  return std::nullopt;
}

std::uint32_t Connection::inspect_queue(const std::string& queue) {
  auto found = find_queue(queue);
  if (!found) fail("queue '" + queue + "': 404 NOT_FOUND - no queue '" + queue + "' in vhost");
  return *found;
}

void Connection::set_prefetch(std::uint16_t prefetch) {
  if (global_prefetch_) {
    // global = true: RabbitMQ applies a channel-wide limit to the running consumer at once, where
    // a per-consumer one (global = false) would wait for the next basic.consume.
    amqp_basic_qos(state_.get(), kChannel, 0, prefetch, /*global=*/1);
    check_reply("cannot set prefetch");
    return;
  }
  amqp_basic_qos(state_.get(), kChannel, 0, prefetch, /*global=*/0);
  check_reply("cannot set prefetch");
  // A per-consumer limit holds for consumers started after it: the running one is replaced. Its
  // unacked deliveries stay ours, on top of the new consumer's limit until they are settled.
  if (!consumer_tag_.empty()) {
    cancel();
    start_consumer();
  }
}

void Connection::consume(const std::string& queue, std::uint16_t prefetch) {
  consumer_queue_ = queue;
  consumer_tag_.clear();
  set_prefetch(prefetch);
  start_consumer();
}

void Connection::start_consumer() {
  auto* ok = amqp_basic_consume(state_.get(), kChannel, bytes(consumer_queue_), amqp_empty_bytes, /*no_local=*/0,
                                /*no_ack=*/0, /*exclusive=*/0, amqp_empty_table);
  check_reply(("cannot consume from queue '" + consumer_queue_ + "'").c_str());
  consumer_tag_ = text(ok->consumer_tag);
  cancelled_by_broker_ = false;
}

void Connection::cancel() {
  if (consumer_tag_.empty()) return;
  amqp_basic_cancel(state_.get(), kChannel, bytes(consumer_tag_));
  check_reply("cannot cancel consumer");
  consumer_tag_.clear();
}

std::optional<Message> Connection::next(std::chrono::milliseconds timeout, int wake_fd) {
  if (!state_) fail("connection is closed");
  amqp_maybe_release_buffers(state_.get());
  if (wake_fd >= 0 && amqp_frames_enqueued(state_.get()) == 0 && amqp_data_in_buffer(state_.get()) == 0) {
    pollfd fds[2] = {{amqp_get_sockfd(state_.get()), POLLIN, 0}, {wake_fd, POLLIN, 0}};
    int ready = ::poll(fds, 2, static_cast<int>(timeout.count()));
    if (ready > 0 && (fds[1].revents & POLLIN) != 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
      return std::nullopt;
    }
    // Readable, or the full timeout passed: let rabbitmq-c read, and send a heartbeat if due.
    timeout = std::chrono::milliseconds(ready > 0 ? 100 : 0);
  }
  amqp_envelope_t envelope;
  auto tv = to_timeval(timeout);
  auto reply = amqp_consume_message(state_.get(), &envelope, &tv, 0);
  if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
    Message message{envelope.delivery_tag, text(envelope.message.body), envelope.redelivered != 0,
                    read_headers(envelope.message.properties)};
    amqp_destroy_envelope(&envelope);
    return message;
  }
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT) {
    return std::nullopt;
  }
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
      reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
    // A frame other than a delivery: the broker closing us, or a cancel notification.
    amqp_frame_t frame;
    if (amqp_simple_wait_frame(state_.get(), &frame) != AMQP_STATUS_OK) fail("lost connection");
    if (frame.frame_type == AMQP_FRAME_METHOD) {
      switch (frame.payload.method.id) {
        case AMQP_CHANNEL_CLOSE_METHOD: {
          auto* close = static_cast<amqp_channel_close_t*>(frame.payload.method.decoded);
          fail("broker closed the channel: " + std::to_string(close->reply_code) + " " + text(close->reply_text));
        }
        case AMQP_CONNECTION_CLOSE_METHOD: {
          auto* close = static_cast<amqp_connection_close_t*>(frame.payload.method.decoded);
          fail("broker closed the connection: " + std::to_string(close->reply_code) + " " + text(close->reply_text));
        }
        case AMQP_BASIC_CANCEL_METHOD:
          // The consumer is gone; the connection and the unacked deliveries are not.
          consumer_tag_.clear();
          cancelled_by_broker_ = true;
          return std::nullopt;
        default: break;
      }
    }
    return std::nullopt;
  }
  fail(std::string("lost connection: ") + amqp_error_string2(reply.library_error));
}

std::optional<Message> Connection::get(const std::string& queue) {
  auto reply = amqp_basic_get(state_.get(), kChannel, bytes(queue), /*no_ack=*/0);
  if (reply.reply_type != AMQP_RESPONSE_NORMAL)
    check_reply(("cannot get from queue '" + queue + "'").c_str());
  if (reply.reply.id == AMQP_BASIC_GET_EMPTY_METHOD) return std::nullopt;
  auto* ok = static_cast<amqp_basic_get_ok_t*>(reply.reply.decoded);
  Message message;
  message.delivery_tag = ok->delivery_tag;
  message.redelivered = ok->redelivered != 0;
  amqp_message_t raw;
  auto read = amqp_read_message(state_.get(), kChannel, &raw, 0);
  if (read.reply_type != AMQP_RESPONSE_NORMAL) fail("cannot read message");
  message.body = text(raw.body);
  message.headers = read_headers(raw.properties);
  amqp_destroy_message(&raw);
  return message;
}

void Connection::ack(std::uint64_t delivery_tag) {
  if (!state_) fail("connection is closed");
  int status = amqp_basic_ack(state_.get(), kChannel, delivery_tag, 0);
  if (status != AMQP_STATUS_OK) fail(std::string("cannot ack: ") + amqp_error_string2(status));
}

void Connection::reject(std::uint64_t delivery_tag, bool requeue) {
  if (!state_) fail("connection is closed");
  int status = amqp_basic_reject(state_.get(), kChannel, delivery_tag, requeue ? 1 : 0);
  if (status != AMQP_STATUS_OK) fail(std::string("cannot reject: ") + amqp_error_string2(status));
}

void Connection::enable_confirms() {
  amqp_confirm_select(state_.get(), kChannel);
  check_reply("cannot enable publisher confirms");
  confirms_ = true;
}

void Connection::publish(const std::string& queue, std::string_view body, const Headers& headers,
                         std::optional<std::chrono::milliseconds> expiration) {
  if (!state_) fail("connection is closed");
  amqp_basic_properties_t properties{};
  properties._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
  properties.delivery_mode = 2;  // persistent
  properties.content_type = amqp_cstring_bytes("application/json");
  const std::string expiration_text = expiration ? std::to_string(expiration->count()) : std::string();
  if (expiration) {
    properties._flags |= AMQP_BASIC_EXPIRATION_FLAG;
    properties.expiration = bytes(expiration_text);
  }
  std::vector<amqp_table_entry_t> entries;
  entries.reserve(headers.size());
  for (const auto& [key, value] : headers) {
    amqp_table_entry_t entry{};
    entry.key = bytes(key);
    entry.value.kind = AMQP_FIELD_KIND_UTF8;
    entry.value.value.bytes = bytes(value);
    entries.push_back(entry);
  }
  if (!entries.empty()) {
    properties._flags |= AMQP_BASIC_HEADERS_FLAG;
    properties.headers.num_entries = static_cast<int>(entries.size());
    properties.headers.entries = entries.data();
  }
  // Mandatory where the confirm is awaited, which is where a return is read (see wait_confirm).
  int status = amqp_basic_publish(state_.get(), kChannel, amqp_empty_bytes, bytes(queue), /*mandatory=*/confirms_ ? 1 : 0,
                                  /*immediate=*/0, &properties, bytes(body));
  if (status != AMQP_STATUS_OK) fail(std::string("cannot publish: ") + amqp_error_string2(status));
  ++published_;
  if (confirms_) wait_confirm(queue);
}

void Connection::wait_confirm(const std::string& queue) {
  // Used on connections that only publish, so the only frames coming are confirms, and returns
  // of the message awaited (basic.return, its header and body, then its confirm).
  std::optional<std::string> returned;
  for (;;) {
    amqp_frame_t frame;
    auto tv = to_timeval(std::chrono::milliseconds(10000));
    int status = amqp_simple_wait_frame_noblock(state_.get(), &frame, &tv);
    if (status == AMQP_STATUS_TIMEOUT) fail("no publisher confirm within 10s");
    if (status != AMQP_STATUS_OK)
      fail(std::string("lost connection awaiting confirm: ") + amqp_error_string2(status));
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    switch (frame.payload.method.id) {
      case AMQP_BASIC_ACK_METHOD: {
        auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
        // One message is awaited at a time: an ack of its tag, alone or with `multiple`, is its
        // confirm; an ack of an earlier tag is not.
        if (ack->delivery_tag < published_) break;
        if (returned) {
          // Not a lost connection: the channel goes on, numbering its confirms as before.
          throw core::transient_error(core::Stage::kUnknown, "rabbitmq " + endpoint_ + ": the broker routed the message to no queue ('" +
                                                                 queue + "': " + *returned + "); nothing was published");
        }
        return;
      }
      case AMQP_BASIC_RETURN_METHOD: {
        auto* back = static_cast<amqp_basic_return_t*>(frame.payload.method.decoded);
        returned = std::to_string(back->reply_code) + " " +
                   std::string(static_cast<const char*>(back->reply_text.bytes), back->reply_text.len);
        break;
      }
      case AMQP_BASIC_NACK_METHOD: fail("broker refused the published message");
      case AMQP_CHANNEL_CLOSE_METHOD: fail("broker closed the channel");
      case AMQP_CONNECTION_CLOSE_METHOD: fail("broker closed the connection");
      default: break;
    }
  }
}

void Connection::close() noexcept {
  if (!state_) return;
  amqp_channel_close(state_.get(), kChannel, AMQP_REPLY_SUCCESS);
  amqp_connection_close(state_.get(), AMQP_REPLY_SUCCESS);
  state_.reset();
}

}  // namespace qrl::amqp
