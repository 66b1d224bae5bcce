#!/usr/bin/env bash
# deps.sh: install the Debian packages helpmap needs (when root), or print
# the apt-get line. Usage: scripts/deps.sh [run|test|bench]
set -euo pipefail
what=${1:-run}
pkgs=(build-essential cmake pkg-config libspatialite-dev libsqlite3-mod-spatialite sqlite3
      libgeos-dev libproj-dev proj-bin libmicrohttpd-dev libjansson-dev libprotobuf-c-dev
      protobuf-c-compiler zlib1g-dev libpq-dev curl
      libfreetype-dev fonts-noto-core  # map glyphs made at build time (tiles/tools/glyphs.c)
      tilemaker osmium-tool)           # helpmap basemap build
case "$what" in
  test) pkgs+=(nodejs npm chromium gdal-bin python3 clang libclang-rt-14-dev clang-format
                postgresql-15 postgresql-15-postgis-3 haproxy) ;;
  bench) pkgs+=(nodejs npm wrk postgresql postgresql-15-postgis-3 postgis python3 gnuplot-nox
                 haproxy) ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  # node and npm may come from outside Debian's archive on a prepared machine.
  if [ "$p" = nodejs ] && command -v node >/dev/null; then continue; fi
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "helpmap needs these Debian packages; run as root:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
