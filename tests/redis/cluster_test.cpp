// The loader on a Redis Cluster (support/redis_cluster.h: three primaries, three replicas, made
// by redis-cli from Debian; the lane's own, scripts/stack.sh, where a test neither kills a node
// nor moves slots), given one node's address: the quiz server's keys (no hash tags) fall in
// slots of every node. Quizzes of mixed size load exactly with every key deleted; the loader's
// slots are the server's; a reshard of thousands of slots between reading the map and loading is
// followed by MOVED; a primary killed is replaced by its replica and the load goes on there;
// `sweep` and `seed` walk and write every primary; `check` and readiness say what the cluster
// is and fail while slots have no primary; and ElastiCache Serverless's shape, one node serving
// every slot over TLS to an ACL user, refusing CROSSSLOT.

#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <thread>

#include "core/event.h"
#include "core/keys.h"
#include "core/sample.h"
#include "files/question_files.h"
#include "redis/cluster/slots.h"
#include "redis/quiz_store.h"
#include "redis/survey.h"
#include "support/expected_item.h"
#include "support/harness.h"
#include "support/redis_cluster.h"
#include "support/runtime_api.h"

namespace qrl::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class Cluster : public ::testing::Test {
 protected:
  explicit Cluster(std::unique_ptr<RedisCluster> made = RedisCluster::shared())
      : owned(std::move(made)), cluster(*owned) {}
  void SetUp() override { stack.use_redis(cluster.settings(0)); }

  void write(const Fixture& f) {
    cluster.write(f.redis);
    files::QuestionFiles(stack.question_dir()).write(core::QuizId(f.quiz_id), f.question_file);
  }
  void write(const core::SampleQuiz& quiz) {
    cluster.write(quiz.redis_commands);
    files::QuestionFiles(stack.question_dir()).write(core::QuizId(quiz.id), quiz.question_file);
  }
  std::vector<std::string> keys_of(const core::SampleQuiz& quiz) {
    std::vector<std::string> keys;
    for (const auto& command : quiz.redis_commands) keys.push_back(command[1]);
    return keys;
  }

  std::unique_ptr<RedisCluster> owned;
  RedisCluster& cluster;
  Stack stack;
};

// A cluster of the test's own, for a test that moves slots or kills a node.
class OwnCluster : public Cluster {
 protected:
  explicit OwnCluster(int primaries = 3, int replicas = 1)
      : Cluster(std::make_unique<RedisCluster>(primaries, replicas)) {}
};

class ThreePrimaries : public OwnCluster {
 protected:
  ThreePrimaries() : OwnCluster(3, 0) {}
};

class OnePrimary : public OwnCluster {
 protected:
  OnePrimary() : OwnCluster(1, 0) {}
};

TEST_F(Cluster, TheLoadersSlotsAreTheServers) {
  std::vector<std::string> keys = {"foo", "{user1000}.following", "4b927076:quizName", "q:{t}x", "a{}b", "x{{y}}z"};
  auto quiz = core::make_sample_quiz(7, 1, {20, 10});
  for (const auto& command : quiz.redis_commands) keys.push_back(command[1]);
  for (const auto& key : keys) {
    auto reply = cluster.command(0, {"CLUSTER", "KEYSLOT", key});
    ASSERT_EQ(reply->type, REDIS_REPLY_INTEGER);
    EXPECT_EQ(redis::cluster::key_slot(key), reply->integer) << key;
  }
}

