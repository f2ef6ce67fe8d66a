#!/usr/bin/env bash
# The test command: installs what is missing, builds, starts a private stack (redis-server,
# rabbitmq-server, dynalite behind a SigV4 verifier, a second rabbitmq-server with TLS only and
# the test certificates, on loopback, on ports apart from the demo's), and runs, in order:
#   1. every test (unit and integration) on the normal build, then the deployments' tests
#      (scripts/deploy-test.sh), then the container image's tests (scripts/image-test.sh and,
#      from it, scripts/image-platform-test.sh; QRL_IMAGE_TEST=0 skips them);
#   2. the same tests on a build with AddressSanitizer and UndefinedBehaviorSanitizer
#      (QRL_SANITIZE_TESTS=0 skips it);
#   3. every fuzz target for QRL_FUZZ_SECONDS seconds (default 30; 0 skips it).
# Extra arguments go to ctest (e.g. -L unit, -R Aws).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

export QRL_REDIS_PORT=26379 QRL_AMQP_PORT=25680 QRL_DYNAMO_PORT=28000 QRL_VERIFIER_PORT=28010 QRL_AMQPS_PORT=25671
# The trap first: a start that fails half-way must not leave servers running.
trap 'scripts/stack.sh stop >/dev/null' EXIT
scripts/stack.sh start
eval "$(scripts/stack.sh env)"
# No test may reach for the real instance metadata address.
export AWS_EC2_METADATA_DISABLED=true

echo "== tests"
ctest --test-dir build --output-on-failure --timeout 600 "$@"

if [ $# = 0 ]; then
  echo "== the deployments: the Kubernetes manifest, and the CDK app's tests, offline synth and cfn-lint"
  scripts/deploy-test.sh
fi

if [ "${QRL_IMAGE_TEST:-1}" != 0 ] && [ $# = 0 ]; then
  echo "== the container image, built from the Dockerfile and run with podman"
  scripts/image-test.sh
fi

if [ "${QRL_SANITIZE_TESTS:-1}" != 0 ]; then
  echo "== the same tests under ASan and UBSan"
  cmake -S . -B build-asan -DQRL_SANITIZE=ON -DQRL_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-asan -j"$(nproc)"
  # The Lambda zip's test runs the packaged binary in an empty root, where the sanitizers'
  # runtime cannot start; the normal build has run it.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure --timeout 900 -E 'TheZipRunsInAnEmptyRoot' "$@"
fi

if [ "${QRL_FUZZ_SECONDS:-30}" != 0 ]; then
  echo "== fuzzing, ${QRL_FUZZ_SECONDS:-30} s per target"
  scripts/fuzz.sh "${QRL_FUZZ_SECONDS:-30}"
fi
