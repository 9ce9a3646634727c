#!/usr/bin/python3
"""make bench-features: what each io_uring feature buys squall on this kernel.

Usage: /usr/bin/python3 bench/features_bench.py [--build build] [--duration 3]
           [--runs 3] [--configs all,no-multishot-accept,...] [--loads c50,echo64k,ws16k,...]
           [--rt] [--out BUILD/bench/features_report.md]

examples/hello (one thread; examples/ws_echo for the WebSocket load)
runs with all of squall's default io_uring features (all), then with each
switched off in turn through its command-line switch
(examples/common/server_flags.hpp): multishot accept, multishot recv, the
provided buffer ring (plain recv into a buffer per connection), SEND_ZC,
DEFER_TASKRUN (with SINGLE_ISSUER), the registered ring fd, listener
set-up in the ring, incremental buffer consumption; and with the extras
switched on: SQPOLL, batched waits (min_wait_usec), NAPI busy poll.
nginx (one worker) runs the HTTP loads as a peer. Loads, by
build/bench/squall-load: cN (N keep-alive connections), c50p16 (16
pipelined), close (a new connection per request), echo64k (16
connections POSTing 64 KiB to /echo, which comes back), upload64k (the
same to /upload, which drops the body and answers "ok"), ws16k (16
connections echoing 16 KiB WebSocket messages); by default c50, echo64k
upload64k and ws16k. SEND_ZC is not used for loopback peers unless forced
(docs/engine.md), so a zc-loopback configuration forces it too.

Server on CPU 0, squall-load on CPU 1; every configuration is started
fresh per run, configurations alternate order run by run. Reported per
cell: requests/s and server CPU time per request (utime+stime from
/proc), median (min–max), the server's syscalls and page faults per
request (perf stat, where perf can count them), and the change against
`all` (positive: the
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
import signal
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
    "no-ring-setup": (["--no-ring-setup"], "listener set up with syscalls, not BIND/LISTEN/setsockopt in the ring"),
    "min-wait-50": (["--min-wait-usec", "50"], "extra: batched waits, 16 completions or 50 us after the first"),
    "min-wait-200": (["--min-wait-usec", "200"], "extra: batched waits, 16 completions or 200 us after the first"),
    "napi": (["--napi-busy-poll", "50"], "extra: 50 us NAPI busy poll registered (loopback has no NAPI)"),
    "no-incremental": (["--no-recv-incremental"], "4 KiB ring buffers, one per receive, no IOU_PBUF_RING_INC"),
    "incremental-16k": (["--recv-inc-buffer-size", "16384", "--recv-inc-buffers", "1024"],
                        "16 KiB incremental buffers instead of 64 KiB"),
    "nginx": ([], "peer: nginx, one worker; POST bodies discarded (return 200, client_body_buffer_size 128k)"),
}

LOADS = {
    "c50": (["-c", "50"], "50 conns"),
    "c256": (["-c", "256"], "256 conns"),
    "c50p16": (["-c", "50", "--pipeline", "16"], "50 conns, 16 pipelined"),
    "close": (["-c", "50", "-H", "Connection: close"], "50 conns, new connection per request"),
    "echo64k": (["-c", "16", "-m", "POST", "-b", "x" * 65536], "16 conns, POST 64 KiB /echo"),
    "upload64k": (["-c", "16", "-m", "POST", "-b", "x" * 65536], "16 conns, POST 64 KiB /upload (body dropped)"),
    "ws16k": (["--ws", "--ws-size", "16384", "-c", "16", "--threads", "1"], "16 conns, WebSocket echo 16 KiB"),
}

# squall's default configuration (`all`) and why, for the report.
DEFAULT_WHY = (
    "`all` is the default: multishot accept and recv on a provided buffer ring with incremental consumption "
    "(64 KiB buffers shared by many receives), DEFER_TASKRUN, the registered ring fd, SEND_ZC for owned writes "
    "of 32 KiB and more to non-loopback peers, listener set-up in the ring. Off by default: batched waits "
    "(they trade latency for fewer wake-ups and only pay when completions trickle in), NAPI busy poll (nothing "
    "to poll over loopback; it burns CPU on an idle loop), SQPOLL (a second thread per loop).")


def nginx_cmd(args, port):
    return bl.nginx_config(args.bench_dir, "features_nginx", args.nginx, port,
                           server_extra="        client_body_buffer_size 128k;")


def perf_start(procs, pid, path):
    """perf stat counting the server's syscalls and page faults, or None."""
    if not args_perf_ok():
        return None
    return procs.start(["perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter,page-faults", "-p", str(pid),
                        "-o", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


_perf_ok = []


def args_perf_ok():
    if not _perf_ok:
        p = subprocess.run(["perf", "stat", "-e", "raw_syscalls:sys_enter", "true"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        _perf_ok.append(p.returncode == 0)
    return _perf_ok[0]


def perf_stop(procs, perf, path):
    if perf is None:
        return {}
    perf.send_signal(signal.SIGINT)
    try:
        perf.wait(timeout=10)
    except subprocess.TimeoutExpired:
        perf.kill()
    procs.forget(perf)
    out = {}
    try:
        for line in open(path):
            parts = line.strip().split(",")
            if len(parts) > 2 and parts[0].isdigit():
                out[parts[2]] = int(parts[0])
    except OSError:
        pass
    return out


def run_config(procs, args, config, load):
    port = bl.free_port()
    if config == "nginx":
        cmd = nginx_cmd(args, port)
    else:
        exe = args.ws_echo if load == "ws16k" else args.hello
        cmd = [exe, "--host", "127.0.0.1", "--port", str(port), "--threads", "1", "--drain", "1"] + \
            (["--no-deflate"] if load == "ws16k" else []) + CONFIGS[config][0]
    log = open(os.path.join(args.bench_dir, "features-server.log"), "ab")
    # SQPOLL's kernel thread runs at normal priority on the server's CPU: a
    # SCHED_FIFO server would starve it, so that configuration runs without.
    prio = [] if config == "sqpoll" else args.prio
    server = procs.start(bl.pinned(0, prio, cmd), stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        bl.wait_listening(server, port, "hello " + config)
        url = "ws://127.0.0.1:%d/ws" % port if load == "ws16k" else \
            "http://127.0.0.1:%d%s" % (port, {"echo64k": "/echo", "upload64k": "/upload"}.get(load, "/"))
        client_cmd = [args.load, "--json", "-d", str(args.duration), "--timeout", "10"] + LOADS[load][0] + [url]
        perf_path = os.path.join(args.bench_dir, "features-perf.txt")
        perf = perf_start(procs, server.pid, perf_path)
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
            counts = perf_stop(procs, perf, perf_path)
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
    sys_per_req = counts["raw_syscalls:sys_enter"] / j["requests"] if "raw_syscalls:sys_enter" in counts else None
    faults_per_req = counts["page-faults"] / j["requests"] if "page-faults" in counts else None
    return {"rps": j["requests_per_sec"], "server_us_per_req": 1e6 * cpu / j["requests"],
            "sys_per_req": sys_per_req, "faults_per_req": faults_per_req,
            "client_cpu_fraction": client_cpu / wall, "p99_us": j["latency_us"]["p99"],
            "errors": j["errors"]["total"], "first_error": j["first_error"]}


def run_all(procs, args):
    results = {}
    for run in range(args.runs):
        order = args.configs if run % 2 == 0 else list(reversed(args.configs))
        for config in order:
            for load in args.loads:
                if config == "nginx" and load == "ws16k":
                    continue  # nginx serves no WebSocket echo
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
            runs = results.get((config, load))
            if not runs:
                cells.append("—")
                continue
            text = "%s req/s · %s µs" % (bl.spread([r["rps"] for r in runs], "%.0f"),
                                         bl.spread([r["server_us_per_req"] for r in runs], "%.2f"))
            if all(r["sys_per_req"] is not None for r in runs):
                text += " · %.2f sys · %.2f flt" % (med(runs, "sys_per_req"), med(runs, "faults_per_req"))
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
    lines += ["", DEFAULT_WHY, "",
              "Instructions per request are not in the table: this machine's perf has no hardware counters; "
              "bench/instructions.sh (cachegrind) gives them for GET /. `sys` is the server's syscalls per request "
              "(perf's raw_syscalls:sys_enter; io_uring_enter counts as one), `flt` its page faults per request. "
              "echo64k: squall echoes the 64 KiB body back, nginx reads and discards it and answers 200 with 13 "
              "bytes, so nginx does less work per request there; upload64k is the like-for-like one (squall "
              "gathers the body, drops it and answers 200 \"ok\"). no-buffer-ring is plain recv into a 16 KiB buffer "
              "per connection."]
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
    ap.add_argument("--loads", default="c50,echo64k,upload64k,ws16k")
    ap.add_argument("--nginx", default="/usr/sbin/nginx")
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
    args.ws_echo = os.path.join(args.build, "examples", "ws_echo")
    args.load = os.path.join(args.bench_dir, "squall-load")
    args.out = args.out or os.path.join(args.bench_dir, "features_report.md")
    return args


def main():
    args = parse_args()
    if "nginx" in args.configs and not os.access(args.nginx, os.X_OK):
        args.configs.remove("nginx")
    for what, path in (("examples/hello", args.hello), ("examples/ws_echo", args.ws_echo), ("squall-load", args.load)):
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
