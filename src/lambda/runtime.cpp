#include "lambda/runtime.h"

// Lambda mode's shell, split as the AWS C++ runtime splits it: the Runtime API client
// (runtime_api.h), the handler of one invocation (handler.h), and this short loop around them.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "core/error.h"
#include "lambda/batch.h"
#include "lambda/handler.h"
#include "lambda/runtime_api.h"
#include "log/log.h"
#include "metrics/recorder.h"
#include "metrics/registry.h"
#include "sweep/sweep.h"
#include "wiring/open.h"

namespace qrl::lambda {

namespace {

struct Initialized {
  config::Config config;
  wiring::Opened opened;  // one limiter and one memory of loaded quizzes, kept across invocations
};

// Settings, then every server reached once; throws core::Error (config::ConfigError included).
Initialized init(const config::Env& env, metrics::Relay& relay, core::Clock& clock) {
  Initialized out;
  out.config = config::load_lambda(env);
  log::configure(out.config.loader.log_level, out.config.loader.log_format);
  wiring::OpenOptions options;
  options.workers = out.config.loader.workers;
  options.recorder = &relay;
  options.clock = &clock;
  out.opened = wiring::open_stores(out.config, env, options);
  return out;
}

std::vector<Worker> workers_of(const std::vector<std::unique_ptr<wiring::Stores>>& stores, std::chrono::milliseconds margin) {
  std::vector<Worker> workers;
  for (auto& s : stores) {
    workers.push_back({&s->pipeline, [stores = s.get(), margin](core::Clock::time_point d) { stores->set_deadline(d, margin); }});
  }
  return workers;
}

// An EventBridge schedule: a sweep on the first worker's stores, within the deadline; the
// answer is its summary.
void sweep_once(RuntimeApi& api, Initialized& ready, const Invocation& invocation, metrics::Relay& relay,
                const std::string& function_name) {
  auto& stores = ready.opened.first();
  auto& clock = stores.pipeline.clock();
  const auto margin = ready.config.loader.deadline_margin;
  stores.set_deadline(invocation.deadline, margin);
  auto near_deadline = [&] { return clock.now() + margin >= invocation.deadline; };
  metrics::Registry figures;
  relay.to(figures);
  auto report = wiring::run_sweep(stores, wiring::sweep_options(ready.config), ready.config, near_deadline, relay);
  relay.to(metrics::nothing());
  nlohmann::json answer = nlohmann::json::object();
  for (const auto& total : sweep::totals(report)) answer[total.name] = total.count;
  log::info("scheduled sweep done", {{"summary", answer.dump()}});
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock.wall().time_since_epoch()).count();
  std::fprintf(stdout, "%s\n", figures.emf("QuizResultLoader", function_name, now_ms).c_str());
  std::fflush(stdout);
  api.respond(invocation.request_id, answer.dump());
}

// One invocation: handled, its figures written, answered. False when the Runtime API is gone.
bool serve_one(RuntimeApi& api, Handler& handler, Initialized& ready, metrics::Relay& relay,
               const std::string& function_name) {
  auto invocation = api.next();
  ::setenv("_X_AMZN_TRACE_ID", invocation.trace_id.c_str(), 1);
  log::Context context({{"request_id", invocation.request_id}});
  if (log::enabled(log::Level::kDebug)) {
    const char* trace = std::getenv("_X_AMZN_TRACE_ID");  // as the process now has it
    log::debug("invocation received", {{"trace", trace == nullptr ? "" : trace}});
  }
  try {
    if (is_scheduled_event(invocation.body)) {
      try {
        sweep_once(api, ready, invocation, relay, function_name);
      } catch (const core::Error& e) {
        log::error("scheduled sweep failed", {{"reason", e.what()}});
        api.invocation_error(invocation.request_id, "SweepFailed", e.what());
      }
      return true;
    }
    auto answer = handler.handle(invocation.body, invocation.request_id, invocation.deadline);
    std::fprintf(stdout, "%s\n", answer.emf.c_str());
    std::fflush(stdout);
    api.respond(invocation.request_id, answer.response);
  } catch (const NotABatch& e) {
    log::error("invocation is not an SQS batch", {{"reason", e.what()}});
    api.invocation_error(invocation.request_id, "InvalidEvent", std::string("not an SQS batch: ") + e.what());
  }
  return true;
}

}  // namespace

int run(const config::Env& env) {
  auto address = env("AWS_LAMBDA_RUNTIME_API");
  if (!address) {
    log::error("AWS_LAMBDA_RUNTIME_API is not set: `lambda` runs inside AWS Lambda (or under a stand-in Runtime API)");
    return 1;
  }
  auto& clock = core::system_clock();  // the one the whole runtime reads
  RuntimeApi api(*address, clock);
  // The adapters report to the relay; each invocation points it at figures of its own.
  metrics::Relay relay;
  Initialized ready;
  try {
    ready = init(env, relay, clock);
  } catch (const core::Error& e) {
    log::error("init failed", {{"reason", e.what()}});
    api.init_error(e.code() == core::Code::kConfig ? "Runtime.ConfigError" : "Runtime.InitError", e.what());
    return 1;
  } catch (const std::exception& e) {  // whatever else: reported, never an abort
    log::error("init failed", {{"reason", e.what()}});
    api.init_error("Runtime.InitError", e.what());
    return 1;
  }
  const auto function_name = env("AWS_LAMBDA_FUNCTION_NAME").value_or("quiz-result-loader");
  Handler handler(workers_of(ready.opened.stores, ready.config.loader.deadline_margin), wiring::retry_policy(ready.config),
                  ready.config.loader.deadline_margin, relay, function_name, clock);
  handler.set_settle(ready.config.loader.settle);
  handler.set_limiter(ready.opened.limiter.get());
  try {
    while (serve_one(api, handler, ready, relay, function_name)) {
    }
  } catch (const core::Error& e) {
    log::error("runtime API unreachable", {{"reason", e.what()}});
  }
  return 1;
}

}  // namespace qrl::lambda