TEST_F(Cluster, QuizzesOfMixedSizeLoadExactlyGivenOneNode) {
  auto contract = contract_quiz(random_id());
  write(contract);
  std::vector<core::SampleQuiz> quizzes;
  // Each fits one item (split quizzes are the split tests' own).
  for (auto shape : {core::SampleShape{1, 1}, core::SampleShape{20, 10}, core::SampleShape{80, 15}}) {
    quizzes.push_back(core::make_sample_quiz(static_cast<std::uint64_t>(::getpid()),
                                             static_cast<std::uint64_t>(shape.participants), shape));
    write(quizzes.back());
  }
  // Redis's own MOVED says the keys are spread: the quiz server's keys have no hash tags.
  std::set<std::uint16_t> slots;
  for (const auto& key : keys_of(quizzes[1])) slots.insert(redis::cluster::key_slot(key));
  ASSERT_GT(slots.size(), 100u);

  std::vector<std::string> args = {"load", contract.quiz_id};
  for (const auto& q : quizzes) args.push_back(q.id);
  auto result = run(args, stack.env(), 120s);
  ASSERT_EQ(result.code, 0) << result.out << result.err;
  EXPECT_THAT(result.err, HasSubstr("redis is a cluster"));
  EXPECT_EQ(stack.item(contract.quiz_id), contract.expected_item);
  EXPECT_EQ(cluster.existing(contract.keys), 0u);
  for (const auto& q : quizzes) {
    EXPECT_EQ(stack.item(q.id), expected_item(q)) << q.id;
    EXPECT_EQ(cluster.existing(keys_of(q)), 0u) << q.id;
    EXPECT_FALSE(stack.file_exists(q.id));
  }
}

TEST_F(Cluster, ARoundTripIsOnePerNodeAtOnceAndNoCommandCrossesASlot) {
  // The same quiz read and deleted from the stack's single Redis and from the cluster, with
  // commands of at most 50 keys: the cluster's round trips are the single Redis's, once per
  // node, at the same time.
  auto settings = cluster.settings(0);
  settings.max_keys_per_command = 50;
  auto plain = Stack().config().redis;  // the stack's Redis (this test's own is the cluster)
  plain.max_keys_per_command = 50;
  auto quiz = core::make_sample_quiz(static_cast<std::uint64_t>(::getpid()) + 1, 2, {200, 10});
  auto costs = [&](redis::QuizStore& store) {
    auto before = store.round_trips();
    auto live = pipeline::read_whole(store, core::QuizId(quiz.id));
    const auto read = store.round_trips() - before;
    EXPECT_EQ(live.participant_values.size(), 200u * 12u);
    for (const auto& value : live.participant_values) EXPECT_TRUE(value.has_value());
    before = store.round_trips();
    store.remove(core::keys::source_keys(quiz.id, live.header));
    return std::make_pair(read, store.round_trips() - before);
  };
  redis::Connection single_redis(plain, 5000ms);
  single_redis.pipeline(quiz.redis_commands);
  redis::QuizStore single(plain, 5000ms);
  const auto [single_read, single_delete] = costs(single);

  write(quiz);
  redis::QuizStore store(settings, 5000ms);
  store.connect();
  ASSERT_NE(store.cluster(), nullptr);
  const auto primaries = store.cluster()->map().primaries().size();
  EXPECT_EQ(primaries, 3u);
  // 2,400 participant keys in MGETs of one slot each: a CROSSSLOT reply would fail the read.
  const auto [read, deleted] = costs(store);
  EXPECT_GT(read, single_read);  // more than one node answered
  EXPECT_LE(read, single_read * primaries);
  EXPECT_LE(deleted, single_delete * primaries);
  EXPECT_EQ(cluster.existing(keys_of(quiz)), 0u);
  EXPECT_EQ(store.cluster()->redirects(), 0u);
}

TEST_F(OwnCluster, AReshardAfterTheMapWasLearntIsFollowed) {
  redis::QuizStore store(cluster.settings(0), 5000ms);
  store.connect();  // the map, before the reshard
  auto quiz = core::make_sample_quiz(static_cast<std::uint64_t>(::getpid()) + 2, 3, {50, 10});
  write(quiz);
  // 4,000 slots from the first primary to the second, keys and all.
  const auto& primaries = store.cluster()->map().primaries();
  auto id_of = [&](int port) {
    std::string nodes = cluster.nodes_text(0);
    std::istringstream lines(nodes);
    for (std::string line; std::getline(lines, line);) {
      if (line.find(":" + std::to_string(port) + "@") != std::string::npos) return line.substr(0, line.find(' '));
    }
    return std::string();
  };
  std::string output;
  ASSERT_EQ(cluster.cli(0, {"reshard", "NODE", "--cluster-from", id_of(primaries[0].port), "--cluster-to",
                            id_of(primaries[1].port), "--cluster-slots", "4000", "--cluster-yes"},
                        &output),
            0)
      << output;
  auto live = pipeline::read_whole(store, core::QuizId(quiz.id));
  for (const auto& value : live.participant_values) ASSERT_TRUE(value.has_value());
  EXPECT_GT(store.cluster()->redirects(), 0u);
  store.remove(core::keys::source_keys(quiz.id, live.header));
  EXPECT_EQ(cluster.existing(keys_of(quiz)), 0u);
}

