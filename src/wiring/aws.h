#pragma once
// Where the loader's AWS settings come from when they are not given: the region and the
// credentials, by the AWS SDKs' rules. Both modes and every command that reaches DynamoDB call
// this once, before making any client.

#include <memory>

#include "config/config.h"
#include "credentials/credentials.h"

namespace qrl::wiring {

// Fills in config.dynamo.region and endpoint_url, and returns the credentials' provider (made
// and fetched once). Throws config::ConfigError with no region, core::Error (environment)
// with no credentials. A plain-http endpoint (DynamoDB Local, never AWS) gets region us-east-1
// and placeholder keys when the chain finds none, with one log line saying so (not in Lambda,
// which is AWS: config::Dynamo::local_defaults).
std::shared_ptr<credentials::Provider> resolve_aws(config::Config& config, const config::Env& env);

}  // namespace qrl::wiring
