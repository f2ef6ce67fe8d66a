#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang, ASan, UBSan) and runs each for SECONDS (default
# 30), starting from its seed corpus in fuzz/corpus/<target>/ plus what earlier runs found
# (.local/fuzz/<target>/), as many at once as there are cores. Prints one line per target:
# executions, coverage, outcome. A crash
# or a sanitizer report fails the run and leaves the input in .local/fuzz/crashes/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     targets: event ids answer question_set transform item split config batch
#   scripts/fuzz.sh --build                   builds them only
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(event ids answer question_set transform item split config batch)

scripts/install-deps.sh >/dev/null
# -O1 and line tables, as libFuzzer's documentation builds its targets.
cmake -S . -B build-fuzz -DQRL_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null
[ "$seconds" = --build ] && exit 0

mkdir -p .local/fuzz/crashes
failed=0
# One target: its line, and 1 if it failed.
fuzz_one() {
  local t=$1 work=".local/fuzz/$1" log=".local/fuzz/$1.log" outcome=clean
  mkdir -p "$work"
  build-fuzz/fuzz/"fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=.local/fuzz/crashes/"$t"- "$work" "fuzz/corpus/$t" >"$log" 2>&1 || outcome="FAILED (see $log)"
  local execs cov ft corpus
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -o 'cov: [0-9]*' | grep -o '[0-9]*' || echo "?")
  ft=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -o 'ft: [0-9]*' | grep -o '[0-9]*' || echo "?")
  corpus=$(ls "$work" | wc -l)
  printf 'fuzz %-13s %4ss  %10s execs  cov %5s  features %6s  corpus %5s  %s\n' \
    "$t" "$seconds" "$execs" "$cov" "$ft" "$corpus" "$outcome"
  [ "$outcome" = clean ]
}
# As many targets at once as there are cores: each keeps its full time.
jobs=$(nproc)
pids=()
for t in "${targets[@]}"; do
  fuzz_one "$t" >".local/fuzz/$t.line" &
  pids+=("$!")
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
for t in "${targets[@]}"; do cat ".local/fuzz/$t.line"; done
if [ "$failed" -ne 0 ]; then
  echo "fuzzing found a crash or a sanitizer report" >&2
  grep -h -A25 -E 'ERROR: |runtime error|deadly signal' .local/fuzz/*.log >&2 || true
fi
exit "$failed"
