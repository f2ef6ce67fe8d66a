#include "dynamodb/errors.h"

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>

namespace qrl::dynamodb {

namespace {

using core::Code;
using core::FailureKind;

struct Meaning {
  std::string_view type;
  FailureKind kind;
  Code code;
};

// What each of DynamoDB's (and AWS's common) error types means. A type not here is transient:
// limits, 5xx, bodies we cannot read.
constexpr std::array<Meaning, 19> kMeanings = {{
    // The request itself is wrong and would be wrong again: the message can never succeed.
    {"ValidationException", FailureKind::kPermanent, Code::kNone},
    {"SerializationException", FailureKind::kPermanent, Code::kNone},
    {"ItemCollectionSizeLimitExceededException", FailureKind::kPermanent, Code::kNone},
    {"ConditionalCheckFailedException", FailureKind::kPermanent, Code::kConditionFailed},
    // The deployment is wrong: the credentials, the permissions or the table. No message can
    // succeed until an operator fixes it, so none is retried or dead-lettered for it.
    {"AccessDeniedException", FailureKind::kEnvironment, Code::kAwsAccessDenied},
    {"AccessDenied", FailureKind::kEnvironment, Code::kAwsAccessDenied},
    {"ResourceNotFoundException", FailureKind::kEnvironment, Code::kTableMissing},
    {"ExpiredTokenException", FailureKind::kEnvironment, Code::kExpiredToken},
    {"UnrecognizedClientException", FailureKind::kEnvironment, Code::kAwsCredentials},
    {"InvalidSignatureException", FailureKind::kEnvironment, Code::kAwsCredentials},
    {"IncompleteSignatureException", FailureKind::kEnvironment, Code::kAwsCredentials},
    {"MissingAuthenticationTokenException", FailureKind::kEnvironment, Code::kAwsCredentials},
    {"MissingAuthenticationToken", FailureKind::kEnvironment, Code::kAwsCredentials},
    {"InvalidClientTokenId", FailureKind::kEnvironment, Code::kAwsCredentials},
    {"SignatureDoesNotMatch", FailureKind::kEnvironment, Code::kAwsCredentials},
    // Transient, but with a name the caller needs.
    {"ProvisionedThroughputExceededException", FailureKind::kTransient, Code::kThrottled},
    {"ThrottlingException", FailureKind::kTransient, Code::kThrottled},
    {"RequestLimitExceeded", FailureKind::kTransient, Code::kThrottled},
    {"ResourceInUseException", FailureKind::kTransient, Code::kTableInUse},
}};

}  // namespace

std::string error_type(std::string_view body) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object()) return {};
  auto type = json.find("__type");
  if (type == json.end() || !type->is_string()) return {};
  std::string text = type->get<std::string>();
  auto hash = text.rfind('#');
  return hash == std::string::npos ? text : text.substr(hash + 1);
}

core::Error classify(long status, std::string_view body, std::string_view operation) {
  std::string type = error_type(body);
  std::string message;
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_object()) {
    for (const char* field : {"message", "Message"}) {
      if (auto it = json.find(field); it != json.end() && it->is_string()) message = it->get<std::string>();
    }
  }
  std::string text = "DynamoDB " + std::string(operation) + " failed: HTTP " + std::to_string(status) +
                     (type.empty() ? "" : " " + type) + (message.empty() ? "" : ": " + message);
  for (const auto& meaning : kMeanings) {
    if (meaning.type != type) continue;
    // A permanent type is permanent only as a 4xx: a 5xx carrying it is the server's trouble.
    if (meaning.kind == FailureKind::kPermanent && (status < 400 || status >= 500)) break;
    return core::Error(meaning.kind, core::Stage::kWrite, text, {},
                       meaning.kind == FailureKind::kPermanent ? core::DataProblem::kInvalid
                                                               : core::DataProblem::kNone,
                       meaning.code);
  }
  // A 403 without a body we understand is an authorization failure too (a proxy, a VPC
  // endpoint policy).
  if (status == 403 && type.empty())
    return core::environment_error(core::Stage::kWrite, text, core::Code::kAwsAccessDenied);
  return core::transient_error(core::Stage::kWrite, text);
}

}  // namespace qrl::dynamodb
