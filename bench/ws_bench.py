#!/usr/bin/python3
"""WebSocket echo benchmark: squall's examples/ws_echo against node's `ws`
(bench/peers/ws_echo_node.js) and Tornado's WebSocketHandler
(bench/peers/ws_echo_tornado.py), side by side, same client.

Usage: /usr/bin/python3 bench/ws_bench.py [--build build] [--duration 5]
           [--runs 3] [--warmup 1] [--sizes 64,16384] [--conns 100,1000]
           [--servers squall,node,tornado] [--rt] [--out BUILD/bench/ws_report.md]

Every server echoes each binary message back on one core: squall with
--threads 1 and no compression asked for, node's ws and Tornado as the peer
scripts start them (no compression). Each run starts the server fresh,
pinned to CPU 0 (taskset -c 0), warms it up for --warmup seconds, then
drives it for --duration seconds with build/bench/squall-load --ws (one
thread, pinned to CPU 1): N connections, one message of S bytes in flight
on each, every echo checked byte for byte. The servers alternate within a
run so that drift on a shared machine hits them alike.

Reported per cell (median of the runs, min-max spread): echoed messages/s;
the server's CPU time per message (utime+stime of all its threads from
/proc/<pid>/stat just before and after the measured load, over the messages
echoed) - the main figure, as the client may saturate first on a 2-core
machine. It is the marginal cost: the server runs a warm-up load of
--warmup s and then the measured one of --duration s, each with its own
connections, and the CPU of the first is taken from the second over the
messages the second echoed more, so connection set-up and handshakes
cancel out. Also the client's CPU per message and its CPU use (the
server's CPU use is over the whole measured load, set-up included). --rt runs
servers and client as SCHED_FIFO (chrt -f 1, needs root) so that other work
on a shared machine does not decide the result. Everything is on
127.0.0.1, every wait is bounded, every process started here is killed on
the way out. Writes a Markdown report (also printed) to --out.
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TICK = 1.0 / os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    """utime + stime of the whole process, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_port(port, proc, name, guard=20):
    deadline = time.monotonic() + guard
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError("%s exited early with %d" % (name, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise BenchError("%s did not start listening" % name)


def server_command(name, args, port):
    if name == "squall":
        return [os.path.join(args.build, "examples", "ws_echo"), "--port", str(port), "--threads", "1",
                "--no-deflate"]
    if name == "node":
        return [args.node, os.path.join(HERE, "peers", "ws_echo_node.js"), "--port", str(port)]
    if name == "tornado":
        return ["/usr/bin/python3", os.path.join(HERE, "peers", "ws_echo_tornado.py"), "--port", str(port)]
    raise BenchError("unknown server " + name)


class Processes:
    """Every process started here, killed on the way out."""

    def __init__(self):
        self.procs = []

    def start(self, cmd, **kw):
        p = subprocess.Popen(cmd, **kw)
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(self.procs):
            self.stop(p)


def load(procs, args, port, size, conns, seconds):
    cmd = args.prefix + ["taskset", "-c", "1", args.load, "--ws", "--ws-size", str(size), "-c", str(conns),
                         "-d", str(seconds), "--threads", "1", "--json", "ws://127.0.0.1:%d/ws" % port]
    p = procs.start(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=seconds + 120)
    except subprocess.TimeoutExpired:
        procs.stop(p)
        raise BenchError("squall-load did not finish")
    procs.procs.remove(p)
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BenchError("squall-load gave no JSON: %s %s" % (out[-500:], err[-500:]))


def measure(procs, args, name, size, conns):
    """One server, two loads: the warm-up and the measured one. Each load
    connects its own clients first, so the server's CPU per message is
    taken from the difference of the two (the cost of the extra messages):
    connection set-up and teardown cancel out."""
    port = free_port()
    cmd = args.prefix + ["taskset", "-c", "0"] + server_command(name, args, port)
    server = procs.start(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, server, name)
        t0 = cpu_ticks(server.pid)
        w = load(procs, args, port, size, conns, args.warmup)
        t1 = cpu_ticks(server.pid)
        r = load(procs, args, port, size, conns, args.duration)
        t2 = cpu_ticks(server.pid)
    finally:
        procs.stop(server)
    extra = r["requests"] - w["requests"]
    if extra <= 0:
        raise BenchError("%s: the longer load echoed no more messages than the warm-up" % name)
    cpu = ((t2 - t1) - (t1 - t0)) * TICK
    return {
        "rps": r["requests_per_sec"],
        "server_us": max(cpu, 0) / extra * 1e6,
        "server_cpu": (t2 - t1) * TICK / r["duration_s"],
        "client_us": r["cpu_us_per_request"],
        "client_cpu": (r["cpu_user_s"] + r["cpu_sys_s"]) / r["duration_s"],
        "p99_ms": r["latency_us"]["p99"] / 1000,
        "errors": r["errors"]["total"] + w["errors"]["total"],
    }


def cell(runs, key, fmt):
    vals = [r[key] for r in runs]
    med = statistics.median(vals)
    if len(vals) == 1:
        return fmt % med
    return (fmt + " (" + fmt + "-" + fmt + ")") % (med, min(vals), max(vals))


def report(args, results):
    lines = ["# WebSocket echo: squall vs node ws vs Tornado", "",
             "One server core (CPU 0), squall-load --ws on CPU 1, %d s per run, %d run(s), median (min-max). "
             "Binary messages, no compression. Server CPU per message is the main figure; the client's own "
             "CPU is shown because on two cores it can saturate first.%s" %
             (args.duration, args.runs, " SCHED_FIFO (--rt)." if args.rt else ""), "",
             "| size | conns | server | messages/s | server CPU us/msg | server CPU use | client CPU us/msg | "
             "client CPU use | p99 ms | errors |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for (size, conns, name), runs in results.items():
        lines.append("| %d B | %d | %s | %s | %s | %s | %s | %s | %s | %d |" % (
            size, conns, name, cell(runs, "rps", "%.0f"), cell(runs, "server_us", "%.2f"),
            cell(runs, "server_cpu", "%.2f"), cell(runs, "client_us", "%.2f"), cell(runs, "client_cpu", "%.2f"),
            cell(runs, "p99_ms", "%.1f"), sum(r["errors"] for r in runs)))
    lines += ["", "Ratios (squall over peer, medians): messages/s and server CPU per message (peer / squall).", "",
              "| size | conns | peer | msgs/s ratio | CPU/msg ratio |", "|---|---|---|---|---|"]
    for size in args.sizes:
        for conns in args.conns:
            sq = results.get((size, conns, "squall"))
            if not sq:
                continue
            for peer in args.servers:
                if peer == "squall" or (size, conns, peer) not in results:
                    continue
                pr = results[(size, conns, peer)]
                rps = statistics.median(r["rps"] for r in sq) / max(statistics.median(r["rps"] for r in pr), 1e-9)
                cpu = statistics.median(r["server_us"] for r in pr) / max(statistics.median(r["server_us"] for r in sq), 1e-9)
                lines.append("| %d B | %d | %s | %.2fx | %.2fx |" % (size, conns, peer, rps, cpu))
    return "\n".join(lines) + "\n"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--sizes", default="64,16384")
    p.add_argument("--conns", default="100,1000")
    p.add_argument("--servers", default="squall,node,tornado")
    p.add_argument("--rt", action="store_true", help="SCHED_FIFO for servers and client (chrt -f 1)")
    p.add_argument("--load", help="the load client (default BUILD/bench/squall-load)")
    p.add_argument("--node", default="node")
    p.add_argument("--out")
    a = p.parse_args()
    a.sizes = [int(x) for x in a.sizes.split(",")]
    a.conns = [int(x) for x in a.conns.split(",")]
    a.servers = a.servers.split(",")
    a.load = a.load or os.path.join(a.build, "bench", "squall-load")
    a.out = a.out or os.path.join(a.build, "bench", "ws_report.md")
    if a.duration <= a.warmup:
        raise SystemExit("--duration must be longer than --warmup")
    a.prefix = []
    if a.rt:
        if subprocess.run(["chrt", "-f", "1", "true"], stderr=subprocess.DEVNULL).returncode != 0:
            raise SystemExit("--rt: chrt -f 1 is not allowed here (needs root or CAP_SYS_NICE)")
        a.prefix = ["chrt", "-f", "1"]
    return a


def main():
    args = parse_args()
    for path in [args.load, os.path.join(args.build, "examples", "ws_echo")]:
        if not os.path.exists(path):
            raise SystemExit("missing %s: build it first (make build)" % path)
    procs = Processes()
    results = {}
    try:
        for run in range(args.runs):
            for size in args.sizes:
                for conns in args.conns:
                    order = args.servers[run % len(args.servers):] + args.servers[:run % len(args.servers)]
                    for name in order:
                        r = measure(procs, args, name, size, conns)
                        results.setdefault((size, conns, name), []).append(r)
                        print("run %d %5d B %4d conns %-7s %9.0f msg/s  server %6.2f us/msg (%.2f CPU)  "
                              "client %6.2f us/msg (%.2f CPU)  errors %d" %
                              (run + 1, size, conns, name, r["rps"], r["server_us"], r["server_cpu"],
                               r["client_us"], r["client_cpu"], r["errors"]), flush=True)
    except BenchError as e:
        print("ws_bench: %s" % e, file=sys.stderr)
        return 1
    finally:
        procs.stop_all()
    ordered = {k: results[k] for k in sorted(results, key=lambda k: (k[0], k[1], args.servers.index(k[2])))}
    text = report(args, ordered)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
