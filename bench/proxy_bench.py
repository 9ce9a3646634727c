#!/usr/bin/python3
"""squall-server behind the real load balancers: throughput and CPU per
request of GET / through HAProxy 2.6 (send-proxy-v2 with its CRC32C TLV)
and nginx (proxy_pass with X-Forwarded-For, upstream keep-alive), next to
squall-server reached directly, in one run on this machine.

Usage: proxy_bench.py BUILD_DIR [--duration S] [--connections N] [--processes N]

squall-server binds --host localhost (a name: 127.0.0.1 and ::1), serves
with --processes N (default 2); squall-load drives 50 keep-alive
connections for --duration seconds (default 5) at the front port. Each
row: requests/s, p99 latency, errors, and CPU microseconds per request of the server
tree and of the balancer (utime+stime from /proc over the run). Loopback
on a shared machine: read the rows side by side, not as absolutes.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

HAPROXY = """global
    maxconn 4000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
frontend web
    bind 127.0.0.1:{front}
    default_backend app
backend app
    http-reuse always
    server s1 127.0.0.1:{back} send-proxy-v2 proxy-v2-options crc32c
"""

NGINX = """worker_processes 1;
daemon off;
master_process off;
pid {d}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  upstream app {{ server 127.0.0.1:{back}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{front};
    location / {{
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Real-IP $remote_addr;
    }}
  }}
}}
"""


def run_load(build, port, duration, connections):
    load = subprocess.run([os.path.join(build, "bench", "squall-load"), "-c", str(connections), "-d", str(duration),
                           "--json", "--expect-status", "200", "http://127.0.0.1:%d/" % port],
                          capture_output=True, text=True, timeout=duration + 60)
    if not load.stdout.strip():
        raise benchlib.BenchError("squall-load failed: %s" % load.stderr.strip()[-300:])
    return json.loads(load.stdout.strip().splitlines()[-1])


def one_row(build, name, server_args, balancer, args, tmp):
    procs = []
    try:
        back = benchlib.free_port()
        db = os.path.join(tmp, name + ".db")
        srv = subprocess.Popen([os.path.join(build, "examples", "squall-server"), "--host", "localhost", "--port",
                                str(back), "--db", db, "--processes", str(args.processes), *server_args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(srv)
        benchlib.wait_listening(srv, back, "squall-server")
        front, bal = back, None
        if balancer:
            front = benchlib.free_port()
            bal = subprocess.Popen(balancer(front, back), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(bal)
            benchlib.wait_listening(bal, front, name)
        run_load(build, front, 1, args.connections)  # warm-up
        s0 = benchlib.tree_cpu_seconds(srv.pid)
        b0 = benchlib.tree_cpu_seconds(bal.pid) if bal else 0.0
        r = run_load(build, front, args.duration, args.connections)
        s1 = benchlib.tree_cpu_seconds(srv.pid)
        b1 = benchlib.tree_cpu_seconds(bal.pid) if bal else 0.0
        n = max(1, r["requests"])
        return {"name": name, "rps": r["requests_per_sec"], "errors": r["errors"]["total"],
                "p99_us": r["latency_us"]["p99"], "server_us": (s1 - s0) * 1e6 / n,
                "balancer_us": (b1 - b0) * 1e6 / n if bal else None}
    finally:
        for p in reversed(procs):
            for pid in reversed(benchlib.descendants(p.pid)):
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    benchlib.kill_on_sigterm()
    tmp = tempfile.mkdtemp(prefix="squall-proxy-bench-")
    try:
        def haproxy(front, back):
            conf = os.path.join(tmp, "haproxy.cfg")
            benchlib.write_file(conf, HAPROXY.format(front=front, back=back))
            return ["haproxy", "-db", "-f", conf]

        def nginx(front, back):
            d = os.path.join(tmp, "nginx")
            for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
                os.makedirs(os.path.join(d, sub), exist_ok=True)
            conf = os.path.join(d, "nginx.conf")
            benchlib.write_file(conf, NGINX.format(d=d, front=front, back=back))
            return ["nginx", "-p", d + "/", "-e", os.path.join(d, "error.log"), "-c", conf]

        rows = [one_row(args.build, "direct", [], None, args, tmp)]
        if shutil.which("haproxy"):
            rows.append(one_row(args.build, "HAProxy (send-proxy-v2, crc32c)", ["--proxy-protocol"], haproxy, args, tmp))
        if shutil.which("nginx"):
            rows.append(one_row(args.build, "nginx (proxy_pass, keepalive)", ["--trusted-proxy", "127.0.0.1"], nginx,
                                args, tmp))
        print("squall-server --host localhost --processes %d, GET /, %d connections, %.0f s each"
              % (args.processes, args.connections, args.duration))
        print("| path | requests/s | p99 latency us | errors | server CPU us/req | balancer CPU us/req |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            bal = "-" if r["balancer_us"] is None else "%.1f" % r["balancer_us"]
            print("| %s | %.0f | %.0f | %d | %.1f | %s |" % (r["name"], r["rps"], r["p99_us"], r["errors"],
                                                           r["server_us"], bal))
        return 0 if all(r["errors"] == 0 for r in rows) else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
