#!/usr/bin/env bash
# pg.sh: a throwaway PostgreSQL 15 cluster with PostGIS, from Debian's packages
# (postgresql-15, postgresql-15-postgis-3), for the tests and the benchmark.
#
#   scripts/pg.sh start DIR   create a cluster in DIR (when DIR has none) and start it; prints
#                             the URI of its database "helpmap" (PostGIS installed)
#   scripts/pg.sh uri DIR     prints that URI
#   scripts/pg.sh stop DIR    stops the cluster (DIR stays: rm -rf it to drop everything)
#   scripts/pg.sh run CMD...  a cluster in a new temporary directory for one command: runs CMD
#                             with HM_TEST_PG_URI set to the URI, then stops and removes it, and
#                             exits with CMD's status, or 77 ("skipped" for ctest) when
#                             PostgreSQL cannot be started here. When HM_TEST_PG_URI is set
#                             already, CMD runs against that server instead.
#
# The cluster listens on 127.0.0.1 only, on a free port, with its unix socket in DIR; local
# connections are trusted (user postgres, no password): a test fixture, never a deployment.
# Commits are durable as in production (fsync=on, synchronous_commit=on). initdb refuses to
# run as root: as root the cluster belongs to the user postgres (Debian's package makes it).
set -euo pipefail

PGBIN=${HM_PG_BIN:-/usr/lib/postgresql/15/bin}
PGSHARE=${HM_PG_SHARE:-/usr/share/postgresql/15}
SUPERUSER=postgres

usage() {
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Run a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Why PostgreSQL cannot run here, or nothing.
unavailable() {
  if [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ]; then
    echo "no PostgreSQL 15 in $PGBIN (scripts/deps.sh test installs postgresql-15)"
  elif [ ! -f "$PGSHARE/extension/postgis.control" ]; then
    echo "no PostGIS for PostgreSQL 15 (scripts/deps.sh test installs postgresql-15-postgis-3)"
  elif [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    echo "running as root and there is no user postgres to own the cluster"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 30000))
}

uri_of() {
  local dir=$1
  [ -f "$dir/port" ] || { echo "pg.sh: no cluster in $dir" >&2; exit 1; }
  echo "postgresql://$SUPERUSER@127.0.0.1:$(cat "$dir/port")/helpmap"
}

psql_in() {
  local dir=$1 db=$2
  shift 2
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$(cat "$dir/port")" -U "$SUPERUSER" -d "$db" "$@"
}

start() {
  local dir=$1 why port tries
  why=$(unavailable)
  if [ -n "$why" ]; then
    echo "pg.sh: $why" >&2
    return 77
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner "$PGBIN/initdb" -D "$dir/data" -U "$SUPERUSER" --auth=trust -E UTF8 --locale=C \
      --no-instructions >"$dir/initdb.log" 2>&1 || {
      echo "pg.sh: initdb failed:" >&2
      tail -5 "$dir/initdb.log" >&2
      return 77
    }
  fi
  for tries in 1 2 3 4 5; do
    port=$(free_port)
    as_owner sh -c "cat > '$dir/data/helpmap.conf'" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = on
synchronous_commit = on
max_connections = 200
shared_buffers = 64MB
log_min_messages = warning
log_line_prefix = '%m [%p] %a '
EOF
    grep -q "^include_if_exists = 'helpmap.conf'" "$dir/data/postgresql.conf" ||
      as_owner sh -c "echo \"include_if_exists = 'helpmap.conf'\" >> '$dir/data/postgresql.conf'"
    if as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 start >/dev/null 2>&1; then
      echo "$port" >"$dir/port"
      break
    fi
    port=
  done
  if [ -z "$port" ]; then
    echo "pg.sh: PostgreSQL did not start:" >&2
    tail -5 "$dir/data/server.log" >&2 || true
    return 77
  fi
  if ! psql_in "$dir" postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'helpmap'" | grep -q 1; then
    psql_in "$dir" postgres -c "CREATE DATABASE helpmap" &&
      psql_in "$dir" helpmap -c "CREATE EXTENSION IF NOT EXISTS postgis" || {
      echo "pg.sh: cannot create the database helpmap with PostGIS" >&2
      return 77
    }
  fi
  uri_of "$dir"
}

stop() {
  local dir=$1
  [ -f "$dir/data/PG_VERSION" ] || return 0
  as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

cmd=${1:-}
case "$cmd" in
  start)
    [ $# -eq 2 ] || usage
    start "$2"
    ;;
  uri)
    [ $# -eq 2 ] || usage
    uri_of "$2"
    ;;
  stop)
    [ $# -eq 2 ] || usage
    stop "$2"
    ;;
  run)
    shift
    [ $# -ge 1 ] || usage
    if [ -n "${HM_TEST_PG_URI:-}" ]; then
      exec "$@"
    fi
    dir=$(mktemp -d /tmp/hm-pg-XXXXXX)
    trap 'stop "$dir"; rm -rf "$dir"' EXIT
    trap 'exit 143' TERM
    trap 'exit 130' INT
    set +e
    uri=$(start "$dir")
    rc=$?
    set -e
    if [ $rc -ne 0 ]; then
      echo "pg.sh: skipped: PostgreSQL is not available" >&2
      exit 77
    fi
    set +e
    HM_TEST_PG_URI=$uri "$@"
    rc=$?
    set -e
    exit $rc
    ;;
  *)
    usage
    ;;
esac
