#!/usr/bin/python3
"""HTTPS benchmark: examples/hello (squall, wolfSSL) against nginx (OpenSSL).

Usage: /usr/bin/python3 bench/tls_bench.py [--build build] [--duration 5]
           [--runs 3] [--warmup 2] [--servers squall,nginx] [--plain] [--rt]
           [--out BUILD/bench/tls_report.md]

Both servers answer `GET /` with "Hello, world!" over TLS with the same
certificate (ECDSA P-256, made fresh by tests/tls/make_certs.sh), the same
protocols (TLS 1.2 and 1.3), the same AEAD suites and groups (X25519,
P-256, P-384) and session tickets on; one core each (squall --threads 1,
nginx one worker, master_process off, access_log off). The negotiated
version, suite and group are probed with openssl s_client and printed.

Loads, driven by wrk (OpenSSL, one thread, pinned to CPU 1; servers on
CPU 0): ka-c50 is 50 kept-alive connections, one request in flight on
each (requests/s over TLS); hs-c16 is 16 connections that each send one
request with "Connection: close" and reconnect, so every request is a new
full handshake (wrk keeps no sessions): handshakes/s. --plain adds
squall's plain-HTTP keep-alive figure for reference, and --plain-before
BUILD the same from another build (the plain path before and after a
change, side by side).

As in bench/http_bench.py (whose helpers this uses): for every run,
requests/s, wrk's CPU use next to it, the server's CPU time per request
(utime+stime from /proc/<pid>/stat over the requests wrk completed) as
the main figure, and what else ran on the two CPUs. Each cell is the
median of the runs with the min-max spread; servers alternate run by run.
Everything runs on 127.0.0.1, every wait is bounded, and every process
started here is killed on the way out.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import http_bench as hb  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

TLS13 = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
TLS12 = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
         "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")


CLOSE_LUA = """wrk.headers["Connection"] = "close"
""" + hb.DONE_LUA

LOADS = {
    "ka-c50": {"name": "ka-c50", "conns": 50, "close": False},
    "hs-c16": {"name": "hs-c16", "conns": 16, "close": True},
}


def server_command(name, args, port):
    if name.startswith("squall"):
        build = args.plain_before if name == "squall-plain-before" else args.build
        cmd = [os.path.join(build, "examples", "hello"), "--host", "127.0.0.1", "--port", str(port),
               "--threads", "1", "--drain", "1"]
        if name == "squall":
            cmd += ["--cert", args.cert, "--key", args.key]
        return cmd
    # The same suites and groups squall offers (engine/tls.cpp).
    tls = "\n".join("        " + line for line in (
        "ssl_certificate %s;" % args.cert,
        "ssl_certificate_key %s;" % args.key,
        "ssl_protocols TLSv1.2 TLSv1.3;",
        "ssl_ciphers %s;" % TLS12,
        "ssl_conf_command Ciphersuites %s;" % TLS13,
        "ssl_prefer_server_ciphers on;",
        "ssl_ecdh_curve X25519:prime256v1:secp384r1;",
        "ssl_session_tickets on;"))
    return hb.nginx_config(args.bench_dir, "nginx-tls", args.nginx, port, listen_extra=" ssl", server_extra=tls)


def start_server(procs, name, args):
    port = hb.free_port()
    p = procs.start(args.prio + ["taskset", "-c", "0"] + server_command(name, args, port),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise hb.BenchError("%s exited early with %d" % (name, p.returncode))
        try:
            hb.socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return p, port
        except OSError:
            time.sleep(0.05)
    raise hb.BenchError("%s did not start listening" % name)


def wrk(procs, args, url, load, seconds):
    script = os.path.join(args.bench_dir, "close.lua" if load["close"] else "done.lua")
    # Under SCHED_FIFO wrk's reconnect loop against nginx stalls past its
    # own -d (seen with every run): the handshake load runs wrk at normal
    # priority.
    prio = [] if load["close"] else args.prio
    cmd = prio + ["taskset", "-c", "1", args.wrk, "-t1", "-c%d" % load["conns"], "-d%ds" % seconds,
           "--latency", "--timeout", "5s", "-s", script, url]
    # With Connection: close wrk counts each server close after a full
    # response as a read "error" on some versions: only connect/status/
    # timeout errors fail a handshake run.
    kinds = ("connect", "status", "timeout") if load["close"] else ("connect", "read", "write", "status", "timeout")
    return hb.run_wrk(procs, cmd, os.path.join(args.bench_dir, "wrk-tls.out"), seconds, kinds)


def measure(procs, args, pid, url, load):
    return hb.measured(pid, lambda: wrk(procs, args, url, load, args.duration))


def probe(port):
    """The version, suite and group a default OpenSSL client gets."""
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "localhost"],
                       input=b"", capture_output=True, timeout=20)
    out = r.stdout.decode(errors="replace")
    version = suite = group = "?"
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("New, ") and "Cipher is" in line:
            version, suite = line.split(",")[1].strip(), line.split("Cipher is")[1].strip()
        if line.startswith("Server Temp Key:"):
            group = line.split(":", 1)[1].strip()
    return "%s %s %s" % (version, suite, group)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--servers", default="squall,nginx")
    ap.add_argument("--loads", default="ka-c50,hs-c16")
    ap.add_argument("--plain", action="store_true", help="also squall over plain HTTP (keep-alive)")
    ap.add_argument("--plain-before", default=None, metavar="BUILD",
                    help="also plain HTTP from another build's hello (a before/after check of the plain path)")
    ap.add_argument("--rt", action="store_true",
                    help="servers and wrk as SCHED_FIFO (chrt -f 1), as bench/http_bench.py --rt, so that other "
                         "work on a shared machine does not decide the result")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    args.prio = []
    if args.rt:
        if subprocess.run(["chrt", "-f", "1", "true"], stderr=subprocess.DEVNULL).returncode == 0:
            args.prio = ["chrt", "-f", "1"]
        else:
            print("tls_bench: SCHED_FIFO not permitted here; running at normal priority", file=sys.stderr)
    args.bench_dir = os.path.join(args.build, "bench")
    os.makedirs(args.bench_dir, exist_ok=True)
    args.out = args.out or os.path.join(args.bench_dir, "tls_report.md")
    args.wrk = shutil.which("wrk")
    args.nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not args.wrk or not os.path.exists(args.nginx):
        sys.exit("tls_bench: needs wrk and nginx (make bench-tls installs them)")
    servers = args.servers.split(",")
    loads = [LOADS[n] for n in args.loads.split(",")]
    hb.write_file(os.path.join(args.bench_dir, "done.lua"), hb.DONE_LUA)
    hb.write_file(os.path.join(args.bench_dir, "close.lua"), CLOSE_LUA)

    tmp = tempfile.mkdtemp(prefix="squall-tls-bench-")
    procs = hb.Processes()
    results, negotiated = {}, {}
    try:
        certs = os.path.join(tmp, "certs")
        subprocess.run([os.path.join(HERE, "..", "tests", "tls", "make_certs.sh"), certs], check=True, timeout=60)
        args.cert, args.key = os.path.join(certs, "server.pem"), os.path.join(certs, "server.key")
        plan = [(s, l) for s in servers for l in loads]
        if args.plain:
            plan.append(("squall-plain", {"name": "ka-c50", "conns": 50, "close": False}))
        if args.plain_before:
            plan.append(("squall-plain-before", {"name": "ka-c50", "conns": 50, "close": False}))
        for run in range(args.runs):
            names = []
            for s, _ in plan if run % 2 == 0 else reversed(plan):
                if s not in names:
                    names.append(s)
            for name in names:
                server, port = start_server(procs, name, args)
                scheme = "http" if name.startswith("squall-plain") else "https"
                url = "%s://localhost:%d/" % (scheme, port)
                try:
                    if scheme == "https" and name not in negotiated:
                        negotiated[name] = probe(port)
                    if args.warmup > 0:
                        wrk(procs, args, url, {"conns": 50, "close": False}, args.warmup)
                    for s, load in plan:
                        if s != name:
                            continue
                        r = measure(procs, args, server.pid, url, load)
                        results.setdefault((name, load["name"]), []).append(r)
                        print("  %-12s %-6s run %d: %8.0f req/s (wrk %3.0f%% CPU, %.1f us/req)  server %3.0f%% CPU "
                              "%.1f us/req (user %.1f sys %.1f)  p50 %.0f us  other %2.0f%%/%2.0f%%"
                              % (name, load["name"], run + 1, r["rps"], 100 * r["client_cpu_fraction"],
                                 r["client_us_per_req"], 100 * r["server_cpu_fraction"], r["server_us_per_req"],
                                 r["server_user_us_per_req"], r["server_sys_us_per_req"], r["p50_us"],
                                 100 * r["other_cpu0"], 100 * r["other_cpu1"]), flush=True)
                finally:
                    procs.stop(server)
    finally:
        procs.kill_all()
        shutil.rmtree(tmp, ignore_errors=True)

    lines = ["# HTTPS: squall (wolfSSL) vs nginx (OpenSSL)", "",
             "wrk -t1 on CPU 1, each server on CPU 0, %d runs of %d s%s; median (min–max)."
             % (args.runs, args.duration, ", SCHED_FIFO" if args.prio else ""),
             "ka-c50: 50 kept-alive connections; hs-c16: a new connection and full handshake per request.", ""]
    for name, what in negotiated.items():
        lines.append("- %s negotiates: %s" % (name, what))
    lines += ["", "| server | load | req/s · wrk CPU | server µs/req (user / sys) | wrk µs/req | p50 µs |",
              "|---|---|---|---|---|---|"]
    for (name, load), runs in results.items():
        lines.append("| %s | %s | %s | %s (%.1f / %.1f) | %.1f | %.0f |" % (
            name, load, hb.rps_cell(runs), hb.col(runs, "server_us_per_req", "%.1f"),
            hb.med(runs, "server_user_us_per_req"), hb.med(runs, "server_sys_us_per_req"),
            hb.med(runs, "client_us_per_req"), hb.med(runs, "p50_us")))
    for load in ("ka-c50", "hs-c16"):
        a, b = results.get(("squall", load)), results.get(("nginx", load))
        if a and b:
            lines.append("")
            lines.append("%s: squall/nginx req/s %.2fx, server CPU per request %.2fx" % (
                load, hb.med(a, "rps") / hb.med(b, "rps"),
                hb.med(a, "server_us_per_req") / hb.med(b, "server_us_per_req")))
    report = "\n".join(lines) + "\n"
    hb.write_file(args.out, report)
    print()
    print(report)


if __name__ == "__main__":
    main()
