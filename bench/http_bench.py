#!/usr/bin/python3
"""HTTP benchmark: examples/hello (squall) against nginx, side by side.

Usage: /usr/bin/python3 bench/http_bench.py [--build build] [--duration 5]
           [--runs 3] [--warmup 2] [--loads c50,c256,p16] [--servers squall,nginx]
           [--squall-args "..."] [--rt] [--nice N] [--out BUILD/bench/http_report.md]

Both servers answer `GET /` with "Hello, world!" (text/plain) over
keep-alive connections on one core: squall's hello with --threads 1 (its
access log is off by default), nginx with one worker process in the
foreground (master_process off), access_log off, `return 200` and a very
large keepalive_requests, under a temporary prefix in BUILD/bench/nginx/.

Each run starts the server fresh, pinned to CPU 0 (taskset -c 0), warms it
up with --warmup seconds of load, then drives it with wrk (one thread,
pinned to CPU 1) for --duration seconds per load: cN is N connections, one
request in flight on each; pN is 50 connections with N requests pipelined
per write (a Lua script in BUILD/bench/). The servers alternate run by run
so that drift on a shared machine hits both alike.

For every run: requests/s and latency p50/p99 (wrk's histogram, reported
through a Lua done() hook; with pipelining wrk times a whole batch), the
server's CPU time per request (utime+stime of all its threads from
/proc/<pid>/stat, taken just before wrk starts and just after it exits,
over the requests wrk completed, split into user and system time), and
wrk's own CPU time per request and CPU use (its rusage), because on a
2-core machine the client often saturates before the server does. Each
cell is the median of the runs with the min-max spread. What else ran on
CPUs 0 and 1 (from /proc/stat) is reported too: on a shared machine, --rt
(SCHED_FIFO for servers and wrk) keeps other work from deciding the result.

Everything runs on 127.0.0.1, every wait is bounded, and every process
started here is killed on the way out, errors included. Writes a Markdown
report (also printed) to --out.
"""
import argparse
import json
import os
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (BenchError, Processes, cpu_seconds, cpu_ticks, free_port, spread,  # noqa: E402
                      TICK, nginx_config, wait_rusage, write_file)

# wrk calls done() once at the end; printing one JSON line there is sturdier
# than scraping its text report. Defining only done() keeps wrk on its
# static-request path (no Lua call per request).
DONE_LUA = """
done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '\\nHTTPBENCH {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, '
      .. '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
      e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
"""

PIPELINE_LUA = """
init = function(args)
   local r = {}
   for i = 1, %d do r[i] = wrk.format(nil, "/") end
   batch = table.concat(r)
end
request = function() return batch end
"""



def server_command(name, args, port):
    if name == "squall":
        return [os.path.join(args.build, "examples", "hello"), "--host", "127.0.0.1", "--port", str(port),
                "--threads", "1", "--drain", "1"] + shlex.split(args.squall_args)
    return nginx_config(args.bench_dir, "nginx", args.nginx, port)


