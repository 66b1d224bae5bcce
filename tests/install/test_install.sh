#!/usr/bin/env bash
# test_install.sh: `cmake --install` puts the program, its web files, the default areas, the
# basemap configuration and the systemd unit in standard places, and the installed program
# serves its pages from there. Usage: test_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
prefix=$(mktemp -d /tmp/hm-install.XXXXXX)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$prefix"' EXIT
pid=
fail() { echo "test_install: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
want="helpmap $(head -n 1 "$src/VERSION")"
got=$("$prefix/bin/helpmap" --version)
[ "$got" = "$want" ] || fail "--version says '$got', want '$want'"
for f in share/helpmap/web/index.html share/helpmap/web/assets/js/resident.js \
         share/helpmap/geodata/cu_chi_communes_2025.geojson share/helpmap/geodata/SOURCES.md \
         share/helpmap/basemap/config.json share/doc/helpmap/README.md \
         lib/systemd/system/helpmap.service; do
  [ -s "$prefix/$f" ] || fail "missing $f"
done
unit=$prefix/lib/systemd/system/helpmap.service
for line in "ProtectSystem=strict" "StateDirectory=helpmap" "DynamicUser=yes" \
            "ExecStart=$prefix/bin/helpmap serve --db /var/lib/helpmap/helpmap.db --web $prefix/share/helpmap/web"; do
  grep -qF -- "$line" "$unit" || fail "helpmap.service lacks: $line"
done

# The installed program serves the installed pages.
"$prefix/bin/helpmap" serve --db "$prefix/t.db" --web "$prefix/share/helpmap/web" --port 0 \
  --log-level warn >"$prefix/out" 2>&1 &
pid=$!
for _ in $(seq 100); do
  port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$prefix/out")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "${port:-}" ] || fail "the installed server did not start: $(cat "$prefix/out")"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")
[ "$code" = 200 ] || fail "GET / answered $code"
echo "test_install: ok ($want)"
