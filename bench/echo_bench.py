#!/usr/bin/python3
"""TCP echo benchmark: examples/echo (squall) against bench/epoll_echo_server.

Usage: /usr/bin/python3 bench/echo_bench.py [--build build] [--duration 5]
           [--runs 3] [--connections 1,64,1000] [--idle 10000] [--size 64]
           [--out BUILD/bench/echo_report.md]

Throughput: for each connection count and run, each server is started
fresh, pinned to CPU 0 (taskset -c 0), and bench/echo_load, pinned to CPU 1,
drives it for --duration seconds of request/response round trips; the
servers alternate run by run so drift on a shared machine hits both alike.
The server's CPU time (utime+stime from /proc/<pid>/stat, all its threads)
is sampled around exactly the client's measured window (echo_load
--sync-stdin) and divided by the round trips; the client reports its own
CPU use. Each cell is the median of the runs with the min-max spread.

Memory: each server, fresh, first echoes --warm-bytes (32 MiB) over one
connection, which faults in all of squall's shared receive buffer ring (a
fixed cost, shown as "RSS before"), then --idle connections are opened from this process and held open without a byte sent; the growth
of the server's VmRSS (/proc/<pid>/status), once it has accepted them all,
divided by their number is the cost of an idle connection. Then every
connection echoes 64 bytes once and idles again, and RSS is read again
(memory that stays with a connection once it has been used). Socket
buffers and io_uring state live in the kernel and are not in RSS.

Everything runs on 127.0.0.1, every wait is bounded, and every process
started here is killed on the way out, errors included. Writes a Markdown
report (also printed) to --out.
"""
import argparse
import json
import os
import resource
import select
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BenchError, Processes, free_port, open_fds, rss_kib  # noqa: E402
import benchlib  # noqa: E402


def cpu_seconds(pid):
    """utime+stime of the whole process (all threads), in seconds."""
    return sum(benchlib.cpu_seconds(pid))


def server_command(name, binaries, port):
    if name == "squall":
        return [binaries["squall"], "--host", "127.0.0.1", "--port", str(port), "--threads", "1", "--drain", "1"]
    return [binaries["epoll"], "--host", "127.0.0.1", "--port", str(port)]


