// Quorum queues on one RabbitMQ node (the lane's): the main queue declared by the producer as a
// quorum queue, the loader's own queues of rabbit-mq.queue_type, and a delivery limit below
// max_deliveries that must never drop a message before the loader dead-letters it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "amqp/connection.h"
#include "core/event.h"
#include "support/stack_test.h"

namespace qrl::testing {
namespace {

using ::testing::HasSubstr;

class Quorum : public StackTest {
 protected:
  // The main queue as a producer that chose quorum queues declares it, with `arguments` (a
  // delivery limit, say) on top.
  void declare_main_quorum(const amqp::Headers& arguments = {}) {
    amqp::Connection connection(stack.config().rabbit);
    connection.declare_queue(stack.config().rabbit.queue_name, "quorum", arguments);
    connection.close();
  }

  std::map<std::string, std::string> quorum_env(std::map<std::string, std::string> extra = {}) {
    extra["RABBITMQ_QUEUE_TYPE"] = "quorum";
    return extra;
  }
};

TEST_F(Quorum, AMainQueueOfTheProducersQuorumTypeIsConsumedAsItIs) {
  declare_main_quorum();
  stack.dynamo().ensure_table();
  // check: the main queue found, the loader's own absent (serve makes them), nothing refused.
  auto checked = run({"check"}, stack.env());
  EXPECT_EQ(checked.code, 0) << checked.out << checked.err;
  EXPECT_THAT(checked.out, HasSubstr("main queue '" + stack.config().rabbit.queue_name + "' has 0 ready"));
  EXPECT_THAT(checked.out, HasSubstr("dead-letter queue '" + stack.config().rabbit.dead_letter_queue +
                                     "' is absent, serve creates it (classic)"));

  // seed publishes to it; serve (its own queues classic, the default) loads what it announced.
  auto seeded = run({"seed", "-n", "3", "-p", "2", "-q", "2", "--print-ids"}, stack.env());
  ASSERT_EQ(seeded.code, 0) << seeded.err;
  EXPECT_EQ(stack.queue_depth(), 3u);
  auto f = contract_quiz(random_id());
  stack.write(f);
  stack.publish_event(f.quiz_id);
  stack.publish("not an event");  // to the dead-letter queue, then replayed
  std::vector<std::string> ids{f.quiz_id};
  std::istringstream printed(seeded.out);
  for (std::string id; std::getline(printed, id);) ids.push_back(id);
  ASSERT_EQ(ids.size(), 4u);
  auto daemon = start({{"LOADER_SETTLE_MS", "0"}});
  ASSERT_TRUE(eventually([&] {
    return std::all_of(ids.begin(), ids.end(), [&](const auto& id) { return loaded(id); }) && stack.dlq_depth() == 1;
  })) << daemon->stderr_text();
  auto log = stop(*daemon);
  expect_loaded_exactly(f);
  EXPECT_EQ(stack.queue_depth(), 0u);
  EXPECT_THAT(log, HasSubstr("prefetch per consumer"));

  // dlq replay puts the letter back in the quorum queue.
  auto replayed = run({"dlq", "replay"}, stack.env());
  EXPECT_EQ(replayed.code, 0) << replayed.err;
  EXPECT_EQ(stack.queue_depth(), 1u);
  EXPECT_EQ(stack.dlq_depth(), 0u);
}

TEST_F(Quorum, TheLoadersOwnQueuesAreOfTheSettingsTypeAndCheckNamesTheSettingWhenTheyDiffer) {
  declare_main_quorum();
  stack.dynamo().ensure_table();
  auto f = contract_quiz(random_id());
  stack.write(f);
  stack.publish_event(f.quiz_id);
  auto daemon = start(quorum_env());
  ASSERT_TRUE(eventually([&] { return loaded(f.quiz_id); })) << daemon->stderr_text();
  stop(*daemon);
  expect_loaded_exactly(f);
  // Declared as quorum queues: declaring them again as quorum succeeds, as classic is refused.
  amqp::Connection connection(stack.config().rabbit);
  EXPECT_NO_THROW(connection.declare_queue(stack.config().rabbit.dead_letter_queue, "quorum"));
  try {
    connection.declare_queue(stack.config().rabbit.dead_letter_queue, "classic");
    ADD_FAILURE() << "a classic declaration of a quorum queue was accepted";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.code(), core::Code::kRabbitQueue);
  }
  // The connection is still usable after a refused declaration.
  EXPECT_EQ(connection.find_queue(stack.config().rabbit.dead_letter_queue), std::optional<std::uint32_t>(0));
  connection.close();

  // On a confirming connection the refused declaration's channel is replaced by one that numbers
  // its confirms from 1 again: a publish after it is confirmed, not awaited past its tag.
  amqp::Connection publisher(stack.config().rabbit);
  publisher.enable_confirms();
  const std::string scratch = "qrl-confirms-" + random_id();  // gone a minute after its last use
  publisher.declare_queue(scratch, "classic", {{"x-expires", "60000"}});
  ASSERT_NO_THROW(publisher.publish(scratch, "{}", {}));
  EXPECT_THROW(publisher.declare_queue(stack.config().rabbit.dead_letter_queue, "classic"), core::Error);
  EXPECT_NO_THROW(publisher.publish(scratch, "{}", {}));
  EXPECT_EQ(publisher.find_queue(scratch), std::optional<std::uint32_t>(2));
  publisher.close();

