#include "redis/survey.h"

#include <string_view>

#include "core/error.h"
#include "redis/cluster/router.h"
#include "redis/cluster/slots.h"
#include "redis/mode.h"

namespace qrl::redis {

namespace {

// The value of `field` in CLUSTER INFO's "field:value\r\n" lines.
std::string info_field(std::string_view info, std::string_view field) {
  for (std::size_t at = 0; at < info.size();) {
    auto end = info.find('\n', at);
    if (end == std::string_view::npos) end = info.size();
    auto line = info.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > field.size() && line.substr(0, field.size()) == field && line[field.size()] == ':') {
      return std::string(line.substr(field.size() + 1));
    }
    at = end + 1;
  }
  return "?";
}

std::string cluster_state(Connection& connection) {
  auto reply = connection.command({"CLUSTER", "INFO"});
  if (reply->type != REDIS_REPLY_STRING) {
    throw core::transient_error(core::Stage::kSetup, "redis cluster did not answer CLUSTER INFO: " +
                                                         std::string(reply->str ? reply->str : "?"));
  }
  return info_field(std::string_view(reply->str, reply->len), "cluster_state");
}

std::string count(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::string Survey::describe() const {
  if (!cluster) return "single Redis";
  const std::string served = slots_served == cluster::kSlots
                                 ? "every slot served"
                                 : std::to_string(slots_served) + " of " + std::to_string(cluster::kSlots) +
                                       " slots served";
  return "cluster: " + count(primaries, "primary", "primaries") + ", " + count(replicas, "replica", "replicas") +
         ", " + served + ", state " + state;
}

std::optional<std::string> Survey::problem() const {
  if (!cluster) return std::nullopt;
  if (slots_served < cluster::kSlots) {
    return std::to_string(cluster::kSlots - slots_served) +
           " slots have no primary: the quizzes whose keys fall there cannot be read or deleted";
  }
  if (state != "ok") return "the cluster's state is '" + state + "', not 'ok'";
  return std::nullopt;
}

Survey survey(const config::Redis& settings, std::chrono::milliseconds timeout) {
  Opened opened = open_first(settings, timeout);
  Survey found;
  found.node = opened.connection.endpoint();
  found.cluster = opened.cluster;
  if (!opened.cluster) return found;
  found.state = cluster_state(opened.connection);
  cluster::Router router(settings, timeout);
  const auto& map = router.map();
  found.primaries = map.primaries().size();
  found.replicas = map.replicas();
  found.slots_served = map.covered();
  return found;
}

Pulse::Pulse(config::Redis settings, std::chrono::milliseconds timeout)
    : settings_(std::move(settings)), timeout_(timeout) {}

void Pulse::ready() {
  try {
    if (!connection_) {
      Opened opened = open_first(settings_, timeout_);
      cluster_ = opened.cluster;
      connection_.emplace(std::move(opened.connection));
    }
    if (cluster_) {
      const auto state = cluster_state(*connection_);
      if (state != "ok") {
        throw core::transient_error(core::Stage::kSetup, "redis cluster state is '" + state + "' at " +
                                                             connection_->endpoint());
      }
      return;
    }
    auto reply = connection_->command({"PING"});
    if (reply->type == REDIS_REPLY_ERROR) throw core::transient_error(core::Stage::kSetup, reply->str);
  } catch (...) {
    connection_.reset();
    throw;
  }
}

}  // namespace qrl::redis
