#pragma once
// Container mode: a pool of workers fed from RabbitMQ.

#include "config/config.h"

namespace qrl::daemon {

// Runs until SIGTERM or SIGINT; returns the process exit code.
int serve(const config::Config& config);

}  // namespace qrl::daemon
