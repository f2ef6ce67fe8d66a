#pragma once
// A DynamoDB endpoint for fault injection: forwards each request to dynalite unless the policy
// says otherwise: throttle (400 ThrottlingException), provisioned throughput exceeded (400),
// a 500, a reset before forwarding, a reset after forwarding (the write happened, the client
// never hears of it), a ValidationException, a delay, or a damaged CRC32. Counts what it
// injected.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "support/http_server.h"

namespace qrl::testing {

enum class Fault {
  kNone,
  kThrottle,
  kProvisioned,
  kServerError,
  kResetBefore,
  kResetAfter,
  kInvalid,
  kDelay,
  kBadCrc,       // forwarded, but the answer's x-amz-crc32 does not match its body
  kExpiredToken  // 400 ExpiredTokenException, as AWS answers keys it considers expired
};

class FaultProxy {
 public:
  // Gets the operation (X-Amz-Target without prefix) and the request body.
  using Policy = std::function<Fault(const std::string& operation, const std::string& body)>;

  explicit FaultProxy(std::string target_url);
  ~FaultProxy();
  std::string url() const { return "http://" + server_->address(); }

  void set_policy(Policy policy);
  void set_delay(std::chrono::milliseconds delay) { delay_ms_ = delay.count(); }
  std::map<Fault, int> injected() const;
  int total_injected() const;
  int in_flight() const { return in_flight_; }
  std::string summary() const;

  // A policy that injects one of `faults`, chosen at random, into `percent`% of requests.
  static Policy random(int percent, std::vector<Fault> faults, unsigned seed);
  // Throttles that are no capacity: 30% of requests throttled at random (ThrottlingException and
  // ProvisionedThroughputExceededException, half each), 10% HTTP 500, 2% connections reset.
  static Policy random_throttles(unsigned seed);

 private:
  HttpResponse handle(const HttpRequest& request);

  std::string target_;
  mutable std::mutex mutex_;
  Policy policy_;
  std::map<Fault, int> injected_;
  std::atomic<long long> delay_ms_{0};
  std::atomic<int> in_flight_{0};
  std::unique_ptr<HttpServer> server_;
};

}  // namespace qrl::testing
