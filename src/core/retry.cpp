#include "core/retry.h"

#include <algorithm>

namespace qrl::core {

Action decide(const std::optional<Error>& failure) noexcept {
  if (!failure) return Action::kAck;
  return failure->transient() ? Action::kRequeue : Action::kReject;
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, double unit_random) {
  auto ceiling = policy.base_delay.count();
  for (int i = 1; i < attempt && ceiling < policy.max_delay.count(); ++i) ceiling *= 2;
  ceiling = std::min<std::int64_t>(ceiling, policy.max_delay.count());
  auto delay = static_cast<std::int64_t>(static_cast<double>(ceiling) * std::clamp(unit_random, 0.0, 1.0));
  return std::chrono::milliseconds(delay);
}

}  // namespace qrl::core
