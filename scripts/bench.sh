#!/usr/bin/env bash
# Benchmarks (not tests): the core's CPU per quiz, then the end-to-end run on the local stack.
#   scripts/bench.sh [bench_e2e options: -n QUIZZES -p PARTICIPANTS -q QUESTIONS -w WORKERS]
# Defaults: 1000 quizzes of 20 x 10, 4 workers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target quiz-result-loader bench_core bench_e2e bench_lambda
build/bench/bench_core
scripts/stack.sh start
eval "$(scripts/stack.sh env)"
build/bench/bench_e2e "$@"
build/bench/bench_lambda
