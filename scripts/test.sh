#!/usr/bin/env bash
# The test command: installs what is missing, builds, starts a private stack (redis-server,
# rabbitmq-server, dynalite on loopback, on ports apart from the demo's), runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

export QRL_REDIS_PORT=26379 QRL_AMQP_PORT=25680 QRL_DYNAMO_PORT=28000
scripts/stack.sh start
trap 'scripts/stack.sh stop >/dev/null' EXIT
eval "$(scripts/stack.sh env)"

ctest --test-dir build --output-on-failure --timeout 600 "$@"
