#pragma once
// tests/support/aws_standin.py run for one test: a SigV4-verifying, IAM-enforcing DynamoDB
// front before dynalite, and the STS, ECS and IMDSv2 credential endpoints whose short-lived
// keys it knows. The suite-wide verifier (scripts/stack.sh) is the same program.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/harness.h"

namespace qrl::testing {

class AwsStandin {
 public:
  struct Options {
    std::vector<std::string> keys;         // "AKID:SECRET[:TOKEN]"
    std::optional<nlohmann::json> policy;  // every caller's; empty: allow all
    int lifetime_s = 900;                  // of the credentials the endpoints issue
    std::string ecs_token;                 // Authorization the container endpoint demands
  };
  AwsStandin(const std::string& upstream, const Options& options);

  std::string dynamodb_url() const { return url("dynamodb"); }
  std::string sts_url() const { return url("sts"); }
  std::string ecs_url() const { return url("ecs") + "/v2/credentials/loader"; }
  std::string imds_url() const { return url("imds"); }

  nlohmann::json stats();
  // Capacity mode: {"write": WCU, "read": RCU, "burst_s": 0 or up to 300, "start_s": seconds of
  // capacity in the buckets at the start (default: full)}; null: off.
  void set_capacity(const nlohmann::json& capacity);
  // The policy of "static" (keys given at start) or "role" (keys the endpoints issued) callers.
  void set_policy(const std::optional<nlohmann::json>& policy, const std::string& principal);

 private:
  std::string url(const char* name) const;
  std::unique_ptr<Process> process_;
  nlohmann::json ports_;
  std::string policy_file_;
};

// A policy file of deploy/iam/, for table `table` instead of "quiz".
nlohmann::json deployed_policy(const std::string& file, const std::string& table);

// The suite-wide verifier's counters (QRL_VERIFIER_ADMIN).
nlohmann::json suite_verifier_stats();

}  // namespace qrl::testing
