#!/usr/bin/python3
"""squall-server behind proxies, over loopback (http/proxy.hpp,
engine/proxy_protocol.hpp, docs/production.md):

- PROXY protocol by hand: v1, v2 over IPv4, IPv6 and a unix socket
  (socket activation), v2 LOCAL + `GET /healthz HTTP/1.0` without Host
  (HAProxy's check), the SSL TLV, missing, truncated, oversized headers;
- forwarded headers: believed from --trusted-proxy only, spoofing ignored;
- nginx (Debian): proxy_pass with X-Forwarded-For/X-Real-IP, and a
  stream server with proxy_protocol on;
- HAProxy 2.6 (Debian): send-proxy-v2 with its CRC32C TLV (every header
  checked) and `option httpchk GET /healthz`
  in front of two squall-server instances of two processes each on one
  SQLite file; 20 keep-alive clients GET and POST (new to-do accounts)
  while each instance is restarted in turn three times: no failed
  request, every 201 in the database. The same harness with two nginx
  (`nginx -s reload` three times each) as the backends, for comparison.

Usage: proxy_peers_test.py SQUALL_SERVER   (exit 77 without haproxy/nginx)
"""

import http.client
import json
import os
import pathlib
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from squall_testing import (GUARD, Checks, children_of, free_port, kill_tree,  # noqa: E402
                            sanitizer_reports, wait_for, wait_listening)

check = Checks()
SIG = b"\r\n\r\n\x00\r\nQUIT\n"
NGINX_STREAM = "/usr/lib/nginx/modules/ngx_stream_module.so"


