#pragma once
// The Lambda Runtime API (2018-06-01) as a client: the next invocation, its response, and the
// two kinds of error report. Its own HTTP connection, with no timeout: /next is a long poll
// during which Lambda may freeze the whole process.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "http/client.h"

namespace qrl::lambda {

struct Invocation {
  std::string request_id;
  std::string trace_id;
  core::Clock::time_point deadline;
  std::string body;
};

class RuntimeApi {
 public:
  RuntimeApi(const std::string& host_port, core::Clock& clock = core::system_clock());

  Invocation next();  // throws core::Error when the API is unreachable or refuses
  void respond(const std::string& request_id, const std::string& body);
  void invocation_error(const std::string& request_id, const std::string& type, const std::string& message);
  // Best effort: the process exits non-zero after it either way.
  void init_error(const std::string& type, const std::string& message) noexcept;

 private:
  void post(const std::string& path, const std::string& body, const std::string& error_type);

  std::string base_;
  http::Client http_;
  core::Clock& clock_;
};

// Time left before a Lambda-Runtime-Deadline-Ms value, at wall-clock `now_ms`: 0 when past,
// at most 15 minutes, 15 minutes when the header is absent or not a number.
std::chrono::milliseconds time_left(std::string_view deadline_header, std::int64_t now_ms);

}  // namespace qrl::lambda
