#include "core/retry.h"

#include <algorithm>
#include <random>

namespace qrl::core {

Action decide(const std::optional<Error>& failure, int deliveries, const RetryPolicy& policy) noexcept {
  if (!failure) return Action::kAck;
  switch (failure->kind()) {
    case FailureKind::kPermanent: return Action::kReject;
    case FailureKind::kEnvironment: return Action::kPause;
    case FailureKind::kTransient: break;
  }
  if (failure->code() == Code::kThrottled) return Action::kRelease;
  return deliveries > 0 && deliveries >= policy.max_deliveries ? Action::kReject : Action::kRequeue;
}

Action decide_returned(int deliveries, const RetryPolicy& policy) noexcept {
  return deliveries > policy.max_deliveries ? Action::kReject : Action::kRequeue;
}

std::string remedy(const Error& failure) {
  switch (failure.code()) {
    case Code::kAwsAccessDenied:
      return "grant the action named above to the loader's IAM role or user (docs/operations.md: IAM policies)";
    case Code::kTableMissing: return "create the DynamoDB table, or check dynamodb.table and the region";
    case Code::kAwsCredentials:
    case Code::kExpiredToken:
      return "check the AWS credentials the loader uses (docs/operations.md: AWS credentials) and the machine's clock";
    case Code::kRedisLogin:
      return "check the Redis user, password and ACL (docs/operations.md: Managed RabbitMQ and Redis)";
    case Code::kRedisDatabase: return "check redis.db against the server's databases";
    case Code::kRabbitLogin:
    case Code::kRabbitVhost:
      return "check the RabbitMQ user, password and vhost permissions (docs/operations.md: Managed RabbitMQ and Redis)";
    case Code::kRabbitQueue:
      return "set rabbit-mq.queue_type to the type of the existing queues, or delete the loader's own queues "
             "once empty (docs/configuration.md: Queue types)";
    case Code::kTlsCertificate: return "check the server's certificate, the host name used and the CA file";
    case Code::kTlsHandshake: return "check the tls setting against the port (TLS on one side only?)";
    case Code::kQuestionSetPermission:
      return "run the loader as the question-set directory's owner, or let its group write there "
             "(compose: user:, Kubernetes: fsGroup; docs/deployment.md)";
    case Code::kConfig: return "fix the setting named above (docs/configuration.md)";
    case Code::kNone:
    case Code::kNotABatch:
    case Code::kConnectionLost:
    case Code::kConnectionClosed:
    case Code::kThrottled:
    case Code::kTableInUse:
    case Code::kFinishing:
    case Code::kConditionFailed: break;
  }
  return "fix the deployment; the loader resumes by itself";
}

double unit_random() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, double unit_random) {
  auto ceiling = policy.base_delay.count();
  for (int i = 1; i < attempt && ceiling < policy.max_delay.count(); ++i) ceiling *= 2;
  ceiling = std::min<std::int64_t>(ceiling, policy.max_delay.count());
  auto delay = static_cast<std::int64_t>(static_cast<double>(ceiling) * std::clamp(unit_random, 0.0, 1.0));
  return std::chrono::milliseconds(delay);
}

std::chrono::milliseconds pause_delay(const RetryPolicy& policy, int pauses) {
  auto delay = policy.pause_base.count();
  for (int i = 1; i < pauses && delay < policy.pause_max.count(); ++i) delay *= 2;
  return std::chrono::milliseconds(std::min<std::int64_t>(delay, policy.pause_max.count()));
}

bool RetryQuota::acquire() {
  std::lock_guard lock(mutex_);
  if (tokens_ < kRetryCost) return false;
  tokens_ -= kRetryCost;
  return true;
}

void RetryQuota::on_success(bool after_retry) {
  std::lock_guard lock(mutex_);
  tokens_ = std::min(capacity_, tokens_ + (after_retry ? kRetryCost : kSuccessRefund));
}

int RetryQuota::tokens() const {
  std::lock_guard lock(mutex_);
  return tokens_;
}

}  // namespace qrl::core
