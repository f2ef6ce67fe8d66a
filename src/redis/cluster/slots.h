#pragma once
// How a Redis Cluster places keys: 16,384 hash slots, a key's slot the CRC16 (XMODEM) of its
// name, or of its hash tag (the text between the first '{' and the next '}', when not empty),
// modulo 16,384. And the two redirections a node answers with: MOVED (the slot lives elsewhere
// now: learn the map again) and ASK (the slot is migrating: ask the target once, after ASKING).
// Pure.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>
#include <string>
#include <string_view>

namespace qrl::redis::cluster {

inline constexpr std::uint16_t kSlots = 16384;

std::uint16_t crc16(std::string_view data) noexcept;
std::uint16_t key_slot(std::string_view key) noexcept;

struct Redirect {
  enum class Kind { kMoved, kAsk };
  Kind kind = Kind::kMoved;
  std::uint16_t slot = 0;
  std::string host;
  int port = 0;
};

// The indexes of `keys` grouped by slot, in the order of each slot's first key, each group of
// at most `most` keys: a multi-key command (MGET, UNLINK) of one group is one a cluster takes.
std::vector<std::vector<std::size_t>> group_by_slot(std::span<const std::string> keys, std::size_t most);

// "MOVED 3999 127.0.0.1:6381", "ASK 3999 [::1]:6381", "MOVED 3999 :6381" (the node's host is
// the one that answered); empty for any other error or a malformed one.
std::optional<Redirect> parse_redirect(std::string_view error);

// Errors that a cluster answers while it heals, worth a short wait and the same command again:
// TRYAGAIN (a multi-key command during a migration), CLUSTERDOWN (slots uncovered for now).
bool is_cluster_wait(std::string_view error) noexcept;

}  // namespace qrl::redis::cluster
