#pragma once
// Commands to a Redis Cluster: each command goes to the primary that serves its key's slot
// (reads too: the deletes that follow must see what was read), one pipeline per node, every
// node's sent before any node's replies are read, so a batch costs one round trip at once
// however many nodes it touches. The caller gives commands whose keys share a slot
// (slots.h, group_by_slot). One connection per primary, with the login of config::Redis
// (user, password, TLS).
//
// A MOVED reply updates the slot and the command goes again to its new node, and the map is
// learnt again before the next batch; ASK sends ASKING and the command to the target, once;
// TRYAGAIN and CLUSTERDOWN wait briefly and go again, a few times. What still fails is
// returned as the node's error reply, for the caller to classify (transient). A node that
// stops answering is dropped, and the map is learnt again from the others on the next batch.

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "redis/cluster/slot_map.h"
#include "redis/connection.h"

namespace qrl::redis::cluster {

class Router {
 public:
  Router(config::Redis settings, std::chrono::milliseconds timeout, core::Clock& clock = core::system_clock());

  // The map, from the primaries known, then the nodes of redis.host, whichever answers first.
  void learn();
  const SlotMap& map();

  // Replies in the order of `commands`.
  std::vector<Reply> run(std::span<const CommandView> commands);
  // Commands for one primary (SCAN walks each in turn).
  std::vector<Reply> run_on(std::size_t primary, std::span<const CommandView> commands);

  // Exchanges with nodes (a batch to three nodes is three).
  std::uint64_t round_trips() const noexcept;
  // Round trips in time: a batch's every node at once is one (and a redirect's second round).
  std::uint64_t rounds() const noexcept { return rounds_; }
  std::uint64_t redirects() const noexcept { return redirects_; }

 private:
  struct Pending {
    std::size_t index;     // into the batch
    Node node;
    bool asking = false;   // ASK: preceded by ASKING
  };
  Connection& connection(const Node& node);
  void drop(const Node& node);
  Node node_of(const CommandView& command);
  // Sends every pending command, reads every reply; those redirected or told to wait are
  // pending again.
  std::vector<Pending> round(std::span<const CommandView> commands, const std::vector<Pending>& pending,
                             std::vector<Reply>& replies);

  config::Redis settings_;
  std::chrono::milliseconds timeout_;
  core::Clock& clock_;
  SlotMap map_;
  bool known_ = false;
  std::map<std::string, Connection> connections_;  // "host:port"
  std::uint64_t retired_round_trips_ = 0;
  std::uint64_t redirects_ = 0;
  std::uint64_t rounds_ = 0;
};

// The first key of a command the loader sends (OBJECT IDLETIME names it second).
std::string_view key_of(const CommandView& command);

}  // namespace qrl::redis::cluster
