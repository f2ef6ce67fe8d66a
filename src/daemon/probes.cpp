#include "daemon/probes.h"

#include <algorithm>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "dynamodb/client.h"
#include "redis/connection.h"

namespace qrl::daemon {

std::vector<std::pair<std::string, health::Prober::Check>> probes(const config::Config& config,
                                                                  std::shared_ptr<credentials::Provider> aws) {
  const auto timeout =
      std::min<std::chrono::milliseconds>(config.loader.request_timeout, std::chrono::seconds(4));
  auto redis = std::make_shared<std::optional<redis::Connection>>();
  auto dynamo = std::make_shared<dynamodb::Client>(config.dynamo, std::move(aws), timeout);
  const std::string describe = nlohmann::json{{"TableName", config.dynamo.table}}.dump();
  return {
      {"redis",
       [redis, settings = config.redis, timeout] {
         try {
           if (!*redis) redis->emplace(settings, timeout);
           auto reply = (*redis)->command({"PING"});
           if (reply->type == REDIS_REPLY_ERROR) throw core::transient_error(core::Stage::kSetup, reply->str);
         } catch (...) {
           redis->reset();
           throw;
         }
       }},
      {"dynamodb", [dynamo, describe] { dynamo->call("DescribeTable", describe); }},
  };
}

}  // namespace qrl::daemon
