#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang, ASan, UBSan) and runs each for SECONDS (default
# 30), starting from its seed corpus in fuzz/corpus/<target>/ plus what earlier runs found
# (.local/fuzz/<target>/). Prints one line per target: executions, coverage, outcome. A crash
# or a sanitizer report fails the run and leaves the input in .local/fuzz/crashes/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     targets: event ids answer question_set transform item split config batch
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(event ids answer question_set transform item split config batch)

scripts/install-deps.sh >/dev/null
cmake -S . -B build-fuzz -DQRL_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null

mkdir -p .local/fuzz/crashes
failed=0
for t in "${targets[@]}"; do
  work=".local/fuzz/$t"
  mkdir -p "$work"
  log=".local/fuzz/$t.log"
  if build-fuzz/fuzz/"fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=.local/fuzz/crashes/"$t"- "$work" "fuzz/corpus/$t" >"$log" 2>&1; then
    outcome=clean
  else
    outcome="FAILED (see $log)"
    failed=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -o 'cov: [0-9]*' | grep -o '[0-9]*' || echo "?")
  ft=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -o 'ft: [0-9]*' | grep -o '[0-9]*' || echo "?")
  corpus=$(ls "$work" | wc -l)
  printf 'fuzz %-13s %4ss  %10s execs  cov %5s  features %6s  corpus %5s  %s\n' \
    "$t" "$seconds" "$execs" "$cov" "$ft" "$corpus" "$outcome"
done
if [ "$failed" -ne 0 ]; then
  echo "fuzzing found a crash or a sanitizer report" >&2
  grep -h -A25 -E 'ERROR: |runtime error|deadly signal' .local/fuzz/*.log >&2 || true
fi
exit "$failed"
