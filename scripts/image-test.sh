#!/usr/bin/env bash
# The container image, tested for real on a machine with no Docker daemon and no registry:
#   1. podman (with runc, private configuration and storage) and debootstrap are installed;
#   2. the Dockerfile's base, debian:bookworm, is made from Debian's archive with debootstrap
#      and imported under that name (once; kept in /var/tmp/quiz-result-loader/podman);
#   3. the image is built from the Dockerfile, unchanged: compiled in its build stage, or, with
#      --from-build (the test command's way), its root made from the release build's Lambda zip
#      (build/quiz-result-loader-lambda.zip, the same bundle the build stage makes) given as the
#      stage `root` (--build-context root=build/image-root), and no base image needed;
#   4. against the test stack (started here unless it runs), from the image: `seed`, then `serve`
#      detached until it is consuming and healthy, `podman stop` while it works (exit 0, a clean
#      drain), nothing lost (every quiz loaded once serve runs again, no source left, no dead
#      letter), `load` of unannounced quizzes, `list` and `dlq list`;
#   5. scripts/image-platform-test.sh: the image with the platform's compose environment unchanged,
#      and its root-owned question-set volume.
# Prints the image's size, its build time and its start-to-consuming time.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
fail() { echo "image test: FAILED: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }

missing=()
for tool in podman runc debootstrap bc; do command -v "$tool" >/dev/null || missing+=("$tool"); done
/usr/bin/python3 -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] && sudo= || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq podman runc debootstrap bc python3-yaml >/dev/null
fi

# compose.yaml cannot run here (no Docker), but it must parse, and its loader must have every
# setting the loader requires, build from this Dockerfile and share the question-set volume.
/usr/bin/python3 - <<'PY' || fail "compose.yaml"
import sys, yaml
compose = yaml.safe_load(open("compose.yaml"))
services = compose["services"]
loader = services["loader"]
env = loader["environment"]
required = ["RABBITMQ_HOST", "RABBITMQ_PORT", "RABBITMQ_USERNAME", "RABBITMQ_PASSWORD", "REDIS_HOST",
            "REDIS_PORT", "QUESTION_SET_PATH", "DYNAMODB_REGION", "DYNAMODB_ENDPOINT_URL"]
missing = [k for k in required if k not in env]
problems = [f"loader environment lacks {missing}"] if missing else []
if loader.get("build") != ".": problems.append("loader is not built from this Dockerfile")
for host in (env["RABBITMQ_HOST"], env["REDIS_HOST"], env["DYNAMODB_ENDPOINT_URL"].split("//")[1].split(":")[0]):
    if host not in services: problems.append(f"no service '{host}'")
if not any(v.startswith("question-sets:" + env["QUESTION_SET_PATH"]) for v in loader["volumes"]):
    problems.append("the question-set volume is not mounted at QUESTION_SET_PATH")
if "question-sets" not in compose.get("volumes", {}): problems.append("no question-sets volume")
# The monitoring profile: Prometheus scrapes the loader's metrics port under the dashboard's job;
# Grafana provisions that Prometheus and the dashboard file.
import json, os
prometheus, grafana = services.get("prometheus", {}), services.get("grafana", {})
for name, s in (("prometheus", prometheus), ("grafana", grafana)):
    if s.get("profiles") != ["monitoring"]: problems.append(f"{name} is not in the monitoring profile")
    for v in s.get("volumes", []):
        if not os.path.exists(v.split(":")[0]): problems.append(f"{name} mounts {v.split(':')[0]}, which does not exist")
scrape = yaml.safe_load(open("deploy/prometheus/prometheus.yml"))["scrape_configs"][0]
if scrape["static_configs"][0]["targets"] != [f"loader:{env['LOADER_METRICS_PORT']}"]:
    problems.append("prometheus does not scrape the loader's metrics port")
dashboard = json.load(open("deploy/grafana/quiz-result-loader.json"))
job = dashboard["templating"]["list"][1]
if scrape["job_name"] != "quiz-result-loader" or "label_values(qrl_quizzes_total, job)" not in job["definition"]:
    problems.append("the dashboard's job variable does not find the scrape's job")
