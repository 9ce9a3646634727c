#!/usr/bin/python3
"""make bench-instructions: user-space instructions per request of squall
and its peers, counted by valgrind's cachegrind, and server CPU time per
request at 50 connections.

Usage: /usr/bin/python3 bench/instructions_bench.py [--build build]
           [--short 2000] [--long 12000] [--repeat 2] [--cases get,get16,...]
           [--servers squall,nginx,...] [--cpu-requests 60000] [--cpu-runs 3]
           [--no-cpu] [--out BUILD/bench/instructions_report.md]

Each count runs one server under `valgrind --tool=cachegrind
--cache-sim=no` (exact user-space instruction counts, whatever else the
machine does) with build/bench/squall-load as the client: once for
--short and once for --long requests, each with a fresh server, so that
start-up, any set-up requests and shutdown cancel out in
(long - short) / (long - short requests). The server is single-threaded
(squall --threads 1, nginx one worker without master, h2o one thread,
Beast one io_context, node one process); cachegrind counts every thread of
the process, so the to-do API's SQLite pool thread is in squall's figure.
squall-load runs with a fixed request count, 50 connections, a timeout
no request reaches, and every answer checked (status and length): a count
whose load saw an error is an error. --repeat runs every count that many
times, the servers in alternating order, and the report shows how far the
runs differ (the goal: within 1%).

Cases (bench/peers/ holds the peers' configurations):
  get, get16  GET / at 50 connections, depth 1 and 16 pipelined:
              examples/hello, nginx `return 200`, h2o (mruby), libh2o-evloop,
              Boost.Beast on Asio's epoll reactor
  json        GET /json: the same JSON body from each
  echo        POST /echo of 1 KiB: squall and h2o echo it; nginx reads it
              and answers `return 200` with a 1 KiB body (it has no echo)
  todo        GET one task of the examples' to-do REST API (examples/todo,
              the API squall-server carries, SQLite in memory) with its
              signed session cookie; nginx and h2o have no to-do API: they
              answer a fixed body of the same length (`return 200`). In
              the CPU run by default, not counted: under valgrind 3.19 the
              to-do server's loop stops hearing from its pool thread after
              a few jobs (it waits for ever), so --cases todo hangs
  ws64        WebSocket echo of 64 B binary messages at 50 connections:
              examples/ws_echo and node's ws, both under cachegrind (node
              runs under valgrind, JIT included)

Then, unless --no-cpu: server CPU time per request (utime+stime from
/proc around the load client's life) of GET / at 50 connections for every
peer without valgrind, Asio's io_uring backend and Tornado included
(valgrind cannot run Asio's io_uring backend), of the to-do GET and of
ws64; median of --cpu-runs runs. Everything runs on 127.0.0.1; every wait is bounded and
every process started here is killed on the way out.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402
import instructions_peers as peers  # noqa: E402
import instructions_report as report  # noqa: E402

CASES = {
    "get": {"path": "/", "depth": 1},
    "get16": {"path": "/", "depth": 16},
    "json": {"path": "/json", "depth": 1},
    "echo": {"path": "/echo", "depth": 1, "method": "POST", "body": "x" * 1024,
             "headers": ["Content-Type: application/octet-stream"]},
    "todo": {"path": "/todo", "depth": 1},
    "ws64": {"path": "/ws", "depth": 1, "ws": 64},
}


def load_command(args, case, port, n, setup=None):
    """squall-load's command line for n requests of case; setup (from the
    server's set-up) may give another path and more headers."""
    c = dict(CASES[case], **(setup or {}))
    cmd = [args.load, "--json", "-c", str(args.conns), "-n", str(n), "--timeout", "60"]
    if c.get("ws"):
        return cmd + ["--ws", "--ws-size", str(c["ws"]), "ws://127.0.0.1:%d%s" % (port, c["path"])]
    cmd += ["--pipeline", str(c["depth"])]
    if c.get("method"):
        cmd += ["-m", c["method"], "-b", c["body"]]
    for h in c.get("headers", []):
        cmd += ["-H", h]
    return cmd + ["http://127.0.0.1:%d%s" % (port, c["path"])]


def run_load(procs, args, cmd, n, server_pid=None):
    """squall-load to the end; (its result, server CPU seconds spent)."""
    out_path = os.path.join(args.bench_dir, "instructions-client.out")
    cpu0 = bl.tree_cpu_seconds(server_pid) if server_pid else 0.0
    with open(out_path, "w+b") as out:
        client = procs.start(bl.pinned(1, [], cmd), stdout=out, stderr=subprocess.STDOUT)
        try:
            bl.wait_rusage(client, args.load_timeout)
        finally:
            procs.stop(client)
        out.seek(0)
        text = out.read().decode(errors="replace")
    cpu = bl.tree_cpu_seconds(server_pid) - cpu0 if server_pid else 0.0
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    if not lines:
        raise bl.BenchError("squall-load printed no result:\n" + text)
    j = json.loads(lines[-1])
    if j["errors"]["total"] or j["requests"] != n:
        raise bl.BenchError("squall-load: %d of %d requests, %d errors (%s)" % (
            j["requests"], n, j["errors"]["total"], j["first_error"]))
    return j, cpu


