#!/usr/bin/python3
"""Static files: examples/file_server (squall) against nginx, side by side.

Usage: /usr/bin/python3 bench/static_bench.py [--build build] [--duration 5]
           [--runs 3] [--connections 50] [--squall-args "..."]
           [--out BUILD/bench/static_report.md]

One folder with files of 1 KiB, 16 KiB and 1 MiB and a 64 KiB HTML page,
served by file_server --threads 1 and by nginx with one worker
(`sendfile on; open_file_cache max=1000; tcp_nopush on`), each pinned to
CPU 0, squall-load pinned to CPU 1, both servers in the same run,
alternating run by run. Loads: GET of each file at --connections
connections; If-None-Match revalidations of the 1 KiB file (304s); and
the HTML page with Accept-Encoding: gzip (squall --compress: libdeflate
level 6 on every request; nginx `gzip on; gzip_comp_level 6`), whose
compressed size is reported. The server's CPU (utime+stime from
/proc/<pid>/stat around the load) per request, and per GiB for 1 MiB
files, is the measure; each cell is the median of the runs with the
min-max spread. Everything on 127.0.0.1; every process started here is
killed on the way out.
"""
import argparse
import http.client
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (BenchError, Processes, cpu_seconds, free_port, kill_on_sigterm, median, spread,  # noqa: E402
                      wait_listening, write_file)

NGINX_CONF = """worker_processes 1;
daemon off;
master_process off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    sendfile on;
    tcp_nopush on;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 1s;
    include /etc/nginx/mime.types;
    gzip on;
    gzip_comp_level 6;
    gzip_min_length 1024;
    gzip_types text/css text/javascript application/json;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {root};
    }}
}}
"""


def make_root(path):
    os.makedirs(path, exist_ok=True)
    rnd = random.Random(1)
    for name, size in (("f1k.bin", 1024), ("f16k.bin", 16 * 1024), ("f1m.bin", 1 << 20)):
        with open(os.path.join(path, name), "wb") as f:
            f.write(bytes(rnd.getrandbits(8) for _ in range(size)))
    words = ["squall", "ring", "kernel", "splice", "tornado", "static", "<b>file</b>", "cache", "gzip", "etag"]
    row = lambda i: "<tr><td>%d</td><td>%s</td><td>%s</td></tr>\n" % (i, rnd.choice(words), " ".join(rnd.choice(words) for _ in range(6)))
    html = "<!DOCTYPE html><html><body><table>\n"
    i = 0
    while len(html) < 64 * 1024 - 200:
        html += row(i)
        i += 1
    html = (html + "</table></body></html>\n")[:64 * 1024]
    write_file(os.path.join(path, "page.html"), html)


