#include "http/sigv4.h"

#include <openssl/core_names.h>

#include <algorithm>
#include <utility>

#include "core/error.h"
#include "http/client.h"

namespace qrl::http::sigv4 {

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

core::Error openssl_failed(const char* what) {
  return core::transient_error(core::Stage::kUnknown, std::string("SigV4 signing failed: OpenSSL ") + what);
}

// No SHA-256 or HMAC at all: OpenSSL's configuration (a provider missing), not this request.
core::Error openssl_unusable(const char* what) {
  return core::environment_error(core::Stage::kSetup, std::string("cannot sign AWS requests: OpenSSL ") +
                                                          what + " (check OPENSSL_CONF and its providers)");
}

void append_hex(std::string& out, const unsigned char* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
}

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

// The path once more URI-encoded, as every service but S3 expects (a '%' already there becomes
// "%25"); the slashes stay.
void append_canonical_path(std::string& out, std::string_view path) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  if (path.empty()) path = "/";
  for (unsigned char c : path) {
    if (unreserved(c) || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 0xf];
    }
  }
}

// The parameters sorted by name, then value, as they are sent.
void append_canonical_query(std::string& out, std::string_view query) {
  if (query.empty()) return;
  std::vector<std::pair<std::string_view, std::string_view>> params;
  while (!query.empty()) {
    const auto end = query.find('&');
    const auto pair = query.substr(0, end);
    const auto equals = pair.find('=');
    params.emplace_back(pair.substr(0, equals),
                        equals == std::string_view::npos ? "" : pair.substr(equals + 1));
    query = end == std::string_view::npos ? std::string_view() : query.substr(end + 1);
  }
  std::sort(params.begin(), params.end());
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (i > 0) out += '&';
    out.append(params[i].first).append("=").append(params[i].second);
  }
}

// A header value as signed: trimmed, runs of spaces as one.
std::string canonical_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    const bool space = c == ' ' || c == '\t';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

struct Header {
  std::string name;  // lower case
  std::string value;
};

std::vector<Header> signed_headers(const Request& request, std::string_view date, const AwsSigning& keys) {
  std::vector<Header> headers;
  if (request.headers != nullptr) {
    for (const auto& line : *request.headers) {
      const auto colon = line.find(':');
      if (colon == std::string::npos || colon == 0) {
        throw core::transient_error(core::Stage::kUnknown,
                                    "SigV4: a header without a name: " + line.substr(0, 40));
      }
      Header header{line.substr(0, colon), canonical_value(std::string_view(line).substr(colon + 1))};
      std::transform(header.name.begin(), header.name.end(), header.name.begin(),
                     [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
      headers.push_back(std::move(header));
    }
  }
  headers.push_back({"host", canonical_value(request.host)});
  headers.push_back({"x-amz-date", std::string(date)});
  if (!keys.session_token.empty()) headers.push_back({"x-amz-security-token", keys.session_token});
  std::stable_sort(headers.begin(), headers.end(),
                   [](const Header& a, const Header& b) { return a.name < b.name; });
  // A name twice is signed once, its values joined by commas in the order sent.
  std::vector<Header> merged;
  for (auto& header : headers) {
    if (!merged.empty() && merged.back().name == header.name) {
      merged.back().value += "," + header.value;
    } else {
      merged.push_back(std::move(header));
    }
  }
  return merged;
}

void append_signed_names(std::string& out, const std::vector<Header>& headers) {
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i > 0) out += ';';
    out += headers[i].name;
  }
}

}  // namespace

std::string amz_date(std::time_t now) {
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  return std::string(text, std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc));
}

Signer::Signer()
    : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)),
      md_ctx_(EVP_MD_CTX_new()),
      mac_(EVP_MAC_fetch(nullptr, "HMAC", nullptr)),
      mac_ctx_(mac_ ? EVP_MAC_CTX_new(mac_.get()) : nullptr) {
  if (!md_ || !md_ctx_ || !mac_ || !mac_ctx_) throw openssl_unusable("has no SHA-256 or HMAC");
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(mac_ctx_.get(), params) != 1) throw openssl_unusable("refused HMAC-SHA256");
}

