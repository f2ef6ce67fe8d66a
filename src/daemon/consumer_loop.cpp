#include "daemon/consumer_loop.h"

#include <algorithm>
#include <cstdio>

#include "core/event.h"
#include "log/log.h"
#include "pipeline/failpoint.h"

namespace qrl::daemon {

std::string_view to_string(State state) {
  switch (state) {
    case State::kConnecting: return "connecting";
    case State::kConsuming: return "consuming";
    case State::kPaused: return "paused";
    case State::kDraining: return "draining";
    case State::kStopped: return "stopped";
  }
  return "unknown";
}

ConsumerLoop::ConsumerLoop(LoopSettings settings, LoopPorts ports)
    : settings_(std::move(settings)),
      ports_(std::move(ports)),
      window_(settings_.settle),
      prefetch_now_(settings_.prefetch),
      share_(settings_.prefetch) {}

void ConsumerLoop::finished(Finished result) {
  results_.push(std::move(result));
  ports_.broker.wake();
}

void ConsumerLoop::receipt(Receipt receipt) {
  receipts_.push(receipt);
  ports_.broker.wake();
}

bool ConsumerLoop::run() {
  while (turn()) {
  }
  return !abandoned_;
}

bool ConsumerLoop::turn() {
  if (state_ == State::kStopped) return false;
  ports_.health.tick();
  ports_.recorder.in_flight(in_flight_);
  if (stopping()) {
    state_ = State::kStopped;
  } else if (!ports_.broker.is_open()) {
    reconnect();
  } else {
    try {
      resume_if_due();
      take(ports_.broker.next(poll_timeout()));
      share_ = share();
      release();
      settle();
      grow_prefetch();
      report_capacity();
    } catch (const core::Error& e) {
      lost(e.what());
    }
  }
  show();  // at the end of every turn: readiness never lags a change of state
  return state_ != State::kStopped;
}

// Stop requests and the drain: true when the loop is over.
bool ConsumerLoop::stopping() {
  const int stops = ports_.stop_requests();
  if (stops >= 2) {
    abandoned_ = in_flight_ > 0;
    return true;
  }
  if (stops >= 1 && state_ != State::kDraining) {
    state_ = State::kDraining;
    drain_deadline_ = ports_.clock.now() + settings_.drain_timeout;
    if (ports_.broker.is_open()) {
      try {
        ports_.broker.cancel();
        give_back_waiting();  // not started: back to the queue, for the next loader
      } catch (const core::Error& e) {
        log::warn("lost RabbitMQ connection while stopping", {{"reason", e.what()}});
      }
    }
  }
  if (state_ != State::kDraining) return false;
  // Without a connection, what is in flight is void: the broker redelivers it.
  if (in_flight_ == 0 || !ports_.broker.is_open()) return true;
  if (ports_.clock.now() > drain_deadline_) {
    log::warn("drain timeout: leaving unfinished messages to be redelivered",
              {{"in_flight", std::to_string(in_flight_)}});
    abandoned_ = true;
    return true;
  }
  return false;
}

// Capped exponential backoff between attempts, waited in slices so a stop request is seen at once.
void ConsumerLoop::reconnect() {
  const auto now = ports_.clock.now();
  if (now < next_attempt_) {
    ports_.clock.sleep_for(std::min<core::Clock::duration>(next_attempt_ - now, std::chrono::milliseconds(50)));
    return;
  }
  try {
    ports_.broker.open();
    prefetch_now_ = settings_.prefetch;
    if (state_ == State::kConnecting) {
      ports_.broker.consume(settings_.prefetch);
      state_ = State::kConsuming;
    }
    ports_.recorder.reconnect("rabbitmq");
    log::info("reconnected to RabbitMQ",
              {{"node", ports_.broker.node()}, {"attempt", std::to_string(reconnect_attempt_ + 1)}});
    reconnect_attempt_ = 0;
    rabbit_problem_.clear();
  } catch (const core::Error& e) {
    ports_.broker.close();
    ++reconnect_attempt_;
    next_attempt_ = ports_.clock.now() + core::backoff_delay(settings_.reconnect, reconnect_attempt_,
                                                             0.5 + ports_.random() / 2);
    rabbit_problem_ = e.what();
    if (reconnect_attempt_ % 10 == 1) log::warn("cannot reconnect to RabbitMQ", {{"reason", e.what()}});
  }
}

void ConsumerLoop::resume_if_due() {
  if (state_ != State::kPaused || ports_.clock.now() < next_attempt_) return;
  prefetch_now_ = static_cast<std::uint16_t>(
      std::min<std::size_t>(settings_.prefetch + window_.held(), settings_.max_prefetch));
  ports_.broker.consume(prefetch_now_);
  state_ = State::kConsuming;
  log::info("consumption resumed", {{"after_pauses", std::to_string(pauses_)}});
}

void ConsumerLoop::take(Polled polled) {
  if (polled.kind == Polled::Kind::kCancelled) {
    if (state_ != State::kConsuming) return;
    // The queue was deleted (or its node lost), and the consumer with it. Deliveries already
    // taken are still ours to finish and settle; the consumer comes back when the queue is
    // declared again.
    log::error("the broker cancelled the consumer: the queue was deleted or its node lost",
               {{"resubscribe_in_ms", std::to_string(settings_.resubscribe.count())}});
    suspend("the broker cancelled the consumer (queue deleted?)", settings_.resubscribe);
    return;
  }
  if (polled.kind != Polled::Kind::kDelivery) return;
  auto& delivery = polled.delivery;
  if (state_ != State::kConsuming) {
    // Sent before the broker saw our cancel: back untouched, not worked on.
    ports_.broker.reject(delivery.tag, /*requeue=*/true);
    return;
  }
  ++in_flight_;
  auto past = dlq::past_of(delivery.headers);
  if (past.returns > 0 && ports_.broker.counts_returns()) {
    renew(delivery.tag, std::move(delivery.body), past);
    return;
  }
  admit({generation_, delivery.tag, std::move(delivery.body), std::move(past), ports_.clock.now()});
}

// A delivery the quorum queue had back unsettled: not worked on now, but put back as a new
// message (its broker count starts over) with its deliveries so far, or dead-lettered once it
// was lost more than max_deliveries times. Acked on the republisher's receipt.
void ConsumerLoop::renew(std::uint64_t tag, std::string body, const dlq::Past& past) {
  Letter letter{generation_, tag, Route::kMain, std::move(body), dlq::return_headers(past)};
  if (core::decide_returned(past.deliveries, settings_.policy) == core::Action::kReject) {
    pipeline::JobResult result;
    result.action = core::Action::kReject;
    result.failure = core::transient_error(
        core::Stage::kUnknown, "the queue had it back unsettled " + std::to_string(past.returns) +
                                   " times (x-delivery-count): the connection or the loader was lost while it was loaded");
    try {
      result.event = core::parse_event(letter.body);
    } catch (const core::Error&) {
    }
    letter.route = Route::kDeadLetters;
    letter.headers = dlq::failure_headers(result, past, settings_.queue, ports_.clock.wall());
  }
  ports_.republish.submit(std::move(letter));
}

// On a queue that counts returns, a message given back on purpose (a pause, backpressure) goes
// back as a new message with its deliveries unchanged: a return would count toward the queue's
// delivery limit and, after it, against max_deliveries. False: not such a queue.
bool ConsumerLoop::return_as_new(const Finished& result) {
  if (!ports_.broker.counts_returns()) return false;
  if (auto joined = window_.finish(result.tag); !joined.empty()) joined_pending_[result.tag] = std::move(joined);
  ports_.republish.submit({result.generation, result.tag, Route::kMain, result.body, result.headers});
  return true;
}

// A body that is not an event goes to a worker at once (it rejects it); an event waits in the
// window, or joins its quiz's job there.
void ConsumerLoop::admit(Job job) {
  std::optional<core::Event> event;
  try {
    event = core::parse_event(job.body);
  } catch (const core::Error&) {
    ++working_;
    ports_.jobs.push(std::move(job));
    return;
  }
  const auto ready = window_.ready_at(ports_.clock.now(), ports_.clock.wall(), core::event_time(event->time));
  if (window_.admit(std::move(job), event->quiz_id, ready)) {
    ports_.recorder.event("coalesced", 1);
    log::info("event joined its quiz, waiting or loading: acked with it",
              {{"quiz", event->quiz_id}, {"event", event->id}});
  }
}

std::size_t ConsumerLoop::share() {
  const std::size_t all = settings_.prefetch;
  return ports_.limiter == nullptr ? all : std::max<std::size_t>(1, ports_.limiter->allowed_in_flight(all));
}

// While the table throttles, once a minute: the pace it gives, the backlog, and how long that
// takes to drain at this pace.
void ConsumerLoop::report_capacity() {
  if (ports_.limiter == nullptr) return;
  auto report = ports_.limiter->report_due();
  if (!report) return;
  std::size_t backlog = in_flight_;
  if (auto ready = ports_.broker.ready_messages()) backlog += *ready;
  capacity::log_report(*report, backlog, std::to_string(share_) + " of " + std::to_string(settings_.prefetch) + " workers");
}

void ConsumerLoop::release() {
  if (state_ != State::kConsuming || working_ >= share_) return;
  for (auto& job : window_.due(ports_.clock.now(), share_ - working_)) {
    ++working_;
    ports_.jobs.push(std::move(job));
  }
}

// Not started, so not ours to finish: the broker has them back for the next consumer.
void ConsumerLoop::give_back_waiting() {
  for (auto tag : window_.take_waiting()) {
    --in_flight_;
    ports_.broker.reject(tag, /*requeue=*/true);
  }
}

// The deliveries that joined job `tag` are settled as it was: acked with it, or put back with it.
void ConsumerLoop::settle_joined(std::uint64_t tag, bool ack) {
  for (auto joined : window_.finish(tag)) {
    --in_flight_;
    if (ack) {
      ports_.broker.ack(joined);
    } else {
      ports_.broker.reject(joined, /*requeue=*/true);
    }
  }
}

// The broker sends at most `prefetch` unacked deliveries (a channel-wide basic.qos, which can
// change under a running consumer). Deliveries the window holds on purpose (settling, or joined
// to a quiz) must not starve the workers, so the limit is the workers' share plus those, raised a
// workers' share ahead of need and lowered once it is two shares too high. Due deliveries waiting
// for a worker are the workers' own backlog and do not raise it: counting them would chase the
// deliveries still on the wire, and each change is a round trip to the broker.
void ConsumerLoop::grow_prefetch() {
  if (state_ != State::kConsuming) return;
  const std::size_t share = std::max<std::size_t>(share_, 1);
  const std::size_t held = window_.settling(ports_.clock.now()) + window_.joined();
  const std::size_t need = std::min<std::size_t>(share + held, settings_.max_prefetch);
  std::size_t next = prefetch_now_;
  if (need + share / 2 >= prefetch_now_) next = std::min<std::size_t>(need + share, settings_.max_prefetch);
  if (need + 2 * share < prefetch_now_) next = need + share;
  if (next == prefetch_now_) return;
  ports_.broker.set_prefetch(static_cast<std::uint16_t>(next));
  prefetch_now_ = static_cast<std::uint16_t>(next);
}

// Long enough not to spin, short enough that a job comes due on time. A due job with every
// worker busy waits for a worker, whose end wakes the broker: the window's times matter only
// while a worker is free (else the loop would turn every millisecond until one is).
std::chrono::milliseconds ConsumerLoop::poll_timeout() const {
  auto timeout = settings_.poll;
  if (state_ != State::kConsuming || working_ >= share_) return timeout;
  if (auto due = window_.next_due()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*due - ports_.clock.now());
    timeout = std::clamp(left, std::chrono::milliseconds(0), timeout);  // due: at once, and released then
  }
  return timeout;
}

