#pragma once
// The places AWS credentials come from, each a small Source, and the chain that picks the first
// one configured, in the order the AWS SDKs use:
//   1. the loader's own settings ([dynamodb] access_key_id ... / DYNAMODB_ACCESS_KEY_ID ...)
//   2. the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)
//   3. the shared files (AWS_PROFILE in ~/.aws/credentials and ~/.aws/config)
//   4. web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, through STS)
//   5. the ECS/Fargate container endpoint (AWS_CONTAINER_CREDENTIALS_*_URI)
//   6. the EC2 instance role (IMDSv2)

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "credentials/credentials.h"

namespace qrl::credentials {

// A profile of the shared files: what the chain and the region lookup need of it.
struct Profile {
  std::string name;
  std::string files;  // where it was looked for, for messages
  bool found = false;
  std::string access_key_id, secret_access_key, session_token;  // secrets, as in Credentials
  std::string region;
};
Profile load_profile(const config::Env& env);

// The region: [dynamodb] region / DYNAMODB_REGION, AWS_REGION, AWS_DEFAULT_REGION, the profile's.
// Empty when none says.
std::string resolve_region(const config::Dynamo& settings, const config::Env& env);

// "amazonaws.com", or "amazonaws.com.cn" for the China regions.
std::string dns_suffix(const std::string& region);

// The first source the environment configures. Throws an environment core::Error naming every
// source tried when there is none (or the one configured is incomplete).
std::unique_ptr<Source> resolve_source(const config::Dynamo& settings, const config::Env& env,
                                       const std::string& region, std::chrono::milliseconds timeout);

// The same chain without the final error: the first source configured, or nullptr with `tried`
// naming every source looked at. Throws as resolve_source when a source is incomplete.
std::unique_ptr<Source> find_source(const config::Dynamo& settings, const config::Env& env,
                                    const std::string& region, std::chrono::milliseconds timeout,
                                    std::string& tried);

// Keys for a plain-http endpoint (DynamoDB Local, a stand-in), which checks no signature:
// "local"/"local", never sent anywhere but that endpoint.
std::unique_ptr<Source> placeholder_source();

}  // namespace qrl::credentials
