"""squall's HTTP client (through examples/fetch) against the servers users
run, over loopback: nginx (keep-alive, gzip, chunked; HTTPS with a test
CA and the refused cases: expired, wrong host, untrusted), h2o, Tornado,
Python's http.server and node, and through tinyproxy (absolute-form for
http, a CONNECT tunnel for https). Also fetch's options and exit codes.

    client_peers_test.py BUILD/examples/fetch

A peer that is not installed is reported and skipped (exit 77 when none
is). Every wait is a guard against a hung peer, never a measure.
"""
import gzip
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tls"))
from tls_testing import check, finish, free_port, make_certs, wait_listening  # noqa: E402

FETCH = sys.argv[1]
GUARD = 30


def fetch(*args):
    p = subprocess.run([FETCH, *args], capture_output=True, timeout=GUARD)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


class peer:
    def __init__(self, cmd, port, cwd=None):
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_listening(port, self.proc)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


NGINX_CONF = """
worker_processes 1; daemon off; master_process off; pid {d}/nginx.pid; error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
  log_format conn '$connection $request_uri $http_accept_encoding';
  access_log {d}/access.log conn;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  keepalive_timeout 75s;
  gzip on; gzip_types text/plain application/octet-stream; gzip_min_length 1;
  types {{ text/plain txt; }}
  server {{
    listen 127.0.0.1:{port};
    root {d}/www;
    location = /redirect {{ return 302 /small.txt; }}
  }}
  server {{ listen 127.0.0.1:{tls} ssl; ssl_certificate {c}/server.pem; ssl_certificate_key {c}/server.key;
    root {d}/www; location = /down {{ return 302 http://127.0.0.1:{port}/small.txt; }} }}
  server {{ listen 127.0.0.1:{expired} ssl; ssl_certificate {c}/expired.pem; ssl_certificate_key {c}/expired.key;
    root {d}/www; }}
  server {{ listen 127.0.0.1:{other} ssl; ssl_certificate {c}/other.pem; ssl_certificate_key {c}/other.key;
    root {d}/www; }}
}}
"""


def write_site(d):
    www = os.path.join(d, "www")
    os.makedirs(www)
    small = b"small file\n"
    big = b"".join(b"line %07d of a 1 MiB body\n" % i for i in range(40330))[: 1 << 20]
    with open(os.path.join(www, "small.txt"), "wb") as f:
        f.write(small)
    with open(os.path.join(www, "big.txt"), "wb") as f:
        f.write(big)
    return www, small, big


def nginx_checks(tmp, certs, small, big):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        print("skip nginx: not installed")
        return False
    d = os.path.join(tmp, "nginx")
    for sub in ("body", "proxy", "fcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    shutil.copytree(os.path.join(tmp, "www"), os.path.join(d, "www"))
    ports = {k: free_port() for k in ("port", "tls", "expired", "other")}
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(d=d, c=certs, **ports))
    with peer([nginx, "-p", d + "/", "-e", os.path.join(d, "error.log"), "-c", conf], ports["port"]):
        base = "http://127.0.0.1:%d" % ports["port"]
        rc, out, err = fetch(base + "/small.txt", base + "/big.txt", base + "/big.txt")
        check(rc == 0 and out == small + big + big, "nginx: three URLs, gzip decoded, rc=%d %s" % (rc, err))
        with open(os.path.join(d, "access.log")) as f:
            lines = [line.split() for line in f]
        check(len(lines) == 3 and len({line[0] for line in lines}) == 1, "nginx: one kept-alive connection %s" % lines)
        check(all("gzip" in line for line in lines), "nginx: Accept-Encoding: gzip sent")
        rc, out, _ = fetch("-i", base + "/big.txt")
        head = out.split(b"\r\n\r\n", 1)[0].lower()
        check(b"content-encoding: gzip" in head and b"transfer-encoding: chunked" in head, "nginx: gzip answer is chunked")
        rc, out, _ = fetch("--no-decompress", "-H", "Accept-Encoding: gzip", base + "/big.txt")
        check(rc == 0 and out[:2] == b"\x1f\x8b" and gzip.decompress(out) == big, "nginx: --no-decompress keeps gzip")
        rc, out, _ = fetch("-i", "--max-redirects", "0", base + "/redirect")
        check(rc == 0 and out.startswith(b"HTTP/1.1 302 "), "nginx: --max-redirects 0 shows the 302")
        rc, out, _ = fetch(base + "/redirect")
        check(rc == 0 and out == small, "nginx: redirect followed")
        rc, out, _ = fetch("-i", base + "/missing")
        check(rc == 0 and out.startswith(b"HTTP/1.1 404 "), "nginx: a 404 is a complete response (exit 0)")
        tls_checks(ports, certs, small, big, os.path.join(d, "access.log"))
        proxy_checks(tmp, ports, certs, small)
    return True


