#!/usr/bin/python3
"""make bench-memory: RSS per keep-alive connection of squall and nginx.

Usage: /usr/bin/python3 bench/memory_bench.py [--build build] [--conns 10000]
           [--seconds 5] [--servers squall,nginx] [--sources 8]
           [--out BUILD/bench/memory_report.md]

Each server runs on one thread (examples/hello --threads 1; nginx with
one worker, no master, `return 200`, worker_connections raised to fit).
The driver raises its RLIMIT_NOFILE (the servers inherit it), warms the
server with a few requests on one connection, takes its VmRSS, then
opens --conns keep-alive connections spread over --sources loopback
source addresses (127.0.0.2, 127.0.0.3, ...; each has its own ephemeral
ports) and waits until the server holds them all (its open descriptors).

- idle: VmRSS with the connections open and nothing sent, less the
  baseline, over the connections;
- active: every connection sends `GET /` once a second (spread over the
  second) for --seconds seconds, each answer read and checked; the
  largest VmRSS sampled after each second, less the baseline, over the
  connections;
- after: VmRSS once the last answers are read and the connections sit
  idle again (what a connection keeps between requests).

Everything runs on 127.0.0.1/8; every wait is bounded, every socket and
process is closed on the way out.
"""
import argparse
import os
import platform
import resource
import select
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
BODY = b"Hello, world!"


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
            return
        except (ValueError, OSError):
            raise SystemExit("memory_bench: RLIMIT_NOFILE's hard limit %d is below %d (run as root or lower --conns)"
                             % (hard, need))
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(need, hard)), hard))


def server_command(args, name, port):
    if name == "squall":
        return [os.path.join(args.build, "examples", "hello"), "--host", "127.0.0.1", "--port", str(port),
                "--threads", "1", "--drain", "1"]
    if name == "nginx":
        return bl.nginx_config(os.path.join(args.bench_dir, "peers"), "nginx-memory", args.nginx, port,
                               worker_connections=args.conns + 1024)
    raise SystemExit("memory_bench: unknown server %r" % name)


def warm_up(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        for _ in range(10):
            s.sendall(REQUEST)
            read_answers(s, 1)


def read_answers(s, n):
    got = b""
    deadline = time.monotonic() + 10
    while got.count(BODY) < n:
        if time.monotonic() > deadline:
            raise bl.BenchError("no answer in 10 s")
        chunk = s.recv(65536)
        if not chunk:
            raise bl.BenchError("the server closed a connection")
        got += chunk


def open_connections(args, port):
    socks = []
    for i in range(args.conns):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.%d" % (2 + i % args.sources), 0))
        s.setblocking(False)
        err = s.connect_ex(("127.0.0.1", port))
        if err not in (0, 115):  # EINPROGRESS
            s.close()
            raise bl.BenchError("connect %d failed: %s" % (i, os.strerror(err)))
        socks.append(s)
        if len(socks) % 500 == 0:
            wait_writable(socks[-500:])
    wait_writable(socks[-(len(socks) % 500 or 500):])
    return socks


def wait_writable(socks):
    ep = select.epoll()
    try:
        for s in socks:
            ep.register(s.fileno(), select.EPOLLOUT)
        pending = {s.fileno() for s in socks}
        deadline = time.monotonic() + 30
        while pending:
            if time.monotonic() > deadline:
                raise bl.BenchError("%d connections did not complete in 30 s" % len(pending))
            for fd, _ in ep.poll(1.0):
                if fd in pending:
                    pending.discard(fd)
                    ep.unregister(fd)
    finally:
        ep.close()


def wait_accepted(pid, fds, timeout=30.0):
    deadline = time.monotonic() + timeout
    while bl.open_fds(pid) < fds:
        if time.monotonic() > deadline:
            raise bl.BenchError("the server holds %d descriptors, not %d, after %g s" % (bl.open_fds(pid), fds, timeout))
        time.sleep(0.1)
    time.sleep(0.5)  # let the last accepted connections reach their first read


def one_round(socks, ep, slices=10):
    """Every connection sends one request within a second, in slices;
    returns once every answer is read."""
    by_fd = {s.fileno(): s for s in socks}
    waiting = {}
    start = time.monotonic()
    per = (len(socks) + slices - 1) // slices
    for k in range(slices):
        for s in socks[k * per:(k + 1) * per]:
            s.send(REQUEST)
            waiting[s.fileno()] = b""
        drain(ep, by_fd, waiting, until=start + (k + 1) / slices)
    deadline = time.monotonic() + 30
    while waiting:
        if time.monotonic() > deadline:
            raise bl.BenchError("%d answers missing after 30 s" % len(waiting))
        drain(ep, by_fd, waiting, until=time.monotonic() + 0.1)


def drain(ep, by_fd, waiting, until):
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return
        for fd, _ in ep.poll(left):
            if fd not in waiting:
                continue
            data = by_fd[fd].recv(4096)
            if not data:
                raise bl.BenchError("the server closed a connection")
            waiting[fd] += data
            if waiting[fd].endswith(BODY):
                del waiting[fd]


def measure(procs, args, name):
    port = bl.free_port()
    log = open(os.path.join(args.bench_dir, "memory-server-%s.log" % name), "ab")
    p = procs.start(bl.pinned(0, [], server_command(args, name, port)), stdout=log, stderr=subprocess.STDOUT)
    log.close()
    socks = []
    try:
        bl.wait_listening(p, port, name)
        warm_up(port)
        time.sleep(0.5)
        fds0, rss0 = bl.open_fds(p.pid), bl.rss_kib(p.pid)
        socks = open_connections(args, port)
        wait_accepted(p.pid, fds0 + args.conns)
        rss_idle = bl.rss_kib(p.pid)
        ep = select.epoll()
        for s in socks:
            ep.register(s.fileno(), select.EPOLLIN)
        peak = rss_idle
        for _ in range(args.seconds):
            t0 = time.monotonic()
            one_round(socks, ep)
            peak = max(peak, bl.rss_kib(p.pid))
            time.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))
        time.sleep(0.5)
        rss_after = bl.rss_kib(p.pid)
        ep.close()
    finally:
        for s in socks:
            s.close()
        procs.stop(p)
    n = args.conns
    r = {"rss0_kib": rss0, "idle": (rss_idle - rss0) / n, "active": (peak - rss0) / n, "after": (rss_after - rss0) / n}
    print("  %-7s baseline %6d KiB  idle %.2f  active %.2f  after %.2f KiB/connection" % (
        name, rss0, r["idle"], r["active"], r["after"]), flush=True)
    return r


