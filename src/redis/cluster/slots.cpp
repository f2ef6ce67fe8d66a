#include "redis/cluster/slots.h"

#include <charconv>
#include <string>

namespace qrl::redis::cluster {

std::uint16_t crc16(std::string_view data) noexcept {
  // CRC-16/XMODEM: polynomial 0x1021, initial value 0, no reflection, no final xor.
  std::uint16_t crc = 0;
  for (char c : data) {
    crc ^= static_cast<std::uint16_t>(static_cast<unsigned char>(c) << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021) : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

std::uint16_t key_slot(std::string_view key) noexcept {
  const auto open = key.find('{');
  if (open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return static_cast<std::uint16_t>(crc16(key) % kSlots);
}

std::vector<std::vector<std::size_t>> group_by_slot(std::span<const std::string> keys, std::size_t most) {
  std::vector<std::vector<std::size_t>> groups;
  std::vector<std::int32_t> open(kSlots, -1);  // slot -> its group still taking keys
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto slot = key_slot(keys[i]);
    auto& at = open[slot];
    if (at < 0 || groups[static_cast<std::size_t>(at)].size() >= most) {
      at = static_cast<std::int32_t>(groups.size());
      groups.emplace_back();
    }
    groups[static_cast<std::size_t>(at)].push_back(i);
  }
  return groups;
}

std::optional<Redirect> parse_redirect(std::string_view error) {
  Redirect out;
  if (error.rfind("MOVED ", 0) == 0) {
    out.kind = Redirect::Kind::kMoved;
    error.remove_prefix(6);
  } else if (error.rfind("ASK ", 0) == 0) {
    out.kind = Redirect::Kind::kAsk;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const auto space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  unsigned slot = 0;
  auto [end, ec] = std::from_chars(error.data(), error.data() + space, slot);
  if (ec != std::errc() || end != error.data() + space || slot >= kSlots) return std::nullopt;
  out.slot = static_cast<std::uint16_t>(slot);
  const auto address = error.substr(space + 1);
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  out.host = std::string(host);
  const auto port_text = address.substr(colon + 1);
  auto [port_end, port_ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), out.port);
  if (port_ec != std::errc() || port_end != port_text.data() + port_text.size() || out.port <= 0 || out.port > 65535)
    return std::nullopt;
  return out;
}

bool is_cluster_wait(std::string_view error) noexcept {
  return error.rfind("TRYAGAIN", 0) == 0 || error.rfind("CLUSTERDOWN", 0) == 0;
}

}  // namespace qrl::redis::cluster