TEST_F(OwnCluster, APrimaryKilledIsReplacedAndTheLoadGoesOnThere) {
  auto quiz = core::make_sample_quiz(static_cast<std::uint64_t>(::getpid()) + 3, 4, {20, 10});
  write(quiz);
  // The loader knows every node; the one it was given dies. Replicas take over within the
  // node timeout (2 s here) and the load, retried as any transient failure, goes on.
  auto settings = cluster.settings(0);
  for (std::size_t i = 1; i < cluster.size(); ++i) settings.nodes.push_back({"127.0.0.1", cluster.port(i)});
  auto env = stack.env();
  std::string hosts;
  for (const auto& node : settings.nodes) hosts += (hosts.empty() ? "" : ",") + node.host + ":" + std::to_string(node.port);
  env["REDIS_HOST"] = hosts;
  // The first node is a primary: redis-cli makes the first nodes given primaries.
  ASSERT_THAT(cluster.nodes_text(0), HasSubstr("myself,master"));
  // Redis replicates asynchronously: a write the primary took and its replica had not yet received
  // is lost with the primary (Redis's failover, not the loader's; the loader then refuses the
  // quiz as incomplete and deletes nothing). The quiz is written well before the end, as the
  // quiz server writes it: the replica has it when the primary dies.
  ASSERT_EQ(cluster.command(0, {"WAIT", "1", "5000"})->integer, 1);
  cluster.kill(0);
  auto result = run({"load", quiz.id}, env, 120s);
  ASSERT_EQ(result.code, 0) << result.out << result.err;
  EXPECT_EQ(stack.item(quiz.id), expected_item(quiz));
  EXPECT_EQ(cluster.existing(keys_of(quiz)), 0u);
}

// seed writes across the cluster; sweep walks every primary and loads the quizzes whose events
// were lost (their stop times are years old).
TEST_F(Cluster, SeedWritesAndSweepWalksEveryPrimary) {
  const auto seed = std::to_string(::getpid());
  auto seeded = run({"seed", "--count", "6", "--participants", "5", "--questions", "3", "--seed", seed, "--no-publish",
                     "--print-ids"},
                    stack.env());
  ASSERT_EQ(seeded.code, 0) << seeded.err;
  std::vector<core::SampleQuiz> quizzes;
  for (std::uint64_t n = 0; n < 6; ++n) {
    quizzes.push_back(core::make_sample_quiz(std::stoull(seed), n, {5, 3}));
    EXPECT_THAT(seeded.out, HasSubstr(quizzes.back().id));
    EXPECT_EQ(cluster.existing(keys_of(quizzes.back())), keys_of(quizzes.back()).size());
  }
  auto swept = run({"sweep", "--pace-ms", "0", "--count", "50"}, stack.env(), 120s);
  ASSERT_EQ(swept.code, 0) << swept.out << swept.err;
  for (const auto& q : quizzes) {
    EXPECT_THAT(swept.out, HasSubstr(q.id + "\tloaded"));
    EXPECT_EQ(stack.item(q.id), expected_item(q)) << q.id;
    EXPECT_EQ(cluster.existing(keys_of(q)), 0u) << q.id;
  }
}