void ConsumerLoop::settle() {
  for (const auto& receipt : receipts_.take_all()) {
    if (receipt.generation != generation_) continue;  // its channel is gone; redelivered
    --in_flight_;
    // Confirmed in the holding or dead-letter queue first, then acked: a crash in between
    // leaves the message in two places, never in none.
    if (receipt.published) {
      ports_.broker.ack(receipt.tag);
    } else {
      ports_.broker.reject(receipt.tag, /*requeue=*/true);
    }
    // What joined it goes as it went: in the holding or dead-letter queue, the republished
    // message stands for them all.
    auto joined = joined_pending_.find(receipt.tag);
    if (joined != joined_pending_.end()) {
      for (auto tag : joined->second) {
        --in_flight_;
        if (receipt.published) {
          ports_.broker.ack(tag);
        } else {
          ports_.broker.reject(tag, /*requeue=*/true);
        }
      }
      joined_pending_.erase(joined);
    }
  }
  for (auto& result : results_.take_all()) {
    if (result.generation != generation_) continue;
    if (working_ > 0) --working_;
    settle_one(result);
  }
}

void ConsumerLoop::settle_one(const Finished& result) {
  switch (result.action) {
    case core::Action::kAck:
      --in_flight_;
      pipeline::failpoint("before-ack");
      ports_.broker.ack(result.tag);
      settle_joined(result.tag, true);
      pauses_ = 0;
      break;
    case core::Action::kPause:
      if (state_ == State::kConsuming) pause(result.reason);
      if (return_as_new(result)) break;
      --in_flight_;
      ports_.broker.reject(result.tag, /*requeue=*/true);
      settle_joined(result.tag, false);
      break;
    case core::Action::kRelease:
      // Backpressure: back as it came (x-deliveries unchanged), for this or another loader.
      if (return_as_new(result)) break;
      --in_flight_;
      ports_.broker.reject(result.tag, /*requeue=*/true);
      settle_joined(result.tag, false);
      break;
    case core::Action::kRequeue:
    case core::Action::kReject:
      // Still in flight until the republisher's receipt, with what joined it.
      if (auto joined = window_.finish(result.tag); !joined.empty()) joined_pending_[result.tag] = std::move(joined);
      ports_.republish.submit({result.generation, result.tag,
                               result.action == core::Action::kRequeue ? Route::kHolding : Route::kDeadLetters,
                               result.body, result.headers});
      break;
  }
}

