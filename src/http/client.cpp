#include "http/client.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>

#include "core/error.h"

namespace qrl::http {

namespace {

struct SlistDeleter {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

struct Body {
  std::string* text;
  std::size_t limit;
  bool overflow = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<Body*>(user);
  if (body->text->size() + size * count > body->limit) {
    body->overflow = true;
    return 0;  // curl aborts the transfer with CURLE_WRITE_ERROR
  }
  body->text->append(data, size * count);
  return size * count;
}

// What a TLS failure means, in words an operator can act on. The certificate checks are the
// deployment's to fix (trust store, host name), so they are environment failures: the curl code
// decides that; curl's own words only pick the phrase for the operator.
core::Error transfer_error(CURLcode code, const std::string& what, const char* detail) {
  std::string reason = detail != nullptr && *detail != '\0' ? detail : curl_easy_strerror(code);
  std::string text =
      what + " failed: " + reason + " (curl error " + std::to_string(static_cast<int>(code)) + ")";
  if (code == CURLE_PEER_FAILED_VERIFICATION) {
    std::string why = "the server's certificate failed verification";
    if (reason.find("subject name") != std::string::npos || reason.find("host name") != std::string::npos) {
      why = "the server's certificate does not name this host (wrong host name)";
    } else if (reason.find("expired") != std::string::npos) {
      why = "the server's certificate has expired";
    } else if (reason.find("issuer") != std::string::npos ||
               reason.find("self-signed") != std::string::npos ||
               reason.find("self signed") != std::string::npos) {
      why = "the server's certificate is not signed by a trusted CA (unknown CA)";
    }
    return core::environment_error(core::Stage::kUnknown, what + " failed: " + why + ": " + reason,
                                   core::Code::kTlsCertificate);
  }
  if (code == CURLE_SSL_CACERT_BADFILE || code == CURLE_SSL_CERTPROBLEM) {
    return core::environment_error(core::Stage::kUnknown, text, core::Code::kTlsCertificate);
  }
  return core::transient_error(core::Stage::kUnknown, text);
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  std::string_view line(data, size * count);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    (*static_cast<std::map<std::string, std::string>*>(user))[name] = std::string(value);
  }
  return size * count;
}

}  // namespace

void global_init() {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

std::string Response::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string ca_bundle() {
  if (const char* file = std::getenv("SSL_CERT_FILE"); file != nullptr && *file != '\0') return file;
  for (const char* path : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                           "/etc/ssl/cert.pem", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"}) {
    if (::access(path, R_OK) == 0) return path;
  }
  return {};
}

Client::Client(std::chrono::milliseconds timeout) : handle_(curl_easy_init()), timeout_(timeout) {
  if (!handle_) throw core::transient_error(core::Stage::kSetup, "curl_easy_init failed");
}

namespace {

// A request's headers, as libcurl takes them.
class Headers {
 public:
  void add(const std::string& header) {
    curl_slist* next = curl_slist_append(list_.get(), header.c_str());
    if (next == nullptr) throw core::transient_error(core::Stage::kUnknown, "out of memory");
    (void)list_.release();
    list_.reset(next);
  }
  curl_slist* get() const { return list_.get(); }

 private:
  Slist list_;
};

void set_method(CURL* h, const Request& request) {
  if (request.method == "POST" || request.method == "PUT") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    if (request.method == "PUT") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
  } else if (request.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
}

struct UrlFree {
  void operator()(CURLU* url) const noexcept { curl_url_cleanup(url); }
};

// One part of a parsed URL; empty when it has none.
std::string url_part(CURLU* url, CURLUPart part) {
  char* text = nullptr;
  if (curl_url_get(url, part, &text, 0) != CURLUE_OK || text == nullptr) return {};
  std::string out(text);
  curl_free(text);
  return out;
}

}  // namespace

// The Host header and path curl sends for `url`, parsed by curl's own URL parser; the last one
// is kept, since a client sends to one endpoint.
const Client::Target& Client::target(const std::string& url) {
  if (target_ && target_->url == url) return *target_;
  std::unique_ptr<CURLU, UrlFree> parsed(curl_url());
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    throw core::environment_error(core::Stage::kUnknown, "cannot sign a request to '" + url + "': not a URL");
  }
  Target parts{url, url_part(parsed.get(), CURLUPART_HOST), url_part(parsed.get(), CURLUPART_PATH),
               url_part(parsed.get(), CURLUPART_QUERY)};
  if (auto port = url_part(parsed.get(), CURLUPART_PORT); !port.empty()) parts.host += ":" + port;
  target_ = std::move(parts);
  return *target_;
}

std::chrono::milliseconds Client::timeout() const {
  auto timeout = timeout_;
  if (!deadline_ || clock_ == nullptr) return timeout;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline_ - clock_->now());
  if (left.count() <= 0)
    throw core::transient_error(core::Stage::kUnknown, "no time left before the deadline");
  return timeout.count() == 0 || left < timeout ? left : timeout;
}

Response Client::send(const Request& request, const AwsSigning* signing) {
  CURL* h = handle_.get();
  // Options are set afresh for every request; the handle keeps its connection cache.
  curl_easy_reset(h);
  Headers headers;
  for (const auto& header : request.headers) headers.add(header);
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // worker threads: no SIGALRM-based DNS timeouts
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  const auto timeout = this->timeout();
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   timeout.count() > 0 ? static_cast<long>(timeout.count()) : 10000L);
  if (request.url.rfind("https://", 0) == 0) {
    static const std::string kBundle = ca_bundle();
    if (!kBundle.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, kBundle.c_str());
  }
  set_method(h, request);
  if (signing != nullptr) {
    const auto& to = target(request.url);
    if (!signer_) signer_ = std::make_unique<sigv4::Signer>();
    std::vector<std::string> added{"Host: " + to.host};
    const sigv4::Request signed_request{request.method, to.host,          to.path,
                                        to.query,       &request.headers, request.body};
    signer_->sign(signed_request, *signing, std::time(nullptr), added);
    for (const auto& header : added) headers.add(header);
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  // Bodies over 1 MB get an unsigned "Expect: 100-continue"; do not wait long for the 100.
  curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 200L);
  Response response;
  Body body{&response.body, request.max_response_bytes};
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  char detail[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &response.headers);

  CURLcode code = curl_easy_perform(h);
  // The header list must outlive the transfer; drop the pointer from the handle before freeing.
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  const std::string what = "HTTP " + request.method + " to " + request.url;
  if (body.overflow) {
    throw core::transient_error(core::Stage::kUnknown, what + " failed: the response is larger than " +
                                                           std::to_string(request.max_response_bytes) +
                                                           " bytes");
  }
  if (code != CURLE_OK) throw transfer_error(code, what, detail);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace qrl::http
