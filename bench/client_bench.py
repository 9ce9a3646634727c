"""HTTP client CPU per response: squall's http::client against libcurl's
multi interface, node's built-in fetch (undici) and Tornado's
AsyncHTTPClient, all fetching from the same nginx in the same run.

nginx (one worker) is pinned to CPU 0, the client under test to CPU 1;
each client runs 50 concurrent fetches, keep-alive where it has it
(Tornado's simple_httpclient opens a connection per request), first for
`GET /` ("Hello, world!") then for a 1 MiB body. CPU per response is the
client process's user+system time over the responses it got (os.wait4),
median of --runs runs. Nothing is decompressed (no client asks for gzip). squall keeps each
body in the response as node and Tornado do; libcurl's write callback
only counts it, which the "squall streamed" row does too.

    bench/client_bench.py --build build [--runs 3]

Prints a Markdown table and writes it to BUILD/bench/client_bench.md.
"""
import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CONNECTIONS = 50
SIZES = {"small": ("/", 20000, 20000, 5000, 2000), "1 MiB": ("/1m", 1000, 1000, 400, 200)}


def clients(build):
    c = os.path.join(HERE, "client")
    squall = os.path.join(build, "bench", "squall_fetch_load")
    out = [("squall", [squall], 1)]
    curl = os.path.join(build, "bench", "curl_multi_load")
    if os.path.exists(curl):
        out.append(("libcurl multi", [curl], 2))
    if shutil.which("node"):
        out.append(("node fetch (undici)", ["node", os.path.join(c, "undici_load.mjs")], 3))
    out.append(("Tornado AsyncHTTPClient", ["/usr/bin/python3", os.path.join(c, "tornado_load.py")], 4))
    # The body handed to a streaming callback that only counts it, as
    # curl's write callback does, with 16 KiB receive buffers.
    out.append(("squall streamed, 16 KiB buffers", ["env", "SQUALL_RECV_BUFFER_SIZE=16384", "SQUALL_RECV_BUFFERS=1024",
                                                    squall, "stream"], 1))
    return out


def one_run(procs, cmd, url, n):
    extra = [cmd[-1]] if cmd[-1] == "stream" else []
    args = (cmd[:-1] if extra else cmd) + [url, str(CONNECTIONS), str(n)] + extra
    p = procs.start(benchlib.pinned(1, [], args), stdout=benchlib.subprocess.PIPE, text=True)
    cpu = benchlib.wait_rusage(p, 600, cmd[0])
    out = p.stdout.read()
    procs.forget(p)
    fields = dict(kv.split("=") for kv in out.split())
    ok = int(fields.get("ok", 0))
    if p.returncode != 0 or ok == 0:
        raise benchlib.BenchError("%s failed: %s" % (" ".join(cmd), out.strip()))
    return cpu / ok * 1e6  # microseconds per response


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    args = ap.parse_args()
    benchlib.kill_on_sigterm()
    bench_dir = os.path.join(args.build, "bench")
    www = os.path.abspath(os.path.join(bench_dir, "client_www"))
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "1m"), "wb") as f:
        f.write(b"x" * (1 << 20))
    port = benchlib.free_port()
    extra = "        location = /1m { root %s; default_type application/octet-stream; }" % www
    cmd = benchlib.nginx_config(bench_dir, "client_nginx", args.nginx, port, server_extra=extra)
    procs = benchlib.Processes()
    rows = []
    try:
        nginx = procs.start(benchlib.pinned(0, [], cmd))
        benchlib.wait_listening(nginx, port, "nginx")
        for size, (path, *counts) in SIZES.items():
            url = "http://127.0.0.1:%d%s" % (port, path)
            results = {}
            for name, ccmd, idx in clients(args.build):
                n = counts[idx - 1]
                results[name] = [one_run(procs, ccmd, url, n) for _ in range(args.runs)]
                print("%s %s: %s us/response" % (size, name, benchlib.spread(results[name], "%.1f")), flush=True)
            base = benchlib.median(results["squall"])
            for name, vals in results.items():
                rows.append((size, name, benchlib.spread(vals, "%.1f"), benchlib.median(vals) / base))
    finally:
        procs.kill_all()
    table = ["| body | client | CPU µs per response, median (min–max) | × squall |", "|---|---|---|---|"]
    table += ["| %s | %s | %s | %.2f |" % r for r in rows]
    text = "\n".join(table) + "\n"
    print(text)
    benchlib.write_file(os.path.join(bench_dir, "client_bench.md"), text)


main()
