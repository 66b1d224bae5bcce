#!/usr/bin/python3
"""prepare.py: the benchmark's inputs, drawn deterministically from `helpmap export --format csv`.

Writes into OUTDIR, for both sides (helpmap through wrk, the PostGIS peer through pgbench):
  points.txt / points.csv   sample positions ("lon lat" / "i,lon,lat"): request positions at a
                            fixed stride, so they follow where people live and lie in a ward
  codes.txt / codes.csv     codes of open requests at a fixed stride
  tiles14.txt, tiles10.txt  "x y" of the tiles holding open requests, busiest first
  tiles.csv                 "z,i,x,y" of the same tiles for the peer
  counts.txt                rows, open rows, and tile counts, for the report

Usage: prepare.py EXPORT_CSV OUTDIR [SAMPLES]   (Debian python3, standard library only)
"""
import csv
import math
import os
import sys

OPEN = {"new", "assigned", "in_progress"}


def tile_of(lon, lat, z):
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    r = math.radians(lat)
    y = int((1.0 - math.log(math.tan(r) + 1.0 / math.cos(r)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def main():
    if len(sys.argv) < 3:
        sys.stderr.write("usage: prepare.py EXPORT_CSV OUTDIR [SAMPLES]\n")
        return 2
    src, out = sys.argv[1], sys.argv[2]
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    os.makedirs(out, exist_ok=True)
    rows = []
    with open(src, newline="", encoding="utf-8-sig") as f:
        for rec in csv.DictReader(f):
            rows.append((rec["code"], rec["lon"], rec["lat"], rec["status"]))
    if not rows:
        sys.stderr.write("prepare.py: no rows in %s\n" % src)
        return 1
    open_rows = [r for r in rows if r[3] in OPEN]

    stride = max(1, len(rows) // samples)
    pts = [(r[1], r[2]) for r in rows[::stride]][:samples]
    ostride = max(1, len(open_rows) // samples)
    codes = [r[0] for r in open_rows[::ostride]][:samples]

    with open(os.path.join(out, "points.txt"), "w") as t, \
            open(os.path.join(out, "points.csv"), "w") as c:
        for i, (lon, lat) in enumerate(pts, 1):
            t.write("%s %s\n" % (lon, lat))
            c.write("%d,%s,%s\n" % (i, lon, lat))
    with open(os.path.join(out, "codes.txt"), "w") as t, \
            open(os.path.join(out, "codes.csv"), "w") as c:
        for i, code in enumerate(codes, 1):
            t.write(code + "\n")
            c.write("%d,%s\n" % (i, code))

    counts = {}
    with open(os.path.join(out, "tiles.csv"), "w") as c:
        for z in (14, 10):
            per = {}
            for r in open_rows:
                # Tiles draw the public position, snapped to the 0.001 degree grid.
                k = tile_of(round(float(r[1]), 3), round(float(r[2]), 3), z)
                per[k] = per.get(k, 0) + 1
            tiles = sorted(per.items(), key=lambda kv: (-kv[1], kv[0]))
            counts[z] = (len(tiles), tiles[0][1] if tiles else 0)
            with open(os.path.join(out, "tiles%d.txt" % z), "w") as t:
                for i, ((x, y), _) in enumerate(tiles, 1):
                    t.write("%d %d\n" % (x, y))
                    c.write("%d,%d,%d,%d\n" % (z, i, x, y))
    with open(os.path.join(out, "counts.txt"), "w") as t:
        t.write("rows=%d open=%d points=%d codes=%d tiles14=%d busiest14=%d tiles10=%d "
                "busiest10=%d\n" % (len(rows), len(open_rows), len(pts), len(codes),
                                   counts[14][0], counts[14][1], counts[10][0], counts[10][1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
