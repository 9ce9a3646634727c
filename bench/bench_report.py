"""The report of make bench (bench/bench.py): Markdown tables and an SVG
bar chart from the runs' results. Pure functions of the results.
"""
import math
import statistics

import benchlib as bl

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


def med(runs, key):
    vals = [r[key] for r in runs if key in r]
    return statistics.median(vals) if vals else None


def cell(runs, key, fmt):
    vals = [r[key] for r in runs if key in r] if runs else []
    if not vals:
        return "–"
    text = bl.spread(vals, fmt)
    errors = sum(r["errors"] for r in runs)
    return text + (" ⚠ %d errors" % errors if errors else "")


def describe(load):
    if load["ws"]:
        return "WebSocket echo %d B, %d conns" % (load["size"], load["conns"])
    if load["depth"] > 1:
        return "%d conns, %d pipelined" % (load["conns"], load["depth"])
    return "%d conns" % load["conns"]


def table(args, results, title, key, fmt, loads=None):
    servers = args.servers
    lines = ["", title, "", "| load | " + " | ".join(servers) + " |", "|---|" + "---:|" * len(servers)]
    for load in loads or args.loads:
        cells = [cell(results.get((s, load["name"])), key, fmt) for s in servers]
        lines.append("| %s | %s |" % (describe(load), " | ".join(cells)))
    return lines


def ratios(args, results):
    peers = [s for s in args.servers if s != "squall"]
    lines = ["", "squall's ratio to each peer (req/s, higher is better · server CPU per request, lower is better):", "",
             "| load | " + " | ".join("vs " + p for p in peers) + " |", "|---|" + "---:|" * len(peers)]
    for load in args.loads:
        sq = results.get(("squall", load["name"]))
        cells = []
        for p in peers:
            pr = results.get((p, load["name"]))
            if not sq or not pr:
                cells.append("–")
                continue
            cells.append("**%.2fx** · %.2fx" % (med(sq, "rps") / med(pr, "rps"),
                                                 med(sq, "server_us_per_req") / med(pr, "server_us_per_req")))
        lines.append("| %s | %s |" % (describe(load), " | ".join(cells)))
    return lines


def latency(args, results):
    servers = args.servers
    lines = ["", "Latency p50 / p99 (µs, medians of the runs; with pipelining each response is timed from its "
             "batch's send):", "", "| load | " + " | ".join(servers) + " |", "|---|" + "---:|" * len(servers)]
    for load in args.loads:
        cells = []
        for s in servers:
            runs = results.get((s, load["name"]))
            cells.append("%.0f / %.0f" % (med(runs, "p50_us"), med(runs, "p99_us")) if runs else "–")
        lines.append("| %s | %s |" % (describe(load), " | ".join(cells)))
    return lines


