#pragma once
// A blocking HTTP/1.1 client over one libcurl easy handle, owned by one thread. Reusing the
// handle keeps the connection alive between requests. AWS requests are signed by libcurl
// itself (CURLOPT_AWS_SIGV4); we only supply the keys and the session token header.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <curl/curl.h>

namespace qrl::http {

// Call once in main() before any thread starts (curl_global_init is not thread-safe).
void global_init();

struct Request {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
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

  // Transport failures (refused, reset, timeout, TLS) throw a transient core::Error. Any HTTP
  // status is a Response: the caller knows what its statuses mean.
  Response send(const Request& request, const AwsSigning* signing = nullptr);

  // No request may run past this point (the Lambda invocation's deadline); empty: no limit
  // beyond the timeout.
  void set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline) { deadline_ = deadline; }

 private:
  struct EasyDeleter {
    void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
  };
  std::unique_ptr<CURL, EasyDeleter> handle_;
  std::chrono::milliseconds timeout_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
};

// The CA bundle to verify TLS with: SSL_CERT_FILE, else the first of the usual places of
// Debian and Amazon Linux (whose bundle is not where Debian's libcurl looks by default).
std::string ca_bundle();

}  // namespace qrl::http
