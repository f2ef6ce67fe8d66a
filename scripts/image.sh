#!/usr/bin/env bash
# The container image, as the replaced loader's Makefile had it:
#   scripts/image.sh build     build quiz-result-loader from the Dockerfile
#   scripts/image.sh run       run it (serve) against the local stack of scripts/stack.sh, in the
#                              foreground, host network, the demo's question-set directory mounted
#   scripts/image.sh rm        remove the image
# Uses docker where its daemon answers, else podman (QRL_CONTAINER_ENGINE chooses).
set -euo pipefail
engine_args=() build_args=()
root="$(cd "$(dirname "$0")/.." && pwd)"
image="${QRL_IMAGE:-quiz-result-loader}"
if [ -z "${QRL_CONTAINER_ENGINE:-}" ] && command -v docker >/dev/null && timeout 5 docker info >/dev/null 2>&1; then
  engine=docker
else
  engine="${QRL_CONTAINER_ENGINE:-podman}"
fi
if [ "$engine" = podman ]; then
  . "$root/scripts/podman-env.sh"
  [ "${1:-}" = build ] && podman_base_image
  engine_args=(--log-level=error)
  build_args=(--network host --pull=never --format docker)  # docker format: it keeps the HEALTHCHECK
fi

case "${1:-}" in
  build)
    "$engine" "${engine_args[@]}" build "${build_args[@]}" -t "$image" "$root" ;;
  run)
    eval "$(cd "$root" && scripts/stack.sh env)"
    mkdir -p "$root/.local/question-sets"
    # The caller's user: it owns the demo's question sets, which the loader deletes once loaded.
    exec "$engine" "${engine_args[@]}" run --rm --name quiz-result-loader --network host --user "$(id -u):$(id -g)" \
      -v "$root/.local/question-sets:/data/question-sets" \
      -e RABBITMQ_HOST -e RABBITMQ_PORT -e RABBITMQ_USERNAME -e RABBITMQ_PASSWORD \
      -e REDIS_HOST -e REDIS_PORT -e DYNAMODB_REGION -e DYNAMODB_ENDPOINT_URL \
      -e DYNAMODB_ACCESS_KEY_ID -e DYNAMODB_SECRET_ACCESS_KEY \
      -e LOADER_METRICS_PORT="${LOADER_METRICS_PORT:-9100}" "$image" "${@:2}" ;;
  rm)
    "$engine" "${engine_args[@]}" rmi -f "$image" ;;
  *)
    echo "usage: scripts/image.sh build|run [COMMAND ARGS...]|rm" >&2; exit 2 ;;
esac
