#include "tls/stream.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace qrl::tls {

namespace {

using Clock = std::chrono::steady_clock;

std::string said(const std::string& label, const std::string& text) {
  return label.empty() ? text : label + ": " + text;
}

// The newest OpenSSL error of this thread, in words, and the queue cleared.
std::string openssl_reason() {
  unsigned long code = ERR_peek_last_error();
  const char* text = code == 0 ? nullptr : ERR_reason_error_string(code);
  std::string out = text != nullptr ? text : code == 0 ? "no detail from OpenSSL" : "unknown OpenSSL error";
  ERR_clear_error();
  return out;
}

}  // namespace

// Outside the anonymous namespace: Stream::Impl, a class with linkage, holds them.
struct CtxDeleter {
  void operator()(SSL_CTX* ctx) const noexcept { SSL_CTX_free(ctx); }
};
struct SslDeleter {
  void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
};

namespace {

bool is_ip_address(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 || inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// A blocking TCP socket connected to one of host's addresses within `timeout`, or a transient
// error naming the last address's failure.
int connect_tcp(const std::string& label, const std::string& host, int port,
                std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0) {
    throw core::transient_error(core::Stage::kUnknown,
                                said(label, "cannot resolve '" + host + "': " + gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, &freeaddrinfo);
  const auto deadline = Clock::now() + timeout;
  std::string reason = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      reason = std::strerror(errno);
      continue;
    }
    int error = 0;
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      error = errno;
      if (error == EINPROGRESS) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd p{fd, POLLOUT, 0};
        int ready = poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
        if (ready == 0) {
          error = ETIMEDOUT;
        } else {
          socklen_t length = sizeof error;
          if (ready < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
        }
      }
    }
    if (error == 0) {
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      set_timeouts(fd, timeout);
      return fd;
    }
    close(fd);
    reason = error == ETIMEDOUT ? "timed out after " + std::to_string(timeout.count()) + " ms"
                                : std::strerror(error);
  }
  throw core::transient_error(core::Stage::kUnknown, said(label, "cannot connect: " + reason));
}

// What a certificate verification result means, in words an operator can act on.
std::string verification_failure(long result, const std::string& host) {
  std::string why;
  switch (result) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      why = "the server's certificate does not name '" + host + "' (wrong host name)";
      break;
    case X509_V_ERR_CERT_HAS_EXPIRED: why = "the server's certificate has expired"; break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      why = "the server's certificate is not valid yet (check the clock)";
      break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      why = "the server's certificate is not signed by a trusted CA (unknown CA)";
      break;
    default: why = "the server's certificate failed verification";
  }
  return why + ": " + X509_verify_cert_error_string(result);
}

// A file named in the settings that cannot be opened: the operating system's reason, which is
// clearer than what OpenSSL says of it.
void require_readable(const std::string& label, const char* what, const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    throw core::environment_error(
        core::Stage::kUnknown,
        said(label, std::string("TLS: cannot read ") + what + " '" + path + "': " + std::strerror(errno)),
        core::Code::kTlsCertificate);
  }
  std::fclose(file);
}

std::unique_ptr<SSL_CTX, CtxDeleter> make_context(const std::string& label, const config::Tls& tls) {
  if (!tls.ca_file.empty()) require_readable(label, "CA file", tls.ca_file);
  if (!tls.cert_file.empty()) require_readable(label, "client certificate", tls.cert_file);
  if (!tls.key_file.empty()) require_readable(label, "client key", tls.key_file);
  std::unique_ptr<SSL_CTX, CtxDeleter> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) throw core::transient_error(core::Stage::kUnknown, said(label, "TLS: " + openssl_reason()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  const std::string ca = tls.ca_file.empty() ? system_ca_file() : tls.ca_file;
  if (ca.empty()) {
    SSL_CTX_set_default_verify_paths(ctx.get());
  } else if (SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr) != 1) {
    throw core::environment_error(core::Stage::kUnknown,
                                  said(label, "TLS: cannot use CA file '" + ca + "': " + openssl_reason()),
                                  core::Code::kTlsCertificate);
  }
  if (!tls.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_file.c_str()) != 1) {
      throw core::environment_error(
          core::Stage::kUnknown,
          said(label, "TLS: cannot use client certificate '" + tls.cert_file + "': " + openssl_reason()),
          core::Code::kTlsCertificate);
    }
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1) {
      throw core::environment_error(
          core::Stage::kUnknown,
          said(label, "TLS: cannot use client key '" + tls.key_file + "': " + openssl_reason()),
          core::Code::kTlsCertificate);
    }
  }
  return ctx;
}

}  // namespace

struct Stream::Impl {
  std::string label;
  std::chrono::milliseconds timeout{0};
  int fd = -1;
  std::unique_ptr<SSL_CTX, CtxDeleter> ctx;
  std::unique_ptr<SSL, SslDeleter> ssl;

  ~Impl() {
    ssl.reset();
    if (fd >= 0) close(fd);
  }

  [[noreturn]] void lost(int error) const {
    std::string reason = error == EAGAIN || error == EWOULDBLOCK
                             ? "timed out after " + std::to_string(timeout.count()) + " ms"
                             : std::string(std::strerror(error));
    const bool by_peer = error == ECONNRESET || error == EPIPE;
    throw core::transient_error(core::Stage::kUnknown, said(label, "lost connection: " + reason),
                                by_peer ? core::Code::kConnectionClosed : core::Code::kConnectionLost);
  }

