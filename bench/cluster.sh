#!/usr/bin/env bash
# bench/cluster.sh: the PostGIS parts of SPEC "Performance, second round" (issue 13), in one run:
#   - durable creation (POST /api/v1/requests, 32 clients) on the SpatiaLite backend, on the
#     PostGIS backend, and by the PostGIS peer (pgbench, bench/pg_create.sql);
#   - reads (nearby, z14 tiles; 32 clients) of one SpatiaLite server, of one and of two PostGIS
#     servers behind HAProxy (scripts/cluster.sh), of one PostGIS server without HAProxy, and
#     of the PostGIS peer;
# on the same rows (a demo district copied into PostgreSQL with `helpmap migrate`, the peer
# loaded from the same export), the same PostgreSQL server, one after the other, never two at
# once, each run RUNS times in turn. Medians of the runs, and ratios (targets: PostGIS creation
# within 2x of SpatiaLite; two servers >= 1.7x the reads of one).
#
#   bench/cluster.sh [--requests N] [--teams N] [--duration S] [--runs N] [--rtt-ms R] [--keep]
#
# Defaults: 100,000 requests, 2,000 teams, 10 s runs, 3 runs. --rtt-ms R also runs creation
# with PostgreSQL behind bench/netdelay.py (about R ms more per round trip), for the PostGIS
# backend and for the peer: PostgreSQL on another machine, emulated. Writes bench/results/cluster.md
# (and the raw wrk/pgbench output under bench/results/raw-cluster/). Loopback only.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
OUT=$BENCH/results
RAW=$OUT/raw-cluster
BUILD=${HM_BENCH_BUILD:-$ROOT/build-bench}
REQUESTS=100000
TEAMS=2000
DURATION=10
RUNS=3
KEEP=0
RTT=0
ARGS="$*"

die() { echo "bench/cluster.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --requests) REQUESTS=${2:?}; shift 2 ;;
    --teams) TEAMS=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --rtt-ms) RTT=${2:?}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ $REQUESTS =~ ^[0-9]+$ && $REQUESTS -ge 1000 && $REQUESTS -le 10000000 ]] ||
  die "--requests must be 1000..10000000"
