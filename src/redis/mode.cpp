#include "redis/mode.h"

#include <string>
#include <string_view>

#include "core/error.h"
#include "log/log.h"

namespace qrl::redis {

namespace {

Connection connect_first(const config::Redis& settings, std::chrono::milliseconds timeout) {
  if (settings.nodes.size() <= 1) return Connection(settings, timeout);
  for (std::size_t i = 0;; ++i) {
    config::Redis one = settings;
    one.host = settings.nodes[i].host;
    one.port = settings.nodes[i].port;
    try {
      return Connection(one, timeout);
    } catch (const core::Error& e) {
      if (e.environment() || i + 1 == settings.nodes.size()) throw;
      log::warn("redis node does not answer; trying the next", {{"node", one.host + ":" + std::to_string(one.port)},
                                                                 {"reason", e.what()}});
    }
  }
}

// CLUSTER INFO answers on a cluster node; a server with cluster support off refuses it.
bool asks_cluster(Connection& connection) {
  auto reply = connection.command({"CLUSTER", "INFO"});
  if (reply->type != REDIS_REPLY_ERROR) return true;
  const std::string_view message(reply->str, reply->len);
  if (message.find("cluster support disabled") == std::string_view::npos) {
    log::warn("cannot ask redis whether it is a cluster; taken as a single Redis (set redis.cluster)",
              {{"reply", message}});
  }
  return false;
}

}  // namespace

Opened open_first(const config::Redis& settings, std::chrono::milliseconds timeout) {
  Opened opened{connect_first(settings, timeout), settings.cluster == "on"};
  if (settings.cluster == "auto") {
    opened.cluster = asks_cluster(opened.connection);
    opened.asked = opened.connection.round_trips();
  }
  if (opened.cluster && settings.db != 0) {
    throw core::environment_error(core::Stage::kUnknown,
                                  "redis is a cluster, which has database 0 only, but redis.db is " +
                                      std::to_string(settings.db),
                                  core::Code::kRedisDatabase);
  }
  return opened;
}

const char* mode_name(bool cluster) { return cluster ? "cluster" : "single"; }

}  // namespace qrl::redis
