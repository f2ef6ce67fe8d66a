#pragma once
// Which primary serves each of a cluster's 16,384 slots, learnt from a node's CLUSTER SHARDS
// (Redis 7) or, from older servers, CLUSTER SLOTS; and what `check` reports of it. A MOVED
// reply moves one slot at once; the router learns the whole map again after it.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <hiredis/hiredis.h>

#include "config/config.h"
#include "redis/cluster/slots.h"

namespace qrl::redis::cluster {

using Node = config::RedisNode;

class SlotMap {
 public:
  SlotMap() { owner_.fill(kNone); }

  // From the reply of CLUSTER SHARDS or CLUSTER SLOTS asked of `asked` (a node that leaves its
  // address out is that node). `tls`: the nodes' TLS ports where they give one. Throws a
  // transient Error for a reply of another shape.
  static SlotMap from_shards(const redisReply& reply, const Node& asked, bool tls);
  static SlotMap from_slots(const redisReply& reply, const Node& asked);

  // The primary serving `slot` (an index into primaries()); empty when none does.
  std::optional<std::size_t> owner(std::uint16_t slot) const;
  const std::vector<Node>& primaries() const { return primaries_; }
  std::size_t replicas() const { return replicas_; }
  std::size_t covered() const;  // slots with a primary
  // A MOVED reply: `slot` is served by `node` from now on.
  void move(std::uint16_t slot, const Node& node);

 private:
  static constexpr std::uint16_t kNone = 0xffff;
  std::size_t index_of(const Node& node);
  void assign(long long first, long long last, const Node& node);

  std::vector<Node> primaries_;
  std::array<std::uint16_t, kSlots> owner_{};
  std::size_t replicas_ = 0;
};

}  // namespace qrl::redis::cluster