// serve loading while the cluster changes under it: 150 quizzes announced one every 100 ms; a
// primary killed after a second and replaced by its replica, then a reshard of 4,000 slots
// (their keys migrating) between the other two. Every quiz loaded exactly, none
// dead-lettered; keys a failover brought back (an UNLINK its replica never got) are the
// sweep's to remove.
TEST_F(OwnCluster, AReshardAndAFailoverUnderServeLoseNothing) {
  std::vector<core::SampleQuiz> quizzes;
  for (std::uint64_t n = 0; n < 150; ++n) {
    quizzes.push_back(core::make_sample_quiz(static_cast<std::uint64_t>(::getpid()) + 100, n, {10, 5}));
    write(quizzes.back());
  }
  auto env = stack.env();
  std::string hosts;
  for (std::size_t i = 0; i < cluster.size(); ++i) hosts += (i ? "," : "") + std::string("127.0.0.1:") + std::to_string(cluster.port(i));
  env["REDIS_HOST"] = hosts;
  const std::string nodes = cluster.nodes_text(0);
  auto id_of = [&](int port) {
    std::istringstream lines(nodes);
    for (std::string line; std::getline(lines, line);) {
      if (line.find(":" + std::to_string(port) + "@") != std::string::npos) return line.substr(0, line.find(' '));
    }
    return std::string();
  };
  ASSERT_THAT(cluster.nodes_text(2), HasSubstr("myself,master"));
  auto loaded = [&] {
    std::size_t n = 0;
    for (const auto& q : quizzes) n += stack.item(q.id).has_value() ? 1 : 0;
    return n;
  };
  Process serve({"serve"}, env);
  ASSERT_TRUE(eventually([&] { return serve.stderr_text().find("consuming") != std::string::npos; }, 30s))
      << serve.stderr_text();
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  std::thread announce([&] {
    for (const auto& q : quizzes) {
      stack.publish_event(q.id);
      std::this_thread::sleep_for(100ms);
    }
  });
  // redis-cli's reshard tells every primary of each slot it moves: a primary lost in the middle
  // of one stops it. The failover comes first, the reshard once the cluster is ok again.
  std::this_thread::sleep_for(1s);
  const auto at_failover = loaded();
  ASSERT_EQ(cluster.command(2, {"WAIT", "1", "5000"})->integer, 1);  // its writes on its replica, as above
  const auto killed = Clock::now();
  cluster.kill(2);
  const auto healed = Clock::now();
  const auto at_reshard = loaded();
  std::string output;
  const int reshard = cluster.cli(0, {"reshard", "NODE", "--cluster-from", id_of(cluster.port(0)), "--cluster-to",
                                      id_of(cluster.port(1)), "--cluster-slots", "4000", "--cluster-yes"},
                                  &output);
  const auto reshard_done = Clock::now();
  announce.join();
  const auto announced = Clock::now();
  ASSERT_EQ(reshard, 0) << output;
  EXPECT_TRUE(eventually([&] { return loaded() == quizzes.size(); }, 120s))
      << loaded() << " of " << quizzes.size() << "\n" << serve.stderr_text();
  const auto all_loaded = Clock::now();
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(60s), std::optional<int>(0));
  const auto log = serve.stderr_text();
  EXPECT_EQ(stack.dlq_depth(), 0u) << log;
  for (const auto& q : quizzes) EXPECT_EQ(stack.item(q.id), expected_item(q)) << q.id;
  std::size_t left = 0;
  for (const auto& q : quizzes) left += cluster.existing(keys_of(q));
  // What a failover can bring back, made here when this one did not: a stored quiz's participant
  // keys without its quiz-level keys (an UNLINK the dead primary never passed on).
  std::vector<std::vector<std::string>> brought_back;
  for (const auto& command : quizzes.front().redis_commands) {
    if (std::count(command[1].begin(), command[1].end(), ':') == 2) brought_back.push_back(command);
  }
  ASSERT_FALSE(brought_back.empty());
  if (left == 0) cluster.write(brought_back);
  {
    // The keys came back without the quiz-level ones, and were just now replicated: a sweep on
    // its schedule leaves such keys min_age (10 min) before it takes them for leftovers.
    auto swept = run({"sweep", "--pace-ms", "0", "--count", "500", "--min-age-s", "0"}, env, 120s);
    EXPECT_EQ(swept.code, 0) << swept.out << swept.err;
    EXPECT_THAT(swept.out, HasSubstr("\tstored\t")) << swept.out;
    for (const auto& q : quizzes) EXPECT_EQ(cluster.existing(keys_of(q)), 0u) << q.id << "\n" << swept.out;
  }
  for (const auto& q : quizzes) EXPECT_EQ(cluster.existing(keys_of(q)), 0u) << q.id;
  auto s = [&](Clock::time_point t) { return std::chrono::duration<double>(t - started).count(); };
  std::printf("cluster under serve: %zu quizzes announced over %.1f s; a primary killed at %.1f s (%zu loaded), "
              "cluster ok again at %.1f s; a reshard of 4000 slots from then to %.1f s (%zu loaded at its start); "
              "all loaded at %.1f s; %zu transient retries, %zu back to the queue, %zu dead letters; %zu keys "
              "brought back by the failover, swept\n",
              quizzes.size(), s(announced), s(killed), at_failover, s(healed), s(reshard_done), at_reshard,
              s(all_loaded), count(log, "transient failure, retrying"), count(log, "returned to the queue"),
              static_cast<std::size_t>(stack.dlq_depth()), left);
}

