#include "lambda/runtime_api.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "log/log.h"

namespace qrl::lambda {

namespace {

std::string error_body(const std::string& type, const std::string& message) {
  // A message may quote a setting's bytes: never let one that is not UTF-8 throw here.
  return nlohmann::json{{"errorMessage", message}, {"errorType", type}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

RuntimeApi::RuntimeApi(const std::string& host_port, core::Clock& clock)
    : base_("http://" + host_port + "/2018-06-01/runtime"), http_(std::chrono::milliseconds(0)), clock_(clock) {}

Invocation RuntimeApi::next() {
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
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.wall().time_since_epoch()).count();
  invocation.deadline = clock_.now() + time_left(response.header("lambda-runtime-deadline-ms"), now_ms);
  return invocation;
}

void RuntimeApi::respond(const std::string& request_id, const std::string& body) {
  post("/invocation/" + request_id + "/response", body, {});
}

void RuntimeApi::invocation_error(const std::string& request_id, const std::string& type,
                                  const std::string& message) {
  post("/invocation/" + request_id + "/error", error_body(type, message), type);
}

void RuntimeApi::init_error(const std::string& type, const std::string& message) noexcept {
  try {
    post("/init/error", error_body(type, message), type);
  } catch (const core::Error& e) {
    log::error("cannot report the init error", {{"reason", e.what()}});
  }
}

void RuntimeApi::post(const std::string& path, const std::string& body, const std::string& error_type) {
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

std::chrono::milliseconds time_left(std::string_view deadline_header, std::int64_t now_ms) {
  // The deadline is wall-clock epoch milliseconds. Parsed exactly and kept within what Lambda
  // allows (15 minutes), so no value of the header can overflow the steady clock's arithmetic.
  constexpr std::int64_t kMaxMs = 15 * 60 * 1000;
  std::int64_t deadline_ms = 0;
  auto [end, ec] =
      std::from_chars(deadline_header.data(), deadline_header.data() + deadline_header.size(), deadline_ms);
  if (ec != std::errc() || end != deadline_header.data() + deadline_header.size() || deadline_header.empty()) {
    return std::chrono::milliseconds(kMaxMs);  // no deadline given: the longest Lambda has
  }
  if (deadline_ms <= now_ms) return std::chrono::milliseconds(0);
  if (deadline_ms - now_ms > kMaxMs) return std::chrono::milliseconds(kMaxMs);
  return std::chrono::milliseconds(deadline_ms - now_ms);
}

}  // namespace qrl::lambda
