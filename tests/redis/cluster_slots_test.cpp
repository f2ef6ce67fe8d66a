// The cluster's arithmetic and its replies, without a server: slots against the answers of
// CLUSTER KEYSLOT (the cluster tests also compare them on a real cluster), hash tags, MOVED and
// ASK, the grouping of keys by slot, and the slot map read from CLUSTER SHARDS and SLOTS replies
// (RESP text, parsed by hiredis as a server's would be).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "redis/cluster/slot_map.h"
#include "redis/cluster/slots.h"
#include "redis/connection.h"

namespace qrl::redis::cluster {
namespace {

Reply parse(const std::string& resp) {
  redisReader* reader = redisReaderCreate();
  redisReaderFeed(reader, resp.data(), resp.size());
  void* raw = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader, &raw), REDIS_OK);
  redisReaderFree(reader);
  EXPECT_NE(raw, nullptr) << resp;
  return Reply(static_cast<redisReply*>(raw));
}

std::string bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }
std::string integer(long long n) { return ":" + std::to_string(n) + "\r\n"; }

TEST(ClusterSlots, Crc16IsXmodem) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);  // the check value of CRC-16/XMODEM
  EXPECT_EQ(crc16(""), 0);
}

TEST(ClusterSlots, KeySlotsAreRedisOwn) {
  // redis-cli CLUSTER KEYSLOT of each.
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("hello"), 866);
  EXPECT_EQ(key_slot("123456789"), 0x31C3 % kSlots);
}

TEST(ClusterSlots, AHashTagIsTheTextBetweenTheFirstBraces) {
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
  // An empty tag is no tag: the whole name is hashed.
  EXPECT_EQ(key_slot("foo{}{bar}"), crc16("foo{}{bar}") % kSlots);
  EXPECT_EQ(key_slot("foo{bar"), crc16("foo{bar") % kSlots);
}

TEST(ClusterSlots, MovedAndAskAreParsed) {
  auto moved = parse_redirect("MOVED 11661 127.0.0.1:7103");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->kind, Redirect::Kind::kMoved);
  EXPECT_EQ(moved->slot, 11661);
  EXPECT_EQ(moved->host, "127.0.0.1");
  EXPECT_EQ(moved->port, 7103);
  auto ask = parse_redirect("ASK 3999 [::1]:6381");
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->kind, Redirect::Kind::kAsk);
  EXPECT_EQ(ask->host, "::1");
  EXPECT_EQ(ask->port, 6381);
  auto unknown_host = parse_redirect("MOVED 1 :6380");
  ASSERT_TRUE(unknown_host);
  EXPECT_EQ(unknown_host->host, "");
  for (const char* bad : {"MOVED", "MOVED x 1.2.3.4:5", "MOVED 16384 h:1", "MOVED 1 h", "MOVED 1 h:0", "ASK 1 h:70000",
                          "ERR MOVED 1 h:1", "WRONGTYPE Operation"}) {
    EXPECT_FALSE(parse_redirect(bad)) << bad;
  }
  EXPECT_TRUE(is_cluster_wait("TRYAGAIN Multiple keys request during rehashing of slot"));
  EXPECT_TRUE(is_cluster_wait("CLUSTERDOWN The cluster is down"));
  EXPECT_FALSE(is_cluster_wait("ERR CLUSTERDOWN"));
}

TEST(ClusterSlots, KeysAreGroupedBySlotWithinTheCommandLimit) {
  const std::vector<std::string> keys = {"{a}1", "{b}1", "{a}2", "{a}3", "{b}2", "{a}4", "{c}1"};
  const auto groups = group_by_slot(keys, 3);
  const std::vector<std::vector<std::size_t>> expected = {{0, 2, 3}, {1, 4}, {5}, {6}};
  EXPECT_EQ(groups, expected);
  // Every key once, and every group of one slot.
  std::vector<std::string> many;
  for (int i = 0; i < 5000; ++i) many.push_back("q:u" + std::to_string(i) + ":answer:1");
  std::size_t total = 0;
  for (const auto& group : group_by_slot(many, 7)) {
    EXPECT_LE(group.size(), 7u);
    for (auto i : group) EXPECT_EQ(key_slot(many[i]), key_slot(many[group.front()]));
    total += group.size();
  }
  EXPECT_EQ(total, many.size());
}

