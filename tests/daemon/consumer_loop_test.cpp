// The consumer loop's states, driven through a broker of the test's own on simulated time:
// every schedule (pauses, reconnects, drain) is asserted exactly, in milliseconds of real time.

#include "daemon/consumer_loop.h"

#include "core/event.h"
#include "core/transform.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <vector>

namespace qrl::daemon {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A broker that records what the loop asked of it, and when.
class FakeBroker final : public Broker {
 public:
  explicit FakeBroker(core::ManualClock& clock) : clock_(clock) {}

  void open() override {
    opens.push_back(since_start());
    if (failing_opens > 0) {
      --failing_opens;
      throw core::transient_error(core::Stage::kUnknown, "rabbitmq: cannot connect");
    }
    open_ = true;
  }
  void close() noexcept override { open_ = false; }
  bool is_open() const override { return open_; }
  void consume(std::uint16_t prefetch) override {
    consumes.push_back(since_start());
    last_prefetch = prefetch;
  }
  void set_prefetch(std::uint16_t prefetch) override {
    last_prefetch = prefetch;
    prefetches.push_back(prefetch);
  }
  void cancel() override {
    ++cancels;
    cancelled_at.push_back(since_start());
  }
  Polled next(std::chrono::milliseconds timeout) override {
    if (lose_connection) {
      lose_connection = false;
      open_ = false;
      throw core::transient_error(core::Stage::kUnknown, "rabbitmq: lost connection");
    }
    timeouts.push_back(timeout);
    if (!events.empty()) {
      auto polled = std::move(events.front());
      events.pop_front();
      return polled;
    }
    if (woken) {  // as the real broker's wait: a worker's end returns it at once
      woken = false;
      return {};
    }
    clock_.advance(timeout);  // nothing came within the poll
    return {};
  }
  void wake() override { woken = true; }
  std::vector<std::chrono::milliseconds> timeouts;  // of every next()
  bool woken = false;
  void ack(std::uint64_t tag) override { acks.push_back(tag); }
  void reject(std::uint64_t tag, bool requeue) override { rejects.emplace_back(tag, requeue); }

  void deliver(std::uint64_t tag, std::string body = "{}", amqp::Headers headers = {}) {
    Polled polled;
    polled.kind = Polled::Kind::kDelivery;
    polled.delivery = {tag, std::move(body), std::move(headers)};
    events.push_back(std::move(polled));
  }
  bool counts_returns() const override { return quorum; }
  bool quorum = false;  // a queue that counts returns (x-delivery-count), as a quorum queue
  void broker_cancels() {
    Polled polled;
    polled.kind = Polled::Kind::kCancelled;
    events.push_back(polled);
  }
  std::chrono::milliseconds since_start() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - start_);
  }

  std::deque<Polled> events;
  int failing_opens = 0;
  bool lose_connection = false;
  std::vector<std::chrono::milliseconds> opens, consumes, cancelled_at;
  std::vector<std::uint64_t> acks;
  std::vector<std::pair<std::uint64_t, bool>> rejects;
  int cancels = 0;
  std::uint16_t last_prefetch = 0;
  std::vector<std::uint16_t> prefetches;

 private:
  core::ManualClock& clock_;
  core::Clock::time_point start_ = clock_.now();
  bool open_ = true;
};

class HeldLetters final : public Republish {
 public:
  void submit(Letter letter) override { letters.push_back(std::move(letter)); }
  std::vector<Letter> letters;
};

class LoopTest : public ::testing::Test {
 protected:
  LoopTest() : broker(clock), health(clock) {
    settings.prefetch = 4;
    settings.drain_timeout = 5s;
    settings.policy.pause_base = 1000ms;
    settings.policy.pause_max = 60000ms;
  }

