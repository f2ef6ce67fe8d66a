#include "lambda/runtime.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "http/client.h"
#include "lambda/batch.h"
#include "log/log.h"
#include "metrics/registry.h"
#include "wiring/aws.h"
#include "wiring/stores.h"

namespace qrl::lambda {

namespace {

using Clock = std::chrono::steady_clock;

struct Invocation {
  std::string request_id;
  std::string trace_id;
  Clock::time_point deadline;
  std::string body;
};

// The Runtime API's four calls. Its own HTTP connection, with no timeout: /next is a long poll
// during which Lambda may freeze the whole process.
class RuntimeApi {
 public:
  explicit RuntimeApi(const std::string& host_port)
      : base_("http://" + host_port + "/2018-06-01/runtime"), http_(std::chrono::milliseconds(0)) {}

  Invocation next() {
    http::Request request;
    request.url = base_ + "/invocation/next";
    auto response = http_.send(request);
    if (response.status != 200) {
      throw core::transient_error(core::Stage::kSetup,
                                  "runtime API /next answered HTTP " + std::to_string(response.status));
    }
    Invocation invocation;
    invocation.request_id = response.header("lambda-runtime-aws-request-id");
    invocation.trace_id = response.header("lambda-runtime-trace-id");
    invocation.body = std::move(response.body);
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    invocation.deadline = Clock::now() + time_left(response.header("lambda-runtime-deadline-ms"), now_ms);
    return invocation;
  }

  void respond(const std::string& request_id, const std::string& body) {
    post("/invocation/" + request_id + "/response", body, {});
  }

  void invocation_error(const std::string& request_id, const std::string& type, const std::string& message) {
    post("/invocation/" + request_id + "/error", error_body(type, message), type);
  }

  // Best effort: the process exits non-zero after it either way.
  void init_error(const std::string& type, const std::string& message) noexcept {
    try {
      post("/init/error", error_body(type, message), type);
    } catch (const core::Error& e) {
      log::error("cannot report the init error", {{"reason", e.what()}});
    }
  }

