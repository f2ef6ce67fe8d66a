#pragma once
// Container mode: a pool of workers fed from RabbitMQ.

#include "config/config.h"

namespace qrl::daemon {

// Runs until SIGTERM or SIGINT; returns the process exit code. `env` is where the AWS
// credential chain looks.
int serve(config::Config config, const config::Env& env);

}  // namespace qrl::daemon
