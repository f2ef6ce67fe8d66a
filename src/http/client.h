#pragma once
// A blocking HTTP/1.1 client over one libcurl easy handle, owned by one thread. Reusing the
// handle keeps the connection alive between requests. AWS requests are signed with SigV4 by
// http/sigv4.h: every header of the request, with Host (sent as signed) and X-Amz-Date.
//
// curl adds headers of its own unsigned (Accept, Content-Length, and "Expect: 100-continue" to
// bodies over 1 MB), which AWS accepts: its signers, like the SDKs', leave those out.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <curl/curl.h>

#include "core/clock.h"
#include "http/sigv4.h"

namespace qrl::http {

// Call once in main() before any thread starts (curl_global_init is not thread-safe).
void global_init();

struct Request {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  // A longer answer is a transient failure, not memory growth (a broken or hostile server).
  std::size_t max_response_bytes = 8u << 20;
};

struct Response {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string header(const std::string& lower_name) const;
};

struct AwsSigning {
  std::string region;
  std::string service;
  std::string access_key_id;
  std::string secret_access_key;  // secret
  std::string session_token;      // secret; empty when there is none
};

class Client {
 public:
  // timeout = 0: none (the Lambda Runtime API's long poll must not time out).
  explicit Client(std::chrono::milliseconds timeout);

  Client(Client&&) noexcept = default;
  Client& operator=(Client&&) noexcept = default;

  // Transport failures (refused, reset, timeout) throw a transient core::Error; a certificate
  // that fails verification (unknown CA, wrong host name, expired) an environment one, saying
  // which. Any HTTP status is a Response: the caller knows what its statuses mean.
  Response send(const Request& request, const AwsSigning* signing = nullptr);

  // No request may run past this point of `clock` (the Lambda invocation's deadline); empty: no
  // limit beyond the timeout.
  void set_deadline(std::optional<core::Clock::time_point> deadline, const core::Clock& clock) {
    deadline_ = deadline;
    clock_ = &clock;
  }

 private:
  struct EasyDeleter {
    void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
  };
  std::unique_ptr<CURL, EasyDeleter> handle_;
  // The signer, made on the first signed request; and the parts of the last URL signed for.
  std::unique_ptr<sigv4::Signer> signer_;
  struct Target {
    std::string url, host, path, query;
  };
  std::optional<Target> target_;
  const Target& target(const std::string& url);
  // This request's timeout: the client's, cut to what is left before the deadline.
  std::chrono::milliseconds timeout() const;

  std::chrono::milliseconds timeout_;
  std::optional<core::Clock::time_point> deadline_;
  const core::Clock* clock_ = nullptr;
};

// The CA bundle to verify TLS with: SSL_CERT_FILE, else the first of the usual places of
// Debian and Amazon Linux (whose bundle is not where Debian's libcurl looks by default).
std::string ca_bundle();

}  // namespace qrl::http