  ConsumerLoop& loop() {
    if (!loop_) {
      loop_.emplace(settings, LoopPorts{broker, letters, jobs, clock, health, metrics::nothing(),
                                        [this] { return stops; }, [] { return 1.0; }, limiter});
    }
    return *loop_;
  }
  // Turns until `done` or `limit` turns; true if `done`.
  bool turn_until(const std::function<bool()>& done, int limit = 10000) {
    for (int i = 0; i < limit; ++i) {
      if (done()) return true;
      if (!loop().turn()) return done();
    }
    return false;
  }
  // The worker: takes every job and reports it with `action`.
  std::vector<Job> work(core::Action action, std::string reason = "") {
    std::vector<Job> taken;
    for (auto& job : jobs.take_all()) {
      loop().finished({job.generation, job.tag, action, job.body, {{"x-failure-reason", reason}}, reason});
      taken.push_back(std::move(job));
    }
    return taken;
  }
  std::string readiness() { return health.ready().second; }

  core::ManualClock clock;
  FakeBroker broker;
  health::State health;
  HeldLetters letters;
  WorkQueue<Job> jobs;
  LoopSettings settings;
  int stops = 0;
  capacity::Limiter* limiter = nullptr;
  std::optional<ConsumerLoop> loop_;
};

TEST_F(LoopTest, ADeliveryBecomesAJobAndItsSuccessAnAck) {
  broker.deliver(7, "event");
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  EXPECT_EQ(loop().in_flight(), 1u);
  auto taken = work(core::Action::kAck);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].body, "event");
  EXPECT_EQ(taken[0].past.deliveries, 1);
  ASSERT_TRUE(turn_until([&] { return !broker.acks.empty(); }));
  EXPECT_THAT(broker.acks, ElementsAre(7u));
  EXPECT_EQ(loop().in_flight(), 0u);
  EXPECT_EQ(loop().state(), State::kConsuming);
  EXPECT_TRUE(health.ready().first) << readiness();
}

TEST_F(LoopTest, AnEnvironmentFailurePausesPutsWorkBackAndResumesOnScheduleDoublingUntilASuccess) {
  broker.deliver(1);
  broker.deliver(2);
  ASSERT_TRUE(turn_until([&] { return loop().in_flight() == 2; }));
  auto first = jobs.take_all();  // the worker took job 1; job 2 waits in the queue
  jobs.push(first[1]);
  loop().finished({first[0].generation, 1, core::Action::kPause, "", {}, "NOAUTH; check the Redis password"});
  ASSERT_TRUE(turn_until([&] { return loop().state() == State::kPaused; }));
  EXPECT_EQ(broker.cancels, 1);
  // Both back, untouched: the failed one and the one not started.
  EXPECT_THAT(broker.rejects, ElementsAre(std::pair<std::uint64_t, bool>{2, true},
                                          std::pair<std::uint64_t, bool>{1, true}));
  EXPECT_EQ(loop().in_flight(), 0u);
  EXPECT_FALSE(health.ready().first);
  EXPECT_THAT(readiness(), HasSubstr("consuming: paused: NOAUTH; check the Redis password"));
  // Resumes 1 s later, not before.
  ASSERT_TRUE(turn_until([&] { return broker.consumes.size() == 1; }));
  EXPECT_EQ(broker.consumes[0] - broker.cancelled_at[0], 1000ms);
  EXPECT_EQ(loop().state(), State::kConsuming);
  // A second failure in a row: 2 s.
  broker.deliver(3);
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  work(core::Action::kPause, "NOAUTH");
  ASSERT_TRUE(turn_until([&] { return loop().state() == State::kPaused; }));
  ASSERT_TRUE(turn_until([&] { return broker.consumes.size() == 2; }));
  EXPECT_EQ(broker.consumes[1] - broker.cancelled_at[1], 2000ms);
  // A success resets the count: the next pause is 1 s again.
  broker.deliver(4);
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  work(core::Action::kAck);
  broker.deliver(5);
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  work(core::Action::kPause, "NOAUTH");
  ASSERT_TRUE(turn_until([&] { return loop().state() == State::kPaused; }));
  ASSERT_TRUE(turn_until([&] { return broker.consumes.size() == 3; }));
  EXPECT_EQ(broker.consumes[2] - broker.cancelled_at[2], 1000ms);
}

