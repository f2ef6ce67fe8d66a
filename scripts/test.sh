#!/usr/bin/env bash
# The test command: installs what is missing, builds, starts a private stack (redis-server,
# rabbitmq-server, dynalite behind a SigV4 verifier, on loopback, on ports apart from the
# demo's), runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

export QRL_REDIS_PORT=26379 QRL_AMQP_PORT=25680 QRL_DYNAMO_PORT=28000 QRL_VERIFIER_PORT=28010
# The trap first: a start that fails half-way must not leave servers running.
trap 'scripts/stack.sh stop >/dev/null' EXIT
scripts/stack.sh start
eval "$(scripts/stack.sh env)"
# No test may reach for the real instance metadata address.
export AWS_EC2_METADATA_DISABLED=true

ctest --test-dir build --output-on-failure --timeout 600 "$@"
