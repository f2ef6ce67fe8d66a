#include "daemon/serve.h"

// The main thread owns the AMQP connection and does nothing but move messages: it hands
// deliveries to the workers and, when they report back, acks, rejects or requeues. It never
// blocks on quiz work, so rabbitmq-c (which services heartbeats only inside its own calls) is
// called at least every 100 ms. Workers own their Redis and DynamoDB connections; the two
// queues between the threads are the only shared state.
//
// A message is acked only after its item is written and its sources deleted. A lost AMQP
// connection invalidates every delivery tag of its channel: the results of jobs from the old
// connection are dropped (the broker redelivers those messages) and a new connection is made.
//
// What happens to a message that did not load is core::decide's: a transient failure goes to
// the holding queue <queue>.retry, from which the broker returns it after requeue_delay_s, with
// its delivery count in the header x-deliveries (so no message comes round in a tight loop,
// and one that keeps failing reaches the dead-letter queue with its history); an environment
// failure puts the message back untouched and pauses consumption with a capped backoff.

#include <malloc.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "amqp/connection.h"
#include "core/error.h"
#include "core/transform.h"
#include "health/health.h"
#include "log/log.h"
#include "metrics/registry.h"
#include "pipeline/failpoint.h"
#include "wiring/aws.h"
#include "wiring/stores.h"

namespace qrl::daemon {

namespace {

using Clock = std::chrono::steady_clock;

// Returns the free memory of glibc's malloc arenas to the system. Under AddressSanitizer the
// heap is the sanitizer's and glibc's malloc is never set up before this call: two workers
// making the first call at once race in its lazy set-up, and one walks bins not yet made (a
// crash the sanitized suite met). Nothing to give back there anyway, so a sanitized build skips it.
void give_back_free_memory() {
#ifndef __SANITIZE_ADDRESS__
  malloc_trim(0);
#endif
}

struct Job {
  std::uint64_t generation;
  std::uint64_t tag;
  std::string body;
  int deliveries;       // this one included
  std::string history;  // x-failure-history of the earlier deliveries
  Clock::time_point delivered;
};

struct Done {
  std::uint64_t generation;
  std::uint64_t tag;
  core::Action action;
  std::string body;       // kept for a requeue or a dead letter, which carry it byte for byte
  amqp::Headers headers;  // why, for a requeue or a dead letter
  std::string reason;     // for the pause's log line
};

constexpr const char* kDeliveries = "x-deliveries";
constexpr const char* kHistory = "x-failure-history";
constexpr std::size_t kHistoryLines = 10;

int deliveries_of(const amqp::Headers& headers) {
  auto it = headers.find(kDeliveries);
  if (it == headers.end()) return 1;
  int n = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
  if (ec != std::errc() || n < 0 || n > 1000000) return 1;
  return n + 1;
}

// The earlier failures plus this one, one line each, the newest last, at most kHistoryLines.
std::string with_failure(const std::string& history, const std::string& at, const std::string& reason) {
  std::string line = at + " " + reason.substr(0, 300);
  std::string out = history.empty() ? line : history + "\n" + line;
  std::size_t lines = static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n')) + 1;
  while (lines-- > kHistoryLines) out.erase(0, out.find('\n') + 1);
  return out;
}

template <typename T>
class Channel {
 public:
  void push(T value) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(std::move(value));
    }
    ready_.notify_one();
  }
  // Blocks until an item or close(); empty when closed and drained.
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return std::nullopt;
    T value = std::move(items_.front());
    items_.pop_front();
    return value;
  }
  bool empty() {
    std::lock_guard lock(mutex_);
    return items_.empty();
  }
  std::deque<T> take_all() {
    std::lock_guard lock(mutex_);
    return std::exchange(items_, {});
  }
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<T> items_;
  bool closed_ = false;
};

