#include "redis/cluster/router.h"

#include <algorithm>

#include "core/error.h"
#include "log/log.h"

namespace qrl::redis::cluster {

namespace {

constexpr int kRounds = 6;                           // redirects and waits within one batch
constexpr std::chrono::milliseconds kWait{100};      // TRYAGAIN, CLUSTERDOWN: the first wait

std::string name_of(const Node& node) { return node.host + ":" + std::to_string(node.port); }

std::string_view error_of(const redisReply& reply) {
  return reply.type == REDIS_REPLY_ERROR ? std::string_view(reply.str, reply.len) : std::string_view();
}

}  // namespace

std::string_view key_of(const CommandView& command) {
  const std::size_t at = !command.empty() && command.front() == "OBJECT" ? 2 : 1;
  return command.size() > at ? command[at] : std::string_view();
}

Router::Router(config::Redis settings, std::chrono::milliseconds timeout, core::Clock& clock)
    : settings_(std::move(settings)), timeout_(timeout), clock_(clock) {}

Connection& Router::connection(const Node& node) {
  const auto name = name_of(node);
  auto it = connections_.find(name);
  if (it != connections_.end()) return it->second;
  config::Redis settings = settings_;
  settings.host = node.host;
  settings.port = node.port;
  settings.db = 0;  // a cluster has database 0 only
  return connections_.emplace(name, Connection(settings, timeout_)).first->second;
}

void Router::drop(const Node& node) {
  auto it = connections_.find(name_of(node));
  if (it == connections_.end()) return;
  retired_round_trips_ += it->second.round_trips();
  connections_.erase(it);
}

void Router::learn() {
  std::vector<Node> candidates = map_.primaries();
  for (const auto& node : settings_.nodes) {
    if (std::find(candidates.begin(), candidates.end(), node) == candidates.end()) candidates.push_back(node);
  }
  if (candidates.empty()) candidates.push_back({settings_.host, settings_.port});
  std::string errors;
  for (const auto& node : candidates) {
    try {
      auto& link = connection(node);
      const std::vector<CommandView> shards = {{"CLUSTER", "SHARDS"}};
      auto reply = link.pipeline(shards);
      if (reply.front()->type == REDIS_REPLY_ERROR) {
        // Before Redis 7 (and on some managed services): the older form.
        const std::vector<CommandView> slots = {{"CLUSTER", "SLOTS"}};
        reply = link.pipeline(slots);
        if (reply.front()->type == REDIS_REPLY_ERROR)
          throw core::transient_error(core::Stage::kUnknown, std::string(error_of(*reply.front())));
        map_ = SlotMap::from_slots(*reply.front(), node);
      } else {
        map_ = SlotMap::from_shards(*reply.front(), node, settings_.tls.enabled);
      }
      known_ = true;
      log::debug("redis cluster map learnt", {{"from", name_of(node)},
                                               {"primaries", std::to_string(map_.primaries().size())},
                                               {"slots", std::to_string(map_.covered())}});
      return;
    } catch (const core::Error& e) {
      if (e.environment()) throw;  // a refused login is refused by every node
      drop(node);
      errors += (errors.empty() ? "" : "; ") + name_of(node) + ": " + e.what();
    }
  }
  throw core::transient_error(core::Stage::kUnknown, "redis cluster: no node gave its slot map (" + errors + ")",
                              core::Code::kConnectionLost);
}

const SlotMap& Router::map() {
  if (!known_) learn();
  return map_;
}

Node Router::node_of(const CommandView& command) {
  const auto slot = key_slot(key_of(command));
  auto owner = map().owner(slot);
  if (!owner) {
    learn();
    owner = map_.owner(slot);
  }
  if (!owner) {
    throw core::transient_error(core::Stage::kUnknown,
                                "redis cluster: no primary serves slot " + std::to_string(slot) + " now");
  }
  return map_.primaries()[*owner];
}

std::vector<Reply> Router::run(std::span<const CommandView> commands) {
  std::vector<Reply> replies(commands.size());
  std::vector<Pending> pending;
  pending.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) pending.push_back({i, node_of(commands[i])});
  for (int r = 0; r < kRounds && !pending.empty(); ++r) {
    auto again = round(commands, pending, replies);
    // Waits grow: 100, 200, 400 ms...; a failover takes about cluster-node-timeout.
    const bool wait = std::any_of(again.begin(), again.end(), [&](const Pending& p) {
      return replies[p.index] && is_cluster_wait(error_of(*replies[p.index]));
    });
    if (wait && r + 1 < kRounds) clock_.sleep_for(kWait * (1 << r));
    pending = std::move(again);
  }
  return replies;
}

