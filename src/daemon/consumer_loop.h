#pragma once
// The consumer loop of `serve`, on the thread that owns the broker connection. It hands
// deliveries to the workers and settles what they finish: ack, pause (back untouched), or a
// republish to the holding or dead-letter queue (by the Republish, off this thread) followed by
// an ack. It never blocks on quiz work or on a confirm, so it turns at least every `poll`, and
// /healthz, which watches its turns, tells the truth.
//
// Its states:
//   connecting  no connection; reconnecting with capped backoff (deliveries of the lost
//               connection are void: their results are dropped, the broker redelivers them)
//   consuming   taking deliveries: at most `prefetch` with the workers, plus those waiting in
//               the settle window (settle_window.h), for which the broker's prefetch grows;
//               due jobs go to the workers only as they have room. While the table's capacity
//               limiter holds writes back, the workers' share shrinks to what the table's pace
//               keeps busy (capacity::Limiter::allowed_in_flight), so the rest of the backlog
//               waits in the queue, not unacked here, far from RabbitMQ's consumer_timeout
//   paused      not taking deliveries until a time: after an environment failure (capped
//               backoff), or after the broker cancelled the consumer (its queue deleted)
//   draining    the first stop request: no new deliveries, the ones in flight finished and
//               settled, for at most `drain_timeout`
//   stopped     drained, or a second stop request, or the drain timed out (abandoned)

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "capacity/limiter.h"
#include "core/clock.h"
#include "core/retry.h"
#include "daemon/broker.h"
#include "daemon/job.h"
#include "daemon/republisher.h"
#include "daemon/settle_window.h"
#include "daemon/work_queue.h"
#include "dlq/letter.h"
#include "health/health.h"
#include "metrics/recorder.h"

namespace qrl::daemon {

// What a worker made of a job.
struct Finished {
  std::uint64_t generation = 0;
  std::uint64_t tag = 0;
  core::Action action = core::Action::kAck;
  std::string body;       // the letter's body, byte for byte (kRequeue, kReject, kPause, kRelease)
  amqp::Headers headers;  // kRequeue, kReject: why; kPause, kRelease: its deliveries unchanged
  std::string reason;     // kPause: what is wrong and what to do
};

enum class State { kConnecting, kConsuming, kPaused, kDraining, kStopped };
std::string_view to_string(State state);

struct LoopSettings {
  std::uint16_t prefetch = 4;  // deliveries for the workers; the window's come on top
  std::chrono::milliseconds settle{0};
  std::uint16_t max_prefetch = 10000;  // the most unacked deliveries, window included
  std::chrono::milliseconds drain_timeout{30000};
  core::RetryPolicy policy;  // pause_base, pause_max: the environment pauses
  core::RetryPolicy reconnect{0, std::chrono::milliseconds(200), std::chrono::milliseconds(10000)};
  std::chrono::milliseconds resubscribe{1000};  // after the broker cancelled the consumer
  std::chrono::milliseconds poll{100};
  std::string queue = "quiz-complete";  // the main queue, named in dead letters' headers
};

struct LoopPorts {
  Broker& broker;
  Republish& republish;
  WorkQueue<Job>& jobs;
  core::Clock& clock;
  health::State& health;
  metrics::Recorder& recorder;
  std::function<int()> stop_requests;  // how many stop signals so far
  std::function<double()> random;      // in [0, 1): the reconnect backoff's jitter
  capacity::Limiter* limiter = nullptr;  // the table's pace; none: the workers' share is fixed
};

class ConsumerLoop {
 public:
  // The broker is open and consuming when the loop starts.
  ConsumerLoop(LoopSettings settings, LoopPorts ports);

  // From any thread: a worker's result, or the republisher's receipt.
  void finished(Finished result);
  void receipt(Receipt receipt);

  // Turns until stopped. True: everything delivered was settled, or went back with its
  // connection; false: abandoned with messages in flight (the broker redelivers them).
  bool run();
  // One turn; false once stopped.
  bool turn();

  State state() const { return state_; }
  std::size_t in_flight() const { return in_flight_; }
  std::uint64_t generation() const { return generation_; }

 private:
  bool stopping();
  void reconnect();
  void resume_if_due();
  void take(Polled polled);
  void renew(std::uint64_t tag, std::string body, const dlq::Past& past);
  bool return_as_new(const Finished& result);
  void settle();
  void settle_one(const Finished& result);
  void suspend(const std::string& reason, std::chrono::milliseconds delay);
  void pause(const std::string& reason);
  void lost(const std::string& reason);
  void show();
  void admit(Job job);
  void release();
  void give_back_waiting();
  void settle_joined(std::uint64_t tag, bool ack);
  void grow_prefetch();
  std::size_t share();  // jobs the workers may hold now
  void report_capacity();
  std::chrono::milliseconds poll_timeout() const;

  LoopSettings settings_;
  LoopPorts ports_;
  WorkQueue<Finished> results_;
  WorkQueue<Receipt> receipts_;
  State state_ = State::kConsuming;
  std::uint64_t generation_ = 1;
  std::size_t in_flight_ = 0;
  bool abandoned_ = false;
  core::Clock::time_point drain_deadline_{};
  core::Clock::time_point next_attempt_{};  // connecting: the next reconnect; paused: the resume
  int reconnect_attempt_ = 0;
  int pauses_ = 0;  // consecutive environment pauses, reset by a success
  std::string rabbit_problem_;  // why not connected
  std::string pause_reason_;    // why paused
  SettleWindow window_;
  std::uint16_t prefetch_now_ = 0;  // what the broker was last told
  // Jobs handed to the workers and not yet finished: at most `prefetch`, so a stop leaves
  // whatever has not started to the broker, as without a window.
  std::size_t working_ = 0;
  // Republished jobs' joined tags, settled when the republisher's receipt comes.
  std::map<std::uint64_t, std::vector<std::uint64_t>> joined_pending_;
  std::size_t share_ = 0;  // the workers' share last turn
};

}  // namespace qrl::daemon
