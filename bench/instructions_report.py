"""The Markdown report of make bench-instructions
(bench/instructions_bench.py): instructions per request with squall's
ratio to nginx, Beast and node, how far the repeated counts differ, and
server CPU time per request at 50 connections.
"""
import statistics

CASE_TEXT = {
    "get": "GET /, 50 conns, depth 1",
    "get16": "GET /, 50 conns, depth 16",
    "json": "GET /json, 50 conns",
    "echo": "POST /echo 1 KiB, 50 conns",
    "todo": "to-do GET with signed cookie, 50 conns",
    "ws64": "WebSocket echo 64 B, 50 conns",
}
PEER_NOTE = {
    "echo": "nginx: `return 200` of 1 KiB after reading the body (no echo)",
    "todo": "nginx, h2o: a fixed answer of the same length (no to-do API)",
}


def cell(values, fmt="{:,.0f}"):
    return fmt.format(statistics.mean(values)) if values else "—"


def ratio(counts, a, b, case):
    x, y = counts.get((a, case)), counts.get((b, case))
    if not x or not y:
        return "—"
    return "%.2f×" % (statistics.mean(x) / statistics.mean(y))


def instruction_table(args, counts):
    servers = [s for s in args.servers if any((s, c) in counts for c in args.cases)]
    lines = ["| case | " + " | ".join(servers) + " | squall ÷ nginx | squall ÷ Beast | squall ÷ node | note |",
             "|---|" + "---:|" * len(servers) + "---:|---:|---:|---|"]
    for case in args.cases:
        row = [CASE_TEXT[case]] + [cell(counts.get((s, case), [])) for s in servers]
        row += [ratio(counts, "squall", p, case) for p in ("nginx", "beast", "node")]
        row.append(PEER_NOTE.get(case, ""))
        lines.append("| " + " | ".join(row) + " |")
    return lines


def repeat_table(counts):
    lines = ["| server | case | runs | largest deviation from their mean |", "|---|---|---|---:|"]
    worst = 0.0
    for (name, case), values in sorted(counts.items()):
        mean = statistics.mean(values)
        dev = max(abs(v - mean) for v in values) / mean * 100 if mean else 0.0
        worst = max(worst, dev)
        lines.append("| %s | %s | %s | %.2f%% |" % (name, case, " / ".join("{:,.0f}".format(v) for v in values), dev))
    return lines, worst


def cpu_table(args, cpu):
    servers = [s for s in args.cpu_servers if any(k[0] == s for k in cpu)]
    lines = ["| case | " + " | ".join(servers) + " |", "|---|" + "---:|" * len(servers)]
    for case in ("get", "todo", "ws64"):
        if not any(k[1] == case for k in cpu):
            continue
        row = [CASE_TEXT[case]]
        for s in servers:
            v = cpu.get((s, case))
            row.append("%.2f (%.2f–%.2f)" % (statistics.median(v), min(v), max(v)) if v else "—")
        lines.append("| " + " | ".join(row) + " |")
    ratios = []
    base = cpu.get(("squall", "get"))
    if base:
        for s in servers:
            if s != "squall" and cpu.get((s, "get")):
                ratios.append("%s %.2f×" % (s, statistics.median(base) / statistics.median(cpu[(s, "get")])))
    return lines, ratios


def markdown(args, counts, cpu, info):
    out = ["# squall: instructions per request (make bench-instructions)", ""]
    out.append("User-space instructions per request counted by valgrind's cachegrind (`--cache-sim=no`), "
               "the difference of a %s- and a %s-request squall-load run over their difference in requests, "
               "so that start-up, set-up and shutdown cancel out; %d connections, each server on one thread; "
               "the mean of %d counts. Kernel %s; the run took %.0f s." % (
                   "{:,}".format(args.short), "{:,}".format(args.long), args.conns, args.repeat,
                   info["kernel"], info["elapsed"]))
    out.append("")
    out += instruction_table(args, counts)
    out += ["", "squall: examples/hello (`--threads 1`); ws64 is examples/ws_echo; the to-do API (examples/todo, "
            "SQLite in memory, a pool thread) is in the CPU table only: under valgrind 3.19 its loop stops hearing "
            "from the pool thread after a few jobs. nginx 1.22: one "
            "worker, `master_process off`, `return 200`. h2o: one thread, mruby handlers. h2o-evloop: libh2o "
            "with its own event loop (bench/peers/h2o_evloop_hello.c). Beast: Boost.Beast on C++20 coroutines, "
            "Asio's epoll reactor (bench/peers/beast_hello.cpp). node: node's ws (bench/peers/ws_echo_node.js), "
            "run under valgrind, its JIT's code counted as any other.", ""]
    rep, worst = repeat_table(counts)
    out += ["## Reproducibility", "",
            "Each count was made %d times (servers in alternating order); the largest deviation of a count from "
            "the mean of its runs is %.2f%%." % (args.repeat, worst), ""]
    out += rep
    if cpu:
        lines, ratios = cpu_table(args, cpu)
        out += ["", "## Server CPU time per request (µs), 50 connections", "",
                "Without valgrind: utime+stime of the server from /proc around a %s-request squall-load run "
                "(a tenth of that for Tornado) after a warm-up, server on CPU 0 and client on CPU 1, median of %d "
                "runs (min–max). A timing, so it moves with what else the machine runs; beast-uring is the same "
                "Beast source on Asio's io_uring backend, which valgrind cannot run." % (
                    "{:,}".format(args.cpu_requests), args.cpu_runs), ""]
        out += lines
        out += ["", "to-do row: nginx and h2o answer a fixed body as long as squall's (no to-do API); squall's figure "
                "includes its SQLite query on the pool thread."]
        if ratios:
            out += ["", "squall's CPU per GET / against each: " + ", ".join(ratios) + "."]
    if info["skipped"]:
        out += ["", "Left out: " + "; ".join(info["skipped"]) + "."]
    return "\n".join(out) + "\n"
