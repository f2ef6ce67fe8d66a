#pragma once
// A Redis Cluster of the test's own, as the operators run one: redis-server from
// Debian in cluster mode, `primaries` primaries with `replicas` replicas each on free loopback
// ports (cluster bus ports too), made with `redis-cli --cluster create`, and waited for until
// every node says cluster_state:ok. Or the lane's own cluster (scripts/stack.sh,
// QRL_REDIS_CLUSTER), shared by the tests that neither kill a node nor move slots: emptied when
// a test takes it.

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
  // The lane's cluster, emptied, when the stack has one; else one of the test's own.
  static std::unique_ptr<RedisCluster> shared();

  // Settings that name one node (`node`, 0 by default) as redis.host.
  config::Redis settings(std::size_t node = 0) const;
  std::size_t size() const { return ports_.size(); }
  int port(std::size_t node) const { return ports_[node]; }
  // The client of the tests' own (the loader's router): writes and inspects quizzes.
  redis::cluster::Router& router() { return *router_; }
  void write(const std::vector<std::vector<std::string>>& commands);
  // How many of `keys` exist.
  std::size_t existing(const std::vector<std::string>& keys);
  // A command to one node, by index.
  redis::Reply command(std::size_t node, const redis::Command& args);
  // The node ids and roles, as CLUSTER NODES has them: "myself,master" etc.
  std::string nodes_text(std::size_t node);
  // Kills a node of the test's own cluster (SIGKILL) and, when it was a primary, waits until the cluster says ok again.
  void kill(std::size_t node, std::chrono::milliseconds timeout = 30s);
  // Kills a node of the test's own cluster and waits for nothing.
  void crash(std::size_t node);
  bool healthy(std::size_t from);
  // redis-cli --cluster with `args`, against node `node`: its exit code.
  int cli(std::size_t node, const std::vector<std::string>& args, std::string* output = nullptr);

 private:
  explicit RedisCluster(std::vector<int> ports);
  void attach();

  std::vector<std::unique_ptr<RedisServer>> servers_;  // empty for the lane's cluster
  std::vector<int> ports_;
  std::vector<bool> alive_;
  std::unique_ptr<redis::cluster::Router> router_;
};

}  // namespace qrl::testing
