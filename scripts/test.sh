#!/usr/bin/env bash
# The test command: installs what is missing, builds, starts private stacks (redis-server and a
# Redis Cluster of six, rabbitmq-server, dynalite behind a SigV4 verifier, a second
# rabbitmq-server with TLS only and the test certificates, on loopback, on ports apart from the
# demo's; with the first stack, a RabbitMQ cluster of three nodes), and runs, in order:
#   1. the release build (Ninja): the binary, the Lambda zip and the capacity scenarios, while
#      the stacks start beside it; the capacity scenarios (tests/capacity/capacity_test.cpp) then
#      start in the background: they wait on a stand-in table's pace, not on the CPU, and measure
#      drain times, so they run on the release binary beside the stages that follow, and are
#      waited for before the sanitized suite; then the deployments' tests
#      (scripts/deploy-test.sh);
#   2. every other test, unit and integration, once, on a build with AddressSanitizer and
#      UndefinedBehaviorSanitizer (the Lambda zip's test unpacks the release zip, whose binary
#      starts in an empty root where the sanitizers' runtime cannot), in QRL_TEST_LANES lanes
#      (default 4) that each have a stack of their own (ports 100 apart): ctest -j N hands each
#      test a free stack (a resource spec of N stacks; scripts/in-lane.sh); the tests mostly
#      wait on servers, and a test that cuts every connection of its Redis or RabbitMQ, or
#      counts their commands, meets no other test;
#   3. beside the lanes of stage 2, niced (the lanes mostly wait on their servers): the container
#      image's tests (scripts/image-test.sh and, from it, scripts/image-platform-test.sh, on a
#      stack of their own; QRL_IMAGE_TEST=0 skips them), which build the image from the
#      Dockerfile with its root made from the release build's Lambda zip (--from-build: the
#      bundle the Dockerfile's build stage makes, not compiled a third time; scripts/image-test.sh
#      alone compiles it there), then every fuzz target for QRL_FUZZ_SECONDS seconds (default 10;
#      0 skips it), built before the lanes start.
# Each stage prints how long it took. Extra arguments go to ctest (e.g. -L unit, -R Aws); with
# them only the sanitized suite runs.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
stage_started=$SECONDS
stage() { # name: ends the previous stage's clock
  echo "== stage took $((SECONDS - stage_started)) s; $((SECONDS - started)) s in all"
  stage_started=$SECONDS
  echo "== $1"
}

echo "== installing what is missing"
scripts/install-deps.sh
# Ninja for the build trees made here: it compiles a target's sources while the libraries it links
# are still compiling, where make waits. A tree made before keeps its generator.
export CMAKE_GENERATOR=Ninja