  [[noreturn]] void closed() const {
    throw core::transient_error(core::Stage::kUnknown, said(label, "lost connection: closed by the server"),
                                core::Code::kConnectionClosed);
  }

  void handshake(const std::string& host, int port, const config::Tls& tls) {
    ctx = make_context(label, tls);
    ssl.reset(SSL_new(ctx.get()));
    if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) {
      throw core::transient_error(core::Stage::kUnknown, said(label, "TLS: " + openssl_reason()));
    }
    if (is_ip_address(host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), host.c_str());
    } else {
      SSL_set1_host(ssl.get(), host.c_str());
      SSL_set_tlsext_host_name(ssl.get(), host.c_str());
    }
    ERR_clear_error();
    errno = 0;
    int rc = SSL_connect(ssl.get());
    if (rc == 1) return;
    const int error = errno;
    const long verified = SSL_get_verify_result(ssl.get());
    if (verified != X509_V_OK) {
      ERR_clear_error();
      throw core::environment_error(core::Stage::kUnknown,
                                    said(label, "TLS: " + verification_failure(verified, host)),
                                    core::Code::kTlsCertificate);
    }
    switch (SSL_get_error(ssl.get(), rc)) {
      case SSL_ERROR_SSL:
        // Not a network fault: the peer does not speak TLS on this port, or refused us (our
        // client certificate, a protocol version). No retry fixes that.
        throw core::environment_error(core::Stage::kUnknown,
                                      said(label, "TLS handshake failed: " + openssl_reason() + " (is port " +
                                                      std::to_string(port) + " a TLS port?)"),
                                      core::Code::kTlsHandshake);
      case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        if (error == 0) {
          throw core::transient_error(core::Stage::kUnknown,
                                      said(label, "TLS handshake failed: the server closed the connection"));
        }
        lost(error);
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE:
        // The socket timed out: a server that never answers a TLS hello is most likely not
        // speaking TLS on this port.
        ERR_clear_error();
        throw core::environment_error(
            core::Stage::kUnknown,
            said(label, "TLS handshake timed out after " + std::to_string(timeout.count()) + " ms (is port " +
                            std::to_string(port) + " a TLS port?)"),
            core::Code::kTlsHandshake);
      default:
        throw core::transient_error(core::Stage::kUnknown,
                                    said(label, "TLS handshake failed: " + openssl_reason()));
    }
  }
};

Stream::Stream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Stream::~Stream() = default;
Stream::Stream(Stream&& other) noexcept = default;
Stream& Stream::operator=(Stream&& other) noexcept = default;

Stream Stream::open(const std::string& label, const std::string& host, int port, const config::Tls& tls,
                    std::chrono::milliseconds timeout) {
  auto impl = std::make_unique<Impl>();
  impl->label = label;
  impl->timeout = timeout;
  impl->fd = connect_tcp(label, host, port, timeout);
  if (tls.enabled) impl->handshake(host, port, tls);
  return Stream(std::move(impl));
}

void Stream::write_all(std::string_view data) {
  while (!data.empty()) {
    if (impl_->ssl) {
      ERR_clear_error();
      errno = 0;
      int n = SSL_write(impl_->ssl.get(), data.data(),
                        static_cast<int>(std::min<std::size_t>(data.size(), 1 << 30)));
      if (n <= 0) {
        const int error = errno;
        int kind = SSL_get_error(impl_->ssl.get(), n);
        ERR_clear_error();
        if (kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE) impl_->lost(EAGAIN);
        if (kind == SSL_ERROR_ZERO_RETURN || error == 0) impl_->closed();
        impl_->lost(error);
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    } else {
      ssize_t n = send(impl_->fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) impl_->lost(errno);
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }
}

std::size_t Stream::read_some(char* buffer, std::size_t size) {
  for (;;) {
    if (impl_->ssl) {
      ERR_clear_error();
      errno = 0;
      int n = SSL_read(impl_->ssl.get(), buffer, static_cast<int>(std::min<std::size_t>(size, 1 << 30)));
      if (n > 0) return static_cast<std::size_t>(n);
      const int error = errno;
      int kind = SSL_get_error(impl_->ssl.get(), n);
      ERR_clear_error();
      if (kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE) impl_->lost(EAGAIN);
      if (kind == SSL_ERROR_ZERO_RETURN || (kind == SSL_ERROR_SYSCALL && error == 0)) impl_->closed();
      impl_->lost(error == 0 ? EIO : error);
    }
    ssize_t n = recv(impl_->fd, buffer, size, 0);
    if (n > 0) return static_cast<std::size_t>(n);
    if (n == 0) impl_->closed();
    if (errno != EINTR) impl_->lost(errno);
  }
}

std::optional<core::Error> diagnose(const std::string& host, int port, const config::Tls& tls,
                                    std::chrono::milliseconds timeout) {
  try {
    Stream::open("", host, port, tls, timeout);
    return std::nullopt;
  } catch (const core::Error& e) {
    return e;
  }
}

std::string system_ca_file() {
  for (const char* path :
       {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"}) {
    struct stat st {};
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) return path;
  }
  return {};
}

}  // namespace qrl::tls
