#!/bin/sh
# vendor.sh: copy the browser files of the web frontend's npm dependencies from
# node_modules/ into web/vendor/ (git-ignored), so that the server serves every
# script itself and no page loads anything from another host.
# Run after `npm ci` (the versions are pinned by package-lock.json):
#     npm ci && scripts/vendor.sh
set -eu
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
nm="$root/node_modules"
out="$root/web/vendor"

need() {
    if [ ! -f "$nm/$1" ]; then
        echo "vendor.sh: missing $nm/$1 (run 'npm ci' first)" >&2
        exit 1
    fi
}

# MapLibre GL JS (ES module build: the main module starts its worker from the
# file next to it, /vendor/maplibre-gl-worker.mjs, a same-origin module worker
# that the server's CSP script-src 'self' allows).
for f in maplibre-gl.mjs maplibre-gl-worker.mjs maplibre-gl.css; do
    need "maplibre-gl/dist/$f"
done
# @mapbox/mapbox-gl-draw (UMD build: sets globalThis.MapboxDraw when imported),
# used by /command to draw hamlet polygons.
for f in mapbox-gl-draw.js mapbox-gl-draw.css; do
    need "@mapbox/mapbox-gl-draw/dist/$f"
done
# qrcode-generator (ES module), used by /command to show a new team's sign-in link as a QR
# code (MIT, Kazuhiko Arase).
need qrcode-generator/dist/qrcode.mjs

rm -rf "$out"
mkdir -p "$out"
for f in maplibre-gl.mjs maplibre-gl-worker.mjs maplibre-gl.css; do
    cp "$nm/maplibre-gl/dist/$f" "$out/$f"
done
# The dist files end with a sourceMappingURL comment; the maps are not copied,
# so drop the comment to keep browser consoles free of 404s for them.
for f in maplibre-gl.mjs maplibre-gl-worker.mjs; do
    sed -i 's|^//# sourceMappingURL=.*$||' "$out/$f"
done
cp "$nm/@mapbox/mapbox-gl-draw/dist/mapbox-gl-draw.js" "$out/mapbox-gl-draw.js"
cp "$nm/@mapbox/mapbox-gl-draw/dist/mapbox-gl-draw.css" "$out/mapbox-gl-draw.css"
sed -i 's|^//# sourceMappingURL=.*$||' "$out/mapbox-gl-draw.js"
cp "$nm/qrcode-generator/dist/qrcode.mjs" "$out/qrcode.mjs"
for f in maplibre-gl/LICENSE.txt @mapbox/mapbox-gl-draw/LICENSE; do
    [ -f "$nm/$f" ] && cp "$nm/$f" "$out/$(echo "$f" | tr '/@' '__')"
done
echo "vendor.sh: copied $(ls "$out" | wc -l) files into web/vendor/"
