#include "dynamodb/client.h"

#include <thread>

#include "core/error.h"
#include "core/item.h"
#include "dynamodb/errors.h"
#include "log/log.h"

namespace qrl::dynamodb {

Client::Client(config::Dynamo settings, std::chrono::milliseconds timeout)
    : settings_(std::move(settings)),
      signing_{settings_.region, "dynamodb", settings_.access_key_id, settings_.secret_access_key,
               settings_.session_token},
      http_(timeout) {}

nlohmann::json Client::call(std::string_view operation, const std::string& body) {
  http::Request request;
  request.method = "POST";
  request.url = settings_.endpoint_url + "/";
  request.headers = {"Content-Type: application/x-amz-json-1.0",
                     "X-Amz-Target: DynamoDB_20120810." + std::string(operation)};
  request.body = body;
  http::Response response;
  try {
    response = http_.send(request, &signing_);
  } catch (core::Error& e) {
    e.set_stage_if_unknown(core::Stage::kWrite);
    throw;
  }
  if (response.status != 200) throw classify(response.status, response.body, operation);
  auto json = nlohmann::json::parse(response.body, nullptr, false);
  if (json.is_discarded()) {
    throw core::transient_error(
        core::Stage::kWrite, "DynamoDB " + std::string(operation) + " answered with a body that is not JSON");
  }
  return json;
}

void Client::ensure_table(std::chrono::seconds wait) {
  const std::string name_only = nlohmann::json{{"TableName", settings_.table}}.dump();
  auto deadline = std::chrono::steady_clock::now() + wait;
  bool created = false;
  int failures = 0;
  // Throttling or a 5xx at start-up is worth a few tries; anything else is the answer.
  auto retry_or_throw = [&](const core::Error& e) {
    if (!e.transient() || ++failures >= 5) throw e;
    std::this_thread::sleep_for(std::chrono::milliseconds(100 << failures));
  };
  for (;;) {
    std::string status;
    try {
      status = call("DescribeTable", name_only)["Table"].value("TableStatus", "");
    } catch (const core::Error& e) {
      const bool absent = std::string(e.what()).find("ResourceNotFoundException") != std::string::npos;
      if (!absent || created) {
        retry_or_throw(e);
        continue;
      }
      log::info("table absent, creating it", {{"table", settings_.table}});
      nlohmann::json create = {{"TableName", settings_.table},
                               {"AttributeDefinitions", {{{"AttributeName", "id"}, {"AttributeType", "S"}}}},
                               {"KeySchema", {{{"AttributeName", "id"}, {"KeyType", "HASH"}}}},
                               {"BillingMode", "PAY_PER_REQUEST"}};
      try {
        call("CreateTable", create.dump());
      } catch (const core::Error& ce) {
        // ResourceInUseException: another loader created it first.
        if (std::string(ce.what()).find("ResourceInUseException") == std::string::npos) {
          retry_or_throw(ce);
          continue;
        }
      }
      created = true;
      continue;
    }
    if (status == "ACTIVE") return;
    if (std::chrono::steady_clock::now() > deadline) {
      throw core::transient_error(core::Stage::kSetup, "table '" + settings_.table + "' is " + status +
                                                           ", not ACTIVE, after " +
                                                           std::to_string(wait.count()) + "s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void Client::put(const std::string& /*quiz_id*/, const std::string& item) {
  std::string body;
  body.reserve(item.size() + settings_.table.size() + 32);
  body += "{\"TableName\":";
  core::append_json_string(body, settings_.table);
  body += ",\"Item\":";
  body += item;
  body += '}';
  call("PutItem", body);
}

bool Client::exists(const std::string& quiz_id) {
  nlohmann::json request = {{"TableName", settings_.table},
                            {"Key", {{"id", {{"S", quiz_id}}}}},
                            {"ConsistentRead", true},
                            {"ProjectionExpression", "id"}};
  auto response = call("GetItem", request.dump());
  return response.contains("Item");
}

std::optional<nlohmann::json> Client::get(const std::string& quiz_id) {
  nlohmann::json request = {
      {"TableName", settings_.table}, {"Key", {{"id", {{"S", quiz_id}}}}}, {"ConsistentRead", true}};
  auto response = call("GetItem", request.dump());
  if (!response.contains("Item")) return std::nullopt;
  return response["Item"];
}

std::vector<nlohmann::json> Client::scan(std::size_t limit) {
  std::vector<nlohmann::json> items;
  nlohmann::json request = {{"TableName", settings_.table}};
  for (;;) {
    auto response = call("Scan", request.dump());
    for (auto& item : response["Items"]) {
      if (items.size() >= limit) return items;
      items.push_back(std::move(item));
    }
    if (!response.contains("LastEvaluatedKey")) return items;
    request["ExclusiveStartKey"] = response["LastEvaluatedKey"];
  }
}

void Client::delete_table() {
  try {
    call("DeleteTable", nlohmann::json{{"TableName", settings_.table}}.dump());
  } catch (const core::Error& e) {
    if (std::string(e.what()).find("ResourceNotFoundException") == std::string::npos) throw;
  }
}

}  // namespace qrl::dynamodb
