#include "http/sigv4.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "http/client.h"

namespace qrl::http {
namespace {

// 2015-08-30T12:36:00Z and 2026-12-06T23:59:59Z.
constexpr std::time_t kExampleTime = 1440938160;
constexpr std::time_t kLastSecond = 1796601599;

std::string header(const std::vector<std::string>& headers, std::string_view name) {
  for (const auto& line : headers) {
    if (line.rfind(std::string(name) + ": ", 0) == 0) return line.substr(name.size() + 2);
  }
  return "(absent)";
}

// AWS's published example of a signed request (IAM ListUsers, in the SigV4 documentation and
// its test suite), whose canonical request and signature are given there.
TEST(Sigv4, SignsAwssPublishedExampleAsItsDocumentationDoes) {
  const std::vector<std::string> headers{"Content-Type: application/x-www-form-urlencoded; charset=utf-8"};
  const sigv4::Request request{
      "GET", "iam.amazonaws.com", "/", "Version=2010-05-08&Action=ListUsers", &headers, ""};
  const AwsSigning keys{"us-east-1", "iam", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  sigv4::Signer signer;
  EXPECT_EQ(signer.canonical_request(request, "20150830T123600Z", keys),
            "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
            "content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  std::vector<std::string> out;
  signer.sign(request, keys, kExampleTime, out);
  EXPECT_EQ(header(out, "X-Amz-Date"), "20150830T123600Z");
  EXPECT_EQ(header(out, "X-Amz-Security-Token"), "(absent)");
  EXPECT_EQ(header(out, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

// The loader's own kind of request, with a session token and a header to trim; the expected
// canonical request and signature are botocore's (SigV4Auth of Debian's python3-botocore), the
// signer the integration tests' DynamoDB front checks every request with.
const std::vector<std::string> kPutHeaders{"Content-Type: application/x-amz-json-1.0",
                                           "X-Amz-Target: DynamoDB_20120810.PutItem",
                                           "X-Custom:   two   spaces  here "};
constexpr std::string_view kPutBody = R"({"TableName":"quiz","Item":{"id":{"S":"q-1"}}})";
const AwsSigning kTemporary{"eu-west-1", "dynamodb", "ASIAEXAMPLEKEYID",
                            "secret/with+plus=", "FwoGZXIvYXdzEXAMPLETOKEN+/="};
constexpr std::string_view kPutSignature = "603ad182872f18ead0ccff293b1114a5282a271b332baa3fc8ad66ce6f9b39ee";

TEST(Sigv4, SignsAPutItemWithASessionTokenAsBotocoreDoes) {
  const sigv4::Request request{"POST", "127.0.0.1:18010", "/", "", &kPutHeaders, kPutBody};
  sigv4::Signer signer;
  EXPECT_EQ(signer.canonical_request(request, "20261206T235959Z", kTemporary),
            "POST\n/\n\ncontent-type:application/x-amz-json-1.0\nhost:127.0.0.1:18010\n"
            "x-amz-date:20261206T235959Z\nx-amz-security-token:FwoGZXIvYXdzEXAMPLETOKEN+/=\n"
            "x-amz-target:DynamoDB_20120810.PutItem\nx-custom:two spaces here\n\n"
            "content-type;host;x-amz-date;x-amz-security-token;x-amz-target;x-custom\n"
            "62676f228d2b5e239d1256fc8f842995bca4fc962437ff9fc4c3aca80b23e286");
  std::vector<std::string> out;
  signer.sign(request, kTemporary, kLastSecond, out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(header(out, "X-Amz-Security-Token"), kTemporary.session_token);
  EXPECT_EQ(header(out, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEKEYID/20261206/eu-west-1/dynamodb/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target;x-custom, "
            "Signature=" +
                std::string(kPutSignature));
}

// The signing key is kept between requests: a new day, a new secret, another region or service
// must each derive it again, and signing what was signed before gives what a new signer gives.
TEST(Sigv4, AKeptSigningKeyNeverSignsForAnotherDaySecretOrScope) {
  const sigv4::Request request{"POST", "127.0.0.1:18010", "/", "", &kPutHeaders, kPutBody};
  auto rotated = kTemporary;
  rotated.secret_access_key = "another secret";
  auto elsewhere = kTemporary;
  elsewhere.region = "us-east-1";
  auto other_service = kTemporary;
  other_service.service = "sts";
  struct Case {
    const AwsSigning* keys;
    std::time_t now;
  };
  const Case cases[] = {{&kTemporary, kLastSecond},        {&kTemporary, kLastSecond + 1},
                        {&rotated, kLastSecond + 1},       {&elsewhere, kLastSecond + 1},
                        {&other_service, kLastSecond + 1}, {&kTemporary, kLastSecond}};
  sigv4::Signer kept;
  std::vector<std::string> signatures;
  for (const auto& c : cases) {
    std::vector<std::string> from_kept, from_new;
    kept.sign(request, *c.keys, c.now, from_kept);
    sigv4::Signer fresh;
    fresh.sign(request, *c.keys, c.now, from_new);
    EXPECT_EQ(header(from_kept, "Authorization"), header(from_new, "Authorization"));
    signatures.push_back(header(from_kept, "Authorization"));
  }
  EXPECT_NE(signatures.front().find(kPutSignature), std::string::npos);
  EXPECT_EQ(signatures.front(), signatures.back());
  for (std::size_t i = 1; i + 1 < signatures.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) EXPECT_NE(signatures[i], signatures[j]) << i << " and " << j;
  }
}

TEST(Sigv4, ThePathIsEncodedOnceMoreAndTheQuerySorted) {
  const std::vector<std::string> none;
  const sigv4::Request request{"GET", "example.com", "/a b/%41~", "b=2&a=&c", &none, ""};
  const AwsSigning keys{"us-east-1", "service", "AKID", "secret", ""};
  sigv4::Signer signer;
  const auto canonical = signer.canonical_request(request, "20150830T123600Z", keys);
  EXPECT_EQ(canonical.substr(0, canonical.find("\nhost:")), "GET\n/a%20b/%2541~\na=&b=2&c=");
}

TEST(Sigv4, AHeaderWithoutANameIsRefusedNotSigned) {
  const std::vector<std::string> headers{": value"};
  const sigv4::Request request{"GET", "example.com", "/", "", &headers, ""};
  const AwsSigning keys{"us-east-1", "service", "AKID", "secret", ""};
  sigv4::Signer signer;
  std::vector<std::string> out;
  EXPECT_THROW(signer.sign(request, keys, kExampleTime, out), core::Error);
  EXPECT_TRUE(out.empty());
}

TEST(Sigv4, AmzDateIsUtcBasicFormat) {
  EXPECT_EQ(sigv4::amz_date(0), "19700101T000000Z");
  EXPECT_EQ(sigv4::amz_date(kExampleTime), "20150830T123600Z");
  EXPECT_EQ(sigv4::amz_date(kLastSecond), "20261206T235959Z");
}

}  // namespace
}  // namespace qrl::http