sources = yaml.safe_load(open("deploy/grafana/provisioning/datasources.yaml"))["datasources"]
if sources[0]["url"] != "http://prometheus:9090": problems.append("grafana's data source is not the profile's Prometheus")
print("\n".join(problems), file=sys.stderr)
sys.exit(1 if problems else 0)
PY

. scripts/podman-env.sh
pod() { podman --log-level=error "$@"; }
build_args=()
if [ "${1:-}" = --from-build ]; then
  # The root the build stage assembles in /out, from the release build's bundle: the binary and
  # its libraries under /var/task, the CA bundle, the user, /tmp and the question-set directory.
  zip=build/quiz-result-loader-lambda.zip
  [ -f "$zip" ] || fail "no $zip: build the release first (cmake --build build --target lambda-zip)"
  root_dir="$PWD/build/image-root"
  rm -rf "$root_dir"
  mkdir -p "$root_dir"/out/var/task "$root_dir"/out/etc/ssl/certs "$root_dir"/out/tmp "$root_dir"/out/data/question-sets
  unzip -q "$zip" -d "$root_dir"/out/var/task
  cp /etc/ssl/certs/ca-certificates.crt "$root_dir"/out/etc/ssl/certs/
  echo 'loader:x:10001:10001:quiz-result-loader:/nonexistent:/nonexistent' >"$root_dir"/out/etc/passwd
  echo 'loader:x:10001:' >"$root_dir"/out/etc/group
  chown 10001:10001 "$root_dir"/out/data/question-sets
  chmod 1777 "$root_dir"/out/tmp
  build_args=(--build-context "root=$root_dir")
  echo "== building the image from the Dockerfile, its root from the release build"
else
  podman_base_image || fail "debootstrap"
  echo "== building the image from the Dockerfile"
fi
image=quiz-result-loader:test
started=$(now)
pod build --network host --pull=never --format docker "${build_args[@]}" -t "$image" . >"$podman_state/build.log" 2>&1 ||
  { tail -30 "$podman_state/build.log"; fail "podman build"; }
build_s=$(since "$started")
size=$(pod image inspect --format '{{.Size}}' "$image")

# The test stack: test.sh's, or started here.
export QRL_REDIS_PORT="${QRL_REDIS_PORT:-26379}" QRL_AMQP_PORT="${QRL_AMQP_PORT:-25680}" \
  QRL_DYNAMO_PORT="${QRL_DYNAMO_PORT:-28000}" QRL_VERIFIER_PORT="${QRL_VERIFIER_PORT:-28010}"
container=qrl-image-test
cleanup() { pod rm -f "$container" >/dev/null 2>&1 || true; }
# (The status is read whole first: grep -q leaving early would fail the pipe under pipefail, and
# a running stack would look stopped, and be stopped at the end.)
status=$(scripts/stack.sh status)
if ! grep -q "^rabbitmq up" <<<"$status"; then
  trap 'cleanup; scripts/stack.sh stop >/dev/null' EXIT
  scripts/stack.sh start >/dev/null
else
  trap cleanup EXIT
fi
eval "$(scripts/stack.sh env)"
# The keys the stack's SigV4 verifier knows.
export DYNAMODB_ACCESS_KEY_ID=test-key DYNAMODB_SECRET_ACCESS_KEY=test-secret-do-not-log
run=image-$(date +%s)
questions="$podman_state/question-sets-$run"
mkdir -p "$questions" && chmod 777 "$questions"
common=(--network host -v "$questions:/data/question-sets" -e RABBITMQ_HOST -e RABBITMQ_PORT -e RABBITMQ_USERNAME
  -e RABBITMQ_PASSWORD -e REDIS_HOST -e REDIS_PORT -e DYNAMODB_REGION -e DYNAMODB_ENDPOINT_URL
  -e DYNAMODB_ACCESS_KEY_ID -e DYNAMODB_SECRET_ACCESS_KEY -e RABBITMQ_QUEUE_NAME="$run" -e DYNAMODB_TABLE="$run"
  -e LOADER_WORKERS=2 -e LOADER_METRICS_PORT=29100)