// A write that ran out of time waiting for the table's capacity (a stop) is backpressure: the
// message goes back as it came, uncounted (no republish with x-deliveries), and nothing pauses.
TEST_F(LoopTest, AThrottledJobGoesBackUncountedAndNothingPauses) {
  broker.deliver(1);
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  work(core::Action::kRelease, "throttled");
  ASSERT_TRUE(turn_until([&] { return !broker.rejects.empty(); }));
  EXPECT_THAT(broker.rejects, ElementsAre(std::pair<std::uint64_t, bool>{1, true}));
  EXPECT_TRUE(letters.letters.empty());
  EXPECT_EQ(broker.cancels, 0);
  EXPECT_EQ(loop().state(), State::kConsuming);
  EXPECT_EQ(loop().in_flight(), 0u);
}

// While the table's limiter holds writes back, the workers get only what its pace keeps busy
// (at 1 unit a second and 17 units a quiz: one), /readyz says so, and the rest waits unstarted.
TEST_F(LoopTest, WhileTheTableHoldsWritesBackOneQuizAtATimeGoesToTheWorkers) {
  capacity::Limiter table(clock);
  table.seed(capacity::Kind::kWrite, 1);
  table.quiz_written(17);
  ASSERT_TRUE(table.acquire(capacity::Kind::kWrite, 1, {}));
  ASSERT_TRUE(table.acquire(capacity::Kind::kWrite, 1, {}));  // waited
  limiter = &table;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(clock.wall().time_since_epoch()).count();
  for (std::uint64_t tag = 1; tag <= 4; ++tag)
    broker.deliver(tag, core::make_event("e" + std::to_string(tag), core::rfc3339_utc(now - 60), "q" + std::to_string(tag)));
  ASSERT_TRUE(turn_until([&] { return loop().in_flight() == 4; }));
  for (int i = 0; i < 20; ++i) loop().turn();
  EXPECT_THAT(readiness(), HasSubstr("paced by the table's capacity"));
  EXPECT_THAT(readiness(), HasSubstr("1 of 4 workers in use"));
  EXPECT_EQ(work(core::Action::kAck).size(), 1u);
  ASSERT_TRUE(turn_until([&] { return broker.acks.size() == 1; }));
  for (int i = 0; i < 20; ++i) loop().turn();
  EXPECT_EQ(work(core::Action::kAck).size(), 1u);
}

// Paused, the connection lost and made again: readiness still gives the pause's reason, not the
// connection's, and consumption resumes when the pause is due.
TEST_F(LoopTest, APauseKeepsItsReasonAcrossALostConnection) {
  broker.deliver(1);
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  work(core::Action::kPause, "NOAUTH; check the Redis password");
  ASSERT_TRUE(turn_until([&] { return loop().state() == State::kPaused; }));
  broker.lose_connection = true;
  broker.failing_opens = 1;
  ASSERT_TRUE(turn_until([&] { return broker.opens.size() == 2 && broker.is_open(); }));
  EXPECT_EQ(loop().state(), State::kPaused);
  EXPECT_THAT(readiness(), HasSubstr("consuming: paused: NOAUTH; check the Redis password"));
  EXPECT_THAT(readiness(), HasSubstr("rabbitmq: ok"));
  ASSERT_TRUE(turn_until([&] { return loop().state() == State::kConsuming; }));
  EXPECT_EQ(broker.consumes.size(), 1u);
}

TEST_F(LoopTest, ADeliveryArrivingWhilePausedGoesBackUnworked) {
  broker.deliver(1);
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  work(core::Action::kPause, "denied");
  ASSERT_TRUE(turn_until([&] { return loop().state() == State::kPaused; }));
  broker.deliver(2);  // sent before the broker saw the cancel
  ASSERT_TRUE(turn_until([&] { return broker.rejects.size() == 2; }));
  EXPECT_EQ(broker.rejects[1], (std::pair<std::uint64_t, bool>{2, true}));
  EXPECT_TRUE(jobs.empty());
}