def etag_of(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    c.close()
    return r.getheader("ETag")


def gzip_size(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path, headers={"Accept-Encoding": "gzip"})
    r = c.getresponse()
    body = r.read()
    c.close()
    return len(body), r.getheader("Content-Encoding")


def load(build, port, path, conns, duration, headers, status):
    cmd = ["taskset", "-c", "1", os.path.join(build, "bench", "squall-load"), "-c", str(conns), "-d", str(duration),
           "--json", "--expect-status", str(status)]
    for h in headers:
        cmd += ["-H", h]
    cmd.append("http://127.0.0.1:%d%s" % (port, path))
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    if out.returncode != 0:
        raise BenchError("squall-load failed: %s %s" % (out.stdout[-400:], out.stderr[-400:]))
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(pid, build, port, load_args):
    before = sum(cpu_seconds(pid))
    r = load(build, port, *load_args)
    cpu = sum(cpu_seconds(pid)) - before
    if r["errors"]["total"]:
        raise BenchError("errors: %s" % r["first_error"])
    return {"rps": r["requests_per_sec"], "cpu_us": cpu / max(r["requests"], 1) * 1e6,
            "cpu_s_per_gib": cpu / max(r["bytes"], 1) * (1 << 30)}


def start_server(procs, kind, args, root, port, bench_dir):
    if kind == "squall":
        cmd = [os.path.join(args.build, "examples", "file_server"), "--root", root, "--port", str(port),
               "--threads", "1", "--compress"] + shlex.split(args.squall_args)
    else:
        prefix = os.path.abspath(os.path.join(bench_dir, "nginx"))
        for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(prefix, d), exist_ok=True)
        conf = os.path.join(prefix, "nginx.conf")
        write_file(conf, NGINX_CONF.format(prefix=prefix, port=port, root=root))
        cmd = ["/usr/sbin/nginx", "-p", prefix + "/", "-e", os.path.join(prefix, "error.log"), "-c", conf]
    p = procs.start(["taskset", "-c", "0"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(p, port, kind)
    return p


def one_run(procs, kind, args, root, bench_dir):
    port = free_port()
    p = start_server(procs, kind, args, root, port, bench_dir)
    try:
        out = {}
        tag = etag_of(port, "/f1k.bin")
        loads = [("1 KiB", ("/f1k.bin", args.connections, args.duration, [], 200)),
                 ("16 KiB", ("/f16k.bin", args.connections, args.duration, [], 200)),
                 ("1 MiB", ("/f1m.bin", args.connections, args.duration, [], 200)),
                 ("304", ("/f1k.bin", args.connections, args.duration, ["If-None-Match: " + tag], 304)),
                 ("gzip 64 KiB", ("/page.html", args.connections, args.duration, ["Accept-Encoding: gzip"], 200))]
        load(args.build, port, "/f1k.bin", args.connections, 1, [], 200)  # warm-up
        for name, la in loads:
            out[name] = measure(p.pid, args.build, port, la)
        out["gzip_bytes"], enc = gzip_size(port, "/page.html")
        if enc != "gzip":
            raise BenchError("%s did not gzip the page" % kind)
        return out
    finally:
        procs.stop(p)


def report(results, runs):
    names = ["1 KiB", "16 KiB", "1 MiB", "304", "gzip 64 KiB"]
    lines = ["| load | squall req/s | nginx req/s | squall CPU µs/req | nginx CPU µs/req | ratio (squall/nginx) |",
             "|---|---|---|---|---|---|"]
    for n in names:
        sq = [r[n] for r in results["squall"]]
        ng = [r[n] for r in results["nginx"]]
        key = "cpu_s_per_gib" if n == "1 MiB" else "cpu_us"
        ratio = median([a[key] for a in sq]) / max(median([b[key] for b in ng]), 1e-9)
        unit = " (CPU s/GiB)" if n == "1 MiB" else ""
        lines.append("| %s%s | %s | %s | %s | %s | %.2f |" % (
            n, unit, spread([a["rps"] for a in sq], "%.0f"), spread([b["rps"] for b in ng], "%.0f"),
            spread([a[key] for a in sq], "%.2f"), spread([b[key] for b in ng], "%.2f"), ratio))
    lines.append("")
    lines.append("gzip output of the 64 KiB page: squall %d bytes, nginx %d bytes (runs: %d)" % (
        results["squall"][0]["gzip_bytes"], results["nginx"][0]["gzip_bytes"], runs))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--squall-args", default="")
    ap.add_argument("--out")
    args = ap.parse_args()
    kill_on_sigterm()
    bench_dir = os.path.join(args.build, "bench", "static")
    root = os.path.abspath(os.path.join(bench_dir, "root"))
    make_root(root)
    procs = Processes()
    results = {"squall": [], "nginx": []}
    try:
        for _ in range(args.runs):
            for kind in ("squall", "nginx"):
                results[kind].append(one_run(procs, kind, args, root, bench_dir))
    finally:
        procs.kill_all()
    text = report(results, args.runs)
    print(text)
    write_file(args.out or os.path.join(args.build, "bench", "static_report.md"), text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
