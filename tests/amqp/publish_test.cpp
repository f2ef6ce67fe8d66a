// Publishing as the loader does (republisher, `dlq replay`, `seed`): a confirm is a message in a
// queue. The default exchange confirms a message it routed nowhere and drops it; published as
// mandatory, such a message comes back first, and the publish fails instead.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "amqp/connection.h"
#include "core/error.h"
#include "support/stack_test.h"

namespace qrl::testing {
namespace {

using ::testing::HasSubstr;

class Publish : public StackTest {};

TEST_F(Publish, AMessageRoutedToNoQueueIsAFailureNotAConfirmAndTheChannelGoesOn) {
  stack.rabbit();  // the main queue
  amqp::Connection publisher(stack.config().rabbit);
  publisher.enable_confirms();
  const std::string nowhere = "qrl-absent-" + random_id();
  try {
    publisher.publish(nowhere, "{}", {});
    ADD_FAILURE() << "a message routed to no queue was reported published";
  } catch (const core::Error& e) {
    EXPECT_TRUE(e.transient());
    EXPECT_THAT(e.what(), HasSubstr("routed the message to no queue ('" + nowhere + "': 312 NO_ROUTE)"));
  }
  // The same channel publishes on, its confirms numbered as before: both arrive.
  ASSERT_NO_THROW(publisher.publish(stack.config().rabbit.queue_name, "{\"n\":1}", {}));
  EXPECT_THROW(publisher.publish(nowhere, "{}", {}), core::Error);
  ASSERT_NO_THROW(publisher.publish(stack.config().rabbit.queue_name, "{\"n\":2}", {}));
  publisher.close();
  EXPECT_EQ(stack.queue_depth(), 2u);
}

}  // namespace
}  // namespace qrl::testing
