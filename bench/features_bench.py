#!/usr/bin/python3
"""make bench-features: what each io_uring feature buys squall on this kernel.

Usage: /usr/bin/python3 bench/features_bench.py [--build build] [--duration 3]
           [--runs 3] [--configs all,no-multishot-accept,...] [--loads c50,c256,c50p16,close,echo64k]
           [--rt] [--out BUILD/bench/features_report.md]

examples/hello (one thread) runs with all of squall's io_uring features
(all), then with each switched off in turn through its command-line
switch (examples/common/server_flags.hpp): multishot accept, multishot
recv, the provided buffer ring (plain recv into a buffer per connection),
SEND_ZC, DEFER_TASKRUN (with SINGLE_ISSUER), the registered ring fd; and
with SQPOLL switched on as an extra. Loads, by build/bench/squall-load:
cN (N keep-alive connections), c50p16 (16 pipelined), close (50
connections, each request on a new connection: accept's cost), echo64k
(16 connections POSTing 64 KiB to /echo, which comes back: where the
buffer ring and SEND_ZC matter). SEND_ZC is not used for loopback peers
unless forced (docs/engine.md), so a zc-loopback configuration forces it
too.

Server on CPU 0, squall-load on CPU 1; every configuration is started
fresh per run, configurations alternate order run by run. Reported per
cell: requests/s and server CPU time per request (utime+stime from
/proc), median (min–max), and the change against `all` (positive: the
feature, when on, makes squall faster or cheaper). squall-features' probe
of the kernel heads the report. With --rt the sqpoll configuration still
runs at normal priority (a SCHED_FIFO server starves its own SQ thread on
the same CPU), and a configuration's errors are shown in its cells rather
than stopping the run. Everything on 127.0.0.1, bounded, and every
process started is killed on the way out.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

CONFIGS = {
    "all": ([], "every feature squall uses"),
    "no-multishot-accept": (["--no-multishot-accept"], "one-shot accept per connection"),
    "no-multishot-recv": (["--no-multishot-recv"], "one-shot recv per read (buffer ring kept)"),
    "no-buffer-ring": (["--no-buffer-ring"], "plain recv into a 16 KiB buffer per connection"),
    "no-send-zc": (["--no-send-zc"], "never SEND_ZC"),
    "zc-loopback": (["--zc-on-loopback"], "SEND_ZC forced for loopback peers (>= 32 KiB writes)"),
    "no-defer-taskrun": (["--no-defer-taskrun"], "ring without SINGLE_ISSUER/DEFER_TASKRUN"),
    "no-register-ring-fd": (["--no-register-ring-fd"], "ring fd not registered"),
    "sqpoll": (["--sqpoll"], "extra: a kernel thread polls the submission queue"),
}

LOADS = {
    "c50": (["-c", "50"], "50 conns"),
    "c256": (["-c", "256"], "256 conns"),
    "c50p16": (["-c", "50", "--pipeline", "16"], "50 conns, 16 pipelined"),
    "close": (["-c", "50", "-H", "Connection: close"], "50 conns, new connection per request"),
    "echo64k": (["-c", "16", "-m", "POST", "-b", "x" * 65536], "16 conns, POST 64 KiB /echo"),
}


def run_config(procs, args, config, load):
    port = bl.free_port()
    cmd = [args.hello, "--host", "127.0.0.1", "--port", str(port), "--threads", "1", "--drain", "1"] + \
        CONFIGS[config][0]
    log = open(os.path.join(args.bench_dir, "features-server.log"), "ab")
    # SQPOLL's kernel thread runs at normal priority on the server's CPU: a
    # SCHED_FIFO server would starve it, so that configuration runs without.
    prio = [] if config == "sqpoll" else args.prio
    server = procs.start(bl.pinned(0, prio, cmd), stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        bl.wait_listening(server, port, "hello " + config)
        path = "/echo" if load == "echo64k" else "/"
        client_cmd = [args.load, "--json", "-d", str(args.duration), "--timeout", "10"] + LOADS[load][0] + \
            ["http://127.0.0.1:%d%s" % (port, path)]
        cpu0 = bl.tree_cpu_seconds(server.pid)
        out_path = os.path.join(args.bench_dir, "features-client.out")
        with open(out_path, "w+b") as out:
            client = procs.start(bl.pinned(1, args.prio, client_cmd), stdout=out, stderr=subprocess.STDOUT)
            try:
                t0 = time.monotonic()
                client_cpu = bl.wait_rusage(client, args.duration + 60)
                wall = time.monotonic() - t0
            finally:
                procs.stop(client)
            cpu = bl.tree_cpu_seconds(server.pid) - cpu0
            out.seek(0)
            text = out.read().decode(errors="replace")
    finally:
        procs.stop(server)
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    if not lines:
        raise bl.BenchError("squall-load printed no result:\n" + text)
    j = json.loads(lines[-1])
    if not j["requests"]:
        raise bl.BenchError("%s/%s: no request completed (%s)" % (config, load, j["first_error"]))
    # Errors do not stop the run: the cell shows them (a configuration that
    # breaks the server is a finding too).
    return {"rps": j["requests_per_sec"], "server_us_per_req": 1e6 * cpu / j["requests"],
            "client_cpu_fraction": client_cpu / wall, "p99_us": j["latency_us"]["p99"],
            "errors": j["errors"]["total"], "first_error": j["first_error"]}


def run_all(procs, args):
    results = {}
    for run in range(args.runs):
        order = args.configs if run % 2 == 0 else list(reversed(args.configs))
        for config in order:
            for load in args.loads:
                r = run_config(procs, args, config, load)
                results.setdefault((config, load), []).append(r)
                print("  %-20s %-8s run %d: %9.0f req/s  server %6.2f us/req  client %3.0f%% CPU%s" % (
                    config, load, run + 1, r["rps"], r["server_us_per_req"], 100 * r["client_cpu_fraction"],
                    "  ERRORS %d: %s" % (r["errors"], r["first_error"]) if r["errors"] else ""), flush=True)
    return results


def features_probe(args):
    exe = os.path.join(args.build, "examples", "squall-features")
    try:
        p = subprocess.run([exe], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        return p.stdout.decode(errors="replace").rstrip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return "squall-features could not run: %s" % e


def med(runs, key):
    return bl.median([r[key] for r in runs])


def report(args, results, probe, elapsed):
    lines = ["# make bench-features: what each io_uring feature buys squall", "",
             "Linux %s. `squall-features` on this machine:" % platform.release(), "", "```", probe, "```", "",
             "examples/hello (one thread) on CPU 0, squall-load on CPU 1, %g s per load, %d runs, each configuration "
             "started fresh, alternating order%s. Cells: requests/s and server CPU µs per request, median (min–max); "
             "in brackets the change of the medians against `all`: for a feature switched off, a drop in req/s or a "
             "rise in CPU/req is what the feature buys; for sqpoll and zc-loopback, what the extra costs or buys. "
             "Whole run: %.0f s." % (args.duration, args.runs,
                                     ", SCHED_FIFO (sqpoll at normal priority)" if args.rt else "", elapsed), ""]
    head = "| configuration | " + " | ".join(LOADS[ld][1] for ld in args.loads) + " |"
    lines += [head, "|---|" + "---:|" * len(args.loads)]
    for config in args.configs:
        cells = []
        for load in args.loads:
            runs = results[(config, load)]
            text = "%s req/s · %s µs" % (bl.spread([r["rps"] for r in runs], "%.0f"),
                                         bl.spread([r["server_us_per_req"] for r in runs], "%.2f"))
            errors = sum(r["errors"] for r in runs)
            if errors:
                text += " ⚠ %d errors (%s)" % (errors, next(r["first_error"] for r in runs if r["errors"]))
            base = results.get(("all", load))
            if base and config != "all":
                text += " (req/s %+.0f%%, CPU/req %+.0f%%)" % (
                    100 * (med(runs, "rps") / med(base, "rps") - 1),
                    100 * (med(runs, "server_us_per_req") / med(base, "server_us_per_req") - 1))
            cells.append(text)
        lines.append("| %s: %s | %s |" % (config, CONFIGS[config][1], " | ".join(cells)))
    busiest = max(r["client_cpu_fraction"] for rs in results.values() for r in rs)
    lines += ["", "Differences within the min–max spread of the runs are noise. squall-load's share of its core "
              "was at most %.0f%% in any run%s." % (
                  100 * busiest, ", so the server set the pace" if busiest < 0.9 else
                  ": near 100%, the client may have set the pace there")]
    return "\n".join(lines) + "\n"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--loads", default="c50,c256,c50p16,close,echo64k")
    ap.add_argument("--rt", action="store_true", help="server and client as SCHED_FIFO (chrt -f 1)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    args.prio, args.rt = bl.priority_prefix(args.rt, who="features_bench")
    args.configs = args.configs.split(",")
    args.loads = args.loads.split(",")
    for c in args.configs:
        if c not in CONFIGS:
            raise SystemExit("features_bench: unknown configuration %r (%s)" % (c, ", ".join(CONFIGS)))
    for ld in args.loads:
        if ld not in LOADS:
            raise SystemExit("features_bench: unknown load %r (%s)" % (ld, ", ".join(LOADS)))
    if "all" not in args.configs:
        args.configs.insert(0, "all")
    args.bench_dir = os.path.join(args.build, "bench")
    args.hello = os.path.join(args.build, "examples", "hello")
    args.load = os.path.join(args.bench_dir, "squall-load")
    args.out = args.out or os.path.join(args.bench_dir, "features_report.md")
    return args


def main():
    args = parse_args()
    for what, path in (("examples/hello", args.hello), ("squall-load", args.load)):
        if not os.access(path, os.X_OK):
            raise SystemExit("features_bench: %s (%s) is missing; make bench-features builds it" % (what, path))
    probe = features_probe(args)
    print(probe, flush=True)
    procs = bl.Processes()
    bl.kill_on_sigterm()
    t0 = time.monotonic()
    try:
        results = run_all(procs, args)
    except bl.BenchError as e:
        raise SystemExit("features_bench: %s" % e)
    finally:
        procs.kill_all()
    text = report(args, results, probe, time.monotonic() - t0)
    bl.write_file(args.out, text)
    print()
    print(text, end="")
    print("report written to %s" % args.out)


if __name__ == "__main__":
    main()