TEST_F(LoopTest, ALostConnectionVoidsItsDeliveriesAndReconnectsWithCappedBackoff) {
  broker.deliver(1);
  broker.deliver(2);
  ASSERT_TRUE(turn_until([&] { return loop().in_flight() == 2; }));
  auto taken = jobs.take_all();
  jobs.push(taken[1]);  // one started, one waiting
  broker.lose_connection = true;
  broker.failing_opens = 3;
  const auto lost_at = broker.since_start();
  ASSERT_TRUE(turn_until([&] { return loop().state() == State::kConnecting; }));
  EXPECT_EQ(loop().generation(), 2u);
  EXPECT_TRUE(jobs.empty());  // the waiting one is dropped: the broker redelivers it
  EXPECT_THAT(readiness(), HasSubstr("rabbitmq: rabbitmq: lost connection"));
  // The started one finishes after the loss: its result is dropped, never acked with a dead tag.
  loop().finished({taken[0].generation, taken[0].tag, core::Action::kAck, "", {}, ""});
  ASSERT_TRUE(turn_until([&] { return loop().state() == State::kConsuming; }));
  EXPECT_TRUE(broker.acks.empty());
  // At once, then 200 ms, 400 ms and 800 ms apart (full jitter's ceiling: the test's random is 1).
  ASSERT_EQ(broker.opens.size(), 4u);
  EXPECT_EQ(broker.opens[0] - lost_at, 0ms);
  EXPECT_EQ(broker.opens[1] - broker.opens[0], 200ms);
  EXPECT_EQ(broker.opens[2] - broker.opens[1], 400ms);
  EXPECT_EQ(broker.opens[3] - broker.opens[2], 800ms);
  EXPECT_EQ(broker.consumes.back(), broker.opens[3]);
  EXPECT_EQ(broker.last_prefetch, 4);
  EXPECT_EQ(loop().in_flight(), 0u);
  // The new connection's deliveries are worked and acked as usual.
  broker.deliver(11);
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  work(core::Action::kAck);
  ASSERT_TRUE(turn_until([&] { return !broker.acks.empty(); }));
  EXPECT_THAT(broker.acks, ElementsAre(11u));
}

TEST_F(LoopTest, AStopDrainsWhatIsInFlightThenEndsClean) {
  broker.deliver(1);
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  stops = 1;
  ASSERT_TRUE(turn_until([&] { return loop().state() == State::kDraining; }));
  EXPECT_EQ(broker.cancels, 1);
  EXPECT_THAT(readiness(), HasSubstr("consuming: draining: stopping"));
  // Still turning while the job runs: 3 s of it.
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(loop().turn());
  work(core::Action::kAck);
  EXPECT_FALSE(turn_until([] { return false; }));
  EXPECT_EQ(loop().state(), State::kStopped);
  EXPECT_THAT(broker.acks, ElementsAre(1u));
  EXPECT_TRUE(loop().run());  // clean
}

TEST_F(LoopTest, ADrainThatOutlastsItsTimeoutIsAbandonedExactlyThen) {
  broker.deliver(1);
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  stops = 1;
  ASSERT_TRUE(turn_until([&] { return loop().state() == State::kDraining; }));
  EXPECT_FALSE(loop().run());  // abandoned: the job never finished
  // At the first turn past the deadline: 5 s after the drain began, and one poll.
  EXPECT_EQ(broker.since_start() - broker.cancelled_at[0], 5100ms);
  EXPECT_TRUE(broker.acks.empty());
}

TEST_F(LoopTest, ASecondStopRequestEndsAtOnceWithWorkInFlight) {
  broker.deliver(1);
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  stops = 1;
  ASSERT_TRUE(loop().turn());
  const auto at = broker.since_start();
  stops = 2;
  EXPECT_FALSE(loop().turn());
  EXPECT_EQ(broker.since_start(), at);
  EXPECT_FALSE(loop().run());
  EXPECT_EQ(loop().state(), State::kStopped);
}