class WakeFd {
 public:
  WakeFd() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw core::transient_error(core::Stage::kSetup, "eventfd failed");
  }
  ~WakeFd() { ::close(fd_); }
  WakeFd(const WakeFd&) = delete;
  WakeFd& operator=(const WakeFd&) = delete;
  int fd() const { return fd_; }
  void notify() {
    std::uint64_t one = 1;
    (void)!::write(fd_, &one, sizeof one);
  }
  void clear() {
    std::uint64_t value = 0;
    (void)!::read(fd_, &value, sizeof value);
  }

 private:
  int fd_;
};

// SIGTERM/SIGINT are blocked in every thread and taken by this one: the first asks for a
// drain, the second for an immediate exit.
class Signals {
 public:
  Signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int signal : {SIGTERM, SIGINT, SIGUSR2}) sigaddset(&set, signal);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    thread_ = std::thread([this, set] {
      for (;;) {
        int signal = 0;
        if (sigwait(&set, &signal) != 0) continue;
        if (signal == SIGUSR2) return;  // our own wake-up at exit
        int n = ++count_;
        log::info(n == 1 ? "stop requested: draining" : "second stop request: exiting now",
                  {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
      }
    });
  }
  ~Signals() {
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
  }
  Signals(const Signals&) = delete;
  Signals& operator=(const Signals&) = delete;
  int count() const { return count_.load(); }

 private:
  std::atomic<int> count_{0};
  std::thread thread_;
};

std::optional<amqp::Connection> connect_consumer(const config::Config& config, bool start) {
  amqp::Connection connection(config.rabbit);
  connection.declare_queue(config.rabbit.queue_name);
  connection.declare_queue(config.rabbit.dead_letter_queue);
  connection.declare_delay_queue(config.rabbit.retry_queue, config.rabbit.queue_name);
  if (start) connection.consume(config.rabbit.queue_name, static_cast<std::uint16_t>(config.loader.workers));
  return connection;
}

// Dead letters go out on a connection of their own, in confirm mode: waiting for a confirm
// there cannot swallow a delivery meant for the consumer. It sits idle between dead letters,
// when rabbitmq-c could not answer heartbeats, so it asks for none (a dead socket shows as a
// missing confirm, and the message goes back to the queue).
amqp::Connection connect_publisher(const config::Config& config) {
  amqp::Connection connection(config.rabbit, std::chrono::seconds(0));
  connection.declare_queue(config.rabbit.dead_letter_queue);
  connection.declare_delay_queue(config.rabbit.retry_queue, config.rabbit.queue_name);
  connection.enable_confirms();
  return connection;
}

