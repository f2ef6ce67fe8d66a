#pragma once
// A Redis Cluster of the test's own, as the operators run one: redis-server from
// Debian in cluster mode, `primaries` primaries with `replicas` replicas each on free loopback
// ports (cluster bus ports too), made with `redis-cli --cluster create`, and waited for until
// every node says cluster_state:ok.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "redis/cluster/router.h"
#include "support/harness.h"

namespace qrl::testing {

class RedisCluster {
 public:
  explicit RedisCluster(int primaries = 3, int replicas = 1, std::chrono::milliseconds node_timeout = 2000ms);

  // Settings that name one node (`node`, 0 by default) as redis.host.
  config::Redis settings(std::size_t node = 0) const;
  std::size_t size() const { return servers_.size(); }
  int port(std::size_t node) const { return servers_[node]->port(); }
  // The client of the tests' own (the loader's router): writes and inspects quizzes.
  redis::cluster::Router& router() { return *router_; }
  void write(const std::vector<std::vector<std::string>>& commands);
  // How many of `keys` exist.
  std::size_t existing(const std::vector<std::string>& keys);
  // A command to one node, by index.
  redis::Reply command(std::size_t node, const redis::Command& args);
  // The node ids and roles, as CLUSTER NODES has them: "myself,master" etc.
  std::string nodes_text(std::size_t node);
  // Kills a node (SIGKILL) and, when it was a primary, waits until the cluster says ok again.
  void kill(std::size_t node, std::chrono::milliseconds timeout = 30s);
  bool healthy(std::size_t from);
  // redis-cli --cluster with `args`, against node `node`: its exit code.
  int cli(std::size_t node, const std::vector<std::string>& args, std::string* output = nullptr);

 private:
  std::vector<std::unique_ptr<RedisServer>> servers_;
  std::vector<bool> alive_;
  std::unique_ptr<redis::cluster::Router> router_;
};

}  // namespace qrl::testing
