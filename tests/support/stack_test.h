#pragma once
// The base of the integration test fixtures: a Stack, the daemon started and stopped the way
// every test does it, and the two end states a quiz can be in.

#include <signal.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/event.h"

#include "support/harness.h"

namespace qrl::testing {

class StackTest : public ::testing::Test {
 protected:
  Stack stack;

  // `serve` with the stack's settings (plus `extra`), once it is consuming.
  std::unique_ptr<Process> start(const std::map<std::string, std::string>& extra = {}) {
    auto env = stack.env();
    for (const auto& [k, v] : extra) env[k] = v;
    return start_env(env);
  }

  // `serve` with exactly this environment, once it is consuming.
  std::unique_ptr<Process> start_env(const std::map<std::string, std::string>& env) {
    auto process = std::make_unique<Process>(std::vector<std::string>{"serve"}, env);
    EXPECT_TRUE(
        eventually([&] { return count(process->stderr_text(), "consuming") > 0 || !process->running(); }));
    EXPECT_TRUE(process->running()) << process->stderr_text();
    return process;
  }

  // SIGTERM, a clean exit expected; returns the log.
  std::string stop(Process& process) {
    process.signal(SIGTERM);
    auto code = process.wait(60s);
    EXPECT_EQ(code, std::optional<int>(0)) << process.stderr_text();
    return process.stderr_text();
  }

  bool loaded(const std::string& quiz_id) { return stack.item(quiz_id).has_value(); }

  // Publishes each quiz's event `copies` times (each its own event id), shuffled.
  std::size_t publish_copies(const std::vector<std::string>& quiz_ids, int copies, unsigned shuffle_seed) {
    std::vector<std::string> bodies;
    for (const auto& id : quiz_ids) {
      for (int copy = 0; copy < copies; ++copy) bodies.push_back(core::make_event(random_id(), "t", id));
    }
    std::shuffle(bodies.begin(), bodies.end(), std::mt19937(shuffle_seed));
    for (const auto& body : bodies) stack.publish(body);
    return bodies.size();
  }

  // Messages the daemons have finished with success: loaded, found loaded, or joined to their
  // quiz's job in the settle window (acked with it).
  static std::size_t finished(const std::vector<Process*>& daemons) {
    std::size_t n = 0;
    for (auto* d : daemons) {
      auto log = d->stderr_text();
      n += count(log, "msg=\"quiz loaded\"") + count(log, "msg=\"quiz already loaded") +
           count(log, "msg=\"event joined its quiz");
    }
    return n;
  }

  // The item equals the expected one attribute by attribute, and every source is gone.
  void expect_loaded_exactly(const Fixture& f) {
    auto item = stack.item(f.quiz_id);
    ASSERT_TRUE(item) << f.quiz_id;
    for (const auto& [name, value] : f.expected_item.items()) EXPECT_EQ((*item)[name], value) << name;
    EXPECT_EQ(*item, f.expected_item);
    EXPECT_EQ(stack.redis_count(f.keys), 0u) << f.quiz_id;
    EXPECT_FALSE(stack.file_exists(f.quiz_id)) << f.quiz_id;
  }

  // No item, and every source still there.
  void expect_untouched(const Fixture& f) {
    EXPECT_EQ(stack.redis_count(f.keys), f.keys.size()) << "keys of " << f.quiz_id << " were deleted";
    EXPECT_TRUE(stack.file_exists(f.quiz_id)) << f.quiz_id;
    EXPECT_FALSE(loaded(f.quiz_id)) << f.quiz_id;
  }
};

}  // namespace qrl::testing