// Headers of a message that goes to the holding queue or the dead-letter queue: why, and the
// history of its deliveries.
amqp::Headers failure_headers(const config::Config& config, const pipeline::JobResult& result,
                              const Job& job) {
  const auto& failure = *result.failure;
  const auto now = core::rfc3339_utc(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  std::string reason = failure.what();
  if (failure.transient() && result.action == core::Action::kReject) {
    reason = "gave up after " + std::to_string(job.deliveries) + " deliveries: " + reason;
  }
  amqp::Headers headers = {
      {"x-failure-reason", reason},
      {"x-failure-stage", std::string(core::to_string(failure.stage()))},
      {"x-failed-at", now},
      {"x-attempts", std::to_string(std::max(result.attempts, 1))},
      {"x-original-queue", config.rabbit.queue_name},
      {kDeliveries, std::to_string(job.deliveries)},
      {kHistory, with_failure(job.history, now, failure.what())},
  };
  if (!failure.key().empty()) headers["x-failure-key"] = failure.key();
  if (result.event) {
    headers["x-quiz-id"] = result.event->quiz_id;
    if (!result.event->id.empty()) headers["x-event-id"] = result.event->id;
  }
  return headers;
}

// Publishes a dead letter, or a requeue to the holding queue, and waits for its confirm; false
// (and the publisher dropped, to be remade) if the broker did not take it.
bool republish(std::optional<amqp::Connection>& publisher, const config::Config& config, const Done& done) {
  const bool requeue = done.action == core::Action::kRequeue;
  const auto& queue = requeue ? config.rabbit.retry_queue : config.rabbit.dead_letter_queue;
  try {
    if (!publisher) publisher = connect_publisher(config);
    std::optional<std::chrono::milliseconds> expiration;
    if (requeue) expiration = config.loader.requeue_delay;
    publisher->publish(queue, done.body, done.headers, expiration);
    auto quiz = done.headers.find("x-quiz-id");
    log::info(requeue ? "requeued after a delay" : "dead-lettered",
              {{"queue", queue},
               {"quiz", quiz == done.headers.end() ? "" : quiz->second},
               {"deliveries", done.headers.at(kDeliveries)}});
    return true;
  } catch (const core::Error& e) {
    log::warn("cannot publish to the holding or dead-letter queue; the message goes back to the queue",
              {{"queue", queue}, {"reason", e.what()}});
    publisher.reset();
    return false;
  }
}

constexpr core::RetryPolicy kReconnect{0, std::chrono::milliseconds(200), std::chrono::milliseconds(10000)};

metrics::Outcome outcome_of(const pipeline::JobResult& result) {
  switch (result.action) {
    case core::Action::kAck:
      return result.outcome == pipeline::Outcome::kAlreadyLoaded ? metrics::Outcome::kAlreadyLoaded
                                                                 : metrics::Outcome::kLoaded;
    case core::Action::kReject: return metrics::Outcome::kDeadLettered;
    case core::Action::kRequeue: return metrics::Outcome::kRequeued;
    case core::Action::kPause: return metrics::Outcome::kPaused;
  }
  return metrics::Outcome::kRequeued;
}

// Readiness probes of the servers the workers use, with the workers' own settings: a Redis
// login and PING, and a DescribeTable. Each keeps its connection between probes.
std::vector<std::pair<std::string, health::Prober::Check>> probes(
    const config::Config& config, std::shared_ptr<credentials::Provider> aws) {
  const auto timeout =
      std::min<std::chrono::milliseconds>(config.loader.request_timeout, std::chrono::seconds(4));
  auto redis = std::make_shared<std::optional<redis::Connection>>();
  auto dynamo = std::make_shared<dynamodb::Client>(config.dynamo, std::move(aws), timeout);
  const std::string describe = nlohmann::json{{"TableName", config.dynamo.table}}.dump();
  return {
      {"redis",
       [redis, settings = config.redis, timeout] {
         try {
           if (!*redis) redis->emplace(settings, timeout);
           auto reply = (*redis)->command({"PING"});
           if (reply->type == REDIS_REPLY_ERROR) throw core::transient_error(core::Stage::kSetup, reply->str);
         } catch (...) {
           redis->reset();
           throw;
         }
       }},
      {"dynamodb", [dynamo, describe] { dynamo->call("DescribeTable", describe); }},
  };
}

}  // namespace