// A node lost between sending a batch and reading its replies: the replies the other nodes
// sent are never read, so their connections go too. Kept, they would answer the next batch
// with the last one's replies (an integer for a GET, and the quiz rejected as bad data).
TEST_F(ThreePrimaries, ANodeLostMidBatchLeavesNoReplyUnread) {
  redis::cluster::Router router(cluster.settings(0), 5000ms);
  const auto& primaries = router.map().primaries();
  ASSERT_EQ(primaries.size(), 3u);
  // One key per primary, each holding its own name; the router reads nodes in address order.
  std::map<std::string, std::string> key_of_node;
  for (int n = 0; key_of_node.size() < 3; ++n) {
    const std::string key = "lost-mid-batch-" + std::to_string(n);
    const auto& node = primaries[*router.map().owner(redis::cluster::key_slot(key))];
    key_of_node.emplace(node.host + ":" + std::to_string(node.port), key);
  }
  std::vector<redis::Command> sets, exists, gets;
  for (const auto& [name, key] : key_of_node) {
    sets.push_back({"SET", key, key});
    exists.push_back({"EXISTS", key});
  }
  cluster.write(sets);
  auto views = [](const std::vector<redis::Command>& commands) {
    std::vector<redis::CommandView> out;
    for (const auto& c : commands) out.emplace_back(c.begin(), c.end());
    return out;
  };
  auto exists_views = views(exists);
  ASSERT_EQ(router.run(exists_views).size(), 3u);  // a connection to every node
  // A node dies whose replies are read before others' (the router reads nodes in address
  // order), and not the node the router asks for the map first (its primaries' order), which
  // would throw a stale reply away while learning: the first in address order, or the second.
  const auto& first_asked = primaries.front();
  auto victim = key_of_node.begin();
  if (victim->first == first_asked.host + ":" + std::to_string(first_asked.port)) ++victim;
  std::size_t index = 0;
  while ("127.0.0.1:" + std::to_string(cluster.port(index)) != victim->first) ++index;
  cluster.crash(index);
  EXPECT_THROW(router.run(exists_views), core::Error);
  for (auto it = std::next(victim); it != key_of_node.end(); ++it) {
    std::vector<redis::CommandView> get = {{"GET", it->second}};
    auto replies = router.run(get);
    ASSERT_EQ(replies.front()->type, REDIS_REPLY_STRING) << it->first << ": a reply left from the failed batch";
    EXPECT_EQ(std::string(replies.front()->str, replies.front()->len), it->second);
  }
}

