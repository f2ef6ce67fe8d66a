// A three-node RabbitMQ cluster (scripts/stack.sh starts it: QRL_RABBIT_CLUSTER names its nodes),
// the main queue a quorum queue, `serve` given every node in RABBITMQ_HOST. The node serve is
// connected to is stopped while quizzes are announced and loaded: serve goes on with another node
// and nothing is lost, doubled or dead-lettered.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <thread>

#include "amqp/connection.h"
#include "config/config.h"
#include "core/transform.h"
#include "support/stack_test.h"

namespace qrl::testing {
namespace {

using ::testing::HasSubstr;
using Steady = std::chrono::steady_clock;

class RabbitCluster : public StackTest {
 protected:
  void SetUp() override {
    const char* nodes = std::getenv("QRL_RABBIT_CLUSTER");
    const char* command = std::getenv("QRL_RABBIT_CLUSTER_CTL");
    ASSERT_TRUE(nodes != nullptr && command != nullptr)
        << "QRL_RABBIT_CLUSTER is not set: scripts/test.sh starts the cluster (scripts/stack.sh with "
           "QRL_AMQP_CLUSTER_PORT)";
    ctl_ = command;
    config::Rabbit rabbit = stack.config().rabbit;
    rabbit.nodes.clear();
    std::string list = nodes;
    for (std::size_t from = 0; from < list.size();) {
      auto comma = list.find(',', from);
      if (comma == std::string::npos) comma = list.size();
      auto item = list.substr(from, comma - from);
      rabbit.nodes.push_back({item.substr(0, item.rfind(':')), std::stoi(item.substr(item.rfind(':') + 1))});
      from = comma + 1;
    }
    rabbit.host = rabbit.nodes.front().host;
    rabbit.port = rabbit.nodes.front().port;
    rabbit.queue_type = "quorum";
    stack.use_rabbit(rabbit);
    for (int n = 1; n <= 3; ++n) ctl(n, "start_app");  // whole, whatever an earlier test left
  }

  int ctl(int node, const std::string& args) {
    return std::system((ctl_ + " " + std::to_string(node) + " " + args + " >/dev/null 2>&1").c_str());
  }

  // Which of the three nodes `port` is.
  int node_of(int port) const {
    for (std::size_t i = 0; i < stack.config().rabbit.nodes.size(); ++i) {
      if (stack.config().rabbit.nodes[i].port == port) return static_cast<int>(i) + 1;
    }
    return 0;
  }

  std::string ctl_;
};

// The nodes serve logged it connected to, in order ("connected to RabbitMQ" node=host:port).
std::vector<int> connected_ports(const std::string& log) {
  std::vector<int> ports;
  static const std::regex line(R"(msg="connected to RabbitMQ" node=[^:\s]+:(\d+))");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator(); ++it) {
    ports.push_back(std::stoi((*it)[1]));
  }
  return ports;
}

TEST_F(RabbitCluster, TheNodeServeUsesIsStoppedMidLoadAndNothingIsLostDoubledOrDeadLettered) {
  constexpr int kQuizzes = 120;
  std::vector<Fixture> quizzes;
  for (int i = 0; i < kQuizzes; ++i) {
    quizzes.push_back(contract_quiz(random_id()));
    stack.write(quizzes.back());
  }
  stack.dynamo().ensure_table();
  stack.rabbit();  // the main queue, a quorum queue, declared as the producer would
  // Events stamped now wait out a 2 s settle window, unacked: the node goes with dozens in flight.
  auto daemon = start({{"LOADER_WORKERS", "2"}, {"LOADER_SETTLE_MS", "2000"}});
  const auto first = connected_ports(daemon->stderr_text());
  ASSERT_FALSE(first.empty()) << daemon->stderr_text();
  const int used = node_of(first.front());
  ASSERT_NE(used, 0);

  // The producer announces a quiz every 25 ms; the node goes two seconds in, quizzes in flight.
  std::atomic<bool> published{false};
  std::thread producer([&] {
    for (const auto& f : quizzes) {
      const auto now = std::chrono::system_clock::now().time_since_epoch();
      stack.publish(core::make_event(random_id(), core::rfc3339_utc(std::chrono::duration_cast<std::chrono::seconds>(now).count()),
                                     f.quiz_id));
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    published = true;
  });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const auto stopped_at = Steady::now();
  ASSERT_EQ(ctl(used, "stop_app"), 0);
  const auto stop_took = Steady::now() - stopped_at;
  ASSERT_TRUE(eventually([&] { return connected_ports(daemon->stderr_text()).size() >= 2; }, 60s))
      << daemon->stderr_text();
  const auto moved_after = Steady::now() - stopped_at;
  producer.join();
  std::string missing;
  const bool all = eventually(
      [&] {
        missing.clear();
        for (const auto& f : quizzes)
          if (!loaded(f.quiz_id)) missing += " " + f.quiz_id;
        return missing.empty();
      },
      120s);
  if (!all) {
    ADD_FAILURE() << "not loaded:" << missing << "; main queue " << stack.queue_depth() << " ready, dead-letter "
                  << stack.dlq_depth() << "\n" << daemon->stderr_text();
    stop(*daemon);
    ctl(used, "start_app");
    return;
  }
  auto log = stop(*daemon);
  ctl(used, "start_app");

  const auto ports = connected_ports(log);
  EXPECT_NE(node_of(ports.back()), used) << "serve went on with another node";
  for (const auto& f : quizzes) expect_loaded_exactly(f);
  EXPECT_EQ(stack.dlq_depth(), 0u) << log;
  EXPECT_EQ(stack.queue_depth(), 0u);
  const auto loads = count(log, "msg=\"quiz loaded\"");
  static const std::regex lost(R"(msg="lost RabbitMQ connection[^\n]*unacked=(\d+))");
  std::smatch unacked;
  ASSERT_TRUE(std::regex_search(log, unacked, lost)) << log;
  const auto again = count(log, "msg=\"quiz already loaded");
  EXPECT_EQ(loads, static_cast<std::size_t>(kQuizzes)) << "each quiz written once";
  if (std::getenv("QRL_SHOW_LOG") != nullptr) std::printf("%s\n", log.c_str());
  std::printf("rabbit cluster: node %d stopped (stop_app took %.1f s) with %s deliveries unacked; serve consuming "
              "from node %d %.1f s after the stop began; %zu quizzes loaded, %zu deliveries found their quiz already "
              "loaded, %zu returned as new\n",
              used, std::chrono::duration<double>(stop_took).count(), unacked[1].str().c_str(), node_of(ports.back()),
              std::chrono::duration<double>(moved_after).count(), loads, again,
              count(log, "returned to the queue as a new message"));
}

}  // namespace
}  // namespace qrl::testing
