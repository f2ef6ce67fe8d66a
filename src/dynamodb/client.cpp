#include "dynamodb/client.h"

#include <zlib.h>

#include <thread>

#include "core/error.h"
#include "core/item.h"
#include "dynamodb/errors.h"
#include "log/log.h"

namespace qrl::dynamodb {

namespace {

// DynamoDB sends the CRC32 of every body; the SDKs check it, and so do we: a body damaged on
// the way is a transient failure, never a result.
void check_crc32(const http::Response& response, std::string_view operation) {
  auto header = response.header("x-amz-crc32");
  if (header.empty()) return;
  auto computed = crc32(0L, reinterpret_cast<const Bytef*>(response.body.data()),
                        static_cast<uInt>(response.body.size()));
  if (header != std::to_string(computed)) {
    throw core::transient_error(core::Stage::kWrite, "DynamoDB " + std::string(operation) +
                                                         " answered a body whose CRC32 does not match "
                                                         "x-amz-crc32 (damaged in transit)");
  }
}

std::optional<double> consumed_units(const nlohmann::json& response) {
  auto consumed = response.find("ConsumedCapacity");
  if (consumed == response.end() || !consumed->is_object()) return std::nullopt;
  auto units = consumed->find("CapacityUnits");
  if (units == consumed->end() || !units->is_number()) return std::nullopt;
  return units->get<double>();
}

}  // namespace

TableCapacity capacity_of(const nlohmann::json& table) {
  TableCapacity capacity;
  // A table made before on-demand existed has no BillingModeSummary: it is provisioned.
  capacity.billing_mode = "PROVISIONED";
  if (auto summary = table.find("BillingModeSummary"); summary != table.end() && summary->is_object())
    capacity.billing_mode = summary->value("BillingMode", capacity.billing_mode);
  if (auto provisioned = table.find("ProvisionedThroughput"); provisioned != table.end() && provisioned->is_object()) {
    capacity.read_units = provisioned->value("ReadCapacityUnits", 0.0);
    capacity.write_units = provisioned->value("WriteCapacityUnits", 0.0);
  }
  if (capacity.billing_mode == "PAY_PER_REQUEST") capacity.read_units = capacity.write_units = 0;
  return capacity;
}

Client::Client(config::Dynamo settings, std::shared_ptr<credentials::Provider> credentials,
               std::chrono::milliseconds timeout)
    : settings_(std::move(settings)), credentials_(std::move(credentials)), http_(timeout) {}

nlohmann::json Client::call(std::string_view operation, const std::string& body) {
  try {
    auto json = call_once(operation, body);
    recorder_->dynamodb_request(operation, "ok");
    return json;
  } catch (const core::Error& e) {
    const bool throttled = e.code() == core::Code::kThrottled;
    recorder_->dynamodb_request(operation, throttled ? "throttled" : e.transient() ? "retried" : "failed");
    throw;
  }
}

nlohmann::json Client::call_once(std::string_view operation, const std::string& body) {
  http::Request request;
  request.method = "POST";
  request.url = settings_.endpoint_url + "/";
  request.headers = {"Content-Type: application/x-amz-json-1.0",
                     "X-Amz-Target: DynamoDB_20120810." + std::string(operation)};
  request.body = body;
  for (int attempt = 1;; ++attempt) {
    auto keys = credentials_->current();
    http::AwsSigning signing{settings_.region, "dynamodb", keys->access_key_id, keys->secret_access_key,
                             keys->session_token};
    http::Response response;
    try {
      response = http_.send(request, &signing);
    } catch (core::Error& e) {
      e.set_stage_if_unknown(core::Stage::kWrite);
      throw;
    }
    if (response.status != 200) {
      auto error = classify(response.status, response.body, operation);
      // Temporary credentials that AWS calls expired before we thought so (clock skew, or
      // revoked): one refresh and one more try, as the SDKs do.
      if (attempt == 1 && error.code() == core::Code::kExpiredToken && keys->expiration) {
        credentials_->refresh_after_rejection(keys->generation);
        continue;
      }
      throw error;
    }
    check_crc32(response, operation);
    auto json = nlohmann::json::parse(response.body, nullptr, false);
    if (json.is_discarded()) {
      throw core::transient_error(core::Stage::kWrite, "DynamoDB " + std::string(operation) +
                                                           " answered with a body that is not JSON");
    }
    return json;
  }
}

void Client::ensure_table(std::chrono::seconds wait, core::Clock& clock) {
  const std::string name_only = nlohmann::json{{"TableName", settings_.table}}.dump();
  auto deadline = clock.now() + wait;
  bool created = false;
  int failures = 0;
  // Throttling or a 5xx at start-up is worth a few tries; anything else is the answer.
  auto retry_or_throw = [&](const core::Error& e) {
    if (!e.transient() || ++failures >= 5) throw e;
    clock.sleep_for(std::chrono::milliseconds(100 << failures));
  };
  for (;;) {
    std::string status;
    try {
      const auto table = call("DescribeTable", name_only)["Table"];
      status = table.value("TableStatus", "");
      described_ = capacity_of(table);
    } catch (const core::Error& e) {
      const bool absent = e.code() == core::Code::kTableMissing;
      if (!absent || created) {
        retry_or_throw(e);
        continue;
      }
      if (!settings_.create_table.value_or(true)) {
        throw core::environment_error(
            core::Stage::kSetup, "table '" + settings_.table + "' does not exist in " + settings_.region +
                                     " and create_table is off (DYNAMODB_CREATE_TABLE): create it, or "
                                     "turn create_table on and grant dynamodb:CreateTable",
            core::Code::kTableMissing);
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
        if (ce.code() != core::Code::kTableInUse) {
          retry_or_throw(ce);
          continue;
        }
      }
      created = true;
      continue;
    }
    if (status == "ACTIVE") return;
    if (clock.now() > deadline) {
      throw core::transient_error(core::Stage::kSetup, "table '" + settings_.table + "' is " + status +
                                                           ", not ACTIVE, after " +
                                                           std::to_string(wait.count()) + "s");
    }
    clock.sleep_for(std::chrono::milliseconds(100));
  }
}

nlohmann::json Client::put_item(const std::string& item, std::string_view condition, bool old_values) {
  last_consumed_.reset();
  std::string body;
  body.reserve(item.size() + settings_.table.size() + condition.size() + 80);
  body += "{\"TableName\":";
  core::append_json_string(body, settings_.table);
  body += ",\"ReturnConsumedCapacity\":\"TOTAL\"";
  if (old_values) body += ",\"ReturnValues\":\"ALL_OLD\"";
  body += condition;
  body += ",\"Item\":";
  body += item;
  body += '}';
  auto response = call("PutItem", body);
  last_consumed_ = consumed_units(response);
  return response;
}

void Client::put_part(const std::string& /*id*/, const std::string& item, std::size_t /*bytes*/) {
  put_item(item, {}, false);
}

pipeline::ItemStore::Stored Client::put_quiz(const std::string& /*id*/, const std::string& item,
                                             const Identity& identity, std::size_t /*bytes*/) {
  // A single item counts its Participants list; a split head says its count in Split.
  std::string condition =
      ",\"ConditionExpression\":\"attribute_not_exists(#id) OR (#start = :start AND "
      "(size(#participants) = :count OR #split.#count = :count))\""
      ",\"ExpressionAttributeNames\":{\"#id\":\"id\",\"#start\":\"StartTime\",\"#participants\":"
      "\"Participants\",\"#split\":\"Split\",\"#count\":\"ParticipantCount\"}"
      ",\"ExpressionAttributeValues\":{\":start\":{\"S\":";
  core::append_json_string(condition, identity.start_time);
  condition += "},\":count\":{\"N\":\"" + std::to_string(identity.participants) + "\"}}";
  try {
    const auto response = put_item(item, condition, true);
    auto old = response.find("Attributes");
    return old != response.end() && old->is_object() && !old->empty() ? Stored::kSameQuiz : Stored::kNew;
  } catch (const core::Error& e) {
    if (e.code() == core::Code::kConditionFailed) return Stored::kRefused;
    throw;
  }
}

std::optional<std::string> Client::start_time(const std::string& id) {
  last_consumed_.reset();
  // Only the attribute that tells one quiz from another under the same id (DynamoDB still
  // charges the whole item's size).
  nlohmann::json request = {{"TableName", settings_.table},
                            {"Key", {{"id", {{"S", id}}}}},
                            {"ConsistentRead", true},
                            {"ReturnConsumedCapacity", "TOTAL"},
                            {"ProjectionExpression", "#id, #start"},
                            {"ExpressionAttributeNames", {{"#id", "id"}, {"#start", "StartTime"}}}};
  auto response = call("GetItem", request.dump());
  last_consumed_ = consumed_units(response);
  auto item = response.find("Item");
  if (item == response.end() || !item->is_object() || item->empty()) return std::nullopt;
  auto start = item->find("StartTime");
  if (start == item->end() || !start->is_object() || !start->contains("S") || !(*start)["S"].is_string())
    return std::string();
  return (*start)["S"].get<std::string>();
}

std::optional<nlohmann::json> Client::get(const std::string& quiz_id) {
  nlohmann::json request = {
      {"TableName", settings_.table}, {"Key", {{"id", {{"S", quiz_id}}}}}, {"ConsistentRead", true}};
  auto response = call("GetItem", request.dump());
  if (!response.contains("Item")) return std::nullopt;
  return response["Item"];
}

std::vector<nlohmann::json> Client::scan(std::size_t limit, bool quizzes_only, const std::string& id_prefix) {
  std::vector<nlohmann::json> items;
  nlohmann::json request = {{"TableName", settings_.table}};
  std::vector<std::string> filters;
  if (quizzes_only) {
    // Continuation items of split quizzes (src/split/) are not quizzes.
    filters.push_back("attribute_not_exists(#part_of)");
    request["ExpressionAttributeNames"]["#part_of"] = "PartOf";
  }
  if (!id_prefix.empty()) {
    filters.push_back("begins_with(#id, :prefix)");
    request["ExpressionAttributeNames"]["#id"] = "id";
    request["ExpressionAttributeValues"][":prefix"] = {{"S", id_prefix}};
  }
  if (!filters.empty()) {
    request["FilterExpression"] = filters[0] + (filters.size() > 1 ? " AND " + filters[1] : "");
  }
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
    if (e.code() != core::Code::kTableMissing) throw;
  }
}

}  // namespace qrl::dynamodb