// Lambda mode on the cluster: one SQS batch of three quizzes, answered with no failure, each
// loaded exactly and every key deleted.
TEST_F(Cluster, LambdaLoadsABatchFromTheCluster) {
  std::vector<core::SampleQuiz> quizzes;
  nlohmann::json batch = {{"Records", nlohmann::json::array()}};
  for (std::uint64_t n = 0; n < 3; ++n) {
    quizzes.push_back(core::make_sample_quiz(static_cast<std::uint64_t>(::getpid()) + 300, n, {20, 10}));
    write(quizzes.back());
    batch["Records"].push_back({{"messageId", "m-" + std::to_string(n)},
                                {"receiptHandle", "h-" + std::to_string(n)},
                                {"body", core::make_event(random_id(), "2022-03-12T07:49:21Z", quizzes.back().id)},
                                {"attributes", {{"ApproximateReceiveCount", "1"}, {"MessageGroupId", quizzes.back().id}}},
                                {"messageAttributes", nlohmann::json::object()},
                                {"eventSource", "aws:sqs"},
                                {"eventSourceARN", "arn:aws:sqs:us-east-1:123456789012:quiz-complete.fifo"},
                                {"awsRegion", "us-east-1"}});
  }
  RuntimeApi api;
  Process lambda({"lambda"}, stack.lambda_env(api.address()));
  ASSERT_TRUE(eventually([&] { return api.next_calls() > 0 || !lambda.running(); })) << lambda.stderr_text();
  auto answer = api.answer(api.invoke(batch.dump()), 120s);
  ASSERT_TRUE(answer) << lambda.stderr_text();
  EXPECT_TRUE(nlohmann::json::parse(answer->body)["batchItemFailures"].empty()) << answer->body;
  lambda.signal(SIGTERM);
  lambda.wait(10s);
  EXPECT_THAT(lambda.stderr_text(), HasSubstr("redis is a cluster"));
  for (const auto& q : quizzes) {
    EXPECT_EQ(stack.item(q.id), expected_item(q)) << q.id;
    EXPECT_EQ(cluster.existing(keys_of(q)), 0u) << q.id;
  }
}

TEST_F(Cluster, CheckSaysWhichModeItFound) {
  auto on_cluster = run({"check"}, stack.env(), 60s);
  EXPECT_EQ(on_cluster.code, 0) << on_cluster.out << on_cluster.err;
  EXPECT_THAT(on_cluster.out, HasSubstr("(cluster: 3 primaries, 3 replicas, every slot served, state ok)"));
  auto single = run({"check"}, Stack().env(), 60s);
  EXPECT_EQ(single.code, 0) << single.out << single.err;
  EXPECT_THAT(single.out, HasSubstr("(single Redis)"));
}

// Slots that no primary serves: `check` fails naming how many, readiness says the cluster's
// state; both come back once the slots are served again.
TEST_F(OnePrimary, CheckAndReadinessFailWhileSlotsHaveNoPrimary) {
  redis::Pulse pulse(cluster.settings(0), 5000ms);
  EXPECT_NO_THROW(pulse.ready());
  auto unserved = cluster.command(0, {"CLUSTER", "DELSLOTSRANGE", "16000", "16383"});
  ASSERT_NE(unserved->type, REDIS_REPLY_ERROR) << unserved->str;
  ASSERT_TRUE(eventually([&] { return !cluster.healthy(0); }, 10s));

  auto checked = run({"check"}, stack.env(), 60s);
  EXPECT_EQ(checked.code, 1) << checked.out;
  EXPECT_THAT(checked.out, HasSubstr("redis         FAILED"));
  EXPECT_THAT(checked.out, HasSubstr("16000 of 16384 slots served"));
  EXPECT_THAT(checked.out, HasSubstr("384 slots have no primary"));
  try {
    pulse.ready();
    ADD_FAILURE() << "ready with 384 slots unserved";
  } catch (const core::Error& e) {
    EXPECT_TRUE(e.transient());
    EXPECT_THAT(e.what(), HasSubstr("cluster state is 'fail'"));
  }

  auto served = cluster.command(0, {"CLUSTER", "ADDSLOTSRANGE", "16000", "16383"});
  ASSERT_NE(served->type, REDIS_REPLY_ERROR) << served->str;
  ASSERT_TRUE(eventually([&] { return cluster.healthy(0); }, 10s));
  EXPECT_NO_THROW(pulse.ready());
  EXPECT_EQ(run({"check"}, stack.env(), 60s).code, 0);
}