def markdown(args, results, info):
    out = ["# squall: memory per keep-alive connection (make bench-memory)", "",
           "VmRSS of the server with %s keep-alive connections, less its VmRSS after a warm-up with none, over "
           "the connections (KiB). idle: connected, nothing sent; active: each connection sends `GET /` once a "
           "second for %d s (largest RSS sampled); after: idle again once the last answers are read. One "
           "thread each: examples/hello `--threads 1`, nginx one worker without master. Kernel %s." % (
               "{:,}".format(args.conns), args.seconds, info["kernel"]), "",
           "nginx allocates its connection and event arrays for worker_connections (%s here) at start: that part "
           "of its cost per connection is in its baseline, not in its figures." % "{:,}".format(args.conns + 1024), "",
           "| server | baseline RSS (KiB) | idle | active | after |", "|---|---:|---:|---:|---:|"]
    for name, r in results.items():
        out.append("| %s | %d | %.2f | %.2f | %.2f |" % (name, r["rss0_kib"], r["idle"], r["active"], r["after"]))
    if "squall" in results and "nginx" in results:
        s, g = results["squall"], results["nginx"]
        out += ["", "squall ÷ nginx: idle %s, active %s." % tuple(
            "%.1f×" % (s[k] / g[k]) if g[k] > 0 else "—" for k in ("idle", "active"))]
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--sources", type=int, default=8, help="loopback source addresses 127.0.0.2 and up")
    ap.add_argument("--servers", default="squall,nginx")
    ap.add_argument("--nginx", default="/usr/sbin/nginx")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    args.bench_dir = os.path.join(args.build, "bench")
    args.out = args.out or os.path.join(args.bench_dir, "memory_report.md")
    raise_nofile(args.conns + 4096)
    procs = bl.Processes()
    bl.kill_on_sigterm()
    results = {}
    try:
        for name in args.servers.split(","):
            results[name] = measure(procs, args, name)
    except bl.BenchError as e:
        raise SystemExit("memory_bench: %s" % e)
    finally:
        procs.kill_all()
    text = markdown(args, results, {"kernel": platform.release()})
    bl.write_file(args.out, text)
    print()
    print(text, end="")
    print("report written to %s" % args.out)


if __name__ == "__main__":
    main()