[[ $TEAMS =~ ^[0-9]+$ && $TEAMS -ge 10 && $TEAMS -le 100000 ]] || die "--teams must be 10..100000"
[[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 2 && $DURATION -le 300 ]] || die "--duration must be 2..300"
[[ $RUNS =~ ^[0-9]+$ && $RUNS -ge 1 && $RUNS -le 9 ]] || die "--runs must be 1..9"
[[ $RTT =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--rtt-ms must be a number of milliseconds"

mkdir -p "$OUT"
rm -rf "$RAW"
mkdir -p "$RAW"
log() { printf '%s cluster-bench: %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$RAW/run.log" >&2; }

"$ROOT/scripts/deps.sh" bench
for t in wrk haproxy pgbench psql /usr/bin/python3; do
  command -v "$t" >/dev/null || die "$t is missing (scripts/deps.sh bench)"
done
log "building helpmap (Release) in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHM_WERROR=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target helpmap >/dev/null
HM=$BUILD/helpmap
PY=/usr/bin/python3

WORK=$(mktemp -d /tmp/helpmap-cbench.XXXXXX)
PGDIR=$(mktemp -d /tmp/helpmap-cbench-pg.XXXXXX) # apart: the cluster's owner must reach it
PIDS=()
CLUSTERS=()
cleanup() {
  set +e
  for c in "${CLUSTERS[@]}"; do "$ROOT/scripts/cluster.sh" down "$c" >/dev/null 2>&1; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  "$ROOT/scripts/pg.sh" stop "$PGDIR" >/dev/null 2>&1
  rm -rf "$PGDIR"
  if [ $KEEP = 1 ]; then echo "bench/cluster.sh: work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SERVE_ARGS=(--rate-limit 0 --phone-rate-limit 0 --address-rate-limit 0 --max-connections-per-ip 0
  --max-streams-per-ip 0 --claim-timeout 86400)

# start_server NAME DB: a helpmap server on a free port; sets PORT and SERVER_PID.
start_server() {
  local name=$1 db=$2
  "$HM" serve --db "$db" --port 0 --web "$ROOT/web" "${SERVE_ARGS[@]}" \
    >"$WORK/$name.out" 2>"$WORK/$name.log" &
  SERVER_PID=$!
  PIDS+=($SERVER_PID)
  for _ in $(seq 1 600); do
    PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$WORK/$name.out")
    [ -n "$PORT" ] && { log "$name: $(head -1 "$WORK/$name.out")"; return 0; }
    sleep 0.2
  done
  tail -5 "$WORK/$name.log" >&2
  die "$name did not start"
}

summary() { sed -n 's/^RESULT .*\(rps=[0-9.]*\).*\(p99_us=[0-9]*\).*/\1 \2/p' "$1"; }

# hm_run LABEL SCENARIO RUN PORT SCRIPT [args]: one wrk run, 32 connections.
hm_run() {
  local label=$1 scen=$2 run=$3 port=$4 script=$5
  shift 5
  local f=$RAW/$scen.$label.$run.txt
  wrk -t2 -c32 -d"${DURATION}s" --timeout 10s --latency -s "$BENCH/$script" \
    "http://127.0.0.1:$port/" -- "$@" >"$f" 2>&1 || true
  log "  $scen $label run $run: $(summary "$f")"
}

# pg_run SCENARIO RUN SQL [pgbench -D vars]: one pgbench run of the peer, 32 clients (on port
# $PEER_PORT, side name $PEER_SIDE: the relay's with --rtt-ms).
pg_run() {
  local scen=$1 run=$2 sql=$3
  shift 3
  local f=$RAW/$scen.${PEER_SIDE:-peer}.$run.txt vars=()
  for v in "$@"; do vars+=(-D "$v"); done
  (cd "$WORK" && pgbench -h 127.0.0.1 -p "${PEER_PORT:-$PGPORT}" -U postgres -n -M prepared -c 32 -j 2 \
    -T "$DURATION" "${vars[@]}" -f "$BENCH/$sql" -l --log-prefix="$WORK/pgb" bench) >"$f" 2>&1 || true
  $PY "$BENCH/report.py" pgblog "$f" "$WORK/pgb"
  log "  $scen ${PEER_SIDE:-peer} run $run: $(summary "$f")"
}

checkpoint() { psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -c CHECKPOINT >/dev/null 2>&1 || true; }

# ---- data ----------------------------------------------------------------------------------------
{
  echo "command:  bench/cluster.sh $ARGS"
  echo "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)   git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (+ local changes)')"
  echo "machine:  $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo)"
  echo "load avg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "runs:     $RUNS x ${DURATION}s per scenario and side, in turn; wrk -t2 -c32, pgbench -j2 -c32 -M prepared"
} >"$RAW/meta.txt"

DB=$WORK/helpmap.db
log "data: $REQUESTS requests, $TEAMS teams (helpmap demo)"
"$HM" demo --db "$DB" --requests "$REQUESTS" --teams "$TEAMS" >/dev/null 2>"$WORK/demo.log" ||
  { tail -3 "$WORK/demo.log" >&2; die "helpmap demo failed"; }
OP=$("$HM" team add --db "$DB" --name "bench operator" --role operator 2>/dev/null |
  $PY -c 'import json,sys; print(json.load(sys.stdin)["token"])')
CO=$("$HM" team add --db "$DB" --name "bench coordinator" --role coordinator 2>/dev/null |
  $PY -c 'import json,sys; print(json.load(sys.stdin)["token"])')
"$HM" export --db "$DB" --format csv --out "$WORK/requests.csv" 2>/dev/null
sqlite3 -csv "$DB" "SELECT id, name, role, status, capabilities, lon, lat, pos_at FROM team" >"$WORK/teams.csv"
sqlite3 -cmd ".load mod_spatialite" -csv "$DB" \
  "SELECT level, code, name, parent_code, hex(ST_AsBinary(geom)) FROM area" >"$WORK/areas.csv"
: >"$WORK/area_pts.csv"
$PY "$BENCH/prepare.py" "$WORK/requests.csv" "$WORK" >/dev/null
NPTS=$(wc -l <"$WORK/points.txt")
NT14=$(wc -l <"$WORK/tiles14.txt")

URI=$("$ROOT/scripts/pg.sh" start "$PGDIR") || die "PostgreSQL did not start (scripts/pg.sh)"
PGPORT=$(cat "$PGDIR/port")
log "PostgreSQL on 127.0.0.1:$PGPORT (scripts/pg.sh: fsync and synchronous_commit on)"
t0=$(date +%s.%N)
"$HM" migrate --db "$DB" --to "$URI" >"$RAW/migrate.json" 2>"$WORK/migrate.log" ||
  { tail -3 "$WORK/migrate.log" >&2; die "helpmap migrate failed"; }
MIGRATE_S=$($PY -c "import sys; print('%.1f' % ($(date +%s.%N) - $t0))")
log "helpmap migrate: $(cat "$RAW/migrate.json") in $MIGRATE_S s"

createdb -h 127.0.0.1 -p "$PGPORT" -U postgres bench
sed -e "s|:'requests_csv'|'$WORK/requests.csv'|; s|:'teams_csv'|'$WORK/teams.csv'|" \
  -e "s|:'areas_csv'|'$WORK/areas.csv'|; s|:'points_csv'|'$WORK/points.csv'|" \
  -e "s|:'codes_csv'|'$WORK/codes.csv'|; s|:'tiles_csv'|'$WORK/tiles.csv'|" \
  -e "s|:'area_points_csv'|'$WORK/area_pts.csv'|" "$BENCH/pg_schema.sql" >"$WORK/pg_schema.sql"
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres -d bench \
  -f "$WORK/pg_schema.sql" >"$WORK/pg_load.log" 2>&1 || { tail -5 "$WORK/pg_load.log" >&2; die "loading the peer failed"; }
checkpoint
log "peer loaded"

# ---- servers -------------------------------------------------------------------------------------
start_server sqlite "$DB"
SQ_PORT=$PORT
start_server pg "$URI"
PG_PORT=$PORT
if [ "$RTT" != 0 ]; then
  RELAY_PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  $PY "$BENCH/netdelay.py" "$RELAY_PORT" "$PGPORT" "$($PY -c "print($RTT / 2)")" &
  PIDS+=($!)
  sleep 0.5
fi
for n in 1 2; do
  c=$WORK/cluster$n
  CLUSTERS+=("$c")
  "$ROOT/scripts/cluster.sh" up "$c" --servers $n --db "$URI" --bin "$HM" --web "$ROOT/web" \
    -- "${SERVE_ARGS[@]}" >/dev/null
  # shellcheck disable=SC1090
  eval "LB$n=$(. "$c/cluster.env"; echo "$PORT")"
  log "HAProxy with $n server(s) on port $(. "$c/cluster.env"; echo "$PORT")"
done

# ---- reads: every side in turn, RUNS times --------------------------------------------------------
for r in $(seq 1 "$RUNS"); do
  hm_run sqlite nearby "$r" "$SQ_PORT" nearby.lua "$CO" "$WORK/points.txt"
  hm_run pg nearby "$r" "$PG_PORT" nearby.lua "$CO" "$WORK/points.txt"
  hm_run lb1 nearby "$r" "$LB1" nearby.lua "$CO" "$WORK/points.txt"
  hm_run lb2 nearby "$r" "$LB2" nearby.lua "$CO" "$WORK/points.txt"
  pg_run nearby "$r" pg_nearby.sql npts="$NPTS"
  hm_run sqlite tile14 "$r" "$SQ_PORT" tiles.lua 14 "$WORK/tiles14.txt" all
  hm_run pg tile14 "$r" "$PG_PORT" tiles.lua 14 "$WORK/tiles14.txt" all
  hm_run lb1 tile14 "$r" "$LB1" tiles.lua 14 "$WORK/tiles14.txt" all
  hm_run lb2 tile14 "$r" "$LB2" tiles.lua 14 "$WORK/tiles14.txt" all
  pg_run tile14 "$r" pg_tile_points.sql z=14 first=1 last="$NT14"
done

# ---- durable creation: SpatiaLite, PostGIS, the peer in turn -----------------------------------
for r in $(seq 1 "$RUNS"); do
  hm_run sqlite create "$r" "$SQ_PORT" create.lua "$OP" "$WORK/points.txt" "$r"
  checkpoint
  hm_run pg create "$r" "$PG_PORT" create.lua "$OP" "$WORK/points.txt" "$((r + 3))"
  checkpoint
  pg_run create "$r" pg_create.sql npts="$NPTS"
  checkpoint
  if [ "$RTT" != 0 ]; then
    # Started for its run only: a server that sat through the others' creations would spend
    # its run reading them back through the relay (its follower reads each changed row).
    start_server "pgrtt$r" "${URI/:$PGPORT\//:$RELAY_PORT/}"
    hm_run pgrtt create "$r" "$PORT" create.lua "$OP" "$WORK/points.txt" "$((r + 6))"
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    checkpoint
    PEER_PORT=$RELAY_PORT PEER_SIDE=peerrtt pg_run create "$r" pg_create.sql npts="$NPTS"
    checkpoint
  fi
done
echo "load avg at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RAW/meta.txt"

# ---- the table --------------------------------------------------------------------------------------
$PY - "$RAW" "$OUT/cluster.md" "$MIGRATE_S" "$RTT" <<'EOF'
import glob, os, re, statistics, sys
raw, out, migrate_s, rtt = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]

def result(path):
    kv = {}
    for line in open(path, errors="replace"):
        if line.startswith("RESULT "):
            for k, v in re.findall(r"(\w+)=(\S+)", line):
                kv[k] = v
    return kv

def med(scen, side, key="rps"):
    vals = []
    for f in sorted(glob.glob(os.path.join(raw, "%s.%s.*.txt" % (scen, side)))):
        kv = result(f)
        if key in kv:
            vals.append(float(kv[key]))
        if side != "peer" and int(kv.get("non2xx", "0")) + int(kv.get("sockerr", "0")) > 0:
            print("warning: %s had errors: %s" % (f, kv), file=sys.stderr)
    return (statistics.median(vals), len(vals)) if vals else (0.0, 0)

def fmt(v):
    return "{:,.0f}".format(v)

def ratio(a, b):
    return "%.2f×" % (a / b) if b else "—"

sides = [("sqlite", "1 server, SpatiaLite"), ("pg", "1 server, PostGIS"),
         ("lb1", "HAProxy + 1 server, PostGIS"), ("lb2", "HAProxy + 2 servers, PostGIS"),
         ("peer", "PostGIS peer (pgbench)"),
         ("pgrtt", "1 server, PostGIS through a relay adding ~%s ms a round trip" % rtt),
         ("peerrtt", "PostGIS peer through the same relay")]
lines = [open(os.path.join(raw, "meta.txt")).read().rstrip(), "",
         "`helpmap migrate` of the data set: %s s (%s)" % (
             migrate_s, open(os.path.join(raw, "migrate.json")).read().strip()), "",
         "Requests per second, median of the runs (p99 in ms); ratios against the peer in the "
         "same run.", ""]
for scen, title in (("nearby", "GET /requests/nearby (limit 5)"),
                    ("tile14", "GET /tiles/requests/14/x/y.mvt, every tile holding open requests"),
                    ("create", "POST /requests (durable, operator)")):
    lines += ["### " + title, "", "| side | req/s | p99 ms | ÷ peer |", "|---|---|---|---|"]
    for side, label in sides:
        v, n = med(scen, side)
        if n == 0:
            continue
        peer = med(scen, "peerrtt" if side.endswith("rtt") else "peer")[0]
        p99 = med(scen, side, "p99_us")[0] / 1000.0
        lines.append("| %s | %s | %.1f | %s |" % (label, fmt(v), p99, ratio(v, peer)))
    lines.append("")
c_sq, c_pg = med("create", "sqlite")[0], med("create", "pg")[0]
lines += ["### Targets (SPEC \"Performance, second round\")", "",
          "| figure | measured | target |", "|---|---|---|",
          "| durable creation, PostGIS ÷ SpatiaLite | %s | ≥ 0.50× (within 2×) |" % ratio(c_pg, c_sq)]
if med("create", "pgrtt")[1]:
    lines.append("| durable creation, PostGIS through the relay ÷ SpatiaLite | %s | — |" % ratio(
        med("create", "pgrtt")[0], c_sq))
for scen in ("nearby", "tile14"):
    lines.append("| %s, 2 servers ÷ 1 server (both behind HAProxy) | %s | ≥ 1.70× |" % (
        scen, ratio(med(scen, "lb2")[0], med(scen, "lb1")[0])))
lines.append("")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
log "wrote $OUT/cluster.md"