TEST_F(LoopTest, FailedMessagesAreAckedOnlyOnceTheRepublisherConfirmsThem) {
  broker.deliver(1);
  broker.deliver(2);
  ASSERT_TRUE(turn_until([&] { return loop().in_flight() == 2; }));
  auto taken = jobs.take_all();
  loop().finished({taken[0].generation, 1, core::Action::kReject, "poison", {{"x-failure-reason", "bad"}}, "bad"});
  loop().finished({taken[1].generation, 2, core::Action::kRequeue, "later", {}, "timeout"});
  ASSERT_TRUE(turn_until([&] { return letters.letters.size() == 2; }));
  EXPECT_EQ(letters.letters[0].route, Route::kDeadLetters);
  EXPECT_EQ(letters.letters[0].body, "poison");
  EXPECT_EQ(letters.letters[1].route, Route::kHolding);
  EXPECT_EQ(loop().in_flight(), 2u);  // not settled yet
  EXPECT_TRUE(broker.acks.empty());
  loop().receipt({letters.letters[0].generation, 1, true});
  loop().receipt({letters.letters[1].generation, 2, false});  // the broker did not take it
  ASSERT_TRUE(turn_until([&] { return loop().in_flight() == 0; }));
  EXPECT_THAT(broker.acks, ElementsAre(1u));
  EXPECT_THAT(broker.rejects, ElementsAre(std::pair<std::uint64_t, bool>{2, true}));
}

// A broker whose confirms take 15 s: the republisher waits, the loop does not. /healthz's
// threshold is 10 s; over the whole wait the loop turns and other quizzes are acked.
TEST_F(LoopTest, AConfirmThatTakesFifteenSecondsNeverStallsTheLoop) {
  broker.deliver(1);
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  work(core::Action::kReject, "poison");
  ASSERT_TRUE(turn_until([&] { return letters.letters.size() == 1; }));
  const auto submitted = broker.since_start();
  std::uint64_t tag = 100;
  auto next_delivery = submitted;
  while (broker.since_start() - submitted < 15000ms) {
    ASSERT_TRUE(loop().turn());
    ASSERT_TRUE(health.alive(10s)) << "at " << (broker.since_start() - submitted).count() << " ms";
    if (broker.since_start() >= next_delivery) {  // another quiz every second
      broker.deliver(++tag);
      next_delivery += 1000ms;
    }
    work(core::Action::kAck);
  }
  EXPECT_GE(broker.acks.size(), 14u);  // the others kept flowing
  EXPECT_THAT(broker.acks, ::testing::Not(::testing::Contains(1u)));
  loop().receipt({letters.letters[0].generation, 1, true});
  ASSERT_TRUE(turn_until([&] {
    work(core::Action::kAck);
    return loop().in_flight() == 0;
  }));
  EXPECT_THAT(broker.acks, ::testing::Contains(1u));
}

TEST_F(LoopTest, ABrokerCancelledConsumerIsNoticedShownAndResubscribedWithoutLosingWork) {
  broker.deliver(1);
  broker.deliver(2);
  ASSERT_TRUE(turn_until([&] { return loop().in_flight() == 2; }));
  auto taken = jobs.take_all();
  jobs.push(taken[1]);
  broker.broker_cancels();  // the queue was deleted
  const auto cancelled_at = broker.since_start();
  ASSERT_TRUE(turn_until([&] { return loop().state() == State::kPaused; }));
  EXPECT_THAT(readiness(), HasSubstr("consuming: paused: the broker cancelled the consumer"));
  // Deliveries already taken are finished and acked: nothing put back into a deleted queue.
  EXPECT_FALSE(jobs.empty());
  EXPECT_TRUE(broker.rejects.empty());
  work(core::Action::kAck);
  loop().finished({taken[0].generation, 1, core::Action::kAck, "", {}, ""});
  ASSERT_TRUE(turn_until([&] { return broker.acks.size() == 2; }));
  // Consuming again (the queue declared again) a second after the cancel.
  ASSERT_TRUE(turn_until([&] { return broker.consumes.size() == 1; }));
  EXPECT_EQ(broker.consumes[0] - cancelled_at, 1000ms);
  EXPECT_EQ(loop().state(), State::kConsuming);
  EXPECT_TRUE(health.ready().first) << readiness();
}

