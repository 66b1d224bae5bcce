#!/usr/bin/env bash
# cluster.sh: several helpmap servers on one PostGIS database behind HAProxy, on loopback,
# from Debian's packages only — the local recipe of SPEC "Beyond one machine", used by the
# two-server tests and the benchmark.
#
#   scripts/cluster.sh up DIR [--servers N] [--port P] [--bin FILE] [--web DIR] [--db URI]
#         [-- SERVE_ARGS...]
#       starts PostgreSQL + PostGIS in DIR/pg (scripts/pg.sh; or uses --db URI), N helpmap
#       servers (default 2) on free ports, and HAProxy on 127.0.0.1:P (default: a free port)
#       with health checks and timeouts that keep event streams open; writes DIR/cluster.env
#       (PORT, SERVER_PORTS, SERVER_PIDS, DB, HAPROXY_PID) and prints the balancer's URL.
#   scripts/cluster.sh down DIR      stops everything started by `up` (DIR stays)
#   scripts/cluster.sh status DIR    shows what runs
#
# No sticky sessions: any server answers any request. Each server trusts the balancer's
# X-Forwarded-For (127.0.0.1) for its per-client limits.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port_line() { # log file; prints the port from "listening on http://127.0.0.1:PORT/"
  local log=$1
  for _ in $(seq 200); do
    local p
    p=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log" | head -n 1)
    if [ -n "$p" ]; then
      echo "$p"
      return 0
    fi
    sleep 0.1
  done
  echo "cluster.sh: a server did not start:" >&2
  tail -n 20 "$log" >&2
  return 1
}

up() {
  local dir=$1
  shift
  local n=2 port="" bin="$root/build/helpmap" web="$root/web" db="" serve_args=()
  while [ $# -gt 0 ]; do
    case $1 in
      --servers) n=$2; shift 2 ;;
      --port) port=$2; shift 2 ;;
      --bin) bin=$2; shift 2 ;;
      --web) web=$2; shift 2 ;;
      --db) db=$2; shift 2 ;;
      --) shift; serve_args=("$@"); break ;;
      *) usage ;;
    esac
  done
  command -v haproxy >/dev/null || { echo "cluster.sh: haproxy is missing (apt-get install haproxy)" >&2; exit 77; }
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -z "$db" ]; then
    db=$("$root/scripts/pg.sh" start "$dir/pg") || exit $?
  fi
  # The first server creates the schema; the others find it.
  local ports=() pids=()
  for i in $(seq 1 "$n"); do
    local log="$dir/server$i.log"
    "$bin" serve --db "$db" --port 0 --web "$web" --trusted-proxy 127.0.0.1 \
      ${serve_args[@]+"${serve_args[@]}"} >"$log" 2>&1 &
    pids+=($!)
    ports+=("$(wait_port_line "$log")")
  done
  [ -n "$port" ] || port=$(free_port)
  {
    echo "global"
    echo "  maxconn 4000"
    echo "  log stderr format short local0 warning"
    echo "defaults"
    echo "  mode http"
    echo "  log global"
    echo "  timeout connect 2s"
    # Event streams stay open for hours; the servers send a heartbeat every 15 s.
    echo "  timeout client 1h"
    echo "  timeout server 1h"
    echo "  timeout tunnel 1h"
    echo "  timeout http-request 10s"
    echo "  option forwardfor"
    echo "frontend helpmap"
    echo "  bind 127.0.0.1:$port"
    echo "  default_backend servers"
    echo "backend servers"
    echo "  balance roundrobin"
    echo "  option httpchk GET /healthz"
    echo "  http-check expect status 200"
    echo "  default-server inter 1s fastinter 500ms fall 2 rise 1"
    for i in $(seq 1 "$n"); do
      echo "  server s$i 127.0.0.1:${ports[$((i - 1))]} check"
    done
  } >"$dir/haproxy.cfg"
  haproxy -f "$dir/haproxy.cfg" -D -p "$dir/haproxy.pid" 2>"$dir/haproxy.log" || {
    echo "cluster.sh: haproxy did not start:" >&2
    cat "$dir/haproxy.log" >&2
    exit 1
  }
  {
    echo "PORT=$port"
    echo "SERVER_PORTS=\"${ports[*]}\""
    echo "SERVER_PIDS=\"${pids[*]}\""
    echo "DB=$db"
    echo "HAPROXY_PID=$(cat "$dir/haproxy.pid")"
  } >"$dir/cluster.env"
  # Ready when the balancer answers through a server.
  for _ in $(seq 100); do
    if curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
      echo "http://127.0.0.1:$port/"
      return 0
    fi
    sleep 0.1
  done
  echo "cluster.sh: the balancer does not answer" >&2
  exit 1
}

down() {
  local dir=$1
  [ -f "$dir/cluster.env" ] || return 0
  # shellcheck disable=SC1091
  . "$dir/cluster.env"
  kill "$HAPROXY_PID" 2>/dev/null || true
  for p in $SERVER_PIDS; do kill "$p" 2>/dev/null || true; done
  for p in $SERVER_PIDS; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  [ -d "$dir/pg" ] && "$root/scripts/pg.sh" stop "$dir/pg"
  rm -f "$dir/cluster.env"
}

status() {
  local dir=$1
  [ -f "$dir/cluster.env" ] || { echo "no cluster in $dir"; return 1; }
  # shellcheck disable=SC1091
  . "$dir/cluster.env"
  echo "balancer: http://127.0.0.1:$PORT/ (haproxy pid $HAPROXY_PID)"
  set -- $SERVER_PIDS
  for p in $SERVER_PORTS; do
    echo "server: http://127.0.0.1:$p/ (pid $1) $(curl -s "http://127.0.0.1:$p/healthz")"
    shift
  done
  echo "database: $DB"
}

cmd=${1:-}
[ $# -ge 2 ] || usage
shift
case "$cmd" in
  up) up "$@" ;;
  down) down "$1" ;;
  status) status "$1" ;;
  *) usage ;;
esac
