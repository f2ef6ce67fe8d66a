#include "support/runtime_api.h"

namespace qrl::testing {

namespace {
constexpr std::string_view kPrefix = "/2018-06-01/runtime/";
}

RuntimeApi::RuntimeApi()
    : server_(std::make_unique<HttpServer>([this](const HttpRequest& r) { return handle(r); })) {}

RuntimeApi::~RuntimeApi() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  server_.reset();
}

std::string RuntimeApi::invoke(const std::string& event, std::chrono::milliseconds deadline_in,
                               const std::string& trace_id) {
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  std::lock_guard lock(mutex_);
  std::string id = "req-" + std::to_string(++counter_);
  pending_.push_back({id, event, trace_id, now_ms + deadline_in.count()});
  changed_.notify_all();
  return id;
}

std::optional<RuntimeApi::Answer> RuntimeApi::answer(const std::string& request_id,
                                                     std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return answers_.count(request_id) > 0; });
  auto it = answers_.find(request_id);
  if (it == answers_.end()) return std::nullopt;
  return it->second;
}

std::optional<RuntimeApi::Answer> RuntimeApi::init_error(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return init_error_.has_value(); });
  return init_error_;
}

std::optional<std::chrono::steady_clock::time_point> RuntimeApi::first_next() const {
  std::lock_guard lock(mutex_);
  return first_next_;
}

int RuntimeApi::next_calls() const {
  std::lock_guard lock(mutex_);
  return next_calls_;
}

HttpResponse RuntimeApi::handle(const HttpRequest& request) {
  if (request.path.rfind(kPrefix, 0) != 0) return {404, {}, "unknown path"};
  std::string path = request.path.substr(kPrefix.size());
  std::unique_lock lock(mutex_);
  if (request.method == "GET" && path == "invocation/next") {
    ++next_calls_;
    if (!first_next_) first_next_ = std::chrono::steady_clock::now();
    changed_.notify_all();
    changed_.wait(lock, [&] { return !pending_.empty() || stopping_; });
    if (stopping_) return {0, {}, {}};
    auto p = pending_.front();
    pending_.pop_front();
    return {200,
            {{"Lambda-Runtime-Aws-Request-Id", p.id},
             {"Lambda-Runtime-Deadline-Ms", std::to_string(p.deadline_ms)},
             {"Lambda-Runtime-Trace-Id", p.trace},
             {"Lambda-Runtime-Invoked-Function-Arn",
              "arn:aws:lambda:us-east-1:123456789012:function:quiz-result-loader"},
             {"Content-Type", "application/json"}},
            p.event};
  }
  if (request.method == "POST" && path == "init/error") {
    init_error_ = Answer{"init-error", request.body, request.header("lambda-runtime-function-error-type")};
    changed_.notify_all();
    return {202, {}, R"({"status":"OK"})"};
  }
  const std::string invocation = "invocation/";
  if (request.method == "POST" && path.rfind(invocation, 0) == 0) {
    auto rest = path.substr(invocation.size());
    auto slash = rest.find('/');
    auto id = rest.substr(0, slash);
    auto kind = rest.substr(slash + 1);
    if (kind == "response" || kind == "error") {
      answers_[id] = Answer{kind, request.body, request.header("lambda-runtime-function-error-type")};
      changed_.notify_all();
      return {202, {}, R"({"status":"OK"})"};
    }
  }
  return {404, {}, "unknown path"};
}

}  // namespace qrl::testing