// The settle window (settle_window.h): events wait unacked, holding no worker, until their quiz
// has settled; events for a quiz already waiting or loading join it.
class WindowTest : public LoopTest {
 protected:
  WindowTest() { settings.settle = 5000ms; }
  // An event for `quiz`, announced `age` before the loop's wall clock.
  std::string event(const std::string& quiz, std::chrono::seconds age = 0s) {
    const auto wall = std::chrono::duration_cast<std::chrono::seconds>(clock.wall().time_since_epoch()) - age;
    return core::make_event("e-" + quiz, core::rfc3339_utc(wall.count()), quiz);
  }
};

TEST_F(WindowTest, AFreshEventWaitsTheWindowHoldingNoWorkerAndDuplicatesJoinIt) {
  const auto start = broker.since_start();
  broker.deliver(1, event("quizA"));
  broker.deliver(2, event("quizA"));  // the same quiz, announced by another participant's handler
  broker.deliver(3, event("quizB"));
  ASSERT_TRUE(turn_until([&] { return loop().in_flight() == 3; }));
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  // Not a moment before the window.
  EXPECT_GE(broker.since_start() - start, 5000ms);
  EXPECT_LE(broker.since_start() - start, 5100ms);
  auto taken = jobs.take_all();
  ASSERT_EQ(taken.size(), 2u);  // one load a quiz, in arrival order
  EXPECT_EQ(taken[0].tag, 1u);
  EXPECT_EQ(taken[1].tag, 3u);
  for (auto& job : taken) loop().finished({job.generation, job.tag, core::Action::kAck, "", {}, ""});
  ASSERT_TRUE(turn_until([&] { return loop().in_flight() == 0; }));
  // The duplicate is acked with its quiz.
  EXPECT_THAT(broker.acks, ::testing::UnorderedElementsAre(1u, 2u, 3u));
}

TEST_F(WindowTest, TheWaitCountsFromTheAnnouncementButNeverPastTheWindowFromReceipt) {
  broker.deliver(1, event("old", 60s));  // announced a minute ago: due at once
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  EXPECT_LE(broker.since_start(), 200ms);
  jobs.take_all();
  const auto second = broker.since_start();
  broker.deliver(2, event("half", 3s));  // 3 s old: 2 s more
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  EXPECT_GE(broker.since_start() - second, 1900ms);
  EXPECT_LE(broker.since_start() - second, 2200ms);
  jobs.take_all();
  const auto third = broker.since_start();
  broker.deliver(3, event("future", -3600s));  // a clock an hour ahead: still only the window
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  EXPECT_GE(broker.since_start() - third, 5000ms);
  EXPECT_LE(broker.since_start() - third, 5200ms);
}

TEST_F(WindowTest, PrefetchGrowsToCoverTheWaitingSoWorkersAreNeverStarved) {
  for (std::uint64_t tag = 1; tag <= 40; ++tag) broker.deliver(tag, event("q" + std::to_string(tag)));
  ASSERT_TRUE(turn_until([&] { return loop().in_flight() == 40; }, 200));
  // Every waiting one is covered, and the workers' share of 4 is free on top.
  EXPECT_GE(broker.last_prefetch, 44u);
  // The workers get them as they have room, never more than their share at once.
  ASSERT_TRUE(turn_until([&] {
    auto taken = jobs.take_all();
    EXPECT_LE(taken.size(), 4u);
    for (auto& job : taken) loop().finished({job.generation, job.tag, core::Action::kAck, "", {}, ""});
    return loop().in_flight() == 0;
  }));
  EXPECT_EQ(broker.acks.size(), 40u);
  // Lowered again once nothing waits.
  EXPECT_LE(broker.last_prefetch, 8u);
}