Signer::Digest Signer::sha256(std::string_view data) {
  Digest out;
  unsigned int size = 0;
  if (EVP_DigestInit_ex2(md_ctx_.get(), md_.get(), nullptr) != 1 ||
      EVP_DigestUpdate(md_ctx_.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(md_ctx_.get(), out.data(), &size) != 1 || size != out.size()) {
    throw openssl_failed("SHA-256 failed");
  }
  return out;
}

Signer::Digest Signer::hmac(const unsigned char* key, std::size_t key_size, std::string_view data) {
  Digest out;
  std::size_t size = 0;
  if (EVP_MAC_init(mac_ctx_.get(), key, key_size, nullptr) != 1 ||
      EVP_MAC_update(mac_ctx_.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(mac_ctx_.get(), out.data(), &size, out.size()) != 1 || size != out.size()) {
    throw openssl_failed("HMAC-SHA256 failed");
  }
  return out;
}

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request"),
// derived again only when the credential scope (day/region/service/aws4_request) or the secret
// changes.
const Signer::Digest& Signer::signing_key(std::string_view scope, std::string_view day,
                                          const AwsSigning& keys) {
  if (have_key_ && scope == key_scope_ && keys.secret_access_key == key_secret_) return key_;
  const std::string first = "AWS4" + keys.secret_access_key;
  auto key = hmac(reinterpret_cast<const unsigned char*>(first.data()), first.size(), day);
  key = hmac(key.data(), key.size(), keys.region);
  key = hmac(key.data(), key.size(), keys.service);
  key_ = hmac(key.data(), key.size(), "aws4_request");
  key_scope_ = scope;
  key_secret_ = keys.secret_access_key;
  have_key_ = true;
  return key_;
}

std::string Signer::canonical_request(const Request& request, std::string_view date, const AwsSigning& keys) {
  std::string names;
  return canonical(request, date, keys, names);
}

std::string Signer::canonical(const Request& request, std::string_view date, const AwsSigning& keys,
                              std::string& names) {
  const auto headers = signed_headers(request, date, keys);
  append_signed_names(names, headers);
  std::string out;
  out.reserve(512);
  out.append(request.method).append("\n");
  append_canonical_path(out, request.path);
  out += '\n';
  append_canonical_query(out, request.query);
  out += '\n';
  for (const auto& header : headers) out.append(header.name).append(":").append(header.value).append("\n");
  out += '\n';
  out.append(names).append("\n");
  const auto body_hash = sha256(request.body);
  append_hex(out, body_hash.data(), body_hash.size());
  return out;
}

void Signer::sign(const Request& request, const AwsSigning& keys, std::time_t now,
                  std::vector<std::string>& out) {
  const std::string date = amz_date(now);
  const std::string_view day = std::string_view(date).substr(0, 8);
  std::string names;
  const auto request_hash = sha256(canonical(request, date, keys, names));

  const std::string scope = std::string(day) + "/" + keys.region + "/" + keys.service + "/aws4_request";
  std::string to_sign;
  to_sign.reserve(160);
  to_sign.append(kAlgorithm).append("\n").append(date).append("\n").append(scope).append("\n");
  append_hex(to_sign, request_hash.data(), request_hash.size());
  const auto& key = signing_key(scope, day, keys);
  const auto signature = hmac(key.data(), key.size(), to_sign);

  std::string authorization;
  authorization.reserve(256);
  authorization.append("Authorization: ")
      .append(kAlgorithm)
      .append(" Credential=")
      .append(keys.access_key_id);
  authorization.append("/").append(scope).append(", SignedHeaders=");
  authorization.append(names).append(", Signature=");
  append_hex(authorization, signature.data(), signature.size());

  out.push_back("X-Amz-Date: " + date);
  if (!keys.session_token.empty()) out.push_back("X-Amz-Security-Token: " + keys.session_token);
  out.push_back(std::move(authorization));
}

}  // namespace qrl::http::sigv4