def start_server(procs, name, args):
    port = free_port()
    cmd = args.nice_prefix + ["taskset", "-c", "0"] + server_command(name, args, port)
    # nice and taskset exec the server, so the pid is the server's own (nginx with
    # master_process off does all its work in that one process).
    p = procs.start(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise BenchError("%s exited early with %d" % (name, p.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return p, port
        except OSError:
            time.sleep(0.05)
    raise BenchError("%s did not start listening" % name)


def wrk(procs, args, port, load, seconds):
    """One wrk run; returns its JSON summary plus its own CPU use."""
    script = os.path.join(args.bench_dir, "pipeline%d.lua" % load["depth"] if load["depth"] > 1 else "done.lua")
    cmd = args.nice_prefix + ["taskset", "-c", "1", args.wrk, "-t1", "-c%d" % load["conns"], "-d%ds" % seconds,
                              "--latency", "--timeout", "5s", "-s", script, "http://127.0.0.1:%d/" % port]
    return run_wrk(procs, cmd, os.path.join(args.bench_dir, "wrk.out"), seconds,
                   ("connect", "read", "write", "status", "timeout"))


def run_wrk(procs, cmd, out_path, seconds, error_kinds):
    """Runs the wrk command `cmd` (its script prints an HTTPBENCH line);
    returns that summary with wrk's own CPU use. Any of `error_kinds`
    counted by wrk fails the run."""
    with open(out_path, "w+b") as out:
        client = procs.start(cmd, stdout=out, stderr=subprocess.STDOUT)
        try:
            t0 = time.monotonic()
            client_cpu = wait_rusage(client, seconds + 30)
            wall = time.monotonic() - t0
        finally:
            procs.stop(client)
        out.seek(0)
        text = out.read().decode(errors="replace")
    lines = [ln for ln in text.splitlines() if ln.startswith("HTTPBENCH ")]
    if client.returncode != 0 or not lines:
        raise BenchError("wrk failed (%s):\n%s" % (client.returncode, text))
    r = json.loads(lines[-1][len("HTTPBENCH "):])
    if sum(r[k] for k in error_kinds) or not r["requests"]:
        raise BenchError("wrk saw errors:\n" + text)
    r["seconds"] = r["duration_us"] / 1e6
    r["wall"] = wall
    r["rps"] = r["requests"] / r["seconds"]
    r["client_cpu_s"] = client_cpu
    r["client_cpu_fraction"] = client_cpu / wall
    r["client_us_per_req"] = 1e6 * client_cpu / r["requests"]
    return r


def measure(procs, args, server_pid, port, load):
    return measured(server_pid, lambda: wrk(procs, args, port, load, args.duration))


def measured(server_pid, run_client):
    """run_client()'s result with the server's CPU time per request, and
    what else ran on CPUs 0 and 1 meanwhile."""
    ticks0 = cpu_ticks((0, 1))
    user0, sys0 = cpu_seconds(server_pid)
    r = run_client()
    user1, sys1 = cpu_seconds(server_pid)
    ticks1 = cpu_ticks((0, 1))
    cpu0, cpu1 = user0 + sys0, user1 + sys1
    # What else ran on the two CPUs: busy time not spent by the server (on
    # CPU 0) or wrk (on CPU 1), and time the hypervisor took (steal). Both
    # should be near 0; if not, the run shared its cores with other work.
    busy = [(ticks1[c][0] - ticks0[c][0]) / TICK for c in (0, 1)]
    steal = [(ticks1[c][1] - ticks0[c][1]) / TICK for c in (0, 1)]
    r["other_cpu0"] = max(0.0, busy[0] - (cpu1 - cpu0)) / r["wall"]
    r["other_cpu1"] = max(0.0, busy[1] - r["client_cpu_s"]) / r["wall"]
    r["steal"] = (steal[0] + steal[1]) / r["wall"]
    r["server_cpu_s"] = cpu1 - cpu0
    r["server_cpu_fraction"] = (cpu1 - cpu0) / r["wall"]
    r["server_us_per_req"] = 1e6 * (cpu1 - cpu0) / r["requests"]
    # User space (the server's own code) against kernel (TCP, io_uring or
    # epoll): where a difference between the servers lies.
    r["server_user_us_per_req"] = 1e6 * (user1 - user0) / r["requests"]
    r["server_sys_us_per_req"] = 1e6 * (sys1 - sys0) / r["requests"]
    return r


def print_run(name, load, run, r):
    if suspect(r):
        print("  (the next run's CPU share is above one core: the VM's clock or accounting jumped; its CPU "
              "figures are suspect)", flush=True)
    print("  %-6s %-5s run %d: %9.0f req/s (wrk %3.0f%% CPU, %.2f us/req)  p50 %6.0f us  p99 %6.0f us  "
          "server %3.0f%% CPU %.2f us/req (user %.2f sys %.2f)  other %2.0f%%/%2.0f%% steal %2.0f%%"
          % (name, load["name"], run + 1, r["rps"], 100 * r["client_cpu_fraction"], r["client_us_per_req"],
             r["p50_us"], r["p99_us"], 100 * r["server_cpu_fraction"], r["server_us_per_req"],
             r["server_user_us_per_req"], r["server_sys_us_per_req"], 100 * r["other_cpu0"],
             100 * r["other_cpu1"], 100 * r["steal"]), flush=True)


def suspect(r):
    """A process pinned to one CPU cannot use more than 100% of it; a
    share well above that means the VM's clock or CPU accounting jumped."""
    return r["server_cpu_fraction"] > 1.1 or r["client_cpu_fraction"] > 1.1


def run_all(procs, args):
    results = {}  # (server, load name) -> list of runs
    for run in range(args.runs):
        order = args.servers if run % 2 == 0 else list(reversed(args.servers))
        for name in order:
            server, port = start_server(procs, name, args)
            try:
                if args.warmup > 0:
                    wrk(procs, args, port, {"conns": 50, "depth": 1}, args.warmup)
                for load in args.loads:
                    r = measure(procs, args, server.pid, port, load)
                    results.setdefault((name, load["name"]), []).append(r)
                    print_run(name, load, run, r)
            finally:
                procs.stop(server)
    return results


def latency(runs):
    """"p50 / p99" in µs. wrk 4.1 sometimes reports a p99 of 0 with
    pipelining (a bug in its histogram); that shows as n/a."""
    p99 = [r["p99_us"] for r in runs if r["p99_us"] >= r["p50_us"] > 0]
    return "%.0f / %s" % (med(runs, "p50_us"), "%.0f" % statistics.median(p99) if p99 else "n/a")


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def col(runs, key, fmt="%.0f", scale=1.0):
    return spread([scale * r[key] for r in runs], fmt)


def rps_cell(runs):
    return "%s · wrk %.0f%%" % (col(runs, "rps"), 100 * med(runs, "client_cpu_fraction"))


def paired(a_runs, b_runs, key):
    # Run i of both servers ran back to back, so their ratio is the least
    # disturbed by load that comes and goes on the machine.
    return [a[key] / b[key] for a, b in zip(a_runs, b_runs)]


GOALS = {"c50": 1.3, "c256": 1.3, "p16": 1.5}
CPU_GOAL = 0.75
SATURATED = 0.90


def describe(load):
    if load["depth"] > 1:
        return "%d conns, %d pipelined" % (load["conns"], load["depth"])
    return "%d conns" % load["conns"]


def tables(args, results):
    a, b = args.servers[0], args.servers[1]
    lines = ["| load | %s req/s · client CPU | %s req/s · client CPU | req/s %s/%s (paired) |"
             " %s p50 / p99 µs | %s p50 / p99 µs |" % (a, b, a, b, a, b),
             "|---|---:|---:|---:|---:|---:|"]
    for load in args.loads:
        ra, rb = results[(a, load["name"])], results[(b, load["name"])]
        lines.append("| %s | %s | %s | **%s** | %s | %s |" % (
            describe(load), rps_cell(ra), rps_cell(rb), spread(paired(ra, rb, "rps"), "%.2fx"), latency(ra),
            latency(rb)))
    lines += ["", "CPU time per request (µs; server on CPU 0, wrk on CPU 1) and CPU use over the run:", "",
              "| load | %s server µs/req | %s server µs/req | CPU/req %s/%s | user + sys µs/req (%s / %s) |"
              " %s server CPU | %s server CPU | wrk µs/req (%s / %s) |" % (a, b, a, b, a, b, a, b, a, b),
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for load in args.loads:
        ra, rb = results[(a, load["name"])], results[(b, load["name"])]
        lines.append("| %s | %s | %s | **%.2f** | %.2f + %.2f / %.2f + %.2f | %.0f%% | %.0f%% | %.2f / %.2f |" % (
            describe(load), col(ra, "server_us_per_req", "%.2f"), col(rb, "server_us_per_req", "%.2f"),
            med(ra, "server_us_per_req") / med(rb, "server_us_per_req"), med(ra, "server_user_us_per_req"),
            med(ra, "server_sys_us_per_req"), med(rb, "server_user_us_per_req"), med(rb, "server_sys_us_per_req"),
            100 * med(ra, "server_cpu_fraction"),
            100 * med(rb, "server_cpu_fraction"), med(ra, "client_us_per_req"), med(rb, "client_us_per_req")))
    lines += ["", "Other work on the benchmark's CPUs during the runs (median busy share not spent by the server "
              "on CPU 0 / by wrk on CPU 1, and hypervisor steal on both; near 0 means a clean run; under --rt other "
              "work only fills time the benchmark leaves idle, e.g. CPU 1 when the server is the bottleneck):", ""]
    for name in args.servers:
        rs = [r for load in args.loads for r in results[(name, load["name"])]]
        lines.append("- %s runs: CPU 0 %.0f%%, CPU 1 %.0f%%, steal %.0f%% (worst run: %.0f%% / %.0f%% / %.0f%%)" % (
            name, 100 * med(rs, "other_cpu0"), 100 * med(rs, "other_cpu1"), 100 * med(rs, "steal"),
            100 * max(r["other_cpu0"] for r in rs), 100 * max(r["other_cpu1"] for r in rs),
            100 * max(r["steal"] for r in rs)))
    bad = [key for key, rs in results.items() for r in rs if suspect(r)]
    if bad:
        lines.append("- %d run(s) showed more than 110%% of a core for one process (a clock or accounting jump in "
                     "the VM); their CPU figures are suspect: %s" % (len(bad), ", ".join("%s %s" % b for b in bad)))
    return lines


def goals(args, results):
    if args.servers != ["squall", "nginx"]:
        return []
    lines = ["", "Goals (squall against nginx):", ""]
    for load in args.loads:
        sq, ng = results[("squall", load["name"])], results[("nginx", load["name"])]
        ratio = statistics.median(paired(sq, ng, "rps"))
        cpu = med(sq, "server_us_per_req") / med(ng, "server_us_per_req")
        want = GOALS.get(load["name"])
        saturated = [n for n, rs in (("squall", sq), ("nginx", ng)) if med(rs, "client_cpu_fraction") >= SATURATED]
        text = "- %s: " % describe(load)
        if want:
            text += "req/s %.2fx (goal >= %.1fx: %s); " % (ratio, want, "met" if ratio >= want else "missed")
        text += "server CPU/req %.2fx (goal <= %.2fx: %s)" % (cpu, CPU_GOAL, "met" if cpu <= CPU_GOAL else "missed")
        if saturated:
            text += ("; wrk used >= %.0f%% of its core against %s, so req/s measures the client there and "
                     "CPU/req is the meaningful comparison" % (100 * SATURATED, " and ".join(saturated)))
        lines.append(text + ".")
    return lines


def scheduling(args):
    parts = (["SCHED_FIFO"] if args.rt else []) + (["nice %d" % args.nice] if args.nice else [])
    return ", servers and wrk run at " + " and ".join(parts) if parts else ""


def report(args, results):
    lines = ["# HTTP: squall (examples/hello%s) vs nginx, `GET /` -> \"Hello, world!\""
             % (" " + args.squall_args if args.squall_args else ""), "",
             "One server thread/worker pinned to CPU 0, wrk (1 thread) pinned to CPU 1, keep-alive, "
             "access logs off; %g s per load, %d runs, each server started fresh per run and warmed up for %g s%s. "
             "Cells: median (min–max). \"client CPU\" is wrk's share of its core during the run: near 100%% "
             "means the client, not the server, set the pace. With pipelining wrk's latency is per batch."
             % (args.duration, args.runs, args.warmup, scheduling(args)),
             ""]
    if args.rt:
        lines += ["Under SCHED_FIFO the kernel's RT throttling (sched_rt_runtime_us) idles a saturated CPU for "
                  "~50 ms each second: that, not the server, is the p99 of a run where server or wrk is near "
                  "100% CPU, and it costs both servers alike ~5% of req/s.", ""]
    lines += tables(args, results) + goals(args, results)
    return "\n".join(lines) + "\n"


def parse_loads(text):
    loads = []
    for name in text.split(","):
        if name[0] == "c":
            loads.append({"name": name, "conns": int(name[1:]), "depth": 1})
        elif name[0] == "p":
            loads.append({"name": name, "conns": 50, "depth": int(name[1:])})
        else:
            raise SystemExit("http_bench: unknown load %r (cN or pN)" % name)
    return loads


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--loads", default="c50,c256,p16", help="cN: N connections; pN: 50 connections, N pipelined")
    ap.add_argument("--servers", default="squall,nginx")
    ap.add_argument("--squall-args", default="", help="extra arguments for examples/hello (e.g. --no-send-zc)")
    ap.add_argument("--nginx", default="/usr/sbin/nginx")
    ap.add_argument("--wrk", default="/usr/bin/wrk")
    ap.add_argument("--nice", type=int, default=0,
                    help="run servers and wrk at this niceness (e.g. -20 as root on a shared machine, so that other "
                         "work on CPUs 0 and 1 yields to the benchmark; the report shows what still ran there)")
    ap.add_argument("--rt", action="store_true",
                    help="run servers and wrk as SCHED_FIFO (chrt -f 1; needs root or CAP_SYS_NICE) so that they "
                         "preempt other work on a shared machine at once; the kernel's RT throttling still leaves "
                         "others 5%% of each CPU")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    args.nice_prefix = ["nice", "-n", str(args.nice)] if args.nice else []
    if args.rt:
        if subprocess.run(["chrt", "-f", "1", "true"], stderr=subprocess.DEVNULL).returncode == 0:
            args.nice_prefix = ["chrt", "-f", "1"] + args.nice_prefix
        else:
            print("http_bench: SCHED_FIFO not permitted here; running at normal priority", file=sys.stderr)
            args.rt = False
    # wrk takes whole seconds.
    args.duration, args.warmup = max(1, round(args.duration)), max(0, round(args.warmup))
    args.loads = parse_loads(args.loads)
    args.servers = args.servers.split(",")
    if len(args.servers) != 2 or not set(args.servers) <= {"squall", "nginx"}:
        raise SystemExit("http_bench: --servers takes two of squall,nginx")
    args.bench_dir = os.path.join(args.build, "bench")
    args.out = args.out or os.path.join(args.bench_dir, "http_report.md")
    return args


def main():
    args = parse_args()
    needed = {"wrk": args.wrk}
    if "squall" in args.servers:
        needed["squall hello"] = os.path.join(args.build, "examples", "hello")
    if "nginx" in args.servers:
        needed["nginx"] = args.nginx
    for what, path in needed.items():
        if not os.access(path, os.X_OK):
            raise SystemExit("http_bench: %s (%s) is missing; make bench-http builds and installs it" % (what, path))
    write_file(os.path.join(args.bench_dir, "done.lua"), DONE_LUA)
    for load in args.loads:
        if load["depth"] > 1:
            write_file(os.path.join(args.bench_dir, "pipeline%d.lua" % load["depth"]),
                       PIPELINE_LUA % load["depth"] + DONE_LUA)
    procs = Processes()
    # SIGTERM unwinds like Ctrl-C, so the finally below still kills every
    # server and wrk started here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        results = run_all(procs, args)
    except BenchError as e:
        raise SystemExit("http_bench: %s" % e)
    finally:
        procs.kill_all()
    text = report(args, results)
    write_file(args.out, text)
    print()
    print(text, end="")
    print("report written to %s" % args.out)


if __name__ == "__main__":
    main()