def tls_checks(ports, certs, small, big, access_log):
    ca = os.path.join(certs, "ca.pem")
    url = "https://localhost:%d" % ports["tls"]
    with open(access_log) as f:
        seen = len(f.readlines())
    rc, out, err = fetch("--cacert", ca, url + "/small.txt", url + "/big.txt", url + "/small.txt")
    check(rc == 0 and out == small + big + small, "nginx https: --cacert, SNI and host check (%s)" % err.strip())
    with open(access_log) as f:
        lines = [line.split() for line in f.readlines()[seen:]]
    # nginx's $connection: the serial number of the connection each request came on.
    check(len(lines) == 3 and len({line[0] for line in lines}) == 1,
          "nginx https: three fetches to one origin reuse one pooled TLS connection %s" % lines)
    rc, out, err = fetch(url + "/small.txt")
    check(rc == 1 and "verify failed" in err, "nginx https: untrusted CA refused (%s)" % err.strip())
    rc, out, err = fetch("--cacert", ca, "https://localhost:%d/small.txt" % ports["expired"])
    check(rc == 1 and "date error" in err, "nginx https: expired certificate refused (%s)" % err.strip())
    rc, out, err = fetch("--cacert", ca, "https://localhost:%d/small.txt" % ports["other"])
    check(rc == 1 and "name mismatch" in err, "nginx https: wrong host refused (%s)" % err.strip())
    rc, out, err = fetch("--cacert", ca, url + "/down")
    check(rc == 1 and "https to http" in err, "nginx https: redirect to http refused (%s)" % err.strip())


TINYPROXY_CONF = "Port {port}\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nLogFile \"{log}\"\nLogLevel Connect\nMaxClients 20\n"


def proxy_checks(tmp, ports, certs, small):
    tinyproxy = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
    if not os.path.exists(tinyproxy):
        print("skip tinyproxy: not installed")
        return
    port = free_port()
    log = os.path.join(tmp, "tinyproxy.log")
    conf = os.path.join(tmp, "tinyproxy.conf")
    with open(conf, "w") as f:
        f.write(TINYPROXY_CONF.format(port=port, log=log))
    with peer([tinyproxy, "-d", "-c", conf], port):
        proxy = "http://127.0.0.1:%d" % port
        rc, out, err = fetch("--proxy", proxy, "http://127.0.0.1:%d/small.txt" % ports["port"])
        check(rc == 0 and out == small, "tinyproxy: http through the proxy (%s)" % err.strip())
        rc, out, err = fetch("--proxy", proxy, "--cacert", os.path.join(certs, "ca.pem"),
                             "https://localhost:%d/small.txt" % ports["tls"])
        check(rc == 0 and out == small, "tinyproxy: https through a CONNECT tunnel (%s)" % err.strip())
    with open(log) as f:
        text = f.read()
    check("CONNECT" in text and "localhost:%d" % ports["tls"] in text, "tinyproxy: its log shows the tunnel")


def h2o_checks(tmp, small, big):
    h2o = shutil.which("h2o")
    if not h2o:
        print("skip h2o: not installed")
        return
    port = free_port()
    conf = os.path.join(tmp, "h2o.conf")
    with open(conf, "w") as f:
        f.write("num-threads: 1\nlisten:\n  host: 127.0.0.1\n  port: %d\ncompress: ON\n"
                "hosts:\n  default:\n    paths:\n      /:\n        file.dir: %s\n" % (port, os.path.join(tmp, "www")))
    with peer([h2o, "-c", conf], port):
        base = "http://127.0.0.1:%d" % port
        rc, out, err = fetch(base + "/small.txt", base + "/big.txt")
        check(rc == 0 and out == small + big, "h2o: files, keep-alive, compressed (rc=%d, %d bytes, %s)" % (rc, len(out), err.strip()))