// Takes no deliveries until `delay` has passed (the consumer is cancelled, by us or the broker).
void ConsumerLoop::suspend(const std::string& reason, std::chrono::milliseconds delay) {
  state_ = State::kPaused;
  pause_reason_ = reason;
  next_attempt_ = ports_.clock.now() + delay;
  show();  // readiness never lags the log line
}

// The environment is wrong: suspended with a capped backoff, and what has not started goes back.
void ConsumerLoop::pause(const std::string& reason) {
  ++pauses_;
  const auto delay = core::pause_delay(settings_.policy, pauses_);
  suspend(reason, delay);
  log::error("consumption paused: the environment is wrong, no message can succeed until it is fixed",
             {{"reason", reason},
              {"resume_in_s", std::to_string((delay.count() + 999) / 1000)},
              {"pause", std::to_string(pauses_)}});
  // Cancelled first: a message put back while we still consume would come straight back.
  ports_.broker.cancel();
  for (auto& job : ports_.jobs.take_all()) {
    if (job.generation != generation_) continue;
    --in_flight_;
    if (working_ > 0) --working_;
    ports_.broker.reject(job.tag, /*requeue=*/true);
    settle_joined(job.tag, false);
  }
  give_back_waiting();
}

void ConsumerLoop::lost(const std::string& reason) {
  log::warn("lost RabbitMQ connection; unacked messages will be redelivered",
            {{"reason", reason}, {"unacked", std::to_string(in_flight_)}});
  ports_.broker.close();
  rabbit_problem_ = reason;
  ++generation_;
  in_flight_ = 0;
  ports_.jobs.take_all();  // not started; the broker redelivers them
  working_ = 0;
  window_.clear();
  joined_pending_.clear();
  if (state_ == State::kConsuming) state_ = State::kConnecting;
  // Paused stays paused (it consumes again when due); draining stays draining.
  next_attempt_ = std::max(next_attempt_, ports_.clock.now());
  reconnect_attempt_ = 0;
}

// What /readyz says of the consumer.
void ConsumerLoop::show() {
  const bool open = ports_.broker.is_open();
  ports_.health.set("rabbitmq", open, rabbit_problem_.empty() ? "not connected" : rabbit_problem_);
  ports_.health.note("rabbitmq", open && !ports_.broker.node().empty() ? "node " + ports_.broker.node() : "");
  std::string why = "not connected to RabbitMQ";
  if (state_ == State::kDraining || state_ == State::kStopped) why = "draining: stopping";
  if (state_ == State::kPaused) why = "paused: " + pause_reason_;
  ports_.health.set("consuming", open && state_ == State::kConsuming, why);
  std::string paced;
  if (ports_.limiter != nullptr && ports_.limiter->holding_back()) {
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.1f", ports_.limiter->rate(capacity::Kind::kWrite));
    paced = std::string("paced by the table's capacity: ") + rate + " write units/s, " + std::to_string(share_) +
            " of " + std::to_string(settings_.prefetch) + " workers in use, " +
            std::to_string(ports_.limiter->waiting()) + " waiting for capacity";
  }
  ports_.health.note("consuming", paced);
}

}  // namespace qrl::daemon