// A backlog of quizzes already due waits for the workers, not the window: it leaves the prefetch
// where it is (each change is a round trip to the broker, once made for most deliveries).
TEST_F(WindowTest, ABacklogOfDueQuizzesLeavesThePrefetchAlone) {
  for (std::uint64_t tag = 1; tag <= 40; ++tag) broker.deliver(tag, event("b" + std::to_string(tag), 60s));
  int turns = 0;
  std::vector<Job> working;
  ASSERT_TRUE(turn_until([&] {
    for (auto& job : jobs.take_all()) working.push_back(std::move(job));
    EXPECT_LE(working.size(), 4u);
    if (++turns % 8 == 0) {  // slow workers: more deliveries arrive than they finish
      for (auto& job : working) loop().finished({job.generation, job.tag, core::Action::kAck, "", {}, ""});
      working.clear();
    }
    return broker.acks.size() == 40u && loop().in_flight() == 0;
  }, 1000));
  EXPECT_LE(broker.prefetches.size(), 1u);
  EXPECT_LE(broker.last_prefetch, 8u);
}

// Due jobs wait in the window until a worker has room: a stop finishes what the workers hold
// and gives the rest back to the broker, as it would without a window.
TEST_F(WindowTest, AStopFinishesWhatTheWorkersHoldAndGivesBackWhatTheyDidNot) {
  for (std::uint64_t tag = 1; tag <= 10; ++tag) broker.deliver(tag, event("d" + std::to_string(tag), 60s));
  ASSERT_TRUE(turn_until([&] { return loop().in_flight() == 10; }));
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  auto held = jobs.take_all();
  EXPECT_EQ(held.size(), 4u);  // the workers' share
  stops = 1;
  for (auto& job : held) loop().finished({job.generation, job.tag, core::Action::kAck, "", {}, ""});
  turn_until([&] { return loop().state() == State::kStopped; });
  EXPECT_EQ(loop().state(), State::kStopped);
  EXPECT_EQ(broker.acks.size(), 4u);
  EXPECT_EQ(broker.rejects.size(), 6u);
  for (auto [tag, requeue] : broker.rejects) EXPECT_TRUE(requeue) << tag;
  EXPECT_TRUE(jobs.empty());
}

// A due job with every worker busy waits for a worker's end (which wakes the broker's wait),
// not on a 1 ms poll; and goes to the worker freed without waiting a poll.
TEST_F(WindowTest, ADueJobWaitsTheFullPollForABusyWorkerAndGoesTheMomentOneIsFree) {
  for (std::uint64_t tag = 1; tag <= 6; ++tag) broker.deliver(tag, event("b" + std::to_string(tag), 60s));
  ASSERT_TRUE(turn_until([&] { return loop().in_flight() == 6; }));
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  auto held = jobs.take_all();
  ASSERT_EQ(held.size(), 4u);  // the workers' share; two due jobs wait
  broker.timeouts.clear();
  for (int i = 0; i < 5; ++i) loop().turn();
  ASSERT_EQ(broker.timeouts.size(), 5u);
  for (auto timeout : broker.timeouts) EXPECT_EQ(timeout, settings.poll);
  EXPECT_TRUE(jobs.empty());
  const auto freed = broker.since_start();
  loop().finished({held[0].generation, held[0].tag, core::Action::kAck, "", {}, ""});
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }, 5));
  EXPECT_EQ(broker.since_start(), freed);  // no poll waited out
  EXPECT_EQ(jobs.take_all().size(), 1u);
}

TEST_F(WindowTest, APauseOrAStopPutsWaitingEventsBackUntouched) {
  broker.deliver(1, "not an event");  // straight to a worker: nothing to wait for
  broker.deliver(2, event("w1"));
  broker.deliver(3, event("w1"));
  broker.deliver(4, event("w2"));
  ASSERT_TRUE(turn_until([&] { return loop().in_flight() == 4 && !jobs.empty(); }));
  work(core::Action::kPause, "NOAUTH");
  ASSERT_TRUE(turn_until([&] { return loop().state() == State::kPaused; }));
  EXPECT_EQ(loop().in_flight(), 0u);
  std::vector<std::uint64_t> back;
  for (auto [tag, requeue] : broker.rejects) {
    EXPECT_TRUE(requeue);
    back.push_back(tag);
  }
  EXPECT_THAT(back, ::testing::UnorderedElementsAre(1u, 2u, 3u, 4u));
  EXPECT_TRUE(broker.acks.empty());
}