NODE_SERVER = r"""
const http = require('http');
const s = http.createServer((req, res) => {
  let body = '';
  req.on('data', d => body += d);
  req.on('end', () => {
    res.setHeader('Content-Type', 'application/json');
    res.write(JSON.stringify({method: req.method, url: req.url, headers: req.headers}).slice(0, 5));
    res.end(JSON.stringify({method: req.method, url: req.url, headers: req.headers, body}).slice(5));
  });
});
s.listen(Number(process.argv[2]), '127.0.0.1');
"""


def node_checks(tmp):
    import json
    node = shutil.which("node")
    if not node:
        print("skip node: not installed")
        return
    port = free_port()
    script = os.path.join(tmp, "echo.js")
    with open(script, "w") as f:
        f.write(NODE_SERVER)
    with peer([node, script, str(port)], port):
        base = "http://127.0.0.1:%d" % port
        rc, out, err = fetch("-X", "PUT", "-H", "X-Test: yes", "-d", "a=1", base + "/p?q")
        got = json.loads(out) if rc == 0 else {}
        check(got.get("method") == "PUT" and got.get("body") == "a=1" and got.get("url") == "/p?q"
              and got.get("headers", {}).get("x-test") == "yes", "node: -X, -H, -d through a chunked answer %s" % err)
        rc, out, _ = fetch("-d", "x", base + "/")
        check(rc == 0 and json.loads(out).get("method") == "POST", "node: -d means POST")


TORNADO_APP = r"""
import sys, tornado.ioloop, tornado.web
class Big(tornado.web.RequestHandler):
    async def get(self):
        for i in range(64):
            self.write("tornado chunk %d\n" % i * 100)
            await self.flush()
app = tornado.web.Application([(r"/", Big)], compress_response=True)
app.listen(int(sys.argv[1]), "127.0.0.1")
tornado.ioloop.IOLoop.current().start()
"""


def tornado_checks(tmp):
    port = free_port()
    script = os.path.join(tmp, "tornado_app.py")
    with open(script, "w") as f:
        f.write(TORNADO_APP)
    want = "".join("tornado chunk %d\n" % i * 100 for i in range(64)).encode()
    with peer(["/usr/bin/python3", script, str(port)], port):
        rc, out, err = fetch("http://127.0.0.1:%d/" % port, "http://127.0.0.1:%d/" % port)
        check(rc == 0 and out == want + want, "tornado: flushed chunks, gzip, keep-alive (%s)" % err.strip())


def python_checks(tmp, small):
    port = free_port()
    with peer(["/usr/bin/python3", "-m", "http.server", str(port), "--bind", "127.0.0.1"], port,
              cwd=os.path.join(tmp, "www")):
        rc, out, err = fetch("http://127.0.0.1:%d/small.txt" % port, "http://127.0.0.1:%d/small.txt" % port)
        check(rc == 0 and out == small + small, "python http.server: HTTP/1.0 bodies (%s)" % err.strip())


def silent_server():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    held = []
    threading.Thread(target=lambda: held.append(s.accept()), daemon=True).start()
    return s, held


def exit_code_checks():
    s, _ = silent_server()
    rc, _, err = fetch("--timeout", "0.5", "http://127.0.0.1:%d/" % s.getsockname()[1])
    check(rc == 1 and err.count("\n") == 1 and "timed out" in err, "fetch: --timeout ends a silent server (%s)" % err.strip())
    s.close()
    rc, _, err = fetch("http://127.0.0.1:%d/" % free_port())
    check(rc == 1 and "connect" in err, "fetch: refused connection exits 1 (%s)" % err.strip())
    rc, _, err = fetch("ftp://x/")
    check(rc == 1 and err.count("\n") == 1, "fetch: an unusable URL exits 1 (%s)" % err.strip())
    rc, _, _ = fetch("--no-such-flag", "http://x/")
    check(rc == 2, "fetch: a bad option exits 2")


def main():
    tmp = tempfile.mkdtemp(prefix="squall-client-")
    os.chmod(tmp, 0o755)  # h2o started as root serves files as nobody
    try:
        certs = make_certs(tmp)
        _, small, big = write_site(tmp)
        nginx_checks(tmp, certs, small, big)
        h2o_checks(tmp, small, big)
        node_checks(tmp)
        tornado_checks(tmp)
        python_checks(tmp, small)
        exit_code_checks()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


main()
