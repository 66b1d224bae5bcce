#!/usr/bin/python3
"""report.py: results of bench/run -> one table (stdout and bench/results/latest.md) and a PNG
chart of the ratios (gnuplot), plus the scaling curve when several sizes were run.

Subcommands (Debian python3, standard library only):
  report.py pgblog OUT_TXT LOG_PREFIX
      summarise pgbench's per-transaction logs (LOG_PREFIX*) into a RESULT line appended to
      OUT_TXT (pgbench's own output, which gives tps), then delete the logs
  report.py table RAW_ROOT OUT_DIR
      RAW_ROOT/<rows>/<scenario>.<hm|pg>.<run>.txt -> OUT_DIR/latest.md, chart.png

Every figure in the table is the median over the runs of that figure (throughput, median
latency and p99 latency are each taken as the median of the per-run values).
"""
import glob
import os
import re
import statistics
import subprocess
import sys

# name, label, helpmap connections label, SPEC target text
SCENARIOS = [
    ("create", "POST /requests (durable, operator)", "≥ 5,000 req/s with 32 clients"),
    ("nearby", "GET /requests/nearby (limit 5)", "≥ 10,000 req/s, p99 ≤ 10 ms"),
    ("responders", "GET /requests/{code}/responders", "≥ 10,000 req/s, p99 ≤ 10 ms"),
    ("bbox", "GET /requests?bbox= (GeoJSON, 0.01°)", "—"),
    ("tile14_uncached", "tile z14, uncached", "median ≤ 5 ms, faster than peer"),
    ("tile14_cached", "tile z14, cached", "≥ 20,000 req/s, faster than peer"),
    ("tile10_uncached", "tile z10 (clusters), uncached", "—"),
    ("tile10_cached", "tile z10 (clusters), cached", "—"),
    ("stats", "GET /stats", "—"),
    ("events", "/events: 5,000 subscribers, 50 events/s", "all delivered within 1 s"),
    ("area", "point-to-area, 3 levels, one core", "≥ 1,000,000 points/s, same answers"),
    ("mixed", "mixed load (64 conns): peak RSS", "peak RSS < 300 MB"),
]


def parse_result(path):
    """The key=value pairs of the RESULT lines of a file (later lines win), numbers as floats."""
    res = ""
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith("RESULT "):
                    res += " " + line
    except OSError:
        return None
    if not res:
        return None
    out = {}
    for k, v in re.findall(r"(\w+)=(\S+)", res):
        try:
            out[k] = float(v)
        except ValueError:
            out[k] = v
    return out


def pgblog(out_txt, prefix):
    lat = []
    failed = 0
    for path in glob.glob(prefix + "*"):
        with open(path) as f:
            for line in f:
                p = line.split()
                # client_id transaction_no time script_no time_epoch time_us [schedule_lag]
                if len(p) >= 6:
                    if p[2] == "failed" or p[2] == "skipped":
                        failed += 1
                    else:
                        lat.append(int(p[2]))
        os.unlink(path)
    text = open(out_txt, errors="replace").read()
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", text)
    tps = float(m.group(1)) if m else 0.0
    m = re.search(r"number of failed transactions: (\d+)", text)
    if m:
        failed = max(failed, int(m.group(1)))
    aborted = 1 if "aborted" in text or "Run was aborted" in text else 0
    lat.sort()

    def pct(q):
        if not lat:
            return 0
        return lat[min(len(lat) - 1, int(q * len(lat)))]

    with open(out_txt, "a") as f:
        f.write("RESULT requests=%d rps=%.1f p50_us=%d p99_us=%d mean_us=%.0f max_us=%d "
                "failed=%d aborted=%d\n" % (len(lat), tps, pct(0.5), pct(0.99),
                                            statistics.mean(lat) if lat else 0,
                                            lat[-1] if lat else 0, failed, aborted))
    return 0


def median_of(results, key):
    vals = [r[key] for r in results if r and isinstance(r.get(key), float)]
    return statistics.median(vals) if vals else None


def collect(raw):
    """{scenario: {"hm": {metric: median}, "pg": {...}, "runs": n}} for one size."""
    out = {}
    for name, _, _ in SCENARIOS:
        entry = {}
        for side in ("hm", "pg"):
            runs = [parse_result(p) for p in sorted(glob.glob(os.path.join(raw, "%s.%s.*.txt" % (name, side))))]
            runs = [r for r in runs if r]
            if not runs:
                continue
            keys = set()
            for r in runs:
                keys.update(k for k, v in r.items() if isinstance(v, float))
            entry[side] = {k: median_of(runs, k) for k in keys}
            entry[side]["runs"] = len(runs)
            entry[side]["raw"] = runs
        out[name] = entry
    return out


def fmt_rate(v):
    if v is None:
        return "—"
    if v >= 100:
        return "{:,.0f}".format(v)
    return "{:.1f}".format(v)


def fmt_ms(us):
    if us is None:
        return "—"
    ms = us / 1000.0
    return "%.2f ms" % ms if ms < 10 else "%.1f ms" % ms if ms < 100 else "%.0f ms" % ms