  // With the setting left at classic, check fails and names it; serve would be refused.
  auto checked = run({"check"}, stack.env());
  EXPECT_EQ(checked.code, 1) << checked.out;
  EXPECT_THAT(checked.out, HasSubstr("rabbitmq      FAILED"));
  EXPECT_THAT(checked.out, HasSubstr("rabbit-mq.queue_type = classic"));
  EXPECT_THAT(checked.out, HasSubstr("inequivalent arg 'x-queue-type'"));
  EXPECT_EQ(run({"check"}, [&] {
              auto env = stack.env();
              env["RABBITMQ_QUEUE_TYPE"] = "quorum";
              return env;
            }()).code,
            0);
}

// A quiz whose last stop time never comes fails transiently at every delivery. The queue's own
// delivery limit (1) is far below max_deliveries (3): the loader's holding queue republishes it
// as new each time, so the broker's limit never comes first, and it ends in the loader's
// dead-letter queue with its reason after 3 deliveries.
TEST_F(Quorum, ATransientPoisonEndsInTheLoadersDeadLetterQueueBeforeTheQueuesDeliveryLimit) {
  declare_main_quorum({{"x-delivery-limit", "1"}});
  auto finishing = contract_quiz(random_id());
  stack.write(finishing);
  stack.redis().command({"DEL", finishing.quiz_id + ":ee14ccb2:stopTime"});
  stack.publish_event(finishing.quiz_id);
  auto daemon = start(quorum_env({{"LOADER_MAX_DELIVERIES", "3"}, {"LOADER_RETRY_ATTEMPTS", "1"}}));
  ASSERT_TRUE(eventually([&] { return stack.dlq_depth() == 1; }, 60s)) << daemon->stderr_text();
  stop(*daemon);
  auto letters = stack.peek(stack.config().rabbit.dead_letter_queue);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_THAT(letters[0].headers.at("x-failure-reason"), HasSubstr("gave up after 3 deliveries"));
  EXPECT_THAT(letters[0].headers.at("x-failure-reason"), HasSubstr("quiz still finishing"));
  EXPECT_EQ(stack.redis_count(finishing.keys), finishing.keys.size() - 1);
  EXPECT_FALSE(loaded(finishing.quiz_id));
}

// A message whose load kills the loader every time (a crash after reading) comes back through a
// lost connection, which a quorum queue counts (x-delivery-count) toward its delivery limit of 1:
// a second loss would make the broker drop it. The loader puts each returned delivery back as a
// new message with its count so far, and once it was lost more than max_deliveries (2) times
// dead-letters it, saying why. (The letter in the dead-letter queue at all, with x-deliveries 3,
// is the proof that it was put back as new: the broker would have dropped it after the second
// loss. The log line saying so is not awaited here: the worker that takes the new message can
// read and crash before the republisher's thread writes it; the next test sees it.)
TEST_F(Quorum, AMessageThatKillsTheLoaderIsDeadLetteredWithItsReasonNotDroppedByTheQueue) {
  declare_main_quorum({{"x-delivery-limit", "1"}});
  auto f = contract_quiz(random_id());
  stack.write(f);
  stack.publish_event(f.quiz_id);
  std::string logs;
  for (int run = 0; run < 8 && stack.dlq_depth() == 0; ++run) {
    auto env = stack.env();
    env["RABBITMQ_QUEUE_TYPE"] = "quorum";
    env["LOADER_MAX_DELIVERIES"] = "2";
    env["QRL_FAILPOINT"] = "after-read";
    Process daemon({"serve"}, env);
    eventually([&] { return !daemon.running() || stack.dlq_depth() > 0; }, 20s);
    if (daemon.running()) {
      daemon.signal(SIGTERM);
      daemon.wait(30s);
    }
    logs += daemon.stderr_text();
  }
  ASSERT_EQ(stack.dlq_depth(), 1u) << logs;
  EXPECT_EQ(stack.queue_depth(), 0u);
  auto letters = stack.peek(stack.config().rabbit.dead_letter_queue);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_THAT(letters[0].headers.at("x-failure-reason"), HasSubstr("x-delivery-count"));
  EXPECT_EQ(letters[0].headers.at("x-quiz-id"), f.quiz_id);
  EXPECT_EQ(letters[0].headers.at("x-deliveries"), "3");
  EXPECT_FALSE(loaded(f.quiz_id));
  EXPECT_EQ(stack.redis_count(f.keys), f.keys.size()) << "nothing deleted";
}

// A delivery lost once with its loader (x-delivery-count 1, at the queue's limit of 1) is put
// back as a new message by the next loader, which says so, and loads it once.
TEST_F(Quorum, ADeliveryLostWithItsLoaderIsPutBackAsNewSaidSoAndLoadedOnce) {
  declare_main_quorum({{"x-delivery-limit", "1"}});
  auto f = contract_quiz(random_id());
  stack.write(f);
  stack.publish_event(f.quiz_id);
  auto env = stack.env();
  env["RABBITMQ_QUEUE_TYPE"] = "quorum";
  {
    auto crashing = env;
    crashing["QRL_FAILPOINT"] = "after-read";
    Process daemon({"serve"}, crashing);
    ASSERT_TRUE(eventually([&] { return !daemon.running(); }, 30s)) << daemon.stderr_text();
  }
  ASSERT_TRUE(eventually([&] { return stack.queue_depth() == 1; }, 30s)) << "the delivery is back";
  auto daemon = start(quorum_env({{"LOADER_SETTLE_MS", "0"}}));
  ASSERT_TRUE(eventually([&] { return loaded(f.quiz_id); })) << daemon->stderr_text();
  auto log = stop(*daemon);
  expect_loaded_exactly(f);
  EXPECT_EQ(count(log, "returned to the queue as a new message"), 1u) << log;
  EXPECT_THAT(log, HasSubstr("deliveries=1")) << "the lost delivery counted";
  EXPECT_EQ(stack.queue_depth(), 0u);
  EXPECT_EQ(stack.dlq_depth(), 0u);
}

}  // namespace
}  // namespace qrl::testing
