#pragma once
// What the loader reports about its work, as a small interface: the pipeline, the DynamoDB
// client and the two shells call it, and know nothing of Prometheus or CloudWatch. The base
// class records nothing (a command like `load` needs no figures); metrics::Registry
// (registry.h) keeps them.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "core/error.h"

namespace qrl::metrics {

// What became of a message's quiz.
enum class Outcome { kLoaded, kAlreadyLoaded, kDeadLettered, kRequeued, kPaused };

class Recorder {
 public:
  virtual ~Recorder() = default;
  // Time spent in one pipeline stage (read, build, write, delete) of one attempt.
  virtual void stage(core::Stage, std::chrono::nanoseconds) {}
  // The item written: its size by DynamoDB's rules.
  virtual void item(std::size_t) {}
  // One DynamoDB request: its operation, and "ok", "throttled", "retried" (a transient failure
  // the loader retries) or "failed" (one it does not).
  virtual void dynamodb_request(std::string_view, std::string_view) {}
  virtual void redis_round_trips(std::uint64_t) {}
  // A connection made again after one was lost: "rabbitmq", "redis".
  virtual void reconnect(std::string_view) {}
  // A message finished: its outcome, and the time from its delivery to the decision.
  virtual void quiz(Outcome, std::chrono::nanoseconds) {}
  virtual void in_flight(std::size_t) {}
  // Something that happened to quizzes, counted by name (qrl_quiz_events_total{event}):
  // "reused_id", "late_joiner_skipped", "finishing", "coalesced", "throttle_not_capacity", and the
  // sweep's actions.
  virtual void event(std::string_view, std::uint64_t) {}
  // DynamoDB capacity units of an operation: "consumed" (as DynamoDB answered) or "throttled"
  // (what a throttled request would have cost).
  virtual void capacity_units(std::string_view, std::string_view, double) {}
  // The rate the capacity limiter lets "read" or "write" units through (0: not pacing).
  virtual void limiter_rate(std::string_view, double) {}
  // Requests (one per message being worked on) waiting for the table's capacity now.
  virtual void waiting_for_capacity(std::size_t) {}
};

// A Recorder that records nothing.
Recorder& nothing();

// Passes everything on to a recorder that can be changed: Lambda wires its adapters to one
// Relay at init and points it at a fresh registry for each invocation.
class Relay final : public Recorder {
 public:
  void to(Recorder& target) { target_.store(&target); }
  void stage(core::Stage s, std::chrono::nanoseconds t) override { target_.load()->stage(s, t); }
  void item(std::size_t b) override { target_.load()->item(b); }
  void dynamodb_request(std::string_view o, std::string_view r) override {
    target_.load()->dynamodb_request(o, r);
  }
  void redis_round_trips(std::uint64_t n) override { target_.load()->redis_round_trips(n); }
  void reconnect(std::string_view s) override { target_.load()->reconnect(s); }
  void quiz(Outcome o, std::chrono::nanoseconds t) override { target_.load()->quiz(o, t); }
  void in_flight(std::size_t n) override { target_.load()->in_flight(n); }
  void event(std::string_view e, std::uint64_t n) override { target_.load()->event(e, n); }
  void capacity_units(std::string_view o, std::string_view k, double u) override {
    target_.load()->capacity_units(o, k, u);
  }
  void limiter_rate(std::string_view k, double r) override { target_.load()->limiter_rate(k, r); }
  void waiting_for_capacity(std::size_t n) override { target_.load()->waiting_for_capacity(n); }

 private:
  std::atomic<Recorder*> target_{&nothing()};
};

}  // namespace qrl::metrics
