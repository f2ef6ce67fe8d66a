#include "dynamodb/errors.h"

#include <array>

#include <nlohmann/json.hpp>

namespace qrl::dynamodb {

namespace {

// The request itself is wrong and would be wrong again: the message can never succeed.
constexpr std::array<std::string_view, 4> kPermanent = {"ValidationException", "SerializationException",
                                                        "ItemCollectionSizeLimitExceededException",
                                                        "ConditionalCheckFailedException"};

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
  bool permanent = status >= 400 && status < 500 &&
                   std::find(kPermanent.begin(), kPermanent.end(), type) != kPermanent.end();
  // Everything else is transient: throttling and limits, 5xx, and also authentication and a
  // missing table, which are the deployment's fault, not the message's; the message waits.
  return permanent ? core::invalid_data(core::Stage::kWrite, text)
                   : core::transient_error(core::Stage::kWrite, text);
}

}  // namespace qrl::dynamodb
