#!/usr/bin/env bash
# The main job on a local stack: installs what is missing, builds, starts Redis, RabbitMQ and
# dynalite on loopback, seeds sample quizzes and publishes their events, runs the daemon until
# every quiz is loaded, stops it, and shows what was loaded: the report of one quiz (show) and
# the table of all it loaded (list).
#   scripts/demo.sh [COUNT [PARTICIPANTS [QUESTIONS]]]     (default 20 quizzes of 20 x 10)
# The stack keeps running afterwards (scripts/stack.sh stop ends it).
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-20}" participants="${2:-20}" questions="${3:-10}"

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target quiz-result-loader
scripts/stack.sh start
eval "$(scripts/stack.sh env)"
export QUESTION_SET_PATH="$PWD/.local/question-sets"
mkdir -p "$QUESTION_SET_PATH"
bin=build/quiz-result-loader

ids=$($bin seed --count "$count" --participants "$participants" --questions "$questions" --print-ids)

$bin serve &
daemon=$!
trap 'kill $daemon 2>/dev/null || true' EXIT
remaining=$count
for _ in $(seq 1 600); do
  remaining=0
  for id in $ids; do
    [ "$(redis-cli -p "$REDIS_PORT" exists "$id:quizName")" = 1 ] && remaining=$((remaining + 1))
  done
  [ "$remaining" -eq 0 ] && break
  sleep 0.2
done
kill -TERM $daemon
wait $daemon
trap - EXIT

echo
echo "Redis keys left of these quizzes: $remaining; question files left: $(ls "$QUESTION_SET_PATH" | wc -l)"
first=$(echo "$ids" | head -n 1)
$bin show "$first" --output dynamodb > .local/demo-item.json
echo
echo "== quiz $first, as loaded (the stored item: .local/demo-item.json; or show $first --output json) =="
$bin show "$first"
echo "== every quiz loaded (DynamoDB table 'quiz' on $DYNAMODB_ENDPOINT_URL) =="
# shellcheck disable=SC2086
$bin list $ids
[ "$remaining" -eq 0 ]