TEST(ClusterSlotMap, FromClusterSlots) {
  // Two ranges on one primary, one on another; the first primary has a replica; a node that
  // does not know its own address leaves it empty.
  const std::string reply = "*3\r\n"
                            "*4\r\n" + integer(0) + integer(5460) + "*3\r\n" + bulk("127.0.0.1") + integer(7000) +
                            bulk("id0") + "*3\r\n" + bulk("127.0.0.1") + integer(7003) + bulk("id3") +
                            "*3\r\n" + integer(5461) + integer(10922) + "*3\r\n" + bulk("") + integer(7001) +
                            bulk("id1") +
                            "*3\r\n" + integer(10923) + integer(16383) + "*3\r\n" + bulk("127.0.0.1") +
                            integer(7000) + bulk("id0");
  const auto map = SlotMap::from_slots(*parse(reply), {"asked.example", 7001});
  ASSERT_EQ(map.primaries().size(), 2u);
  EXPECT_EQ(map.primaries()[0], (Node{"127.0.0.1", 7000}));
  EXPECT_EQ(map.primaries()[1], (Node{"asked.example", 7001}));
  EXPECT_EQ(map.owner(0), 0u);
  EXPECT_EQ(map.owner(5461), 1u);
  EXPECT_EQ(map.owner(16383), 0u);
  EXPECT_EQ(map.covered(), kSlots);
  EXPECT_EQ(map.replicas(), 1u);
}

TEST(ClusterSlotMap, FromClusterShardsWithAnUncoveredRange) {
  auto node = [](const std::string& ip, long long port, const std::string& role, const std::string& health) {
    return "*10\r\n" + bulk("id") + bulk("x") + bulk("port") + integer(port) + bulk("ip") + bulk(ip) + bulk("role") +
           bulk(role) + bulk("health") + bulk(health);
  };
  const std::string reply = "*2\r\n"
                            "*4\r\n" + bulk("slots") + "*2\r\n" + integer(0) + integer(8000) + bulk("nodes") +
                            "*2\r\n" + node("10.0.0.1", 6379, "master", "online") +
                            node("10.0.0.2", 6379, "replica", "online") +
                            "*4\r\n" + bulk("slots") + "*4\r\n" + integer(8001) + integer(9000) + integer(9100) +
                            integer(9200) + bulk("nodes") + "*1\r\n" + node("10.0.0.3", 6380, "master", "online");
  const auto map = SlotMap::from_shards(*parse(reply), {"seed", 1}, false);
  ASSERT_EQ(map.primaries().size(), 2u);
  EXPECT_EQ(map.owner(8000), 0u);
  EXPECT_EQ(map.owner(8500), 1u);
  EXPECT_FALSE(map.owner(9050));
  EXPECT_EQ(map.owner(9150), 1u);
  EXPECT_EQ(map.covered(), 8001u + 1000u + 101u);
  EXPECT_EQ(map.replicas(), 1u);
}

TEST(ClusterSlotMap, AMovedSlotChangesHands) {
  const std::string reply = "*1\r\n*3\r\n" + integer(0) + integer(16383) + "*2\r\n" + bulk("h") + integer(1);
  auto map = SlotMap::from_slots(*parse(reply), {"seed", 1});
  map.move(42, {"other", 2});
  EXPECT_EQ(map.primaries()[*map.owner(42)], (Node{"other", 2}));
  EXPECT_EQ(map.primaries()[*map.owner(43)], (Node{"h", 1}));
}

TEST(ClusterSlotMap, AReplyOfAnotherShapeIsATransientError) {
  for (const std::string bad : {std::string("$2\r\nno\r\n"), std::string("*1\r\n*2\r\n:0\r\n:1\r\n"),
                                "*1\r\n*3\r\n" + integer(5) + integer(2) + "*2\r\n" + bulk("h") + integer(1)}) {
    try {
      SlotMap::from_slots(*parse(bad), {"seed", 1});
      ADD_FAILURE() << bad;
    } catch (const core::Error& e) {
      EXPECT_EQ(e.kind(), core::FailureKind::kTransient);
    }
  }
}

}  // namespace
}  // namespace qrl::redis::cluster
