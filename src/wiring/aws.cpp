#include "wiring/aws.h"

#include "credentials/sources.h"

namespace qrl::wiring {

std::shared_ptr<credentials::Provider> resolve_aws(config::Config& config, const config::Env& env) {
  auto& dynamo = config.dynamo;
  dynamo.region = credentials::resolve_region(dynamo, env);
  if (dynamo.region.empty()) {
    throw config::ConfigError(
        "no AWS region: set 'dynamodb.region' (DYNAMODB_REGION), AWS_REGION, AWS_DEFAULT_REGION, or region "
        "in "
        "the AWS profile");
  }
  if (dynamo.endpoint_url.empty()) {
    dynamo.endpoint_url = "https://dynamodb." + dynamo.region + "." + credentials::dns_suffix(dynamo.region);
  }
  return std::make_shared<credentials::Provider>(
      credentials::resolve_source(dynamo, env, dynamo.region, config.loader.request_timeout));
}

}  // namespace qrl::wiring
