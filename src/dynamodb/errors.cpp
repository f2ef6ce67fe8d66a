#include "dynamodb/errors.h"

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>

namespace qrl::dynamodb {

namespace {

// The request itself is wrong and would be wrong again: the message can never succeed.
constexpr std::array<std::string_view, 4> kPermanent = {"ValidationException", "SerializationException",
                                                        "ItemCollectionSizeLimitExceededException",
                                                        "ConditionalCheckFailedException"};

// The deployment is wrong: the credentials, the permissions or the table. No message can
// succeed until an operator fixes it, so none is retried or dead-lettered for it.
constexpr std::array<std::string_view, 11> kEnvironment = {"AccessDeniedException",
                                                           "UnrecognizedClientException",
                                                           "InvalidSignatureException",
                                                           "IncompleteSignatureException",
                                                           "MissingAuthenticationTokenException",
                                                           "ExpiredTokenException",
                                                           "InvalidClientTokenId",
                                                           "SignatureDoesNotMatch",
                                                           "ResourceNotFoundException",
                                                           "MissingAuthenticationToken",
                                                           "AccessDenied"};

template <std::size_t N>
bool among(const std::array<std::string_view, N>& types, const std::string& type) {
  return std::find(types.begin(), types.end(), type) != types.end();
}

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
  if (status >= 400 && status < 500 && among(kPermanent, type))
    return core::invalid_data(core::Stage::kWrite, text);
  // A 403 without a body we understand is an authorization failure too (a proxy, a VPC
  // endpoint policy).
  if (among(kEnvironment, type) || (status == 403 && type.empty()))
    return core::environment_error(core::Stage::kWrite, text);
  // Everything else is transient: throttling and limits, 5xx, bodies we cannot read.
  return core::transient_error(core::Stage::kWrite, text);
}

}  // namespace qrl::dynamodb