std::vector<Router::Pending> Router::round(std::span<const CommandView> commands, const std::vector<Pending>& pending,
                                           std::vector<Reply>& replies) {
  ++rounds_;
  // Per node, in the batch's order: the commands (with ASKING before an asked one).
  std::map<std::string, std::pair<Node, std::vector<const Pending*>>> by_node;
  for (const auto& p : pending) {
    auto& entry = by_node[name_of(p.node)];
    entry.first = p.node;
    entry.second.push_back(&p);
  }
  std::vector<std::pair<Connection*, std::size_t>> sent;  // replies to read from each
  sent.reserve(by_node.size());
  // A node failing mid-round leaves the others' replies unread on their connections: read
  // later, they would answer the next batch's commands. Every node of the round is dropped.
  auto fail = [&](const Node& node, const core::Error& e) {
    for (const auto& [name, entry] : by_node) drop(entry.first);
    known_ = false;  // learn again, from the nodes still answering
    throw core::transient_error(e.stage(), "redis cluster node " + name_of(node) + ": " + e.what(), e.code());
  };
  for (auto& [name, entry] : by_node) {
    std::vector<CommandView> batch;
    batch.reserve(entry.second.size());
    std::size_t count = 0;
    for (const Pending* p : entry.second) {
      if (p->asking) batch.push_back({"ASKING"});
      batch.push_back(commands[p->index]);
      count += p->asking ? 2 : 1;
    }
    try {
      auto& link = connection(entry.first);
      link.send(batch);
      sent.emplace_back(&link, count);
    } catch (const core::Error& e) {
      fail(entry.first, e);
    }
  }
  std::vector<Pending> again;
  std::size_t n = 0;
  for (auto& [name, entry] : by_node) {
    std::vector<Reply> got;
    try {
      got = sent[n].first->receive(sent[n].second);
    } catch (const core::Error& e) {
      fail(entry.first, e);
    }
    ++n;
    std::size_t at = 0;
    for (const Pending* p : entry.second) {
      if (p->asking) ++at;  // ASKING's own +OK
      Reply reply = std::move(got[at++]);
      const auto error = error_of(*reply);
      if (auto redirect = parse_redirect(error)) {
        ++redirects_;
        Node target{redirect->host.empty() ? entry.first.host : redirect->host, redirect->port};
        if (redirect->kind == Redirect::Kind::kMoved) {
          map_.move(redirect->slot, target);
          known_ = false;  // the rest of the map moves too: learnt again before the next batch
        }
        again.push_back({p->index, target, redirect->kind == Redirect::Kind::kAsk});
      } else if (is_cluster_wait(error)) {
        again.push_back({p->index, entry.first, false});
      }
      replies[p->index] = std::move(reply);
    }
  }
  return again;
}

std::vector<Reply> Router::run_on(std::size_t primary, std::span<const CommandView> commands) {
  const auto& primaries = map().primaries();
  if (primary >= primaries.size())
    throw core::transient_error(core::Stage::kRead, "redis cluster: the map changed during the walk");
  const Node node = primaries[primary];
  try {
    return connection(node).pipeline(commands);
  } catch (const core::Error& e) {
    drop(node);
    known_ = false;
    throw;
  }
}

std::uint64_t Router::round_trips() const noexcept {
  std::uint64_t total = retired_round_trips_;
  for (const auto& [name, link] : connections_) total += link.round_trips();
  return total;
}

}  // namespace qrl::redis::cluster