def start_server(procs, name, binaries):
    port = free_port()
    cmd = ["taskset", "-c", "0"] + server_command(name, binaries, port)
    # taskset execs the server, so the pid is the server's own.
    p = procs.start(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise BenchError("%s server exited early with %d" % (name, p.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return p, port
        except OSError:
            time.sleep(0.05)
    raise BenchError("%s server did not start listening" % name)


class LineReader:
    """Reads whole lines from a child's stdout pipe with a deadline."""

    def __init__(self, f):
        self.fd = f.fileno()
        self.buf = b""

    def readline(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise BenchError("timed out waiting for the load client")
            chunk = os.read(self.fd, 65536)
            if not chunk:
                raise BenchError("load client exited early")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()


def load_run(procs, binaries, server_pid, port, conns, args):
    """One measured window; returns the client's JSON plus server CPU."""
    cmd = ["taskset", "-c", "1", binaries["load"], "--port", str(port), "--connections", str(conns),
           "--size", str(args.size), "--duration", str(args.duration), "--json", "--sync-stdin"]
    client = procs.start(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    try:
        out = LineReader(client.stdout)
        if out.readline(60) != "ready":
            raise BenchError("load client did not connect")
        cpu0 = cpu_seconds(server_pid)
        client.stdin.write(b"go\n")
        result = json.loads(out.readline(args.duration + 30))
        cpu1 = cpu_seconds(server_pid)
        client.stdin.close()
        rc = client.wait(timeout=30)
    finally:
        procs.stop(client)
    if rc != 0 or result["errors"]:
        raise BenchError("load client failed (%d): %s" % (rc, result.get("first_error")))
    result["server_cpu_s"] = cpu1 - cpu0
    result["server_cpu_fraction"] = (cpu1 - cpu0) / result["seconds"]
    result["server_cpu_us_per_rt"] = 1e6 * (cpu1 - cpu0) / max(result["round_trips"], 1)
    return result


def throughput(procs, binaries, args, names):
    results = {}  # (name, conns) -> list of runs
    for conns in args.connections:
        for run in range(args.runs):
            order = names if run % 2 == 0 else list(reversed(names))
            for name in order:
                server, port = start_server(procs, name, binaries)
                try:
                    r = load_run(procs, binaries, server.pid, port, conns, args)
                finally:
                    procs.stop(server)
                results.setdefault((name, conns), []).append(r)
                print("  %-6s %5d conns run %d: %9.0f rt/s, server %5.1f%% CPU %.2f us/rt, client %5.1f%% CPU"
                      % (name, conns, run + 1, r["round_trips_per_s"], 100 * r["server_cpu_fraction"],
                         r["server_cpu_us_per_rt"], 100 * r["client_cpu_fraction"]), flush=True)
    return results


def wait_for(cond, timeout, what):
    """Polls cond() until true; `what` (a string or a function giving one)
    names it in the error."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise BenchError("timed out waiting for " + (what() if callable(what) else what))
        time.sleep(0.05)


def stable_fds(pid):
    """The server's open fd count once unchanged for 0.5 s (at most 5 s)."""
    last, same = open_fds(pid), 0
    for _ in range(50):
        time.sleep(0.1)
        now = open_fds(pid)
        same = same + 1 if now == last else 0
        last = now
        if same >= 5:
            break
    return last


def settled_rss(pid):
    """VmRSS once two readings 0.3 s apart agree (at most 3 s)."""
    last = rss_kib(pid)
    for _ in range(10):
        time.sleep(0.3)
        now = rss_kib(pid)
        if now == last:
            break
        last = now
    return last


def echo_once(sock, payload):
    sock.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = sock.recv(len(payload) - len(got))
        if not chunk:
            raise BenchError("server closed an idle connection")
        got += chunk
    if got != payload:
        raise BenchError("echo mismatch on an idle connection")


def echo_bulk(sock, total):
    """Echoes `total` bytes in 64 KiB writes (sent from a thread)."""
    payload = bytes(range(256)) * 256
    sender = threading.Thread(target=lambda: [sock.sendall(payload) for _ in range(total // len(payload))])
    sender.start()
    want, got = total // len(payload) * len(payload), 0
    try:
        while got < want:
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise BenchError("server closed the warm-up connection")
            got += len(chunk)
    finally:
        sender.join(timeout=30)


def memory_run(procs, binaries, name, count, warm_bytes):
    server, port = start_server(procs, name, binaries)
    socks = []
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as warm:
            echo_bulk(warm, warm_bytes)
        # The server closes its ends of the start-up probe and the warm-up
        # connection when it sees them close: count fds once that is done.
        base_fds = stable_fds(server.pid)
        before = settled_rss(server.pid)
        for _ in range(count):
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        wait_for(lambda: open_fds(server.pid) >= base_fds + count, 60,
                 lambda: "%s to accept all connections (%d of %d fds open)" % (name, open_fds(server.pid),
                                                                             base_fds + count))
        idle = settled_rss(server.pid)
        payload = bytes(range(64))
        for s in socks:
            echo_once(s, payload)
        used = settled_rss(server.pid)
    finally:
        for s in socks:
            s.close()
        procs.stop(server)
    per = lambda kib: (kib - before) * 1024 / count
    return {"before_kib": before, "idle_kib": idle, "used_kib": used,
            "idle_bytes_per_conn": per(idle), "used_bytes_per_conn": per(used)}


def median_spread(values):
    return statistics.median(values), min(values), max(values)


def fmt_spread(values, fmt="%.0f"):
    return (fmt + " (" + fmt + "–" + fmt + ")") % median_spread(values)


def field(runs, key):
    return [r[key] for r in runs]


def throughput_table(args, results):
    lines = ["| conns | squall rt/s | client CPU | epoll rt/s | client CPU | squall/epoll (paired runs) | "
             "squall server µs CPU/rt | epoll server µs CPU/rt | CPU/rt squall/epoll |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for conns in args.connections:
        sq, ep = results[("squall", conns)], results[("epoll", conns)]
        # Runs i of both servers ran back to back, so their ratio is the
        # least disturbed by load that comes and goes on the machine.
        paired = [a["round_trips_per_s"] / b["round_trips_per_s"] for a, b in zip(sq, ep)]
        ccpu = lambda rs: "%.0f%%" % (100 * statistics.median(field(rs, "client_cpu_fraction")))
        cratio = statistics.median(field(sq, "server_cpu_us_per_rt")) / statistics.median(
            field(ep, "server_cpu_us_per_rt"))
        lines.append("| %d | %s | %s | %s | %s | **%s** | %s | %s | %.2f |" % (
            conns, fmt_spread(field(sq, "round_trips_per_s")), ccpu(sq), fmt_spread(field(ep, "round_trips_per_s")),
            ccpu(ep), fmt_spread(paired, "%.2fx"), fmt_spread(field(sq, "server_cpu_us_per_rt"), "%.2f"),
            fmt_spread(field(ep, "server_cpu_us_per_rt"), "%.2f"), cratio))
    lines += ["", "Server CPU use during the window (median share of CPU 0):", ""]
    for conns in args.connections:
        lines.append("- %d conns: squall %.0f%%, epoll %.0f%%" % (conns, *[
            100 * statistics.median(field(results[(n, conns)], "server_cpu_fraction")) for n in ("squall", "epoll")]))
    return lines


def goal_line(args, results):
    if 1000 not in args.connections:
        return []
    sq, ep = results[("squall", 1000)], results[("epoll", 1000)]
    ratio = statistics.median([a["round_trips_per_s"] / b["round_trips_per_s"] for a, b in zip(sq, ep)])
    return ["", "Goal: squall >= 1.3x the epoll server at 1,000 connections: %s (%.2fx, median of paired runs)."
            % ("met" if ratio >= 1.3 else "missed", ratio)]


def memory_table(args, memory):
    lines = ["", "Server RSS growth for %d idle connections (median of %d runs; \"RSS before\" is after the "
             "warm-up, squall's shared buffer ring included):" % (args.idle, args.mem_runs), "",
             "| server | RSS before | idle: bytes/conn | idle: per %d | after one echo each: bytes/conn | per %d |"
             % (args.idle, args.idle), "|---|---:|---:|---:|---:|---:|"]
    for name, ms in memory.items():
        idle = statistics.median(field(ms, "idle_bytes_per_conn"))
        used = statistics.median(field(ms, "used_bytes_per_conn"))
        before = statistics.median(field(ms, "before_kib"))
        lines.append("| %s | %.1f MiB | %.0f | %.1f MiB | %.0f | %.1f MiB |" % (
            name, before / 1024, idle, idle * args.idle / 2**20, used, used * args.idle / 2**20))
    return lines


def report(args, results, memory):
    lines = ["# TCP echo: squall (examples/echo) vs a plain epoll server", "",
             "%d-byte request/response round trips, %g s per run, %d runs per cell: median (min–max). "
             "Server pinned to CPU 0, load client (bench/echo_load, one epoll thread) to CPU 1. "
             "Server CPU is utime+stime over the measured window; client CPU is the client's own, "
             "as a share of one core. Shared 2-core machine: expect noise." % (args.size, args.duration, args.runs),
             ""]
    lines += throughput_table(args, results) + goal_line(args, results)
    if memory:
        lines += memory_table(args, memory)
    return "\n".join(lines) + "\n"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--connections", default="1,64,1000")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--idle", type=int, default=10000, help="idle connections for the memory test (0: skip)")
    ap.add_argument("--mem-runs", type=int, default=3)
    ap.add_argument("--warm-bytes", type=int, default=32 << 20,
                    help="bytes echoed over one connection before the memory baseline (touches squall's whole "
                         "shared buffer ring, a fixed cost, so it is not counted per connection)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    args.connections = [int(c) for c in args.connections.split(",")]
    args.out = args.out or os.path.join(args.build, "bench", "echo_report.md")
    return args


def main():
    args = parse_args()
    binaries = {"squall": os.path.join(args.build, "examples", "echo"),
                "epoll": os.path.join(args.build, "bench", "epoll_echo_server"),
                "load": os.path.join(args.build, "bench", "echo_load")}
    for path in binaries.values():
        if not os.access(path, os.X_OK):
            raise SystemExit("echo_bench: %s is missing; build first (make build)" % path)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if args.idle + 100 > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.idle + 1000), hard))
    names = ["squall", "epoll"]
    procs = Processes()
    # SIGTERM unwinds like Ctrl-C, so the finally below still kills every
    # server and client started here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        print("throughput:", flush=True)
        results = throughput(procs, binaries, args, names)
        memory = {}
        for run in range(args.mem_runs if args.idle else 0):
            for name in names:
                m = memory_run(procs, binaries, name, args.idle, args.warm_bytes)
                memory.setdefault(name, []).append(m)
                print("  memory %-6s run %d: %.0f bytes/idle conn, %.0f bytes/conn after one echo"
                      % (name, run + 1, m["idle_bytes_per_conn"], m["used_bytes_per_conn"]), flush=True)
    finally:
        procs.kill_all()
    text = report(args, results, memory)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print()
    print(text)
    print("written to", args.out)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print("echo_bench: FAILED:", e, file=sys.stderr)
        sys.exit(1)
