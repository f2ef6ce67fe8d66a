#include "wiring/aws.h"

#include "credentials/sources.h"
#include "log/log.h"

namespace qrl::wiring {

namespace {

// A plain-http endpoint is never AWS (AWS speaks HTTPS only): DynamoDB Local, as the platform's
// compose file runs it, or a stand-in. It checks no signature and ignores the region.
bool local_endpoint(const std::string& url) { return url.rfind("http://", 0) == 0; }

constexpr const char* kLocalRegion = "us-east-1";

}  // namespace

std::shared_ptr<credentials::Provider> resolve_aws(config::Config& config, const config::Env& env) {
  auto& dynamo = config.dynamo;
  const bool local = dynamo.local_defaults && local_endpoint(dynamo.endpoint_url);
  dynamo.region = credentials::resolve_region(dynamo, env);
  const bool default_region = dynamo.region.empty() && local;
  if (default_region) dynamo.region = kLocalRegion;
  if (dynamo.region.empty()) {
    throw config::ConfigError(
        "no AWS region: set 'dynamodb.region' (DYNAMODB_REGION), AWS_REGION, AWS_DEFAULT_REGION, or region "
        "in the AWS profile");
  }
  if (dynamo.endpoint_url.empty()) {
    dynamo.endpoint_url = "https://dynamodb." + dynamo.region + "." + credentials::dns_suffix(dynamo.region);
  }
  const auto timeout = config.loader.request_timeout;
  if (!local) {
    return std::make_shared<credentials::Provider>(
        credentials::resolve_source(dynamo, env, dynamo.region, timeout));
  }
  // The chain as usual; placeholder keys only where it finds none.
  std::string tried;
  auto source = credentials::find_source(dynamo, env, dynamo.region, timeout, tried);
  const bool placeholder = source == nullptr;
  if (placeholder) source = credentials::placeholder_source();
  if (default_region || placeholder) {
    const std::string what = default_region && placeholder ? "region or credentials"
                             : default_region             ? "region"
                                                          : "credentials";
    std::string using_ = default_region ? "region " + dynamo.region : "";
    if (placeholder) using_ += std::string(using_.empty() ? "" : " and ") + source->name();
    log::info("no AWS " + what + " set: using " + using_, {{"endpoint", dynamo.endpoint_url}});
  }
  return std::make_shared<credentials::Provider>(std::move(source));
}

}  // namespace qrl::wiring
