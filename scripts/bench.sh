#!/usr/bin/env bash
# Benchmarks (not tests): the core's CPU per quiz, then the end-to-end run on the local stack,
# Lambda's cold start, big quizzes (20 x 10 ... 10000 x 50; in serve and in lambda), and a
# provisioned table's capacity (300 quizzes into 300 WCU/s, with the adaptive pace and without),
# and one Redis against a Redis Cluster (bench_cluster: the Redis half of a load); and the
# loader's instructions per quiz under callgrind (scripts/bench-instructions.sh).
#   scripts/bench.sh [bench_e2e options: -n QUIZZES -p PARTICIPANTS -q QUESTIONS -w WORKERS]
# bench_e2e runs twice: without a settle window, and with a 5 s one.
# Defaults: 1000 quizzes of 20 x 10, 4 workers. QRL_BENCH_BIG=0 skips bench_big (minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target quiz-result-loader bench_core bench_e2e bench_lambda bench_big bench_capacity bench_cluster
build/bench/bench_core
scripts/stack.sh start
eval "$(scripts/stack.sh env)"
build/bench/bench_e2e "$@"
# The same work counted in instructions (callgrind): steady from run to run where CPU time is not.
scripts/bench-instructions.sh
# The settle window: the same run with a 5 s window; once it has passed, the same rate.
build/bench/bench_e2e -s 5000 "$@"
build/bench/bench_lambda
if [ "${QRL_BENCH_BIG:-1}" != 0 ]; then build/bench/bench_big --serve --lambda; fi
build/bench/bench_capacity
build/bench/bench_cluster