def evaluate(name, e):
    """(helpmap cells, peer cells, ratio, met) for one scenario; cells: (rate, p50, p99, conns)."""
    hm, pg = e.get("hm"), e.get("pg")
    ratio, met = None, None
    hc = pc = ("—", "—", "—", "")
    if name == "events":
        if hm:
            hc = ("%s/%s delivered" % (fmt_rate(hm.get("delivered")), fmt_rate(hm.get("expected"))),
                  "%.0f ms" % hm.get("p50_ms", 0), "%.0f ms (max %.0f)" % (hm.get("p99_ms", 0), hm.get("max_ms", 0)), "5,000 streams")
            met = (hm.get("expected", 0) > 0 and hm.get("delivered") == hm.get("expected")
                   and hm.get("max_ms", 1e9) <= 1000.0 and hm.get("open") == hm.get("subscribers"))
        pc = ("n/a", "", "", "")
        return hc, pc, None, met
    if name == "area":
        if hm:
            hc = (fmt_rate(hm.get("pps_median")) + " pts/s",
                  "border: " + fmt_rate(hm.get("border_pps_median")), "%d mismatches" % hm.get("mismatches", 0), "1 core")
            met = hm.get("pps_median", 0) >= 1e6 and hm.get("mismatches", 1) == 0
        if pg and pg.get("p50_us"):
            pps = 10000.0 / (pg["p50_us"] / 1e6)
            pc = (fmt_rate(pps) + " pts/s", fmt_ms(pg.get("p50_us")) + "/10k", fmt_ms(pg.get("p99_us")) + "/10k", "1 backend")
            if hm:
                ratio = hm.get("pps_median", 0) / pps
        return hc, pc, ratio, met
    if name == "mixed":
        if hm:
            hc = (fmt_rate(hm.get("rps")), fmt_ms(hm.get("p50_us")), fmt_ms(hm.get("p99_us")),
                  "64; VmHWM %.0f MB" % (hm.get("vmhwm_kb", 0) / 1024.0))
            met = hm.get("vmhwm_kb", 1e12) < 300 * 1024 and hm.get("sockerr", 0) == 0
        pc = ("n/a", "", "", "")
        return hc, pc, None, met
    if hm:
        hc = (fmt_rate(hm.get("rps")), fmt_ms(hm.get("p50_us")), fmt_ms(hm.get("p99_us")),
              "%d" % hm.get("conns", 0))
    if pg:
        pc = (fmt_rate(pg.get("rps")), fmt_ms(pg.get("p50_us")), fmt_ms(pg.get("p99_us")),
              "%d" % pg.get("conns", 0))
    if hm and pg and pg.get("rps"):
        ratio = hm["rps"] / pg["rps"]
    ok_runs = hm is not None and hm.get("non2xx", 0) == 0 and hm.get("sockerr", 0) == 0
    if name == "create" and hm:
        met = ok_runs and hm["rps"] >= 5000
    elif name in ("nearby", "responders") and hm:
        met = ok_runs and hm["rps"] >= 10000 and hm["p99_us"] <= 10000
    elif name == "tile14_uncached" and hm:
        met = ok_runs and hm["p50_us"] <= 5000 and ratio is not None and ratio > 1
    elif name == "tile14_cached" and hm:
        met = ok_runs and hm["rps"] >= 20000 and ratio is not None and ratio > 1
    return hc, pc, ratio, met


def sizes_in(raw_root):
    out = []
    for d in os.listdir(raw_root):
        if d.isdigit() and os.path.isdir(os.path.join(raw_root, d)):
            out.append(int(d))
    return sorted(out)


