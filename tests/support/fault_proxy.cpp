#include "support/fault_proxy.h"

#include <random>
#include <thread>

#include "core/error.h"
#include "http/client.h"

namespace qrl::testing {

namespace {

HttpResponse error(int status, const std::string& type, const std::string& message) {
  return {status,
          {{"Content-Type", "application/x-amz-json-1.0"}},
          R"({"__type":"com.amazonaws.dynamodb.v20120810#)" + type + R"(","message":")" + message + R"("})"};
}

std::string name(Fault fault) {
  switch (fault) {
    case Fault::kThrottle: return "throttling";
    case Fault::kProvisioned: return "throughput-exceeded";
    case Fault::kServerError: return "http-500";
    case Fault::kResetBefore: return "reset-before-write";
    case Fault::kResetAfter: return "reset-after-write";
    case Fault::kInvalid: return "validation";
    case Fault::kDelay: return "delay";
    case Fault::kBadCrc: return "bad-crc32";
    case Fault::kExpiredToken: return "expired-token";
    case Fault::kNone: break;
  }
  return "none";
}

}  // namespace

FaultProxy::FaultProxy(std::string target_url)
    : target_(std::move(target_url)),
      server_(std::make_unique<HttpServer>([this](const HttpRequest& r) { return handle(r); })) {}

FaultProxy::~FaultProxy() {
  server_.reset();
}

void FaultProxy::set_policy(Policy policy) {
  std::lock_guard lock(mutex_);
  policy_ = std::move(policy);
}

std::map<Fault, int> FaultProxy::injected() const {
  std::lock_guard lock(mutex_);
  return injected_;
}

int FaultProxy::total_injected() const {
  int n = 0;
  for (const auto& [fault, count] : injected()) n += fault == Fault::kDelay ? 0 : count;
  return n;
}

std::string FaultProxy::summary() const {
  std::string out;
  for (const auto& [fault, count] : injected())
    out += (out.empty() ? "" : ", ") + std::to_string(count) + " " + name(fault);
  return out.empty() ? "none" : out;
}

FaultProxy::Policy FaultProxy::random(int percent, std::vector<Fault> faults, unsigned seed) {
  auto rng = std::make_shared<std::mt19937>(seed);
  auto mutex = std::make_shared<std::mutex>();
  return [=](const std::string&, const std::string&) {
    std::lock_guard lock(*mutex);
    if (static_cast<int>((*rng)() % 100) >= percent) return Fault::kNone;
    return faults[(*rng)() % faults.size()];
  };
}

FaultProxy::Policy FaultProxy::random_throttles(unsigned seed) {
  auto rng = std::make_shared<std::mt19937>(seed);
  auto mutex = std::make_shared<std::mutex>();
  return [=](const std::string&, const std::string&) {
    std::lock_guard lock(*mutex);
    const auto r = std::uniform_real_distribution<double>(0, 1)(*rng);
    return r < 0.15   ? Fault::kThrottle
           : r < 0.30 ? Fault::kProvisioned
           : r < 0.40 ? Fault::kServerError
           : r < 0.41 ? Fault::kResetBefore
           : r < 0.42 ? Fault::kResetAfter
                      : Fault::kNone;
  };
}

HttpResponse FaultProxy::handle(const HttpRequest& request) {
  auto target = request.header("x-amz-target");
  auto operation = target.substr(target.find('.') + 1);
  Fault fault = Fault::kNone;
  {
    std::lock_guard lock(mutex_);
    if (policy_) fault = policy_(operation, request.body);
    if (fault != Fault::kNone) ++injected_[fault];
  }
  switch (fault) {
    case Fault::kThrottle:
      return error(400, "ThrottlingException", "Rate of requests exceeds the allowed throughput.");
    case Fault::kProvisioned:
      return error(400, "ProvisionedThroughputExceededException",
                   "The level of configured provisioned throughput for the table was exceeded.");
    case Fault::kServerError: return error(500, "InternalServerError", "Internal server error");
    case Fault::kInvalid:
      return error(400, "ValidationException", "One or more parameter values were invalid");
    case Fault::kExpiredToken:
      return error(400, "ExpiredTokenException", "The security token included in the request is expired");
    case Fault::kResetBefore: return {0, {}, {}};
    default: break;
  }
  ++in_flight_;
  if (auto delay = delay_ms_.load(); delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  thread_local http::Client client(std::chrono::milliseconds(30000));
  http::Request forward;
  forward.method = "POST";
  forward.url = target_ + "/";
  forward.headers = {"Content-Type: application/x-amz-json-1.0", "X-Amz-Target: " + target,
                     "Host: " + request.header("host")};
  // Forwarded as signed: the verifier behind checks the signature the loader made.
  for (const char* name : {"authorization", "x-amz-date", "x-amz-security-token"}) {
    if (auto value = request.header(name); !value.empty())
      forward.headers.push_back(std::string(name) + ": " + value);
  }
  forward.body = request.body;
  HttpResponse response;
  try {
    auto answer = client.send(forward);
    response = {
        static_cast<int>(answer.status), {{"Content-Type", "application/x-amz-json-1.0"}}, answer.body};
    if (auto crc = answer.header("x-amz-crc32"); !crc.empty())
      response.headers.emplace_back("x-amz-crc32", fault == Fault::kBadCrc ? crc + "1" : crc);
  } catch (const core::Error& e) {
    response = error(500, "InternalServerError", "proxy could not reach dynalite");
  }
  --in_flight_;
  if (fault == Fault::kResetAfter) return {0, {}, {}};
  return response;
}

}  // namespace qrl::testing