TEST_F(WindowTest, JoinedEventsGoWhereTheirQuizGoesWhenItIsRequeued) {
  broker.deliver(1, event("r1", 10s));
  broker.deliver(2, event("r1", 10s));
  ASSERT_TRUE(turn_until([&] { return loop().in_flight() == 2 && !jobs.empty(); }));
  work(core::Action::kRequeue, "quiz still finishing");
  ASSERT_TRUE(turn_until([&] { return letters.letters.size() == 1; }));
  EXPECT_TRUE(broker.acks.empty());  // not before the holding queue has it
  loop().receipt({letters.letters[0].generation, letters.letters[0].tag, true});
  ASSERT_TRUE(turn_until([&] { return loop().in_flight() == 0; }));
  EXPECT_THAT(broker.acks, ElementsAre(1u, 2u));
}

// A quorum queue counts every return toward its own delivery limit, after which it drops the
// message. A delivery it returned before is not worked on but put back as new, its count carried
// in x-deliveries; one returned more than max_deliveries times is dead-lettered, with the reason.
TEST_F(LoopTest, OnAQueueThatCountsReturnsAReturnedDeliveryIsPutBackAsNewOrDeadLetteredPastTheBound) {
  broker.quorum = true;
  settings.policy.max_deliveries = 3;
  broker.deliver(1, "event-a", {{"x-delivery-count", "1"}});
  broker.deliver(2, "event-b", {{"x-delivery-count", "2"}, {"x-deliveries", "1"}});
  ASSERT_TRUE(turn_until([&] { return letters.letters.size() == 2; }));
  EXPECT_TRUE(jobs.empty()) << "not worked on";
  EXPECT_EQ(letters.letters[0].route, Route::kMain);
  EXPECT_EQ(letters.letters[0].body, "event-a");
  EXPECT_EQ(letters.letters[0].headers.at("x-deliveries"), "1");  // delivered next as its 2nd
  EXPECT_EQ(letters.letters[1].route, Route::kDeadLetters);       // its 4th delivery: past 3
  EXPECT_THAT(letters.letters[1].headers.at("x-failure-reason"), HasSubstr("x-delivery-count"));
  EXPECT_EQ(letters.letters[1].headers.at("x-deliveries"), "4");
  loop().receipt({letters.letters[0].generation, 1, true});
  loop().receipt({letters.letters[1].generation, 2, true});
  ASSERT_TRUE(turn_until([&] { return loop().in_flight() == 0; }));
  EXPECT_THAT(broker.acks, ElementsAre(1u, 2u));
  EXPECT_TRUE(broker.rejects.empty());
}

// A classic queue gives no count: the same headers change nothing.
TEST_F(LoopTest, OnAClassicQueueADeliveryIsWorkedOnWhateverItsHeaders) {
  broker.deliver(1, "event", {{"x-delivery-count", "5"}});
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  EXPECT_TRUE(letters.letters.empty());
}

// Given back on purpose (a pause), a quorum queue's message goes back as new with its deliveries
// unchanged: a reject would count toward the queue's limit.
TEST_F(LoopTest, OnAQueueThatCountsReturnsAPauseGivesTheMessageBackAsNewUncounted) {
  broker.quorum = true;
  broker.deliver(1, "event", {{"x-deliveries", "2"}});
  ASSERT_TRUE(turn_until([&] { return !jobs.empty(); }));
  auto taken = jobs.take_all();
  loop().finished({taken[0].generation, 1, core::Action::kPause, "event", dlq::return_headers(taken[0].past), "NOAUTH"});
  ASSERT_TRUE(turn_until([&] { return letters.letters.size() == 1; }));
  EXPECT_EQ(loop().state(), State::kPaused);
  EXPECT_EQ(letters.letters[0].route, Route::kMain);
  EXPECT_EQ(letters.letters[0].headers.at("x-deliveries"), "2");
  EXPECT_TRUE(broker.rejects.empty());
  loop().receipt({letters.letters[0].generation, 1, true});
  ASSERT_TRUE(turn_until([&] { return loop().in_flight() == 0; }));
  EXPECT_THAT(broker.acks, ElementsAre(1u));
}

}  // namespace
}  // namespace qrl::daemon
