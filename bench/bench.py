#!/usr/bin/python3
"""make bench: squall side by side with its peers, driven by squall-load.

Usage: /usr/bin/python3 bench/bench.py [--build build] [--duration 5] [--runs 3]
           [--warmup 1] [--servers squall,nginx,h2o,h2o-evloop,beast,beast-uring,tornado,node]
           [--loads c50,c256,c50p16,c256p16,ws64] [--no-wrk] [--rt]
           [--out BUILD/bench/bench_report.md]

Every server answers `GET /` with "Hello, world!" (text/plain) on one
core: squall's examples/hello (--threads 1), nginx (one worker, `return
200`), h2o (one thread, an mruby handler), libh2o-evloop (a one-thread
hello on the library under h2o), Boost.Beast on C++20 coroutines (one
io_context, on Asio's epoll reactor and on its io_uring backend),
Tornado (one process) and node's http module (bench/peers/ holds their
configurations and programs). The WebSocket load (wsN: 50 connections echoing N-byte binary
messages) runs against squall's examples/ws_echo and the WebSocket peers
(node's ws, Tornado) where they exist; what is missing is left out with
the reason printed.

Each run starts each server fresh, pinned to CPU 0 (taskset), warms it up,
then drives each load with build/bench/squall-load pinned to CPU 1 for
--duration seconds; the servers alternate order run by run so drift on a
shared machine hits them alike. Loads: cN is N keep-alive connections
with one request in flight each, cNpM the same with M requests pipelined.

Recorded per run: requests/s, latency p50/p99 (squall-load's histogram),
the server's CPU time per request (utime+stime of the server and its
children from /proc, taken around the load client's life, over the
requests it completed; the main figure), the load client's own CPU time
per request and share of its core, and the server's RSS growth per
connection (VmRSS in the middle of the run less VmRSS after warm-up, over
the connections). Each cell is the median of the runs with the min-max
spread; squall's ratio to each peer is the ratio of medians.

Then, unless --no-wrk: squall-load and wrk against the same server (nginx)
at 50 and 256 connections, alternating, with the CPU each client spends
per request (its rusage over requests completed), and squall-load's
ceiling: the requests/s it could drive with a whole core, its measured
rate over its CPU share.

Writes a Markdown report, an SVG chart and the raw runs (JSON) to
BUILD/bench/ and prints the report. Everything runs on 127.0.0.1; every wait is bounded and every
process started here is killed on the way out.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402
import bench_report  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "peers")

WRK_DONE_LUA = """
done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '\\nWRKJSON {"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d}\\n',
      summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
      latency:percentile(50), latency:percentile(99)))