in_image() { pod run --rm "${common[@]}" "$image" "$@"; }

echo "== seed, serve, stop mid-work, serve again, load, list, dlq list: all from the image"
count=150
in_image seed -n "$count" -p 100 -q 20 --print-ids 2>/dev/null >"$podman_state/$run.ids"
[ "$(wc -l <"$podman_state/$run.ids")" = "$count" ] || fail "seed printed $(wc -l <"$podman_state/$run.ids") ids, not $count"
loaded() { pod logs "$container" 2>&1 | grep -c 'msg="quiz loaded"' || true; }

started=$(now)
# (podman without systemd cannot schedule the HEALTHCHECK and says so on stderr; it is run
# by hand below.)
pod run -d --name "$container" "${common[@]}" "$image" >/dev/null 2>&1
until pod logs "$container" 2>&1 | grep -q 'msg=consuming'; do
  pod container inspect --format '{{.State.Running}}' "$container" | grep -q true ||
    { pod logs "$container"; fail "serve exited before consuming"; }
  sleep 0.05
done
consuming_s=$(since "$started")
pod healthcheck run "$container" >/dev/null || fail "the image's HEALTHCHECK says unhealthy"
until [ "$(loaded)" -ge 5 ]; do sleep 0.05; done
pod stop -t 60 "$container" >/dev/null 2>&1
code=$(pod container inspect --format '{{.State.ExitCode}}' "$container")
at_stop=$(loaded)
pod logs "$container" 2>&1 | grep -q 'msg=stopped' || { pod logs "$container" | tail; fail "no clean stop"; }
[ "$code" = 0 ] || fail "serve exited with $code on podman stop"
[ "$at_stop" -lt "$count" ] || fail "every quiz was loaded before the stop: not stopped mid-work"
pod rm "$container" >/dev/null

pod run -d --name "$container" "${common[@]}" "$image" >/dev/null 2>&1
deadline=$((SECONDS + 120))
while [ "$(in_image list --limit 1000 --output tsv 2>/dev/null | grep -c .)" -lt "$count" ]; do
  [ $SECONDS -lt $deadline ] || fail "not every quiz loaded after the restart"
  sleep 1
done
pod stop -t 60 "$container" >/dev/null 2>&1
listed=$(in_image list --limit 1000 --output tsv 2>/dev/null)
while read -r id; do
  grep -q "^$id" <<<"$listed" || fail "quiz $id was lost"
  [ "$(redis-cli -p "$QRL_REDIS_PORT" exists "$id:quizName")" = 0 ] || fail "quiz $id's sources are still in Redis"
done <"$podman_state/$run.ids"
[ -z "$(ls -A "$questions")" ] || fail "question files left: $(ls "$questions" | head -3)"

in_image seed -n 2 --no-publish --print-ids 2>/dev/null >"$podman_state/$run.unannounced"
mapfile -t unannounced <"$podman_state/$run.unannounced"
in_image load "${unannounced[@]}" 2>/dev/null | grep -c $'\tloaded$' | grep -qx 2 || fail "load"
letters=$(in_image dlq list 2>&1) || fail "dlq list: $letters"
grep -q "^0 dead letters" <<<"$letters" || fail "dead letters: $letters"

printf 'image test: passed: image %s MB, built in %.0f s, consuming %.2f s after podman run; %d of %d quizzes loaded before podman stop, the rest after the restart\n' \
  "$(echo "scale=1; $size / 1000000" | bc)" "$build_s" "$consuming_s" "$at_stop" "$count"
rm -rf "$questions" "$podman_state/$run".*

# The same image where the platform's compose file puts the replaced loader.
IMAGE="$image" scripts/image-platform-test.sh
# Earlier builds' layers (the 800 MB build stage among them) would pile up run after run.
pod image prune -f >/dev/null