int serve(config::Config config, const config::Env& env) {
  Signals signals;
  metrics::Registry registry;
  health::State health;

  // Every server is reached once before any message is taken, for one clear error.
  std::vector<std::unique_ptr<wiring::Stores>> stores;
  std::optional<amqp::Connection> consumer;
  std::optional<amqp::Connection> publisher;
  std::unique_ptr<health::Endpoint> endpoint;
  std::unique_ptr<health::Prober> prober;
  try {
    auto aws = wiring::resolve_aws(config, env);
    log::info("starting", {{"config", config::describe(config)}});
    for (int i = 0; i < config.loader.workers; ++i)
      stores.push_back(std::make_unique<wiring::Stores>(config, aws, registry));
    stores.front()->live.connect();
    stores.front()->items.ensure_table();
    consumer = connect_consumer(config, /*start=*/true);
    publisher = connect_publisher(config);
    if (config.loader.metrics_port) {
      endpoint = std::make_unique<health::Endpoint>(*config.loader.metrics_port, health, registry);
      prober = std::make_unique<health::Prober>(health, probes(config, aws), std::chrono::seconds(5));
      log::info("serving /metrics, /healthz and /readyz",
                {{"port", std::to_string(*config.loader.metrics_port)}});
    }
  } catch (const core::Error& e) {
    log::error("cannot start", {{"reason", e.what()}});
    return 1;
  }

  Channel<Job> jobs;
  Channel<Done> done;
  // Workers poke this after each result so the AMQP thread acks at once, not at its next poll.
  WakeFd wake;
  std::atomic<bool> stop_retrying{false};
  const auto policy = wiring::retry_policy(config);
  core::RetryQuota quota;  // shared: an outage stops every worker's retries, not one's
  std::vector<std::thread> workers;
  workers.reserve(stores.size());
  for (auto& worker_stores : stores) {
    workers.emplace_back([&, s = worker_stores.get()] {
      auto sleep = pipeline::interruptible_sleeper([&] { return stop_retrying.load(); });
      while (auto job = jobs.pop()) {
        auto result =
            pipeline::process_message(s->pipeline, job->body, policy, sleep, job->deliveries, &quota);
        registry.quiz(outcome_of(result), Clock::now() - job->delivered);
        Done finished{job->generation, job->tag, result.action, {}, {}, {}};
        if (result.action == core::Action::kReject || result.action == core::Action::kRequeue) {
          finished.headers = failure_headers(config, result, *job);
          finished.body = std::move(job->body);
        }
        if (result.failure) finished.reason = result.failure->what();
        if (result.action == core::Action::kPause) finished.reason += "; " + core::remedy(*result.failure);
        done.push(std::move(finished));
        wake.notify();
        // A big quiz leaves its windows' memory in this thread's malloc arena, where glibc keeps
        // it; when no work is waiting, give it back, so an idle daemon returns to its baseline.
        if (jobs.empty()) give_back_free_memory();
      }
    });
  }

  std::uint64_t generation = 1;
  std::size_t in_flight = 0;  // deliveries of the current connection not yet settled
  bool draining = false;
  bool abandoned = false;
  Clock::time_point drain_deadline{};
  int reconnect_attempt = 0;
  Clock::time_point next_reconnect{};
  // Paused: not consuming until `resume_at`, after an environment failure.
  bool paused = false;
  int pauses = 0;  // consecutive ones, reset by a success
  Clock::time_point resume_at{};
  std::string pause_reason;
  std::string rabbit_problem = "not connected";
  // What /readyz says of the consumer. Set at every turn of the loop, and at once when it pauses,
  // so readiness never lags the "consumption paused" line.
  auto show_state = [&] {
    health.set("rabbitmq", consumer.has_value(), rabbit_problem);
    health.set("consuming", consumer && !paused && !draining,
               draining ? "draining: stopping"
               : paused ? "paused: " + pause_reason
                        : "not connected to RabbitMQ");
  };
  auto pause = [&](const std::string& reason) {
    if (paused) return;
    paused = true;
    pause_reason = reason;
    show_state();
    ++pauses;
    const auto delay = core::pause_delay(policy, pauses);
    resume_at = Clock::now() + delay;
    log::error("consumption paused: the environment is wrong, no message can succeed until it is fixed",
               {{"reason", reason},
                {"resume_in_s", std::to_string((delay.count() + 999) / 1000)},
                {"pause", std::to_string(pauses)}});
    if (consumer) consumer->cancel();
    // Messages not yet started go back untouched.
    for (auto& job : jobs.take_all()) {
      if (job.generation != generation) continue;
      --in_flight;
      consumer->reject(job.tag, /*requeue=*/true);
    }
  };
  log::info("consuming",
            {{"queue", config.rabbit.queue_name}, {"workers", std::to_string(config.loader.workers)}});

  for (;;) {
    health.tick();
    show_state();
    registry.in_flight(in_flight);
    if (signals.count() >= 2) {
      abandoned = in_flight > 0;
      break;
    }
    if (signals.count() >= 1 && !draining) {
      draining = true;
      stop_retrying = true;
      drain_deadline = Clock::now() + config.loader.drain_timeout;
      if (consumer) {
        try {
          consumer->cancel();
        } catch (const core::Error& e) {
          log::warn("lost RabbitMQ connection while stopping", {{"reason", e.what()}});
          consumer.reset();
        }
      }
    }
    if (draining && (in_flight == 0 || !consumer)) break;
    if (draining && Clock::now() > drain_deadline) {
      log::warn("drain timeout: leaving unfinished messages to be redelivered",
                {{"in_flight", std::to_string(in_flight)}});
      abandoned = true;
      break;
    }

    if (!consumer) {
      // Capped exponential backoff between reconnects, waited in slices so a signal still
      // stops the daemon at once.
      if (Clock::now() < next_reconnect) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      try {
        consumer = connect_consumer(config, /*start=*/!paused);
        registry.reconnect("rabbitmq");
        log::info("reconnected to RabbitMQ", {{"attempt", std::to_string(reconnect_attempt + 1)}});
        reconnect_attempt = 0;
      } catch (const core::Error& e) {
        ++reconnect_attempt;
        next_reconnect = Clock::now() + core::backoff_delay(kReconnect, reconnect_attempt,
                                                            0.5 + pipeline::unit_random() / 2);
        rabbit_problem = e.what();
        if (reconnect_attempt % 10 == 1) log::warn("cannot reconnect to RabbitMQ", {{"reason", e.what()}});
      }
      continue;
    }

    try {
      if (paused && !draining && Clock::now() >= resume_at) {
        consumer->consume(config.rabbit.queue_name, static_cast<std::uint16_t>(config.loader.workers));
        paused = false;
        log::info("consumption resumed", {{"after_pauses", std::to_string(pauses)}});
      }
      auto message = consumer->next(std::chrono::milliseconds(100), wake.fd());
      if (message && paused) {
        // Sent before the broker saw our cancel: back untouched, not worked on.
        consumer->reject(message->delivery_tag, /*requeue=*/true);
        message.reset();
      }
      if (message) {
        ++in_flight;
        const int deliveries = deliveries_of(message->headers);
        auto history = message->headers[kHistory];
        jobs.push({generation, message->delivery_tag, std::move(message->body), deliveries,
                   std::move(history), Clock::now()});
      }
      wake.clear();
      for (auto& result : done.take_all()) {
        if (result.generation != generation) continue;  // its channel is gone; redelivered
        --in_flight;
        pipeline::failpoint("before-ack");
        switch (result.action) {
          case core::Action::kAck:
            consumer->ack(result.tag);
            pauses = 0;
            break;
          case core::Action::kPause:
            // Cancel first: a message put back while we still consume would come straight back.
            if (!draining) pause(result.reason);
            consumer->reject(result.tag, /*requeue=*/true);
            break;
          case core::Action::kRequeue:
          case core::Action::kReject:
            // Confirmed in the holding or dead-letter queue first, then acked: a crash in
            // between leaves the message in two places, never in none.
            if (republish(publisher, config, result)) {
              consumer->ack(result.tag);
            } else {
              consumer->reject(result.tag, /*requeue=*/true);
            }
            break;
        }
      }
    } catch (const core::Error& e) {
      log::warn("lost RabbitMQ connection; unacked messages will be redelivered", {{"reason", e.what()}});
      rabbit_problem = e.what();
      consumer.reset();
      ++generation;
      in_flight = 0;
      jobs.take_all();  // not started; the broker redelivers them
    }
  }

  if (consumer) consumer->close();
  if (publisher) publisher->close();
  if (abandoned) {
    // Workers may be inside a request; their messages are unacked and the broker has them.
    log::warn("stopped with unfinished messages; they will be redelivered");
    std::fflush(nullptr);
    std::_Exit(1);
  }
  jobs.close();
  for (auto& worker : workers) worker.join();
  log::info("stopped");
  return 0;
}

}  // namespace qrl::daemon