end
"""


# The C++ peers built by the bench_peers target (bench/CMakeLists.txt):
# Boost.Beast on Asio's epoll reactor and on its io_uring backend, and
# libh2o with its own event loop, each a one-thread hello.
CPP_PEERS = {"beast": "beast_hello", "beast-uring": "beast_hello_uring", "h2o-evloop": "h2o_evloop_hello"}


def server_command(name, ws, args, port):
    """The command line of server `name` (HTTP hello, or WebSocket echo
    when ws), or (None, reason) when it is not available here."""
    b = args.build
    if name == "squall":
        exe = os.path.join(b, "examples", "ws_echo" if ws else "hello")
        if not os.access(exe, os.X_OK):
            return None, "%s is not built" % exe
        return [exe, "--host", "127.0.0.1", "--port", str(port), "--threads", "1", "--drain", "1"], None
    if ws:
        if name in CPP_PEERS:
            return None, "%s has no WebSocket echo here" % name
        script = {"node": "ws_echo_node.js", "tornado": "ws_echo_tornado.py"}.get(name)
        if not script:
            return None, "%s has no WebSocket echo here" % name
        path = os.path.join(PEERS, script)
        if not os.path.exists(path):
            return None, "bench/peers/%s does not exist yet" % script
        if name == "node":
            if not os.path.isdir(os.path.join(args.node_modules, "ws")):
                return None, "node's ws module is not installed in %s (scripts/install-npm ws@8)" % args.node_modules
            return ["node", path, "--port", str(port)], None
        return ["/usr/bin/python3", path, "--port", str(port)], None
    if name == "nginx":
        return bl.nginx_config(os.path.join(args.bench_dir, "peers"), "nginx", args.nginx, port), None
    if name == "h2o":
        conf = os.path.abspath(os.path.join(args.bench_dir, "peers", "h2o", "h2o.conf"))
        with open(os.path.join(PEERS, "h2o.conf")) as f:
            bl.write_file(conf, f.read().format(port=port))
        return [args.h2o, "-c", conf], None
    if name in CPP_PEERS:
        exe = os.path.join(b, "bench", CPP_PEERS[name])
        if not os.access(exe, os.X_OK):
            return None, "%s is not built (make bench builds it when its packages install)" % exe
        return [exe, "--host", "127.0.0.1", "--port", str(port)], None
    if name == "tornado":
        return ["/usr/bin/python3", os.path.join(PEERS, "tornado_hello.py"), str(port)], None
    if name == "node":
        return ["node", os.path.join(PEERS, "node_hello.js"), str(port)], None
    raise SystemExit("bench: unknown server %r" % name)


def missing_tool(name, args):
    tool = {"nginx": args.nginx, "h2o": args.h2o, "node": shutil.which("node") or "node"}.get(name)
    if tool and not os.access(tool, os.X_OK):
        return "%s is not installed (make bench installs it)" % tool
    if name == "tornado" and subprocess.run(["/usr/bin/python3", "-c", "import tornado"],
                                            stderr=subprocess.DEVNULL).returncode:
        return "python3-tornado is not installed"
    return None


class Server:
    def __init__(self, procs, name, ws, args):
        self.procs, self.name = procs, name
        self.port = bl.free_port()
        cmd, _ = server_command(name, ws, args, self.port)
        env = dict(os.environ, NODE_PATH=args.node_modules)
        log = open(os.path.join(args.bench_dir, "server-%s.log" % name), "ab")
        self.p = procs.start(bl.pinned(0, args.prio, cmd), stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        bl.wait_listening(self.p, self.port, name)

    def stop(self):
        self.procs.stop(self.p)


def squall_load(procs, args, port, load, seconds):
    """One squall-load run; its JSON plus its CPU use (rusage)."""
    scheme = "ws" if load["ws"] else "http"
    path = "/ws" if load["ws"] else "/"
    cmd = [args.load, "--json", "-c", str(load["conns"]), "-d", str(seconds), "--timeout", "10"]
    if load["ws"]:
        cmd += ["--ws", "--ws-size", str(load["size"])]
    else:
        cmd += ["--pipeline", str(load["depth"])]
    cmd.append("%s://127.0.0.1:%d%s" % (scheme, port, path))
    return run_client(procs, args, bl.pinned(1, args.prio, cmd), seconds, parse_squall_load)


def parse_squall_load(text):
    line = [ln for ln in text.splitlines() if ln.startswith("{")]
    if not line:
        raise bl.BenchError("squall-load printed no result:\n" + text)
    j = json.loads(line[-1])
    return {"requests": j["requests"], "seconds": j["duration_s"], "errors": j["errors"]["total"],
            "first_error": j["first_error"], "p50_us": j["latency_us"]["p50"], "p99_us": j["latency_us"]["p99"]}


def wrk(procs, args, port, conns, seconds):
    cmd = [args.wrk, "-t1", "-c%d" % conns, "-d%ds" % seconds, "--timeout", "10s", "-s",
           os.path.join(args.bench_dir, "wrk_done.lua"), "http://127.0.0.1:%d/" % port]
    return run_client(procs, args, bl.pinned(1, args.prio, cmd), seconds, parse_wrk)


def parse_wrk(text):
    line = [ln for ln in text.splitlines() if ln.startswith("WRKJSON ")]
    if not line:
        raise bl.BenchError("wrk printed no result:\n" + text)
    j = json.loads(line[-1][len("WRKJSON "):])
    return {"requests": j["requests"], "seconds": j["duration_us"] / 1e6, "errors": j["errors"], "first_error": "",
            "p50_us": j["p50_us"], "p99_us": j["p99_us"]}


def run_client(procs, args, cmd, seconds, parse, server=None, rss_base=None):
    out_path = os.path.join(args.bench_dir, "client.out")
    cpu0 = bl.tree_cpu_seconds(server.p.pid) if server else 0
    with open(out_path, "w+b") as out:
        client = procs.start(cmd, stdout=out, stderr=subprocess.STDOUT)
        rss = []
        if server:  # the server's memory in the middle of the run
            t = threading.Timer(seconds / 2, lambda: rss.append(bl.tree_rss_kib(server.p.pid)))
            t.start()
        try:
            t0 = time.monotonic()
            client_cpu = bl.wait_rusage(client, seconds + 60)
            wall = time.monotonic() - t0
        finally:
            if server:
                t.cancel()
            procs.stop(client)
        out.seek(0)
        text = out.read().decode(errors="replace")
    r = parse(text)
    if r["requests"] == 0:
        raise bl.BenchError("no request completed:\n" + text)
    r["rps"] = r["requests"] / r["seconds"]
    r["client_cpu_fraction"] = client_cpu / wall
    r["client_us_per_req"] = 1e6 * client_cpu / r["requests"]
    if server:
        cpu = bl.tree_cpu_seconds(server.p.pid) - cpu0
        r["server_us_per_req"] = 1e6 * cpu / r["requests"]
        r["server_cpu_fraction"] = cpu / wall
        if rss and rss_base is not None:
            r["rss_per_conn_kib"] = (rss[0] - rss_base) / server.conns
    return r


def measure(procs, args, server, load, rss_base):
    scheme = "ws" if load["ws"] else "http"
    cmd = [args.load, "--json", "-c", str(load["conns"]), "-d", str(args.duration), "--timeout", "10"]
    cmd += ["--ws", "--ws-size", str(load["size"])] if load["ws"] else ["--pipeline", str(load["depth"])]
    cmd.append("%s://127.0.0.1:%d%s" % (scheme, server.port, "/ws" if load["ws"] else "/"))
    server.conns = load["conns"]
    return run_client(procs, args, bl.pinned(1, args.prio, cmd), args.duration, parse_squall_load, server, rss_base)


def available(args):
    """{(server, ws): None or the reason it is left out}."""
    out = {}
    for name in args.servers:
        reason = missing_tool(name, args)
        for ws in (False, True):
            if ws and not any(load["ws"] for load in args.loads):
                continue
            out[(name, ws)] = reason or server_command(name, ws, args, 0)[1]
    return out


def run_peers(procs, args, avail):
    results = {}  # (server, load name) -> list of runs
    for run in range(args.runs):
        order = args.servers if run % 2 == 0 else list(reversed(args.servers))
        for name in order:
            for ws in (False, True):
                loads = [ld for ld in args.loads if ld["ws"] == ws]
                if not loads or avail.get((name, ws)):
                    continue
                server = Server(procs, name, ws, args)
                try:
                    if args.warmup > 0:
                        squall_load(procs, args, server.port, dict(loads[0], conns=50), args.warmup)
                    time.sleep(0.2)
                    rss_base = bl.tree_rss_kib(server.p.pid)
                    for load in loads:
                        r = measure(procs, args, server, load, rss_base)
                        results.setdefault((name, load["name"]), []).append(r)
                        print("  %-8s %-8s run %d: %9.0f req/s  p50 %7.0f us  p99 %7.0f us  server %5.2f us/req "
                              "(%3.0f%% CPU)  client %3.0f%% CPU%s" % (
                                  name, load["name"], run + 1, r["rps"], r["p50_us"], r["p99_us"],
                                  r["server_us_per_req"], 100 * r["server_cpu_fraction"],
                                  100 * r["client_cpu_fraction"],
                                  "  ERRORS %d: %s" % (r["errors"], r["first_error"]) if r["errors"] else ""),
                              flush=True)
                finally:
                    server.stop()
    return results


def run_clients(procs, args):
    """squall-load and wrk against the same nginx, alternating."""
    results = {}  # (client, conns) -> runs
    server = Server(procs, args.compare_server, False, args)
    try:
        squall_load(procs, args, server.port, {"conns": 50, "depth": 1, "ws": False}, max(1, args.warmup))
        for run in range(args.runs):
            for conns in (50, 256):
                order = ["squall-load", "wrk"] if run % 2 == 0 else ["wrk", "squall-load"]
                for client in order:
                    if client == "wrk":
                        r = wrk(procs, args, server.port, conns, int(round(args.duration)))
                    else:
                        r = squall_load(procs, args, server.port, {"conns": conns, "depth": 1, "ws": False},
                                        args.duration)
                    if r["errors"]:
                        raise bl.BenchError("%s saw %d errors against %s" % (client, r["errors"], server.name))
                    results.setdefault((client, conns), []).append(r)
                    print("  %-11s c%-3d run %d: %9.0f req/s  %5.2f us CPU/req  %3.0f%% CPU" % (
                        client, conns, run + 1, r["rps"], r["client_us_per_req"], 100 * r["client_cpu_fraction"]),
                        flush=True)
            # The ceiling: pipelined, so the server is not what limits.
            r = squall_load(procs, args, server.port, {"conns": 50, "depth": 16, "ws": False}, args.duration)
            results.setdefault(("squall-load", "p16"), []).append(r)
            print("  squall-load c50p16 run %d: %9.0f req/s  %5.2f us CPU/req  %3.0f%% CPU" % (
                run + 1, r["rps"], r["client_us_per_req"], 100 * r["client_cpu_fraction"]), flush=True)
    finally:
        server.stop()
    return results


def parse_loads(text):
    loads = []
    for name in text.split(","):
        if name.startswith("ws"):
            loads.append({"name": name, "conns": 50, "depth": 1, "ws": True, "size": int(name[2:])})
        elif name.startswith("c"):
            conns, _, depth = name[1:].partition("p")
            loads.append({"name": name, "conns": int(conns), "depth": int(depth or 1), "ws": False})
        else:
            raise SystemExit("bench: unknown load %r (cN, cNpM or wsN)" % name)
    return loads


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--servers", default="squall,nginx,h2o,h2o-evloop,beast,beast-uring,tornado,node")
    ap.add_argument("--loads", default="c50,c256,c50p16,c256p16,ws64")
    ap.add_argument("--no-wrk", action="store_true", help="skip the squall-load vs wrk comparison")
    ap.add_argument("--compare-server", default="nginx", help="the server squall-load and wrk both drive")
    ap.add_argument("--nginx", default="/usr/sbin/nginx")
    ap.add_argument("--h2o", default="/usr/bin/h2o")
    ap.add_argument("--wrk", default="/usr/bin/wrk")
    ap.add_argument("--rt", action="store_true", help="servers and clients as SCHED_FIFO (chrt -f 1)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    args.prio, args.rt = bl.priority_prefix(args.rt, who="bench")
    args.loads = parse_loads(args.loads)
    args.servers = args.servers.split(",")
    args.bench_dir = os.path.join(args.build, "bench")
    args.load = os.path.join(args.bench_dir, "squall-load")
    args.node_modules = os.path.join(os.path.dirname(HERE), "node_modules")  # scripts/install-npm puts ws there
    args.out = args.out or os.path.join(args.bench_dir, "bench_report.md")
    return args


def main():
    args = parse_args()
    if not os.access(args.load, os.X_OK):
        raise SystemExit("bench: %s is missing; make bench builds it" % args.load)
    bl.write_file(os.path.join(args.bench_dir, "wrk_done.lua"), WRK_DONE_LUA)
    avail = available(args)
    skipped = []
    for (name, ws), reason in sorted(avail.items()):
        if reason:
            what = "%s WebSocket echo" % name if ws else name
            skipped.append("%s: %s" % (what, reason))
            print("bench: leaving out %s: %s" % (what, reason), flush=True)
    if any(ld["ws"] for ld in args.loads) and avail.get(("squall", True)):
        print("bench: leaving out the WebSocket row: squall's echo server is not available", flush=True)
        args.loads = [ld for ld in args.loads if not ld["ws"]]
    compare = not args.no_wrk and not avail.get((args.compare_server, False)) and os.access(args.wrk, os.X_OK)
    if not args.no_wrk and not compare:
        skipped.append("squall-load vs wrk: wrk or %s is missing" % args.compare_server)
    procs = bl.Processes()
    bl.kill_on_sigterm()
    t0 = time.monotonic()
    try:
        results = run_peers(procs, args, avail)
        clients = run_clients(procs, args) if compare else {}
    except bl.BenchError as e:
        raise SystemExit("bench: %s" % e)
    finally:
        procs.kill_all()
    info = {"kernel": platform.release(), "elapsed": time.monotonic() - t0, "skipped": skipped}
    text = bench_report.markdown(args, results, clients, info)
    raw = {"%s %s" % key: runs for key, runs in list(results.items()) + list(clients.items())}
    bl.write_file(os.path.join(args.bench_dir, "bench_results.json"), json.dumps(raw, indent=1) + "\n")
    chart = os.path.join(args.bench_dir, "bench_chart.svg")
    bl.write_file(chart, bench_report.svg(args, results))
    bl.write_file(args.out, text)
    print()
    print(text, end="")
    print("report written to %s, chart to %s" % (args.out, chart))


if __name__ == "__main__":
    main()
