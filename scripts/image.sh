#!/usr/bin/env bash
# The container image, as the replaced loader's Makefile had it:
#   scripts/image.sh build     build quiz-result-loader from the Dockerfile
#   scripts/image.sh run       run it (serve) against the local stack of scripts/stack.sh, in the
#                              foreground, host network, the demo's question-set directory mounted
#   scripts/image.sh rm        remove the image
# Uses docker, or podman where there is no docker (QRL_CONTAINER_ENGINE chooses).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
image="${QRL_IMAGE:-quiz-result-loader}"
engine="${QRL_CONTAINER_ENGINE:-$(command -v docker >/dev/null && echo docker || echo podman)}"

case "${1:-}" in
  build)
    "$engine" build -t "$image" "$root" ;;
  run)
    eval "$(cd "$root" && scripts/stack.sh env)"
    mkdir -p "$root/.local/question-sets"
    # The caller's user: it owns the demo's question sets, which the loader deletes once loaded.
    exec "$engine" run --rm --name quiz-result-loader --network host --user "$(id -u):$(id -g)" \
      -v "$root/.local/question-sets:/data/question-sets" \
      -e RABBITMQ_HOST -e RABBITMQ_PORT -e RABBITMQ_USERNAME -e RABBITMQ_PASSWORD \
      -e REDIS_HOST -e REDIS_PORT -e DYNAMODB_REGION -e DYNAMODB_ENDPOINT_URL \
      -e DYNAMODB_ACCESS_KEY_ID -e DYNAMODB_SECRET_ACCESS_KEY \
      -e LOADER_METRICS_PORT="${LOADER_METRICS_PORT:-9100}" "$image" "${@:2}" ;;
  rm)
    "$engine" rmi -f "$image" ;;
  *)
    echo "usage: scripts/image.sh build|run [COMMAND ARGS...]|rm" >&2; exit 2 ;;
esac