class Squall:
    def __init__(self, binary, *args, port=None, host="127.0.0.1", db=None, processes=1, extra_popen=None, prefix=()):
        self.port = port or free_port(host)
        self.host = host
        self.dir = tempfile.mkdtemp(prefix="squall-peer-")
        self.db = db or os.path.join(self.dir, "todo.db")
        cmd = [*prefix, binary, "--host", host, "--port", str(self.port), "--db", self.db, "--password-iterations", "1",
               "--processes", str(processes), *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     **(extra_popen or {}))
        self.log = []
        threading.Thread(target=lambda: [self.log.append(l) for l in self.proc.stdout], daemon=True).start()
        if extra_popen is None:
            wait_listening(self.port, self.proc, host=host)
        if processes > 1:
            wait_for(lambda: len(children_of(self.proc.pid)) == processes)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(GUARD)

    def kill(self):
        bad = sanitizer_reports(self.log)
        check("no sanitizer report", not bad, "".join(bad[:5]))
        kill_tree(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def raw_exchange(addr, data, family=socket.AF_INET, source=None, timeout=GUARD):
    """Sends `data`, returns everything until the server closes."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect(addr)
    s.sendall(data)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except ConnectionResetError:
        pass
    s.close()
    return out


def body_of(resp):
    head, _, body = resp.partition(b"\r\n\r\n")
    return head.decode(errors="replace"), body


def whoami_json(resp):
    head, body = body_of(resp)
    return json.loads(body) if head.startswith("HTTP/1.1 200") else None


def v2(cmd, fam, block, tlvs=b""):
    return SIG + bytes([0x20 | cmd, fam]) + struct.pack("!H", len(block) + len(tlvs)) + block + tlvs


def v2_inet(src, dst, sport, dport, tlvs=b""):
    return v2(1, 0x11, socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport), tlvs)


GET_WHOAMI = b"GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def test_proxy_protocol(binary):
    s = Squall(binary, "--proxy-protocol", "--proxy-header-timeout", "1", "--trusted-proxy", "10.9.0.0/16")
    a = ("127.0.0.1", s.port)
    try:
        j = whoami_json(raw_exchange(a, b"PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\r\n" + GET_WHOAMI))
        check("v1: remote_ip from the header", j and j["remote_ip"] == "192.0.2.7", str(j))
        j = whoami_json(raw_exchange(a, v2_inet("198.51.100.4", "127.0.0.1", 1234, 80) + GET_WHOAMI))
        check("v2 inet: remote_ip from the header", j and j["remote_ip"] == "198.51.100.4", str(j))
        ssl_tlv = b"\x20" + struct.pack("!H", 5) + b"\x01\x00\x00\x00\x00"
        j = whoami_json(raw_exchange(a, v2_inet("198.51.100.4", "127.0.0.1", 1234, 443, ssl_tlv) + GET_WHOAMI))
        check("v2 SSL TLV: scheme https", j and j["scheme"] == "https", str(j))
        r = raw_exchange(a, v2(0, 0x00, b"") + b"GET /healthz HTTP/1.0\r\n\r\n")
        check("v2 LOCAL + HTTP/1.0 without Host: 200", r.startswith(b"HTTP/1.1 200") and r.endswith(b"ok\n"), r[:80])
        j = whoami_json(raw_exchange(a, v2(0, 0x11, b"\0" * 12) + GET_WHOAMI))
        check("v2 LOCAL: the real peer", j and j["remote_ip"] == "127.0.0.1", str(j))
        # Spoofing: the PROXY header's client is not a trusted proxy.
        spoof = GET_WHOAMI.replace(b"Host: x\r\n", b"Host: x\r\nX-Forwarded-For: 6.6.6.6\r\nX-Real-Ip: 6.6.6.6\r\n")
        j = whoami_json(raw_exchange(a, b"PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\r\n" + spoof))
        check("spoof: X-Forwarded-For from an untrusted client ignored", j and j["remote_ip"] == "192.0.2.7", str(j))
        j = whoami_json(raw_exchange(a, b"PROXY TCP4 10.9.1.1 127.0.0.1 5555 80\r\n" + spoof))
        check("a trusted hop's X-Real-Ip believed", j and j["remote_ip"] == "6.6.6.6", str(j))
        for name, data in [("missing header", GET_WHOAMI),
                           ("v1 line too long", b"PROXY UNKNOWN " + b"x" * 120 + b"\r\n" + GET_WHOAMI),
                           ("v1 bad address", b"PROXY TCP4 1.2.3 127.0.0.1 1 2\r\n" + GET_WHOAMI),
                           ("v2 oversized", SIG + b"\x21\x11" + struct.pack("!H", 60000) + b"\0" * 100),
                           ("v2 bad TLV", v2_inet("1.2.3.4", "127.0.0.1", 1, 2, b"\x02\x00\x50ab") + GET_WHOAMI),
                           ("v2 CRC32C mismatch",
                            v2_inet("1.2.3.4", "127.0.0.1", 1, 2, b"\x03\x00\x04\xde\xad\xbe\xef") + GET_WHOAMI)]:
            r = raw_exchange(a, data)
            check("closed without a response: " + name, r == b"", r[:60])
        t0 = time.monotonic()
        r = raw_exchange(a, v2_inet("1.2.3.4", "127.0.0.1", 1, 2)[:20])
        took = time.monotonic() - t0
        check("truncated header: closed at the header timeout", r == b"" and 0.8 < took < GUARD, "%.2f s" % took)
        check("the bad ones logged", any("PROXY header" in l for l in s.log))
    finally:
        s.kill()


def test_proxy_v6(binary):
    s = Squall(binary, "--proxy-protocol", host="::1")
    try:
        src = socket.inet_pton(socket.AF_INET6, "2001:db8::17")
        dst = socket.inet_pton(socket.AF_INET6, "::1")
        hdr = v2(1, 0x21, src + dst + struct.pack("!HH", 4711, 80))
        j = whoami_json(raw_exchange(("::1", s.port), hdr + GET_WHOAMI, family=socket.AF_INET6))
        check("v2 inet6 over IPv6: remote_ip", j and j["remote_ip"] == "2001:db8::17", str(j))
        j = whoami_json(raw_exchange(("::1", s.port), b"PROXY TCP6 2001:db8::18 ::1 1 80\r\n" + GET_WHOAMI,
                                     family=socket.AF_INET6))
        check("v1 TCP6 over IPv6: remote_ip", j and j["remote_ip"] == "2001:db8::18", str(j))
    finally:
        s.kill()


def test_proxy_unix(binary):
    d = tempfile.mkdtemp(prefix="squall-unix-")
    path = os.path.join(d, "squall.sock")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(64)
    fd = ls.fileno()
    env = dict(os.environ, LISTEN_FDS="1")
    popen = dict(env=env, pass_fds=(3,), preexec_fn=lambda: os.dup2(fd, 3))
    # LISTEN_PID must be the server's pid: a shell sets it and execs.
    s = Squall(binary, "--proxy-protocol", extra_popen=popen, prefix=("/bin/sh", "-c", 'LISTEN_PID=$$ exec "$0" "$@"'))
    ls.close()
    try:
        def up():
            try:
                socket.socket(socket.AF_UNIX).connect(path)
                return True
            except OSError:
                return False
        wait_for(up)
        srcp = b"/run/client.sock".ljust(108, b"\0")
        dstp = path.encode().ljust(108, b"\0")
        j = whoami_json(raw_exchange(path, v2(1, 0x31, srcp + dstp) + GET_WHOAMI, family=socket.AF_UNIX))
        check("v2 unix over a unix socket: remote_ip", j and j["remote_ip"] == "unix:/run/client.sock", str(j))
        j = whoami_json(raw_exchange(path, v2_inet("203.0.113.5", "10.0.0.1", 9, 80) + GET_WHOAMI,
                                     family=socket.AF_UNIX))
        check("v2 inet over a unix socket: remote_ip", j and j["remote_ip"] == "203.0.113.5", str(j))
    finally:
        s.kill()


def test_forwarded_headers(binary):
    s = Squall(binary, "--trusted-proxy", "127.0.0.1")
    a = ("127.0.0.1", s.port)
    u = Squall(binary, "--trusted-proxy", "10.0.0.0/8")
    try:
        req = (b"GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
               b"X-Forwarded-For: 6.6.6.6, 203.0.113.9\r\nX-Forwarded-Proto: https\r\n\r\n")
        j = whoami_json(raw_exchange(a, req))
        check("trusted peer: X-Forwarded-For's last untrusted hop", j and j["remote_ip"] == "203.0.113.9", str(j))
        check("trusted peer: X-Forwarded-Proto", j and j["scheme"] == "https", str(j))
        fwd = b"GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\nForwarded: for=\"[2001:db8::9]:1\";proto=https\r\n\r\n"
        j = whoami_json(raw_exchange(a, fwd))
        check("trusted peer: Forwarded", j and j["remote_ip"] == "2001:db8::9" and j["scheme"] == "https", str(j))
        j = whoami_json(raw_exchange(("127.0.0.1", u.port), req))
        check("untrusted peer: X-Forwarded-For ignored", j and j["remote_ip"] == "127.0.0.1" and j["scheme"] == "http",
              str(j))
        j = whoami_json(raw_exchange(("127.0.0.1", u.port), fwd))
        check("untrusted peer: Forwarded ignored", j and j["remote_ip"] == "127.0.0.1", str(j))
    finally:
        s.kill()
        u.kill()


def start_nginx(conf_text):
    d = tempfile.mkdtemp(prefix="squall-nginx-")
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(conf_text.replace("@DIR@", d))
    p = subprocess.Popen(["nginx", "-p", d, "-c", conf, "-e", os.path.join(d, "error.log")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return p, d, conf


NGINX_HEAD = """
load_module %s;
daemon off;
master_process on;
worker_processes 1;
pid @DIR@/nginx.pid;
error_log @DIR@/error.log;
events { worker_connections 1024; }
""" % NGINX_STREAM

NGINX_HTTP = """
http {
    access_log off;
    client_body_temp_path @DIR@/body;
    proxy_temp_path @DIR@/proxy;
    upstream squall { server 127.0.0.1:%(backend)d; keepalive 32; }
    server {
        listen 127.0.0.1:%(port)d;
        location / {
            proxy_pass http://squall;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host "squall";
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }
    }
}
"""

NGINX_STREAM_CONF = """
stream {
    server {
        listen 127.0.0.1:%(port)d;
        proxy_pass 127.0.0.1:%(backend)d;
        proxy_protocol on;
    }
}
"""


def test_nginx(binary):
    s = Squall(binary, "--trusted-proxy", "127.0.0.1", processes=2)
    p = Squall(binary, "--proxy-protocol")
    port, sport = free_port(), free_port()
    ng, d, _ = start_nginx(NGINX_HEAD + NGINX_HTTP % {"port": port, "backend": s.port} +
                           NGINX_STREAM_CONF % {"port": sport, "backend": p.port})
    try:
        wait_listening(port, ng)
        wait_listening(sport, ng)
        req = b"GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n"
        j = whoami_json(raw_exchange(("127.0.0.1", port), req, source="127.0.0.2"))
        check("nginx proxy_pass: the client's address", j and j["remote_ip"] == "127.0.0.2", str(j))
        j = whoami_json(raw_exchange(("127.0.0.1", sport), GET_WHOAMI, source="127.0.0.3"))
        check("nginx stream proxy_protocol: the client's address", j and j["remote_ip"] == "127.0.0.3", str(j))
    finally:
        ng.terminate()
        ng.wait(GUARD)
        s.kill()
        p.kill()


HAPROXY_CONF = """
global
    maxconn 2000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout queue 10s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
    option http-buffer-request
frontend web
    bind 127.0.0.1:%(port)d
    default_backend app
backend app
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 100ms fall 2 rise 1 %(send_proxy)s
%(servers)s
"""


class Load:
    """20 keep-alive clients: GETs, and POSTs creating accounts."""

    def __init__(self, port, clients=20):
        self.port = port
        self.stop = threading.Event()
        self.failures = []
        self.created = []
        self.requests = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.client, args=(i,)) for i in range(clients)]
        for t in self.threads:
            t.start()

    def client(self, n):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=GUARD)
        k = 0
        while not self.stop.is_set():
            k += 1
            try:
                if k % 3 == 0:
                    name = "u%d_%d_%d" % (self.port, n, k)
                    body = json.dumps({"username": name, "email": name + "@example.org", "password": "pw-secret"})
                    c.request("POST", "/api/v1/accounts", body, {"Content-Type": "application/json"})
                    r = c.getresponse()
                    r.read()
                    ok = r.status == 201
                    if ok:
                        with self.lock:
                            self.created.append(name)
                else:
                    c.request("GET", "/whoami")
                    r = c.getresponse()
                    r.read()
                    ok = r.status == 200
                if not ok:
                    self.failures.append("status %d" % r.status)
            except (OSError, http.client.HTTPException) as e:
                self.failures.append(repr(e))
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=GUARD)
            with self.lock:
                self.requests += 1
        c.close()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(GUARD)


def start_haproxy(port, servers, send_proxy):
    d = tempfile.mkdtemp(prefix="squall-haproxy-")
    conf = os.path.join(d, "haproxy.cfg")
    lines = "\n".join("    server s%d 127.0.0.1:%d check" % (i, p) for i, p in enumerate(servers))
    with open(conf, "w") as f:
        f.write(HAPROXY_CONF % {"port": port, "servers": lines, "send_proxy": "send-proxy-v2 proxy-v2-options crc32c" if send_proxy else ""})
    p = subprocess.Popen(["haproxy", "-W", "-db", "-f", conf], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    wait_listening(port, p)
    return p


def test_haproxy_rolling(binary):
    db = os.path.join(tempfile.mkdtemp(prefix="squall-roll-"), "todo.db")
    args = ("--proxy-protocol", "--lame-duck", "0.6", "--drain", "5")
    ports = [free_port(), free_port()]
    inst = [Squall(binary, *args, port=p, db=db, processes=2) for p in ports]
    port = free_port()
    hp = start_haproxy(port, ports, True)
    load = None
    try:
        time.sleep(0.5)  # both servers checked up
        load = Load(port)
        for rnd in range(3):
            for i in range(2):
                time.sleep(0.4)
                code = inst[i].stop()
                check("rolling: instance %d stopped cleanly (round %d)" % (i, rnd), code == 0, str(code))
                inst[i] = Squall(binary, *args, port=ports[i], db=db, processes=2)
                time.sleep(0.4)  # its checks pass again (rise 1, inter 100 ms)
        time.sleep(0.3)
        load.finish()
        print("HAProxy -> squall, 3 rolling restarts: %d requests, %d accounts, %d failed %s" %
              (load.requests, len(load.created), len(load.failures), load.failures[:5]))
        check("rolling: requests ran", load.requests > 200 and len(load.created) > 50, str(load.requests))
        check("rolling: zero failed requests", not load.failures, str(load.failures[:5]))
        con = sqlite3.connect(db)
        names = {r[0] for r in con.execute("SELECT username FROM accounts")}
        con.close()
        missing = [n for n in load.created if n not in names]
        check("rolling: every 201 is in the database", not missing, str(missing[:5]))
    finally:
        if load:
            load.finish()
        hp.terminate()
        hp.wait(GUARD)
        for s in inst:
            s.kill()


def test_nginx_reload_comparison(binary):
    """The same harness, nginx as the restarted tier (nginx -s reload)."""
    backend = Squall(binary, "--trusted-proxy", "127.0.0.1", processes=2)
    ngs = []
    try:
        for _ in range(2):
            p = free_port()
            ng, d, conf = start_nginx(NGINX_HEAD + NGINX_HTTP % {"port": p, "backend": backend.port})
            wait_listening(p, ng)
            ngs.append((ng, d, conf, p))
        port = free_port()
        hp = start_haproxy(port, [n[3] for n in ngs], False)
        time.sleep(0.5)
        load = Load(port)
        for rnd in range(3):
            for ng, d, conf, _ in ngs:
                time.sleep(0.4)
                subprocess.run(["nginx", "-p", d, "-c", conf, "-s", "reload"], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.4)
        time.sleep(0.3)
        load.finish()
        hp.terminate()
        hp.wait(GUARD)
        print("HAProxy -> nginx (-s reload x3 each) -> squall: %d requests, %d failed %s" %
              (load.requests, len(load.failures), load.failures[:5]))
        check("nginx reload comparison ran", load.requests > 200, str(load.requests))
    finally:
        for ng, *_ in ngs:
            ng.terminate()
            ng.wait(GUARD)
        backend.kill()


def main():
    binary = sys.argv[1]
    if not shutil.which("haproxy") or not shutil.which("nginx") or not os.path.exists(NGINX_STREAM):
        print("SKIP: haproxy, nginx or nginx's stream module missing (make deps installs them)")
        return 77
    only = sys.argv[2:] or None
    for t in (test_proxy_protocol, test_proxy_v6, test_proxy_unix, test_forwarded_headers, test_nginx,
              test_haproxy_rolling, test_nginx_reload_comparison):
        if only and t.__name__ not in only:
            continue
        print("--", t.__name__, flush=True)
        t(binary)
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