def read_text(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def table(raw_root, out_dir):
    sizes = sizes_in(raw_root)
    if not sizes:
        sys.stderr.write("report.py: no results under %s\n" % raw_root)
        return 1
    main_n = max(sizes)
    data = {n: collect(os.path.join(raw_root, str(n))) for n in sizes}
    lines = []
    meta = read_text(os.path.join(raw_root, "meta.txt"))
    lines.append("# helpmap benchmark against PostGIS")
    lines.append("")
    if meta:
        lines.append("```")
        lines.append(meta)
        lines.append("```")
        lines.append("")
    counts = read_text(os.path.join(raw_root, str(main_n), "counts.txt"))
    lines.append("## %s requests%s" % ("{:,}".format(main_n), " (" + counts + ")" if counts else ""))
    lines.append("")
    lines.append("helpmap and the peer ran one after the other, never at once; each figure is the "
                 "median of the runs' figures. Ratio = helpmap throughput / peer throughput "
                 "(> 1: helpmap faster).")
    lines.append("")
    hdr = ("| scenario | conns | helpmap req/s | helpmap median | helpmap p99 | peer req/s | "
           "peer median | peer p99 | ratio | SPEC target | met |")
    lines.append(hdr)
    lines.append("|" + "---|" * 11)
    chart = []
    for name, label, target in SCENARIOS:
        e = data[main_n].get(name, {})
        if not e:
            continue
        hc, pc, ratio, met = evaluate(name, e)
        conns = hc[3] if hc[3] else pc[3]
        met_s = "—" if met is None else ("yes" if met else "**NO**")
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, conns, hc[0], hc[1], hc[2], pc[0], pc[1], pc[2],
            "%.2f×" % ratio if ratio else "—", target, met_s))
        if ratio:
            chart.append((name, ratio))
    extra = read_text(os.path.join(raw_root, str(main_n), "notes.txt"))
    if extra:
        lines.append("")
        lines.append(extra)

    if len(sizes) > 1:
        lines.append("")
        lines.append("## Scaling: helpmap req/s | peer req/s (ratio) by number of requests")
        lines.append("")
        lines.append("| scenario | " + " | ".join("{:,}".format(n) for n in sizes) + " |")
        lines.append("|---|" + "---|" * len(sizes))
        for name, label, _ in SCENARIOS:
            if name in ("events", "area", "mixed"):
                continue
            cells = []
            for n in sizes:
                e = data[n].get(name, {})
                hm, pg = e.get("hm"), e.get("pg")
                if not hm:
                    cells.append("—")
                    continue
                c = fmt_rate(hm.get("rps"))
                if pg and pg.get("rps"):
                    c += " | " + fmt_rate(pg["rps"]) + " (%.2f×)" % (hm["rps"] / pg["rps"])
                cells.append(c.replace(" | ", " / "))
            lines.append("| %s | %s |" % (label, " | ".join(cells)))
        e_rss = [(n, data[n].get("mixed", {}).get("hm", {}).get("vmhwm_kb")) for n in sizes]
        lines.append("| peak RSS under mixed load | " + " | ".join(
            "%.0f MB" % (v / 1024.0) if v else "—" for _, v in e_rss) + " |")

    md = "\n".join(lines) + "\n"
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "latest.md"), "w") as f:
        f.write(md)
    sys.stdout.write(md)
    make_chart(out_dir, raw_root, data, sizes, chart)
    return 0


def make_chart(out_dir, raw_root, data, sizes, chart):
    if not chart:
        return
    dat = os.path.join(raw_root, "ratios.dat")
    with open(dat, "w") as f:
        for i, (name, ratio) in enumerate(chart):
            f.write("%d %s %.4f\n" % (i, name, ratio))
    scale_dat = os.path.join(raw_root, "scaling.dat")
    names = [n for n, _, _ in SCENARIOS if n not in ("events", "area", "mixed")]
    with open(scale_dat, "w") as f:
        for name in names:
            f.write("# %s\n" % name)
            for n in sizes:
                e = data[n].get(name, {})
                hm, pg = e.get("hm"), e.get("pg")
                f.write("%d %s %s\n" % (n, "%.1f" % hm["rps"] if hm and hm.get("rps") else "NaN",
                                        "%.1f" % pg["rps"] if pg and pg.get("rps") else "NaN"))
            f.write("\n\n")
    png = os.path.join(out_dir, "chart.png")
    multi = len(sizes) > 1
    gp = []
    gp.append("set terminal pngcairo size %d,%d font 'sans,10'" % (1500 if multi else 900, 520))
    gp.append("set output '%s'" % png)
    if multi:
        gp.append("set multiplot layout 1,3")
    gp.append("set title 'helpmap / PostGIS throughput ratio at %s requests'" % "{:,}".format(max(sizes)))
    gp.append("set style fill solid 0.6 border -1")
    gp.append("set boxwidth 0.7")
    gp.append("set logscale y 10")
    gp.append("set ylabel 'ratio (log; > 1: helpmap faster)'")
    gp.append("set xtics rotate by -35 noenhanced")
    gp.append("set grid ytics")
    gp.append("set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb 'red'")
    gp.append("plot '%s' using 1:3:xtic(2) with boxes notitle lc rgb '#4477aa', "
              "'' using 1:3:(sprintf('%%.1fx', $3)) with labels offset 0,0.7 notitle" % dat)
    if multi:
        gp.append("unset arrow 1")
        gp.append("set xtics norotate")
        gp.append("set logscale xy 10")
        gp.append("set xlabel 'requests in the database'")
        gp.append("set key outside bottom center horizontal maxrows 4 noenhanced font 'sans,8'")
        for col, who in ((2, "helpmap"), (3, "PostGIS peer")):
            gp.append("set title '%s req/s by database size'" % who)
            gp.append("set ylabel 'req/s (log)'")
            gp.append("plot " + ", ".join(
                "'%s' index %d using 1:%d with linespoints title '%s'" % (scale_dat, i, col, nm)
                for i, nm in enumerate(names)))
        gp.append("unset multiplot")
    script = os.path.join(raw_root, "chart.gp")
    with open(script, "w") as f:
        f.write("\n".join(gp) + "\n")
    try:
        subprocess.run(["gnuplot", script], check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        sys.stderr.write("report.py: gnuplot failed: %s\n" % e)


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "pgblog":
        return pgblog(sys.argv[2], sys.argv[3])
    if len(sys.argv) >= 4 and sys.argv[1] == "table":
        return table(sys.argv[2], sys.argv[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