// ElastiCache Serverless's shape: one endpoint that serves every slot, TLS only, an ACL user
// (the one docs/operations.md documents), and multi-key commands refused with CROSSSLOT unless
// their keys share a slot. The loader finds the cluster itself and never crosses a slot.
TEST(ServerlessShape, OneTlsNodeServingEverySlotToTheDocumentedUser) {
  constexpr const char* kAdmin = "admin-secret-do-not-log";
  constexpr const char* kLoader = "loader-secret-do-not-log";
  std::vector<std::string> args = {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                                   "--cluster-port", std::to_string(free_port()), "--tls-cluster", "yes",
                                   "--requirepass", kAdmin};
  auto acl = documented_acl(kLoader);
  args.insert(args.end(), acl.begin(), acl.end());
  RedisServer node(args, /*tls=*/true);
  config::Redis admin;
  admin.host = "localhost";
  admin.port = node.port();
  admin.nodes = {{admin.host, admin.port}};
  admin.password = kAdmin;
  admin.tls = {true, tls_file("ca.pem"), "", ""};
  admin.cluster = "off";  // the tests' own connection, before there is a cluster to route
  redis::Connection setup(admin, 5000ms);
  ASSERT_NE(setup.command({"CLUSTER", "ADDSLOTSRANGE", "0", "16383"})->type, REDIS_REPLY_ERROR);
  ASSERT_TRUE(eventually(
      [&] {
        auto info = setup.command({"CLUSTER", "INFO"});
        return std::string(info->str, info->len).find("cluster_state:ok") != std::string::npos;
      },
      10s));

  Stack stack;
  auto contract = contract_quiz(random_id());
  auto big = core::make_sample_quiz(static_cast<std::uint64_t>(::getpid()) + 9, 9, {80, 15});
  // The node refuses what the loader must never send: one MGET across two slots.
  auto crossing = setup.command({"MGET", big.redis_commands[0][1], big.redis_commands[1][1]});
  ASSERT_EQ(crossing->type, REDIS_REPLY_ERROR);
  ASSERT_THAT(std::string(crossing->str), HasSubstr("CROSSSLOT"));
  setup.command({"CONFIG", "RESETSTAT"});  // from here, every error counted is the loader's
  for (const auto& command : contract.redis) setup.command(command);
  for (const auto& command : big.redis_commands) setup.command(command);
  files::QuestionFiles(stack.question_dir()).write(core::QuizId(contract.quiz_id), contract.question_file);
  files::QuestionFiles(stack.question_dir()).write(core::QuizId(big.id), big.question_file);

  auto env = stack.env();
  env["REDIS_HOST"] = "localhost";
  env["REDIS_PORT"] = std::to_string(node.port());
  env["REDIS_TLS"] = "true";
  env["REDIS_CA_FILE"] = tls_file("ca.pem");
  env["REDIS_USERNAME"] = "loader";
  env["REDIS_PASSWORD"] = kLoader;
  auto checked = run({"check"}, env, 60s);
  EXPECT_EQ(checked.code, 0) << checked.out << checked.err;
  EXPECT_THAT(checked.out, HasSubstr("(cluster: 1 primary, 0 replicas, every slot served, state ok) over TLS, "
                                     "logged in as 'loader'"));
  auto loaded = run({"load", contract.quiz_id, big.id}, env, 120s);
  ASSERT_EQ(loaded.code, 0) << loaded.out << loaded.err;
  EXPECT_THAT(loaded.err, HasSubstr("redis is a cluster"));
  EXPECT_THAT(loaded.err, Not(HasSubstr(kLoader)));
  EXPECT_EQ(stack.item(contract.quiz_id), contract.expected_item);
  EXPECT_EQ(stack.item(big.id), expected_item(big));
  for (const auto& command : big.redis_commands) {
    EXPECT_EQ(setup.command({"EXISTS", command[1]})->integer, 0) << command[1];
  }
  for (const auto& key : contract.keys) EXPECT_EQ(setup.command({"EXISTS", key})->integer, 0) << key;
  // No command of the loader's crossed a slot or was redirected: the node counted none.
  auto errors = setup.command({"INFO", "errorstats"});
  EXPECT_THAT(std::string(errors->str, errors->len), Not(HasSubstr("CROSSSLOT")));
  EXPECT_THAT(std::string(errors->str, errors->len), Not(HasSubstr("MOVED")));
}

}  // namespace
}  // namespace qrl::testing