# Lane k's stack: the ports of lane 1 plus 100 (k - 1). The image's tests have the next one.
lanes=${QRL_TEST_LANES:-4}
[ $# = 0 ] || lanes=1
fuzzing=0 imaging=0
[ "${QRL_FUZZ_SECONDS:-10}" != 0 ] && [ $# = 0 ] && fuzzing=1
[ "${QRL_IMAGE_TEST:-1}" != 0 ] && [ $# = 0 ] && imaging=1
lane_ports() { # k
  local o=$((100 * ($1 - 1)))
  export QRL_REDIS_PORT=$((26379 + o)) QRL_AMQP_PORT=$((25680 + o)) QRL_DYNAMO_PORT=$((28000 + o)) \
    QRL_VERIFIER_PORT=$((28010 + o)) QRL_AMQPS_PORT=$((25671 + o)) QRL_REDIS_CLUSTER_PORT=$((27379 + o))
  # One RabbitMQ cluster of three nodes, with lane 1's stack; every lane's tests reach it, in turn.
  if [ "$1" = 1 ]; then export QRL_AMQP_CLUSTER_PORT=25690; else unset QRL_AMQP_CLUSTER_PORT; fi
}
stop_stacks() { for k in $(seq $((lanes + 1))); do (lane_ports "$k"; scripts/stack.sh stop >/dev/null); done; }
# The trap first: a start that fails half-way must not leave servers running.
trap stop_stacks EXIT
# Every lane's stack at once (they mostly wait on Erlang's start), beside the release build.
start_stacks() {
  local pids=() k status=0
  for k in $(seq "$lanes"); do (lane_ports "$k"; scripts/stack.sh start) & pids+=($!); done
  for k in "${pids[@]}"; do wait "$k" || status=1; done
  return $status
}
# The stacks' fixed ports above 32768 (RabbitMQ's distribution ports, the clusters' bus ports)
# lie in the kernel's ephemeral range: an outgoing connection can hold one just as a node wants
# it ("dist_port_already_used ... not_erlang"). Reserved, the kernel hands them to no client.
if [ -w /proc/sys/net/ipv4/ip_local_reserved_ports ]; then
  reserved=$(cat /proc/sys/net/ipv4/ip_local_reserved_ports)
  echo "${reserved:+$reserved,}35600-36099,37300-37899" >/proc/sys/net/ipv4/ip_local_reserved_ports || true
fi
mkdir -p build
start_stacks >build/stacks.log 2>&1 &
stacks_pid=$!

stage "the release build: binary, Lambda zip, capacity scenarios (the test stacks start beside it)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQRL_BUILD_BENCH=OFF >/dev/null
cmake --build build -j"$(nproc)" --target quiz-result-loader lambda-zip capacity_tests
stage "the test stacks, one a lane ($lanes), waited for"
wait "$stacks_pid" || { cat build/stacks.log; echo "== a test stack did not start"; exit 1; }
grep '^stack up' build/stacks.log
lane_ports 1
eval "$(scripts/stack.sh env)"
# No test may reach for the real instance metadata address.
export AWS_EC2_METADATA_DISABLED=true

capacity_pid=
if [ $# = 0 ]; then
  echo "== the capacity scenarios start in the background: build/capacity-tests.log"
  build/tests/capacity_tests >build/capacity-tests.log 2>&1 &
  capacity_pid=$!
  stage "the deployments: the Kubernetes manifest, and the CDK app's tests, offline synth and cfn-lint"
  # Niced, as the sanitized build below: the capacity scenarios running beside them keep their pace.
  nice -n 10 scripts/deploy-test.sh
fi

stage "the sanitized build (ASan, UBSan): every test"
# -O1 and line tables only (-g1), as the sanitizers' own documentation suggests: half the compile
# time of -O2 -g, and every report still names the file and line. The loader's code is
# instrumented; the tests' own code is compiled plainly at -O0 (tests/CMakeLists.txt).
cmake -S . -B build-asan -DQRL_SANITIZE=ON -DQRL_BUILD_BENCH=OFF -DQRL_BUNDLE=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" >/dev/null
# Niced: the capacity scenarios running beside it keep their pace.
nice -n 10 cmake --build build-asan -j"$(nproc)"
if [ "$fuzzing" = 1 ]; then
  # Built before the lanes: beside them, starved by them, it took six minutes and ended last.
  stage "the fuzz targets' build (clang, ASan, UBSan)"
  nice -n 10 scripts/fuzz.sh --build  # niced: the capacity scenarios keep their pace
fi
if [ -n "$capacity_pid" ]; then
  stage "the capacity scenarios (release build), waited for"
  capacity_status=0
  wait "$capacity_pid" || capacity_status=$?
  grep -E '^capacity\[|^\[  (PASSED|FAILED) |^\[==========\]' build/capacity-tests.log || true
  if [ "$capacity_status" != 0 ]; then
    cat build/capacity-tests.log
    echo "== the capacity scenarios failed"
    exit 1
  fi
fi
stage "every test, unit and integration, under ASan and UBSan, in $lanes lanes"
exclude=()
[ $# = 0 ] && exclude=(-LE capacity)  # they ran above, on the release build
export QRL_LAMBDA_ZIP="$PWD/build/quiz-result-loader-lambda.zip" \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
if [ "$lanes" = 1 ]; then
  ctest --test-dir build-asan --output-on-failure --timeout 900 "${exclude[@]}" "$@"
else
  # One stack a lane; ctest hands each test a free one (scripts/in-lane.sh), so the lanes stay
  # busy until the end whatever the tests' lengths.
  lanes_dir="$PWD/build-asan/lanes"
  mkdir -p "$lanes_dir"
  spec='{"version": {"major": 1, "minor": 0}, "local": [{"stacks": ['
  for k in $(seq "$lanes"); do
    (lane_ports "$k"
     echo "export QRL_REDIS_PORT=$QRL_REDIS_PORT QRL_AMQP_PORT=$QRL_AMQP_PORT QRL_DYNAMO_PORT=$QRL_DYNAMO_PORT" \
       "QRL_VERIFIER_PORT=$QRL_VERIFIER_PORT QRL_AMQPS_PORT=$QRL_AMQPS_PORT QRL_REDIS_CLUSTER_PORT=$QRL_REDIS_CLUSTER_PORT"
     scripts/stack.sh env
     [ "$k" = 1 ] || (lane_ports 1; scripts/stack.sh env | grep QRL_RABBIT_CLUSTER)) >"$lanes_dir/stack-$k.env"
    spec+="{\"id\": \"$k\", \"slots\": 1}"
    [ "$k" = "$lanes" ] || spec+=", "
  done
  echo "$spec]}]}" >"$lanes_dir/stacks.json"
  QRL_LANES_DIR="$lanes_dir" ctest --test-dir build-asan --output-on-failure --timeout 900 "${exclude[@]}" \
    -j "$lanes" --resource-spec-file "$lanes_dir/stacks.json" >build-asan/lanes.log 2>&1 &
  suite=$!
  # Beside the lanes, niced: they mostly wait on their servers, and the image's build and the
  # fuzzers take the cores they leave idle. Each fuzz target still runs its full time.
  # The image's tests mostly wait on podman and their stack, the fuzzers on the CPU: both
  # at once.
  image_status=0 fuzz_status=0 image_pid=
  if [ "$imaging" = 1 ]; then
    echo "== beside the lanes: the container image, built from the Dockerfile and run with podman"
    (lane_ports $((lanes + 1)); unset QRL_REDIS_CLUSTER_PORT; nice -n 10 scripts/image-test.sh --from-build) \
      >build/image-test.log 2>&1 &
    image_pid=$!
  fi
  if [ "$fuzzing" = 1 ]; then
    echo "== beside the lanes: fuzzing, ${QRL_FUZZ_SECONDS:-10} s per target"
    nice -n 10 scripts/fuzz.sh "${QRL_FUZZ_SECONDS:-10}" || fuzz_status=$?
  fi
  if [ -n "$image_pid" ]; then
    wait "$image_pid" || image_status=$?
    grep -vE '^time=' build/image-test.log
  fi
  status=0
  wait "$suite" || status=$?
  echo "== $(grep -E 'tests passed|Total Test time' build-asan/lanes.log | tr '\n' ' ')"
  if [ "$status" != 0 ]; then cat build-asan/lanes.log; echo "== the sanitized suite failed"; exit 1; fi
  [ "$image_status" = 0 ] || { echo "== the container image's tests failed"; exit 1; }
  [ "$fuzz_status" = 0 ] || { echo "== a fuzz target failed"; exit 1; }
fi

if [ "$imaging" = 1 ] && [ "$lanes" = 1 ]; then
  stage "the container image, built from the Dockerfile and run with podman"
  (lane_ports 2; unset QRL_REDIS_CLUSTER_PORT; scripts/image-test.sh --from-build)
fi
if [ "$fuzzing" = 1 ] && [ "$lanes" = 1 ]; then
  stage "fuzzing, ${QRL_FUZZ_SECONDS:-10} s per target"
  scripts/fuzz.sh "${QRL_FUZZ_SECONDS:-10}"
fi
stage "done"
