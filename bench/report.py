#!/usr/bin/python3
"""report.py: results of bench/run -> one table (stdout and bench/results/latest.md) and a PNG
chart (gnuplot): the ratios, and with several sizes one panel per scenario with both sides'
throughput and p99 against the number of rows. Targets the run missed are listed under the
table with what was tried and the writer's profile that bench/run took.

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

# name, label, SPEC target text. A name "X~fl" is scenario X's helpmap runs against its floor
# peer (files X.fl.N.txt) instead of its same-work peer (X.pg.N.txt).
SCENARIOS = [
    ("create", "POST /requests (durable, operator), same work in SQL", "≥ 5,000 req/s with 32 clients"),
    ("create~fl", "POST /requests (durable) vs the floor: one-row INSERT + GiST",
     "ahead of the floor at 32 clients"),
    ("create8", "POST /requests (durable, operator), same work in SQL", "—"),
    ("create8~fl", "POST /requests (durable) vs the floor: one-row INSERT + GiST",
     "ahead of the floor at 8 clients"),
    ("nearby", "GET /requests/nearby (limit 5)",
     "≥ 10,000 req/s; ≥ 1.5× the peer in every round, p99 ≤ 5 ms"),
    ("responders", "GET /requests/{code}/responders",
     "≥ 10,000 req/s; ≥ 1.5× the peer in every round, p99 ≤ 5 ms"),
    ("bbox", "GET /requests?bbox= (GeoJSON, 0.01°)", "—"),
    ("areas", "GET /areas?level=former_ward (gzip)", "≥ 2,000 req/s and ≥ 100× the peer"),
    ("tile14_uncached", "tile z14, uncached", "median ≤ 5 ms, faster than peer"),
    ("tile14_cached", "tile z14, cached", "≥ 20,000 req/s, faster than peer"),
    ("tile10_uncached", "tile z10 (clusters), uncached", "—"),
    ("tile10_cached", "tile z10 (clusters), cached", "—"),
    ("stats", "GET /stats", "—"),
    ("events", "/events: 5,000 subscribers, 50 events/s", "all delivered within 1 s"),
    ("area", "point-to-area, 3 levels, one core", "≥ 1,000,000 points/s, same answers"),
    ("mixed", "mixed load (64 conns): peak RSS", "peak RSS < 250 MiB"),
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


def run_files(raw, name, side):
    """The files of one scenario and side in run order."""
    files = glob.glob(os.path.join(raw, "%s.%s.*.txt" % (name, side)))
    files = [f for f in files if f.rsplit(".", 2)[-2].isdigit()]
    return sorted(files, key=lambda f: int(f.rsplit(".", 2)[-2]))


def collect(raw):
    """{scenario: {"hm": {metric: median}, "pg": {...}, "load1": x}} for one size."""
    out = {}
    for key, _, _ in SCENARIOS:
        name, _, peer = key.partition("~")
        entry = {}
        load = parse_result(os.path.join(raw, "%s.load.txt" % name))
        if load:
            entry["load1"] = load.get("load1")
        for side, src in (("hm", "hm"), ("pg", peer or "pg")):
            runs = [parse_result(p) for p in run_files(raw, name, src)]
            runs = [r for r in runs if r]
            if not runs:
                continue
            keys = set()
            for r in runs:
                keys.update(k for k, v in r.items() if isinstance(v, float))
            entry[side] = {k: median_of(runs, k) for k in keys}
            entry[side]["runs"] = len(runs)
            entry[side]["raw"] = runs
        out[key] = entry
    return out


def round_ratios(e):
    """helpmap / peer throughput of each round (run N of both sides)."""
    hm, pg = e.get("hm"), e.get("pg")
    if not hm or not pg:
        return []
    return [h["rps"] / p["rps"] for h, p in zip(hm["raw"], pg["raw"])
            if isinstance(h.get("rps"), float) and isinstance(p.get("rps"), float) and p["rps"]]


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
                  "64; VmHWM %.0f MiB" % (hm.get("vmhwm_kb", 0) / 1024.0))
            met = hm.get("vmhwm_kb", 1e12) < 250 * 1024 and hm.get("sockerr", 0) == 0
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
    rounds = round_ratios(e)
    if name == "create" and hm:
        met = ok_runs and hm["rps"] >= 5000
    elif name in ("create~fl", "create8~fl") and hm:
        met = ok_runs and ratio is not None and ratio > 1
    elif name in ("nearby", "responders") and hm:
        met = (ok_runs and hm["rps"] >= 10000 and bool(rounds) and min(rounds) >= 1.5 and
               max(r["p99_us"] for r in hm["raw"]) <= 5000)
    elif name == "areas" and hm:
        met = ok_runs and hm["rps"] >= 2000 and ratio is not None and ratio >= 100
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
           "peer median | peer p99 | ratio (rounds) | SPEC target | met | load at start |")
    lines.append(hdr)
    lines.append("|" + "---|" * 12)
    chart = []
    missed = []
    for name, label, target in SCENARIOS:
        e = data[main_n].get(name, {})
        if not e.get("hm") and not e.get("pg"):
            continue
        hc, pc, ratio, met = evaluate(name, e)
        conns = hc[3] if hc[3] else pc[3]
        met_s = "—" if met is None else ("yes" if met else "**NO**")
        rounds = round_ratios(e)
        ratio_s = "%.2f×" % ratio if ratio else "—"
        if ratio and len(rounds) > 1:
            ratio_s += " (" + ", ".join("%.2f" % r for r in rounds) + ")"
        load = e.get("load1")
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, conns, hc[0], hc[1], hc[2], pc[0], pc[1], pc[2], ratio_s, target, met_s,
            "%.2f" % load if load is not None else "—"))
        if ratio:
            chart.append((name.replace("~fl", " vs floor"), ratio))
        if met is False:
            missed.append(name)
    extra = read_text(os.path.join(raw_root, str(main_n), "notes.txt"))
    if extra:
        lines.append("")
        lines.append(extra)
    lines.extend(missed_notes(raw_root, main_n, missed))
    lines.extend(memory_notes(raw_root, main_n))

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
                    c += " / " + fmt_rate(pg["rps"]) + " (%.2f×)" % (hm["rps"] / pg["rps"])
                c += "; p99 " + fmt_ms(hm.get("p99_us"))
                if pg and pg.get("p99_us"):
                    c += " / " + fmt_ms(pg.get("p99_us"))
                cells.append(c)
            lines.append("| %s%s | %s |" % (label, " (%s)" % conns_of(data, name), " | ".join(cells)))
        e_rss = [(n, data[n].get("mixed", {}).get("hm", {}).get("vmhwm_kb")) for n in sizes]
        lines.append("| peak RSS under mixed load | " + " | ".join(
            "%.0f MiB" % (v / 1024.0) if v else "—" for _, v in e_rss) + " |")
        lines.extend(growth_lines(data, sizes))

    md = "\n".join(lines) + "\n"
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "latest.md"), "w") as f:
        f.write(md)
    sys.stdout.write(md)
    make_chart(out_dir, raw_root, data, sizes, chart)
    return 0


def growth_lines(data, sizes):
    """SPEC: cost must grow no faster than the peer's. Cost per request = 1 / throughput; its
    growth from the smallest size to the largest, each side against itself."""
    lo, hi = sizes[0], sizes[-1]
    out = ["", "### Growth of the cost per request from {:,} to {:,} requests".format(lo, hi), "",
           "Cost = 1 / throughput; growth = throughput at {:,} ÷ throughput at {:,} "
           "(1.00×: no growth). Target: helpmap's growth no more than the peer's.".format(lo, hi),
           "", "| scenario | helpmap | peer | grows no faster than the peer |", "|---|---|---|---|"]
    for name, label, _ in SCENARIOS:
        if name in ("events", "area", "mixed"):
            continue
        a, b = data[lo].get(name, {}), data[hi].get(name, {})
        try:
            g_hm = a["hm"]["rps"] / b["hm"]["rps"]
            g_pg = a["pg"]["rps"] / b["pg"]["rps"]
        except (KeyError, TypeError, ZeroDivisionError):
            continue
        out.append("| %s (%s) | %.2f× | %.2f× | %s |" % (label, conns_of(data, name), g_hm, g_pg,
                                                   "yes" if g_hm <= g_pg else "**NO**"))
    return out


def conns_of(data, name):
    for n in data:
        hm = data[n].get(name, {}).get("hm")
        if hm and hm.get("conns"):
            return "%d conns" % hm["conns"]
    return "—"


# What was tried for each target that a run may miss, printed under the table with the profile
# bench/run took (bench/README.md, "Where durable creation spends its time", has the figures).
TRIED = {
    "create~fl": (
        "Why: every commit writes to the log each whole page it changed, and a new request "
        "changes a leaf of four indexes with random keys (code, phone, grid cell, ward): some "
        "10 KB of log per request, fsynced, then copied into the database by the checkpointer, "
        "where PostgreSQL logs a few hundred bytes. The disk's fdatasync grows with those bytes "
        "(0.5 ms for a batch of 3, 1.5 ms for a batch of 12 on the reference machine). Done "
        "(issue 18): the fsync off the writer's thread (writer, sync and completion threads), "
        "a commit's frames in one write and the log grown ahead in zeros (hm-wal VFS), 2 KiB "
        "pages, a 4 MiB writer cache, the log restarted without racing the writer, events and "
        "answers rendered without JSON trees. Tried and not kept: 1 KiB pages (more CPU, no "
        "faster syncs), 4 batches in flight instead of 2 (no gain), a checkpoint a second "
        "instead of every 100 ms (within noise), team tokens remembered in memory (8-10 % of "
        "the CPU, but a token disabled by another process, helpmap team disable, must be "
        "refused at once: test_api). Measured, not done: "
        "without the phone, grid-cell and ward indexes (open requests looked up in memory) "
        "creation was 25-35 % faster at 32 clients and 5-10 % at 8 on the 1M file: it moves "
        "every list query of open requests to memory, a change of its own. bench/README.md, "
        "\"Where durable creation spends its time\", has the figures. The writer's profile "
        "under this load:"),
}
TRIED["create8~fl"] = TRIED["create~fl"]
TRIED["create"] = TRIED["create~fl"]
TRIED["nearby"] = (
    "Done (issue 18): answers rendered straight into text instead of jansson trees, one "
    "deflate stream per thread reset per answer (level 1 under 16 KiB) instead of 270 KB "
    "allocated and cleared per answer (the swings between rounds). What an answer costs now: "
    "the team token's lookup (a read transaction), the place hint of each "
    "feature (geodesic distances to the nearest places), gzip, the HTTP exchange. Every GET "
    "sends Accept-Encoding: gzip, so helpmap compresses each answer; the peer's travel "
    "uncompressed. Check the load average of the round: the machine is shared.")
TRIED["responders"] = (
    "Done (issue 18): candidate teams from the team index instead of a read each, a deflate "
    "stream per thread. What remains per answer: the team token's lookup, the request read by "
    "code (SQLite), the team objects built as JSON trees (capabilities parsed), gzip. Check "
    "the load average of the round: the machine is shared.")
TRIED["mixed"] = (
    "Done (issue 18): the writer's page cache 32 -> 4 MiB, readers' 8 -> 4 MiB; the peak "
    "taken on a server started on the data set (the creation scenarios, which add hundreds "
    "of thousands of open requests, run on another). What the peak holds: the open requests "
    "in memory, the event ring, the connection buffers, the tile cache (64 MiB at most). "
    "Tried: glibc's malloc with 2 arenas (MALLOC_ARENA_MAX=2): 100 MiB against 103 MiB, "
    "within noise. The server's memory after each scenario:")
TRIED["events"] = (
    "5,000 streams on the 2-core machine shared with the load generator: check the load "
    "average; deliveries are counted by events_bench.")


def memory_notes(raw_root, n):
    """The server's memory after each scenario: the mixed load's peak is taken on a server
    started on the data set; the later scenarios run on another, which the creation scenarios
    grow by their open requests."""
    rss = read_text(os.path.join(raw_root, str(n), "rss.txt"))
    if not rss:
        return []
    out = ["", "## The server's memory", "",
           "The mixed load runs on a server started on the data set (the target's figure); the "
           "other scenarios on a second one, in this order, which the creation scenarios grow "
           "by the open requests they add.", "", "| after | VmRSS | VmHWM (peak so far) |",
           "|---|---|---|"]
    for line in rss.splitlines():
        f = line.split()
        if len(f) == 3 and f[1].isdigit() and f[2].isdigit():
            out.append("| %s | %.0f MiB | %.0f MiB |" % (f[0], int(f[1]) / 1024.0,
                                                         int(f[2]) / 1024.0))
    return out


def missed_notes(raw_root, n, missed):
    """Under the table: for each missed target, what was tried and the profile taken."""
    out = []
    if not missed:
        return out
    out.append("")
    out.append("## Targets not met in this run")
    for name in missed:
        out.append("")
        out.append("### %s" % name.replace("~fl", " vs the floor"))
        tried = TRIED.get(name)
        if tried:
            out.append("")
            out.append(tried)
        prof = ""
        if name.startswith("create"):
            prof = read_text(os.path.join(raw_root, str(n), "create.profile.txt"))
        elif name in ("nearby", "responders"):
            prof = read_text(os.path.join(raw_root, str(n), name + ".profile.txt"))
        elif name == "mixed":
            rss = read_text(os.path.join(raw_root, str(n), "rss.txt"))
            if rss:
                prof = "# the server's memory after each scenario (kB): scenario VmRSS VmHWM\n" + rss
        if prof:
            out.append("")
            out.append("```")
            out.append(prof)
            out.append("```")
    return out


def make_chart(out_dir, raw_root, data, sizes, chart):
    """chart.png: the ratios at the largest size; with several sizes, one panel per scenario
    with both sides' throughput (left axis) and p99 (right axis) against the number of rows."""
    if not chart:
        return
    dat = os.path.join(raw_root, "ratios.dat")
    with open(dat, "w") as f:
        for i, (name, ratio) in enumerate(chart):
            f.write("%d \"%s\" %.4f\n" % (i, name, ratio))
    multi = len(sizes) > 1
    names = [(k, lbl) for k, lbl, _ in SCENARIOS if k not in ("events", "area", "mixed")
             and any(data[n].get(k, {}).get("hm") for n in sizes)]
    scale_dat = os.path.join(raw_root, "scaling.dat")
    with open(scale_dat, "w") as f:
        for key, _ in names:
            f.write("# %s: rows hm_rps pg_rps hm_p99_ms pg_p99_ms\n" % key)
            for n in sizes:
                e = data[n].get(key, {})
                vals = []
                for side, k, scale in (("hm", "rps", 1), ("pg", "rps", 1), ("hm", "p99_us", 1e-3),
                                       ("pg", "p99_us", 1e-3)):
                    v = (e.get(side) or {}).get(k)
                    vals.append("%.4f" % (v * scale) if v else "NaN")
                f.write("%d %s\n" % (n, " ".join(vals)))
            f.write("\n\n")
    png = os.path.join(out_dir, "chart.png")
    cols = 4
    rows = 1 + ((len(names) + cols - 1) // cols if multi else 0)
    gp = []
    gp.append("set terminal pngcairo size 1600,%d font 'sans,9'" % (420 * rows if multi else 520))
    gp.append("set output '%s'" % png)
    gp.append("set multiplot")
    h = 1.0 / rows
    # Row 1: the ratios at the largest size.
    gp.append("set origin 0,%f; set size 1,%f" % (1 - h, h))
    gp.append("set title 'helpmap / peer throughput at %s requests (log; > 1: helpmap faster)'"
              % "{:,}".format(max(sizes)))
    gp.append("set style fill solid 0.6 border -1")
    gp.append("set boxwidth 0.7")
    gp.append("set logscale y 10")
    gp.append("set ylabel 'ratio'")
    gp.append("set xtics rotate by -25 noenhanced")
    gp.append("set grid ytics")
    gp.append("set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb 'red'")
    gp.append("plot '%s' using 1:3:xtic(2) with boxes notitle lc rgb '#4477aa', "
              "'' using 1:3:(sprintf('%%.2fx', $3)) with labels offset 0,0.7 notitle" % dat)
    gp.append("unset arrow 1; set style fill empty; set xtics norotate; unset grid")
    if multi:
        w = 1.0 / cols
        gp.append("set logscale xy 10; set logscale y2 10; set y2tics; set ytics nomirror")
        gp.append("set grid xtics ytics")
        gp.append("set xtics (%s)" % ", ".join("'%s' %d" % (short(n), n) for n in sizes))
        gp.append("set xrange [%f:%f]" % (min(sizes) / 1.6, max(sizes) * 1.6))
        gp.append("set key top left font 'sans,7' noenhanced")
        gp.append("set ylabel 'req/s' offset 1,0; set y2label 'p99 ms' offset -1,0")
        for i, (key, lbl) in enumerate(names):
            r, c = divmod(i, cols)
            gp.append("set origin %f,%f; set size %f,%f" % (c * w, 1 - h * (r + 2), w, h))
            peer = "floor" if key.endswith("~fl") else "peer"
            gp.append("set title \"%s (%s)\" noenhanced" % (key.replace("~fl", " vs floor"),
                                                            conns_of(data, key)))
            gp.append(("plot '{f}' index {i} using 1:2 axes x1y1 with linespoints lw 2 pt 7 "
                       "lc rgb '#1f5fa8' title 'helpmap req/s', "
                       "'' index {i} using 1:3 axes x1y1 with linespoints lw 2 pt 5 "
                       "lc rgb '#c0392b' title '{p} req/s', "
                       "'' index {i} using 1:4 axes x1y2 with linespoints dt 2 pt 6 "
                       "lc rgb '#1f5fa8' title 'helpmap p99', "
                       "'' index {i} using 1:5 axes x1y2 with linespoints dt 2 pt 4 "
                       "lc rgb '#c0392b' title '{p} p99'").format(f=scale_dat, i=i, p=peer))
    gp.append("unset multiplot")
    script = os.path.join(raw_root, "chart.gp")
    with open(script, "w") as f:
        f.write("\n".join(gp) + "\n")
    try:
        subprocess.run(["gnuplot", script], check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        sys.stderr.write("report.py: gnuplot failed: %s\n" % e)


def short(n):
    if n >= 1000000 and n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n >= 1000 and n % 1000 == 0:
        return "%dk" % (n // 1000)
    return str(n)


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "pgblog":
        return pgblog(sys.argv[2], sys.argv[3])
    if len(sys.argv) >= 4 and sys.argv[1] == "table":
        return table(sys.argv[2], sys.argv[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