def count(procs, args, name, case, n):
    """User-space instructions of one server run that answers n requests."""
    port = bl.free_port()
    cg_out = os.path.join(os.path.abspath(args.bench_dir), "cachegrind.%s.%s.%d.out" % (name, case, n))
    vg = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=" + cg_out]
    server = peers.start(procs, args, name, case, port, valgrind=vg)
    try:
        extra = server.setup()
        run_load(procs, args, load_command(args, case, port, n, extra), n)
    finally:
        server.stop(timeout=60)
    with open(cg_out) as f:
        summary = [ln for ln in f if ln.startswith("summary:")]
    os.unlink(cg_out)
    if not summary:
        raise bl.BenchError("cachegrind wrote no summary for %s" % name)
    return int(summary[0].split()[1])


def instructions(procs, args):
    """{(server, case): [instructions per request, one per repeat]}."""
    results = {}
    for rep in range(args.repeat):
        for case in args.cases:
            names = [s for s in args.servers if peers.serves(s, case, args)]
            for name in names if rep % 2 == 0 else list(reversed(names)):
                a = count(procs, args, name, case, args.short)
                b = count(procs, args, name, case, args.long)
                per = (b - a) / (args.long - args.short)
                results.setdefault((name, case), []).append(per)
                print("  %-11s %-6s run %d: %9.0f instructions/request  (%d -> %d, %d -> %d)" % (
                    name, case, rep + 1, per, args.short, a, args.long, b), flush=True)
    return results


def cpu_per_request(procs, args):
    """{(server, case): [server CPU microseconds per request]} without valgrind."""
    results = {}
    for run in range(args.cpu_runs):
        for case in ("get", "todo", "ws64"):
            names = [s for s in args.cpu_servers if peers.serves(s, case, args, cpu=True)]
            for name in names if run % 2 == 0 else list(reversed(names)):
                port = bl.free_port()
                server = peers.start(procs, args, name, case, port, valgrind=None)
                try:
                    extra = server.setup()
                    warm = max(100, args.cpu_requests // 10)
                    run_load(procs, args, load_command(args, case, port, warm, extra), warm)
                    n = args.cpu_requests // (10 if name == "tornado" else 1)
                    _, cpu = run_load(procs, args, load_command(args, case, port, n, extra), n, server.p.pid)
                finally:
                    server.stop(timeout=10)
                us = 1e6 * cpu / n
                results.setdefault((name, case), []).append(us)
                print("  %-11s %-6s cpu run %d: %6.2f us/request" % (name, case, run + 1, us), flush=True)
    return results


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--short", type=int, default=2000, help="requests of the short run")
    ap.add_argument("--long", type=int, default=12000, help="requests of the long run")
    ap.add_argument("--repeat", type=int, default=2, help="count everything this many times")
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--cases", default="get,get16,json,echo,ws64",
                    help="instruction counts (todo: see above; it is in the CPU run)")
    ap.add_argument("--servers", default="squall,nginx,h2o,h2o-evloop,beast,node")
    ap.add_argument("--cpu-servers", default="squall,nginx,h2o,h2o-evloop,beast,beast-uring,node,tornado")
    ap.add_argument("--cpu-requests", type=int, default=60000)
    ap.add_argument("--cpu-runs", type=int, default=3)
    ap.add_argument("--no-cpu", action="store_true")
    ap.add_argument("--load-timeout", type=float, default=600, help="seconds one load run may take")
    ap.add_argument("--nginx", default="/usr/sbin/nginx")
    ap.add_argument("--h2o", default="/usr/bin/h2o")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.long <= args.short:
        raise SystemExit("instructions_bench: --long must be above --short")
    args.cases = args.cases.split(",")
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        raise SystemExit("instructions_bench: unknown case(s) %s (of %s)" % (",".join(unknown), ",".join(CASES)))
    args.servers = args.servers.split(",")
    args.cpu_servers = args.cpu_servers.split(",")
    args.bench_dir = os.path.join(args.build, "bench")
    args.load = os.path.join(args.bench_dir, "squall-load")
    args.node_modules = os.path.join(os.path.dirname(peers.HERE), "node_modules")
    args.out = args.out or os.path.join(args.bench_dir, "instructions_report.md")
    return args


def main():
    args = parse_args()
    if not os.access(args.load, os.X_OK):
        raise SystemExit("instructions_bench: %s is missing; make bench-instructions builds it" % args.load)
    if not shutil.which("valgrind"):
        raise SystemExit("instructions_bench: valgrind is not installed (make bench-instructions installs it)")
    skipped = []
    for name in sorted(set(args.servers) | set(args.cpu_servers)):
        reason = peers.missing(name, args)
        if reason:
            skipped.append("%s: %s" % (name, reason))
            print("instructions_bench: leaving out %s: %s" % (name, reason), flush=True)
    args.servers = [s for s in args.servers if not peers.missing(s, args)]
    args.cpu_servers = [s for s in args.cpu_servers if not peers.missing(s, args)]
    procs = bl.Processes()
    bl.kill_on_sigterm()
    t0 = time.monotonic()
    try:
        peers.probe_bodies(procs, args)
        counts = instructions(procs, args)
        cpu = {} if args.no_cpu else cpu_per_request(procs, args)
    except bl.BenchError as e:
        raise SystemExit("instructions_bench: %s" % e)
    finally:
        procs.kill_all()
    info = {"kernel": platform.release(), "elapsed": time.monotonic() - t0, "skipped": skipped}
    text = report.markdown(args, counts, cpu, info)
    raw = {"instructions": {"%s %s" % k: v for k, v in counts.items()},
           "cpu_us": {"%s %s" % k: v for k, v in cpu.items()}}
    bl.write_file(os.path.join(args.bench_dir, "instructions_results.json"), json.dumps(raw, indent=1) + "\n")
    bl.write_file(args.out, text)
    print()
    print(text, end="")
    print("report written to %s" % args.out)


if __name__ == "__main__":
    main()
