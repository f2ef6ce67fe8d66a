#include "daemon/probes.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "dynamodb/client.h"
#include "redis/survey.h"

namespace qrl::daemon {

std::vector<std::pair<std::string, health::Prober::Check>> probes(const config::Config& config,
                                                                  std::shared_ptr<credentials::Provider> aws) {
  const auto timeout =
      std::min<std::chrono::milliseconds>(config.loader.request_timeout, std::chrono::seconds(4));
  auto redis = std::make_shared<redis::Pulse>(config.redis, timeout);
  auto dynamo = std::make_shared<dynamodb::Client>(config.dynamo, std::move(aws), timeout);
  const std::string describe = nlohmann::json{{"TableName", config.dynamo.table}}.dump();
  return {
      {"redis", [redis] { redis->ready(); }},
      {"dynamodb", [dynamo, describe] { dynamo->call("DescribeTable", describe); }},
  };
}

}  // namespace qrl::daemon
