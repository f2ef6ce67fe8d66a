#pragma once
// A stand-in for the Lambda Runtime API (2018-06-01): queue invocations, let the runtime under
// test long-poll them, and collect its responses, invocation errors and init errors.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "support/http_server.h"

namespace qrl::testing {

class RuntimeApi {
 public:
  struct Answer {
    std::string kind;  // "response", "error" or "init-error"
    std::string body;
    std::string error_type;  // Lambda-Runtime-Function-Error-Type
  };

  RuntimeApi();
  ~RuntimeApi();
  std::string address() const { return server_->address(); }

  // Queues an invocation; returns its request id.
  std::string invoke(const std::string& event,
                     std::chrono::milliseconds deadline_in = std::chrono::seconds(60),
                     const std::string& trace_id = "Root=1-5759e988-bd862e3fe1be46a994272793");
  std::optional<Answer> answer(const std::string& request_id, std::chrono::milliseconds timeout);
  std::optional<Answer> init_error(std::chrono::milliseconds timeout);
  // When the first /next arrived (for the cold-start benchmark).
  std::optional<std::chrono::steady_clock::time_point> first_next() const;
  int next_calls() const;

 private:
  HttpResponse handle(const HttpRequest& request);

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  struct Pending {
    std::string id, event, trace;
    long long deadline_ms;
  };
  std::deque<Pending> pending_;
  std::map<std::string, Answer> answers_;
  std::optional<Answer> init_error_;
  std::optional<std::chrono::steady_clock::time_point> first_next_;
  int next_calls_ = 0;
  int counter_ = 0;
  bool stopping_ = false;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace qrl::testing
