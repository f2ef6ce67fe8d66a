#pragma once
// A byte stream to a server: plain TCP, or TLS through OpenSSL. With TLS the server's
// certificate chain and host name are always verified; there is no switch to turn that off.
//
// Bookworm's hiredis 0.14 has no TLS, so the Redis connection runs hiredis's RESP reader over
// this stream: the protocol stays in hiredis, the socket is ours. rabbitmq-c has TLS of its own
// and calls diagnose() to say why a handshake it could not complete failed.
//
// Failures are core::Errors whose message starts with the caller's label ("redis host:port"):
// a refused, reset or timed-out connection is transient; a certificate that fails verification,
// a CA or client-certificate file that cannot be used, or a server that does not speak TLS is
// the environment being wrong.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/error.h"

namespace qrl::tls {

class Stream {
 public:
  static Stream open(const std::string& label, const std::string& host, int port, const config::Tls& tls,
                     std::chrono::milliseconds timeout);
  ~Stream();
  Stream(Stream&& other) noexcept;
  Stream& operator=(Stream&& other) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  void write_all(std::string_view data);
  // At least one byte, waiting up to the timeout; a closed connection or a timeout throws.
  std::size_t read_some(char* buffer, std::size_t size);

 private:
  struct Impl;
  explicit Stream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Why a TLS handshake with host:port under these settings fails, in words an operator can act
// on ("the server's certificate is not signed by a trusted CA (unknown CA): ..."), with its
// code, or nothing if it succeeds.
std::optional<core::Error> diagnose(const std::string& host, int port, const config::Tls& tls,
                                    std::chrono::milliseconds timeout);

// The CA bundle used when no CA file is set: the first of the usual system locations that
// exists (Debian's /etc/ssl/certs/ca-certificates.crt first), or empty.
std::string system_ca_file();

}  // namespace qrl::tls
