#include "redis/cluster/slot_map.h"

#include <algorithm>
#include <string_view>

#include "core/error.h"

namespace qrl::redis::cluster {

namespace {

[[noreturn]] void malformed(const std::string& what) {
  throw core::transient_error(core::Stage::kUnknown, "redis cluster: unexpected " + what + " reply");
}

std::string_view text(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_STRING && reply.type != REDIS_REPLY_STATUS) return {};
  return {reply.str, reply.len};
}

// A RESP2 map: a flat array of names and values.
const redisReply* field(const redisReply& map, std::string_view name) {
  if (map.type != REDIS_REPLY_ARRAY) return nullptr;
  for (std::size_t i = 0; i + 1 < map.elements; i += 2) {
    if (text(*map.element[i]) == name) return map.element[i + 1];
  }
  return nullptr;
}

// An address a node gives for itself: empty or "?" when it does not know it.
std::string host_or(std::string_view given, const Node& asked) {
  if (given.empty() || given == "?") return asked.host;
  return std::string(given);
}

}  // namespace

SlotMap SlotMap::from_shards(const redisReply& reply, const Node& asked, bool tls) {
  if (reply.type != REDIS_REPLY_ARRAY) malformed("CLUSTER SHARDS");
  SlotMap map;
  for (std::size_t s = 0; s < reply.elements; ++s) {
    const redisReply& shard = *reply.element[s];
    const redisReply* slots = field(shard, "slots");
    const redisReply* nodes = field(shard, "nodes");
    if (slots == nullptr || nodes == nullptr || slots->type != REDIS_REPLY_ARRAY || nodes->type != REDIS_REPLY_ARRAY)
      malformed("CLUSTER SHARDS");
    std::optional<Node> primary;
    for (std::size_t n = 0; n < nodes->elements; ++n) {
      const redisReply& node = *nodes->element[n];
      const redisReply* role = field(node, "role");
      const redisReply* health = field(node, "health");
      const bool primary_role = role != nullptr && text(*role) == "master";
      if (!primary_role) {
        if (health == nullptr || text(*health) == "online") ++map.replicas_;
        continue;
      }
      const redisReply* endpoint = field(node, "endpoint");
      const redisReply* ip = field(node, "ip");
      const redisReply* port = field(node, tls ? "tls-port" : "port");
      if (port == nullptr && tls) port = field(node, "port");
      if (port == nullptr || port->type != REDIS_REPLY_INTEGER) malformed("CLUSTER SHARDS");
      std::string_view address = endpoint != nullptr ? text(*endpoint) : std::string_view();
      if ((address.empty() || address == "?") && ip != nullptr) address = text(*ip);
      primary = Node{host_or(address, asked), static_cast<int>(port->integer)};
    }
    if (!primary) continue;  // a shard without a primary serves nothing now
    for (std::size_t i = 0; i + 1 < slots->elements; i += 2) {
      if (slots->element[i]->type != REDIS_REPLY_INTEGER || slots->element[i + 1]->type != REDIS_REPLY_INTEGER)
        malformed("CLUSTER SHARDS");
      map.assign(slots->element[i]->integer, slots->element[i + 1]->integer, *primary);
    }
  }
  return map;
}

SlotMap SlotMap::from_slots(const redisReply& reply, const Node& asked) {
  if (reply.type != REDIS_REPLY_ARRAY) malformed("CLUSTER SLOTS");
  SlotMap map;
  for (std::size_t r = 0; r < reply.elements; ++r) {
    const redisReply& range = *reply.element[r];
    if (range.type != REDIS_REPLY_ARRAY || range.elements < 3 || range.element[0]->type != REDIS_REPLY_INTEGER ||
        range.element[1]->type != REDIS_REPLY_INTEGER || range.element[2]->type != REDIS_REPLY_ARRAY ||
        range.element[2]->elements < 2 || range.element[2]->element[1]->type != REDIS_REPLY_INTEGER)
      malformed("CLUSTER SLOTS");
    const redisReply& primary = *range.element[2];
    map.assign(range.element[0]->integer, range.element[1]->integer,
               Node{host_or(text(*primary.element[0]), asked), static_cast<int>(primary.element[1]->integer)});
    map.replicas_ += range.elements - 3;
  }
  return map;
}

std::optional<std::size_t> SlotMap::owner(std::uint16_t slot) const {
  if (slot >= kSlots || owner_[slot] == kNone) return std::nullopt;
  return owner_[slot];
}

std::size_t SlotMap::covered() const {
  return static_cast<std::size_t>(std::count_if(owner_.begin(), owner_.end(), [](auto o) { return o != kNone; }));
}

void SlotMap::move(std::uint16_t slot, const Node& node) {
  if (slot < kSlots) owner_[slot] = static_cast<std::uint16_t>(index_of(node));
}

std::size_t SlotMap::index_of(const Node& node) {
  auto it = std::find(primaries_.begin(), primaries_.end(), node);
  if (it != primaries_.end()) return static_cast<std::size_t>(it - primaries_.begin());
  primaries_.push_back(node);
  return primaries_.size() - 1;
}

void SlotMap::assign(long long first, long long last, const Node& node) {
  if (first < 0 || last >= kSlots || first > last) malformed("slot range in the cluster's");
  const auto index = static_cast<std::uint16_t>(index_of(node));
  for (long long slot = first; slot <= last; ++slot) owner_[static_cast<std::size_t>(slot)] = index;
}

}  // namespace qrl::redis::cluster