 private:
  static std::string error_body(const std::string& type, const std::string& message) {
    // A message may quote a setting's bytes: never let one that is not UTF-8 throw here.
    return nlohmann::json{{"errorMessage", message}, {"errorType", type}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  void post(const std::string& path, const std::string& body, const std::string& error_type) {
    http::Request request;
    request.method = "POST";
    request.url = base_ + path;
    request.body = body;
    request.headers = {"Content-Type: application/json"};
    if (!error_type.empty()) request.headers.push_back("Lambda-Runtime-Function-Error-Type: " + error_type);
    auto response = http_.send(request);
    if (response.status >= 300) {
      log::error("runtime API refused a post", {{"path", path}, {"status", std::to_string(response.status)}});
    }
  }

  std::string base_;
  http::Client http_;
};

}  // namespace

std::chrono::milliseconds time_left(std::string_view deadline_header, std::int64_t now_ms) {
  // The deadline is wall-clock epoch milliseconds. Parsed exactly and kept within what Lambda
  // allows (15 minutes), so no value of the header can overflow the steady clock's arithmetic.
  constexpr std::int64_t kMaxMs = 15 * 60 * 1000;
  std::int64_t deadline_ms = 0;
  auto [end, ec] =
      std::from_chars(deadline_header.data(), deadline_header.data() + deadline_header.size(), deadline_ms);
  if (ec != std::errc() || end != deadline_header.data() + deadline_header.size() ||
      deadline_header.empty()) {
    return std::chrono::milliseconds(kMaxMs);  // no deadline given: the longest Lambda has
  }
  if (deadline_ms <= now_ms) return std::chrono::milliseconds(0);
  if (deadline_ms - now_ms > kMaxMs) return std::chrono::milliseconds(kMaxMs);
  return std::chrono::milliseconds(deadline_ms - now_ms);
}

int run(const config::Env& env) {
  auto api = env("AWS_LAMBDA_RUNTIME_API");
  if (!api) {
    log::error(
        "AWS_LAMBDA_RUNTIME_API is not set: `lambda` runs inside AWS Lambda (or under a stand-in Runtime "
        "API)");
    return 1;
  }
  RuntimeApi runtime(*api);

  config::Config config;
  std::vector<std::unique_ptr<wiring::Stores>> stores;
  // The adapters report to the relay; each invocation points it at figures of its own.
  metrics::Relay relay;
  const std::string function_name = env("AWS_LAMBDA_FUNCTION_NAME").value_or("quiz-result-loader");
  try {
    config = config::load_lambda(env);
    log::configure(config.loader.log_level, config.loader.log_format);
    auto aws = wiring::resolve_aws(config, env);
    for (int i = 0; i < config.loader.workers; ++i)
      stores.push_back(std::make_unique<wiring::Stores>(config, aws, relay));
    stores.front()->live.connect();
    stores.front()->items.ensure_table();
  } catch (const config::ConfigError& e) {
    log::error("init failed", {{"reason", e.what()}});
    runtime.init_error("Runtime.ConfigError", e.what());
    return 1;
  } catch (const core::Error& e) {
    log::error("init failed", {{"reason", e.what()}});
    runtime.init_error("Runtime.InitError", e.what());
    return 1;
  } catch (const std::exception& e) {
    // Whatever else: reported, never an abort.
    log::error("init failed", {{"reason", e.what()}});
    runtime.init_error("Runtime.InitError", e.what());
    return 1;
  }
  const auto policy = wiring::retry_policy(config);
  const auto margin = config.loader.deadline_margin;
  core::RetryQuota quota;

  for (;;) {
    Invocation invocation;
    try {
      invocation = runtime.next();
    } catch (const core::Error& e) {
      log::error("runtime API unreachable", {{"reason", e.what()}});
      return 1;
    }
    ::setenv("_X_AMZN_TRACE_ID", invocation.trace_id.c_str(), 1);
    log::Context context({{"request_id", invocation.request_id}});
    if (log::enabled(log::Level::kDebug)) {
      const char* trace = std::getenv("_X_AMZN_TRACE_ID");
      log::debug("invocation received", {{"trace", trace == nullptr ? "" : trace}});
    }

    Batch batch;
    try {
      batch = parse_batch(invocation.body);
    } catch (const NotABatch& e) {
      log::error("invocation is not an SQS batch", {{"reason", e.what()}});
      try {
        runtime.invocation_error(invocation.request_id, "InvalidEvent",
                                 std::string("not an SQS batch: ") + e.what());
      } catch (const core::Error& error) {
        log::error("runtime API unreachable", {{"reason", error.what()}});
        return 1;
      }
      continue;
    }
    metrics::Registry figures;
    relay.to(figures);
    const auto deadline = invocation.deadline;
    for (auto& s : stores) s->items.set_deadline(deadline);
    auto time_left = [&] { return Clock::now() + margin < deadline; };
    auto sleep = [&](std::chrono::milliseconds delay) {
      if (Clock::now() + delay + margin >= deadline) return false;
      std::this_thread::sleep_for(delay);
      return true;
    };
    auto results = run_batch(
        batch, config.loader.workers,
        [&](const Record& record, int worker) {
          log::Context record_context(
              {{"request_id", invocation.request_id}, {"message_id", record.message_id}});
          // SQS counts receives and dead-letters by the queue's redrive policy: deliveries 0.
          const auto started = Clock::now();
          auto result = pipeline::process_message(stores[static_cast<std::size_t>(worker)]->pipeline,
                                                  record.body, policy, sleep, 0, &quota);
          // A record that fails goes back to SQS, whose redrive policy dead-letters it.
          auto outcome = metrics::Outcome::kRequeued;
          if (result.action == core::Action::kAck) {
            outcome = result.outcome == pipeline::Outcome::kAlreadyLoaded ? metrics::Outcome::kAlreadyLoaded
                                                                          : metrics::Outcome::kLoaded;
          } else if (result.action == core::Action::kPause) {
            outcome = metrics::Outcome::kPaused;
          }
          figures.quiz(outcome, Clock::now() - started);
          if (result.action == core::Action::kPause)
            log::error("record failed: the environment is wrong",
                       {{"remedy", core::remedy(*result.failure)}});
          return result.action == core::Action::kAck;
        },
        time_left);

    std::size_t failed = 0, skipped = 0;
    for (auto r : results) {
      failed += r == RecordResult::kFailed ? 1 : 0;
      skipped += r == RecordResult::kSkipped ? 1 : 0;
    }
    if (skipped > 0) {
      log::warn("records not processed (deadline near, or after a failure in their FIFO group)",
                {{"skipped", std::to_string(skipped)}});
    }
    log::info("batch done", {{"records", std::to_string(batch.records.size())},
                             {"failed", std::to_string(failed + skipped)}});
    // The invocation's figures, once, as a CloudWatch Embedded Metric Format line of its own.
    relay.to(metrics::nothing());
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    std::fprintf(stdout, "%s\n", figures.emf("QuizResultLoader", function_name, now_ms).c_str());
    std::fflush(stdout);
    try {
      runtime.respond(invocation.request_id, batch_response(batch, results));
    } catch (const core::Error& e) {
      log::error("runtime API unreachable", {{"reason", e.what()}});
      return 1;
    }
  }
}

}  // namespace qrl::lambda
