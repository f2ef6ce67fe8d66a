#include "support/redis_cluster.h"

#include <signal.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "core/error.h"
#include "redis/connection.h"

namespace qrl::testing {

namespace {

config::Redis node_settings(int port) {
  config::Redis settings;
  settings.host = "127.0.0.1";
  settings.port = port;
  settings.nodes = {{settings.host, port}};
  settings.cluster = "on";
  return settings;
}

}  // namespace

RedisCluster::RedisCluster(int primaries, int replicas, std::chrono::milliseconds node_timeout) {
  const int count = primaries * (1 + replicas);
  for (int i = 0; i < count; ++i) {
    servers_.push_back(std::make_unique<RedisServer>(std::vector<std::string>{
        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout",
        std::to_string(node_timeout.count()), "--cluster-port", std::to_string(free_port())}));
    alive_.push_back(true);
    ports_.push_back(servers_.back()->port());
  }
  if (primaries == 1 && replicas == 0) {
    // redis-cli makes clusters of three primaries or more; one node takes every slot itself.
    auto served = command(0, {"CLUSTER", "ADDSLOTSRANGE", "0", "16383"});
    if (served->type == REDIS_REPLY_ERROR) throw std::runtime_error("CLUSTER ADDSLOTSRANGE: " + std::string(served->str));
  } else {
    std::vector<std::string> create = {"--cluster", "create"};
    for (const auto& server : servers_) create.push_back("127.0.0.1:" + std::to_string(server->port()));
    create.insert(create.end(), {"--cluster-replicas", std::to_string(replicas), "--cluster-yes"});
    Process process(create, {}, "/usr/bin/redis-cli");
    if (process.wait(60s) != 0) throw std::runtime_error("redis-cli --cluster create failed: " + process.stdout_text());
  }
  // Ok everywhere, and every replica in sync with its primary (a replica that never synced
  // cannot take over).
  auto synced = [&](std::size_t i) {
    try {
      auto reply = command(i, {"INFO", "replication"});
      const std::string info(reply->str, reply->len);
      return info.find("role:master") != std::string::npos || info.find("master_link_status:up") != std::string::npos;
    } catch (const core::Error&) {
      return false;
    }
  };
  for (std::size_t i = 0; i < servers_.size(); ++i) {
    if (!eventually([&] { return healthy(i) && synced(i); }, 60s))
      throw std::runtime_error("the cluster did not become ok");
  }
  attach();
}

RedisCluster::RedisCluster(std::vector<int> ports) : ports_(std::move(ports)), alive_(ports_.size(), true) {
  attach();
  for (std::size_t primary = 0; primary < router_->map().primaries().size(); ++primary) {
    const std::vector<redis::CommandView> flush = {{"FLUSHALL", "SYNC"}};
    auto reply = router_->run_on(primary, flush);
    if (reply.front()->type == REDIS_REPLY_ERROR) throw std::runtime_error("cannot empty the lane's cluster");
  }
}

std::unique_ptr<RedisCluster> RedisCluster::shared() {
  const char* nodes = std::getenv("QRL_REDIS_CLUSTER");
  if (nodes == nullptr || *nodes == '\0') return std::make_unique<RedisCluster>();
  std::vector<int> ports;
  std::istringstream list(nodes);
  for (std::string node; std::getline(list, node, ',');) ports.push_back(std::stoi(node.substr(node.rfind(':') + 1)));
  return std::unique_ptr<RedisCluster>(new RedisCluster(std::move(ports)));
}

void RedisCluster::attach() { router_ = std::make_unique<redis::cluster::Router>(settings(), 5000ms); }

config::Redis RedisCluster::settings(std::size_t node) const { return node_settings(ports_[node]); }

redis::Reply RedisCluster::command(std::size_t node, const redis::Command& args) {
  redis::Connection connection(node_settings(ports_[node]), 5000ms);
  return connection.command(args);
}

bool RedisCluster::healthy(std::size_t from) {
  try {
    auto reply = command(from, {"CLUSTER", "INFO"});
    return reply->type == REDIS_REPLY_STRING &&
           std::string(reply->str, reply->len).find("cluster_state:ok") != std::string::npos;
  } catch (const core::Error&) {
    return false;
  }
}

std::string RedisCluster::nodes_text(std::size_t node) {
  auto reply = command(node, {"CLUSTER", "NODES"});
  return std::string(reply->str, reply->len);
}

void RedisCluster::write(const std::vector<std::vector<std::string>>& commands) {
  std::vector<redis::CommandView> views;
  for (const auto& command : commands) views.emplace_back(command.begin(), command.end());
  for (const auto& reply : router_->run(views)) {
    if (reply->type == REDIS_REPLY_ERROR) throw std::runtime_error("cluster write: " + std::string(reply->str, reply->len));
  }
}

std::size_t RedisCluster::existing(const std::vector<std::string>& keys) {
  std::vector<redis::CommandView> views;
  for (const auto& key : keys) views.push_back({"EXISTS", key});
  std::vector<redis::Reply> replies;
  // After a node's loss the router's first batch fails, and it learns the map from the others.
  for (int attempt = 0; replies.empty(); ++attempt) {
    try {
      replies = router_->run(views);
    } catch (const core::Error&) {
      if (attempt == 5) throw;
    }
  }
  std::size_t n = 0;
  for (const auto& reply : replies) {
    if (reply->type != REDIS_REPLY_INTEGER) throw std::runtime_error("cluster EXISTS: unexpected reply");
    n += reply->integer > 0 ? 1 : 0;
  }
  return n;
}

void RedisCluster::kill(std::size_t node, std::chrono::milliseconds timeout) {
  if (servers_.empty()) throw std::logic_error("the lane's cluster is shared: kill a node of the test's own");
  servers_[node]->kill();
  alive_[node] = false;
  std::size_t other = 0;
  while (!alive_[other]) ++other;
  // Healed: the others have marked it failed (not only suspected, "fail?") and, its replica
  // promoted, say ok again.
  const std::string address = "127.0.0.1:" + std::to_string(ports_[node]) + "@";
  auto failed = [&] {
    try {
      std::istringstream lines(nodes_text(other));
      for (std::string line; std::getline(lines, line);) {
        if (line.find(address) != std::string::npos)
          return line.find(",fail ") != std::string::npos || line.find(",fail,") != std::string::npos;
      }
    } catch (const core::Error&) {
    }
    return false;
  };
  if (!eventually([&] { return failed() && healthy(other); }, timeout))
  {
    std::string logs;
    for (const auto& server : servers_) logs += server->log().substr(server->log().size() > 1500 ? server->log().size() - 1500 : 0) + "\n----\n";
    throw std::runtime_error("the cluster did not heal: " + nodes_text(other) + logs);
  }
}

void RedisCluster::crash(std::size_t node) {
  if (servers_.empty()) throw std::logic_error("the lane's cluster is shared: kill a node of the test's own");
  servers_[node]->kill();
  alive_[node] = false;
}

int RedisCluster::cli(std::size_t node, const std::vector<std::string>& args, std::string* output) {
  std::vector<std::string> line = {"--cluster"};
  line.insert(line.end(), args.begin(), args.end());
  for (auto& arg : line) {
    if (arg == "NODE") arg = "127.0.0.1:" + std::to_string(ports_[node]);
  }
  Process process(line, {}, "/usr/bin/redis-cli");
  auto code = process.wait(120s);
  if (output != nullptr) *output = process.stdout_text() + process.stderr_text();
  return code.value_or(-1);
}

}  // namespace qrl::testing
