#include "wiring/stores.h"

#include "log/log.h"

namespace qrl::wiring {

dynamodb::TableCapacity seed_limiter(Stores& stores, const config::Config& config) {
  // As ensure_table() found it (with its retries), which every caller runs first; without it,
  // the limiter starts unseeded and finds the pace when it is first throttled.
  if (!stores.items.described()) return {};
  const auto capacity = *stores.items.described();
  const double share = config.loader.capacity_share_percent / 100.0;
  stores.limiter->seed(capacity::Kind::kWrite, capacity.write_units * share);
  stores.limiter->seed(capacity::Kind::kRead, capacity.read_units * share);
  log::info("table capacity", {{"table", stores.items.table()},
                               {"billing_mode", capacity.billing_mode},
                               {"write_units", std::to_string(static_cast<long long>(capacity.write_units))},
                               {"read_units", std::to_string(static_cast<long long>(capacity.read_units))},
                               {"share_percent", std::to_string(config.loader.capacity_share_percent)}});
  return capacity;
}

}  // namespace qrl::wiring