def clients_section(args, clients):
    if not clients:
        return []
    lines = ["", "## squall-load against wrk", "",
             "Both drive the same %s (started once, on CPU 0), one thread each on CPU 1, alternating run by run. "
             "CPU per request is the client's user+system time (its rusage) over the requests it completed."
             % args.compare_server, "",
             "| connections | squall-load req/s | wrk req/s | squall-load CPU µs/req | wrk CPU µs/req | "
             "CPU/req squall-load ÷ wrk | client CPU share (squall-load / wrk) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for conns in (50, 256):
        sl, wk = clients.get(("squall-load", conns)), clients.get(("wrk", conns))
        if not sl or not wk:
            continue
        ratio = [a["client_us_per_req"] / b["client_us_per_req"] for a, b in zip(sl, wk)]
        lines.append("| %d | %s | %s | %s | %s | **%s** | %.0f%% / %.0f%% |" % (
            conns, cell(sl, "rps", "%.0f"), cell(wk, "rps", "%.0f"), cell(sl, "client_us_per_req", "%.2f"),
            cell(wk, "client_us_per_req", "%.2f"), bl.spread(ratio, "%.2f"), 100 * med(sl, "client_cpu_fraction"),
            100 * med(wk, "client_cpu_fraction")))
    p16 = clients.get(("squall-load", "p16"))
    c50 = clients.get(("squall-load", 50))
    lines += ["", "squall-load's rate over its CPU share against %s (what it could drive with a whole core if %s "
              "kept up):" % (args.compare_server, args.compare_server), ""]
    for label, runs in (("50 connections, 1 in flight", c50), ("50 connections, 16 pipelined", p16)):
        if runs:
            ceil = [r["rps"] / r["client_cpu_fraction"] for r in runs if r["client_cpu_fraction"] > 0]
            lines.append("- %s: %s req/s (measured %s req/s at %.0f%% of its core)" % (
                label, bl.spread(ceil, "%.0f"), bl.spread([r["rps"] for r in runs], "%.0f"),
                100 * med(runs, "client_cpu_fraction")))
    return lines


def ceilings(args, results):
    """squall-load's ceiling against the fastest server of the run: the
    requests/s it could drive with a whole core (its rate over its share)."""
    lines = []
    for load in args.loads:
        if load["ws"] or load["conns"] != 50:
            continue
        best = max((s for s in args.servers if results.get((s, load["name"]))),
                   key=lambda s: med(results[(s, load["name"])], "rps"), default=None)
        if best:
            runs = results[(best, load["name"])]
            ceil = [r["rps"] / r["client_cpu_fraction"] for r in runs if r["client_cpu_fraction"] > 0]
            lines.append("- %s, against %s (the fastest server here): %s req/s (measured %s req/s at %.0f%% of "
                         "its core)" % (describe(load), best, bl.spread(ceil, "%.0f"),
                                        bl.spread([r["rps"] for r in runs], "%.0f"),
                                        100 * med(runs, "client_cpu_fraction")))
    if not lines:
        return []
    return ["", "squall-load's ceiling (one thread, one io_uring: its req/s over its share of its core):", ""] + lines


def markdown(args, results, clients, info):
    lines = ["# make bench: squall and its peers, `GET /` -> \"Hello, world!\"", "",
             "Linux %s. Each server on CPU 0 (one thread/worker/process), squall-load (one thread, one io_uring) on "
             "CPU 1; %g s per load, %d runs, servers started fresh each run, warmed up %g s, alternating order%s. "
             "Cells: median (min–max) of the runs. Whole run: %.0f s." % (
                 info["kernel"], args.duration, args.runs, args.warmup, ", SCHED_FIFO" if args.rt else "",
                 info["elapsed"]), ""]
    lines += ["## Requests per second"] + table(args, results, "", "rps", "%.0f")[1:]
    lines += ratios(args, results)
    lines += ["", "## Server cost"]
    lines += table(args, results, "Server CPU time per request (µs, user+system from /proc):", "server_us_per_req",
                   "%.2f")
    http_conns = [ld for ld in args.loads if not ld["ws"] and ld["depth"] == 1]
    big = max(http_conns, key=lambda ld: ld["conns"]) if http_conns else None
    if big:
        lines += table(args, results, "Server RSS growth per connection under load (KiB):", "rss_per_conn_kib",
                       "%.1f", [big])
    lines += ["", "## Latency"] + latency(args, results)
    lines += table(args, results, "squall-load's share of its core (near 100% means the client set the pace):",
                   "client_cpu_fraction", "%.2f")
    lines += clients_section(args, clients)
    lines += ceilings(args, results)
    if info["skipped"]:
        lines += ["", "Left out: " + "; ".join(info["skipped"]) + "."]
    lines.append("")
    lines.append("Chart: bench_chart.svg (requests per second by load and server).")
    return "\n".join(lines) + "\n"


def svg(args, results):
    """Grouped bars: req/s (median) per load, one bar per server, on a log
    scale (the servers span two orders of magnitude)."""
    loads = [ld for ld in args.loads if any((s, ld["name"]) in results for s in args.servers)]
    servers = args.servers
    values = [med(r, "rps") for r in results.values()] or [1000]
    lo = 10 ** math.floor(math.log10(max(1.0, min(values) / 2)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    w_bar, gap, h, left, bottom = 18, 30, 320, 70, 60
    group = w_bar * len(servers) + gap
    width = left + group * max(1, len(loads)) + 160
    height = h + bottom + 40

    def y_of(v):
        return 30 + h - h * (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
           'font-size="11">' % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="18" font-size="14">Requests per second, log scale (median of %d runs; server on one '
           'core)</text>' % (left, args.runs)]
    tick = lo
    while tick <= hi:
        y = y_of(tick)
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (left, y, width - 160, y))
        label = "%gk" % (tick / 1000) if tick >= 1000 else "%g" % tick
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (left - 5, y + 4, label))
        tick *= 10
    for gi, load in enumerate(loads):
        x0 = left + gi * group + gap / 2
        for si, s in enumerate(servers):
            runs = results.get((s, load["name"]))
            if not runs:
                continue
            v = med(runs, "rps")
            y = y_of(v)
            out.append('<rect x="%.1f" y="%.1f" width="%d" height="%.1f" fill="%s"><title>%s %s: %.0f req/s</title>'
                       '</rect>' % (x0 + si * w_bar, y, w_bar - 2, 30 + h - y, COLORS[si % len(COLORS)], s,
                                    load["name"], v))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (
            x0 + w_bar * len(servers) / 2, 30 + h + 16, load["name"]))
    for si, s in enumerate(servers):
        y = 40 + si * 18
        out.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>' % (width - 140, y, COLORS[si % len(COLORS)]))
        out.append('<text x="%d" y="%d">%s</text>' % (width - 122, y + 10, s))
    out.append('<text x="%d" y="%d">cN: N connections; cNpM: M pipelined; wsN: WebSocket echo of N bytes</text>'
               % (left, height - 10))
    out.append("</svg>")
    return "\n".join(out) + "\n"
