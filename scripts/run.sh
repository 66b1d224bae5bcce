#!/usr/bin/env bash
# run.sh: set up and run helpmap on a fresh Debian machine — install the
# packages, fetch the web libraries, build, and serve on
# http://127.0.0.1:8080 with data/helpmap.db (created with the Củ Chi
# areas when missing). Extra arguments go to `helpmap serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh run
if command -v npm >/dev/null; then
  [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
  scripts/vendor.sh
else
  echo "helpmap: npm is missing; the map pages need it (apt-get install npm)" >&2
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DHM_WERROR=OFF >/dev/null
cmake --build build -j"$(nproc)" --target helpmap
mkdir -p data
exec build/helpmap serve --db data/helpmap.db --web web "$@"
