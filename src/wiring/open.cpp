#include "wiring/open.h"

#include <algorithm>

#include "wiring/aws.h"

namespace qrl::wiring {

Opened open_stores(config::Config& config, const config::Env& env, const OpenOptions& options) {
  auto& recorder = options.recorder != nullptr ? *options.recorder : metrics::nothing();
  auto& clock = options.clock != nullptr ? *options.clock : core::system_clock();
  Opened opened;
  opened.aws = resolve_aws(config, env);
  if (options.resolved) options.resolved(config);
  opened.limiter = std::make_shared<capacity::Limiter>(clock);
  opened.loaded = std::make_shared<pipeline::RecentlyLoaded>();
  for (int i = 0; i < std::max(options.workers, 1); ++i) opened.stores.push_back(opened.another(config, recorder, clock));
  if (options.reach_redis) opened.first().live.connect();
  opened.first().items.ensure_table(std::chrono::seconds(60), clock);
  seed_limiter(opened.first(), config);
  return opened;
}

}  // namespace qrl::wiring
