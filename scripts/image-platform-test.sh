#!/usr/bin/env bash
# The image where the platform's compose file puts the replaced loader (the quiz-result-loader
# service of deployment/docker-compose/docker-compose.yml in Ryangwaite/mc-speedrun), run with
# exactly that service's environment, its host names and the servers' own ports:
#   1. a network namespace of this test's own, where redis-server (6379), rabbitmq-server (5672)
#      and dynalite (8000, plain http and no signature check, as DynamoDB Local) listen on its
#      loopback, reached by the compose service names;
#   2. the question-set volume as the platform leaves it: written by root (its question-set
#      loader runs as root), the directory root's, 0755. `serve`, as the image's uid 10001, loads
#      each quiz but cannot delete its file: it pauses with the remedy naming the directory's
#      owner and its own uid, and dead-letters nothing;
#   3. docs/deployment.md's compose remedy, the service run as the volume's owner (user 0): every quiz
#      loaded, no key, no file and no dead letter left.
# Run by image-test.sh once it has built the image (IMAGE, default quiz-result-loader:test).
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "platform image test: FAILED: $*" >&2; exit 1; }
image="${IMAGE:-quiz-result-loader:test}"
. scripts/podman-env.sh
pod() { podman --log-level=error "$@"; }
command -v ip >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null

# The namespace lives as long as this sleep; the servers are started inside it.
unshare --net sleep infinity &
ns_pid=$!
netns="/proc/$ns_pid/ns/net"
# Until unshare has made the namespace, the pid is still in ours: wait for it to move.
for _ in $(seq 100); do
  [ "$(readlink "$netns")" != "$(readlink /proc/self/ns/net)" ] && break
  sleep 0.05
done
[ "$(readlink "$netns")" != "$(readlink /proc/self/ns/net)" ] || fail "no network namespace of its own"
inside() { nsenter --net="$netns" "$@"; }
stack() { inside env QRL_REDIS_PORT=6379 QRL_AMQP_PORT=5672 QRL_DYNAMO_PORT=8000 QRL_VERIFIER_PORT= QRL_AMQPS_PORT= \
  QRL_STACK_DIR="$podman_state/platform-stack" QRL_RABBITMQ_DIR=/var/tmp/quiz-result-loader/platform-rabbitmq \
  scripts/stack.sh "$@"; }
container=qrl-platform-test
cleanup() {
  pod rm -f "$container" >/dev/null 2>&1 || true
  stack stop >/dev/null 2>&1 || true
  kill "$ns_pid" 2>/dev/null || true
}
trap cleanup EXIT
inside ip link set lo up
stack start >/dev/null

volume="$podman_state/platform-question-sets"
rm -rf "$volume" && mkdir -p "$volume" && chown 0:0 "$volume" && chmod 755 "$volume"
# The service's environment, exactly (with the .env's RabbitMQ login); the rest are defaults.
upstream=(-e RABBITMQ_HOST=quiz-completion-queue -e RABBITMQ_USERNAME=guest -e RABBITMQ_PASSWORD=guest
  -e REDIS_HOST=speed-run-cache -e REDIS_PORT=6379 -e QUESTION_SET_PATH=/question-sets
  -e DYNAMODB_ENDPOINT_URL=http://quiz-result-store:8000)
common=(--network "ns:$netns" --add-host quiz-completion-queue:127.0.0.1 --add-host speed-run-cache:127.0.0.1
  --add-host quiz-result-store:127.0.0.1 -v "$volume:/question-sets" "${upstream[@]}")
in_image() { pod run --rm "${common[@]}" "$@"; }
logs() { pod logs "$container" 2>&1; }
serve_until() { # what, condition (a command), podman run options...
  local what=$1 condition=$2; shift 2
  pod run -d --name "$container" "${common[@]}" "$@" "$image" serve >/dev/null 2>&1
  local deadline=$((SECONDS + 120))
  until $condition; do
    [ $SECONDS -lt $deadline ] || { logs | tail -20; fail "$what"; }
    pod container inspect --format '{{.State.Running}}' "$container" | grep -q true || { logs | tail; fail "serve exited: $what"; }
    sleep 0.2
  done
}
stop_serve() {
  pod stop -t 60 "$container" >/dev/null 2>&1
  [ "$(pod container inspect --format '{{.State.ExitCode}}' "$container")" = 0 ] || { logs | tail; fail "serve did not stop cleanly"; }
  pod rm "$container" >/dev/null 2>&1
}

echo "== the platform's compose environment, unchanged, and its root-owned volume"
count=5
# The platform's writer is root: seed writes the files as root, into the root-owned directory.
in_image --user 0:0 "$image" seed -n "$count" -p 6 -q 4 --print-ids 2>/dev/null >"$podman_state/platform.ids"
[ "$(wc -l <"$podman_state/platform.ids")" = "$count" ] || fail "seed"
[ "$(stat -c %u "$volume/$(head -1 "$podman_state/platform.ids").json")" = 0 ] || fail "the files are not root's"

paused() { logs | grep -q 'msg="consumption paused'; }
serve_until "serve did not pause on the root-owned volume" paused
log=$(logs)
stop_serve
grep -q "directory '/question-sets' is owned by uid 0 gid 0 with mode 755; the loader runs as uid 10001" <<<"$log" ||
  { echo "$log" | tail -5; fail "the pause does not name the directory's owner and the loader's uid"; }
grep -q 'compose: user:, Kubernetes: fsGroup' <<<"$log" || fail "the pause gives no remedy"
in_image "$image" dlq list 2>&1 | grep -q '^0 dead letters' || fail "a dead letter"
pod run --rm "${common[@]}" "$image" list --output tsv 2>/dev/null | grep -c . | grep -qv '^0$' || fail "nothing was loaded before the pause"
[ "$(ls "$volume" | wc -l)" = "$count" ] || fail "files went missing"

echo "== the same, run as the volume's owner (compose: user: \"0\")"
all_gone() { [ -z "$(ls -A "$volume")" ]; }
serve_until "not every quiz finished as the volume's owner" all_gone --user 0:0
served=$(logs)
stop_serve
listed=$(in_image "$image" list --limit 100 --output tsv 2>/dev/null)
while read -r id; do
  grep -q "^$id" <<<"$listed" || fail "quiz $id was not loaded"
  [ "$(inside redis-cli -p 6379 exists "$id:quizName")" = 0 ] || fail "quiz $id's keys are left"
done <"$podman_state/platform.ids"
in_image "$image" dlq list 2>&1 | grep -q '^0 dead letters' || fail "a dead letter"
grep -q 'no AWS region or credentials set: using region us-east-1 and placeholder keys' <<<"$served" ||
  fail "the local endpoint's defaults were not logged"
echo "platform image test: passed: the compose environment unchanged; a root-owned volume paused serve with no dead letter; as its owner, $count of $count quizzes loaded and cleaned up"
