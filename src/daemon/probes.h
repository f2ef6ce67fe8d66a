#pragma once
// Readiness probes of the servers the workers use, with the workers' own settings: a Redis login
// and PING, and a DescribeTable. Each keeps its connection between probes.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "credentials/credentials.h"
#include "health/health.h"

namespace qrl::daemon {

std::vector<std::pair<std::string, health::Prober::Check>> probes(const config::Config& config,
                                                                  std::shared_ptr<credentials::Provider> aws);

}  // namespace qrl::daemon
