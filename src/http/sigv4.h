#pragma once
// AWS Signature Version 4 for the requests the loader sends (DynamoDB's JSON protocol): the
// canonical request, the string to sign and the signature, with OpenSSL's SHA-256 and HMAC.
//
// libcurl can sign too (CURLOPT_AWS_SIGV4), and did until it was measured: 7.88 formats the
// hashes a byte at a time through its own printf and derives the signing key (four HMACs, each
// fetching SHA-256 from OpenSSL's providers) for every request, a twentieth of the loader's CPU
// per quiz. Here the day's key is derived once, and a request costs two SHA-256 and one HMAC.
// The tests check every request against botocore's signer (tests/support/aws_standin.py) and
// this one against AWS's published example.

#include <array>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>

namespace qrl::http {

struct AwsSigning;

namespace sigv4 {

// A request as it goes on the wire. `path` and `query` are sent as they are here (the query
// without its '?', already encoded AWS's way); `headers` are "Name: value", sent as they are,
// and all of them are signed, with Host and X-Amz-Date.
struct Request {
  std::string_view method;
  std::string_view host;  // the Host header: host, and ":port" when the URL names one
  std::string_view path;
  std::string_view query;
  const std::vector<std::string>* headers = nullptr;
  std::string_view body;
};

// "20150830T123600Z": the X-Amz-Date of a Unix time.
std::string amz_date(std::time_t now);

// One thread's signer: it keeps OpenSSL's SHA-256 and HMAC, and the signing key of the last
// day, region, service and secret it signed for.
class Signer {
 public:
  Signer();

  // The headers that sign `request` at `now`: X-Amz-Date, X-Amz-Security-Token when there is a
  // session token, and Authorization; appended to `out`.
  void sign(const Request& request, const AwsSigning& keys, std::time_t now, std::vector<std::string>& out);

  // The canonical request, as AWS's documentation writes it (for the tests).
  std::string canonical_request(const Request& request, std::string_view date, const AwsSigning& keys);

 private:
  using Digest = std::array<unsigned char, 32>;
  Digest sha256(std::string_view data);
  Digest hmac(const unsigned char* key, std::size_t key_size, std::string_view data);
  const Digest& signing_key(std::string_view scope, std::string_view day, const AwsSigning& keys);
  // The canonical request; `names` gets its signed header names ("content-type;host;...").
  std::string canonical(const Request& request, std::string_view date, const AwsSigning& keys,
                        std::string& names);

  struct MdFree {
    void operator()(EVP_MD* md) const noexcept { EVP_MD_free(md); }
  };
  struct MdCtxFree {
    void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
  };
  struct MacFree {
    void operator()(EVP_MAC* mac) const noexcept { EVP_MAC_free(mac); }
  };
  struct MacCtxFree {
    void operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_MD, MdFree> md_;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md_ctx_;
  std::unique_ptr<EVP_MAC, MacFree> mac_;
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> mac_ctx_;

  // What the cached key was derived from; the secret is kept to tell a rotated key apart.
  std::string key_scope_;  // day/region/service/aws4_request
  std::string key_secret_;
  Digest key_{};
  bool have_key_ = false;
};

}  // namespace sigv4
}  // namespace qrl::http
