#!/usr/bin/python3
"""squall-load against servers that answer right and wrong.

Usage: /usr/bin/python3 tests/bench/squall_load_test.py build/bench/squall-load

Each case starts a small threaded server on 127.0.0.1 that counts the
requests it reads and answers them in one way: right (Content-Length or
chunked, keep-alive or Connection: close), or wrong (a bad status, a body
shorter than its Content-Length, bodies of changing length, connections
dropped without notice, garbage). squall-load must count exactly what was
answered, report each kind of error, and exit 1 when any occurred. The
latency checks are lower bounds only (a server that waits 20 ms cannot be
timed faster), so a slow machine cannot fail them. The WebSocket cases
use Python's websockets as the echo server. Host names ("localhost",
served on 127.0.0.1 only) and https:// and wss:// (Python's ssl with the
certificates of tests/tls/make_certs.sh: trusted, untrusted, wrong host)
go through the engine's resolver, Happy Eyeballs and TLS client.
"""
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

LOAD = sys.argv[1] if len(sys.argv) > 1 else "build/bench/squall-load"
HELLO = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, world!"


class Server:
    """Reads requests (heads, and bodies by Content-Length) on each
    connection and answers each with respond(index, count) -> bytes, or
    None to close the connection without a word."""

    def __init__(self, respond, delay=0.0, stall=None):
        self.respond, self.delay, self.stall = respond, delay, stall
        self.requests = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.closing = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.closing:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = c.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buf) < length:
                    buf += c.recv(65536)
                buf = buf[length:]
                with self.lock:
                    self.requests += 1
                    n = self.requests
                if self.stall and n == self.stall[0]:
                    time.sleep(self.stall[1])
                if self.delay:
                    time.sleep(self.delay)
                out = self.respond(n, head)
                if out is None:
                    return
                c.sendall(out)
        except OSError:
            pass
        finally:
            c.close()

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def close(self):
        self.closing = True
        self.sock.close()


class TLSServer(Server):
    """Server behind TLS (Python's ssl) with the test CA's localhost
    certificate (tests/tls/make_certs.sh), on 127.0.0.1 only."""

    def __init__(self, respond, certs, name="server"):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(os.path.join(certs, name + ".pem"), os.path.join(certs, name + ".key"))
        self.handshakes = 0
        super().__init__(respond)

    def serve(self, c):
        try:
            c = self.ctx.wrap_socket(c, server_side=True)
        except (ssl.SSLError, OSError):
            c.close()
            return
        with self.lock:
            self.handshakes += 1
        super().serve(c)

    def url(self, path="/", host="localhost"):
        return "https://%s:%d%s" % (host, self.port, path)


def make_certs(tmp):
    here = os.path.dirname(os.path.abspath(__file__))
    certs = os.path.join(tmp, "certs")
    subprocess.run([os.path.join(here, "..", "tls", "make_certs.sh"), certs], check=True, timeout=60)
    return certs


def run(args, timeout=60):
    p = subprocess.run([LOAD, "--json"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    out = p.stdout.decode()
    try:
        return p.returncode, json.loads(out)
    except ValueError:
        raise AssertionError("squall-load printed no JSON (exit %d):\n%s\n%s" % (p.returncode, out, p.stderr.decode()))


def check(cond, what, result=None):
    if not cond:
        raise AssertionError(what + ("\n" + json.dumps(result, indent=1) if result else ""))


def test_counts_exactly_what_was_answered():
    s = Server(lambda n, head: HELLO)
    try:
        for pipeline in (1, 8):
            before = s.requests
            rc, r = run(["-c", "4", "-n", "1000", "--pipeline", str(pipeline), s.url()])
            check(rc == 0, "exit %d" % rc, r)
            check(r["requests"] == 1000, "counted %d requests" % r["requests"], r)
            check(s.requests - before == 1000, "server read %d requests" % (s.requests - before), r)
            check(r["errors"]["total"] == 0, "errors on a right server", r)
            check(r["bytes"] == 1000 * len(HELLO), "bytes %d" % r["bytes"], r)
            lat = r["latency_us"]
            check(lat["count"] == 1000, "latency samples %d" % lat["count"], r)
            check(0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] <= lat["max"], "percentiles out of order", r)
            check(r["requests_per_sec"] > 0, "no rate", r)
    finally:
        s.close()


def test_request_method_headers_and_body_are_sent():
    seen = []

    def respond(n, head):
        seen.append(head)
        return HELLO

    s = Server(respond)
    try:
        rc, r = run(["-c", "1", "-n", "3", "-m", "POST", "-b", "abc", "-H", "X-Test: 1", s.url("/echo")])
        check(rc == 0, "exit %d" % rc, r)
        check(len(seen) == 3, "server saw %d requests" % len(seen))
        check(seen[0].startswith(b"POST /echo HTTP/1.1\r\n"), "request line %r" % seen[0][:40])
        check(b"\r\nX-Test: 1" in seen[0] and b"\r\nContent-Length: 3" in seen[0], "headers %r" % seen[0])
    finally:
        s.close()


def test_chunked_and_connection_close_are_not_errors():
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n8\r\n, world!\r\n0\r\n\r\n"
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 13\r\n\r\nHello, world!"
    for body, reconnect in ((chunked, False), (closing, True)):
        s = Server(lambda n, head, b=body: b)
        try:
            rc, r = run(["-c", "2", "-n", "200", s.url()])
            check(rc == 0 and r["errors"]["total"] == 0, "errors on a right server", r)
            check(r["requests"] == 200, "counted %d" % r["requests"], r)
            check((r["reconnects"] > 0) == reconnect, "reconnects %d" % r["reconnects"], r)
        finally:
            s.close()


def test_bad_status_is_counted():
    s = Server(lambda n, head: HELLO if n % 2 else HELLO.replace(b"200 OK", b"500 Internal Server Error"))
    try:
        rc, r = run(["-c", "2", "-n", "200", s.url()])
        check(rc == 1, "exit %d with bad statuses" % rc, r)
        check(r["errors"]["status"] == 100, "status errors %d" % r["errors"]["status"], r)
        check(r["requests"] == 200, "counted %d" % r["requests"], r)
        check(r["latency_us"]["count"] == 100, "only good responses are timed", r)
        check("status 500" in r["first_error"], "first error %r" % r["first_error"], r)
    finally:
        s.close()


def test_wrong_length_is_counted():
    short = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHello, wor"
    s = Server(lambda n, head: short if n % 10 == 0 else HELLO)
    try:
        rc, r = run(["-c", "1", "-n", "100", s.url()])
        check(rc == 1, "exit %d" % rc, r)
        check(r["errors"]["length"] == 10, "length errors %d" % r["errors"]["length"], r)
        rc, r = run(["-c", "1", "-n", "10", "--expect-length", "12", s.url()])
        check(r["errors"]["length"] >= 9, "--expect-length not enforced", r)
    finally:
        s.close()


class Cutting(Server):
    """Answers every fifth request with half a body, then closes."""

    CUT = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello"

    def serve(self, c):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = c.recv(65536)
                    if not data:
                        return
                    buf += data
                _, buf = buf.split(b"\r\n\r\n", 1)
                with self.lock:
                    self.requests += 1
                    n = self.requests
                if n % 5 == 0:
                    c.sendall(self.CUT)
                    return
                c.sendall(HELLO)
        except OSError:
            pass
        finally:
            c.close()


def test_short_body_then_close_is_an_error():
    s = Cutting(None)
    try:
        rc, r = run(["-c", "1", "-n", "50", s.url()])
        check(rc == 1, "exit %d" % rc, r)
        check(r["errors"]["parse"] + r["errors"]["closed"] >= 9, "cut bodies not reported", r)
        check(r["reconnects"] >= 9, "no reconnect after a cut", r)
        check(r["latency_us"]["count"] == 40, "cut responses were timed", r)
    finally:
        s.close()


def test_dropped_connections_are_counted():
    # Closes after every third response without saying so: the requests
    # sent on meanwhile go unanswered.
    s = Server(lambda n, head: HELLO if n % 3 else None)
    try:
        rc, r = run(["-c", "2", "-n", "90", s.url()])
        check(rc == 1, "exit %d" % rc, r)
        check(r["errors"]["closed"] + r["errors"]["read"] + r["errors"]["write"] >= 20, "drops not reported", r)
    finally:
        s.close()


def test_garbage_is_a_parse_error():
    s = Server(lambda n, head: b"HTTP/1.1 2oo OK\r\n\r\n")
    try:
        rc, r = run(["-c", "1", "-n", "5", s.url()])
        check(rc == 1 and r["errors"]["parse"] >= 1, "garbage not reported", r)
        check(r["latency_us"]["count"] == 0, "garbage was timed", r)
    finally:
        s.close()


def test_refused_connections_exit_2():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    rc, r = run(["-c", "2", "-d", "1", "http://127.0.0.1:%d/" % port])
    check(rc == 2 and r["errors"]["connect"] > 0 and r["requests"] == 0, "refused connections", r)


def test_host_names_resolve_and_connect():
    # "localhost" is answered by the resolver without a query (::1, then
    # 127.0.0.1); the server listens on 127.0.0.1 only, so Happy Eyeballs
    # must move on from the refused ::1 on every connection.
    seen = []

    def respond(n, head):
        seen.append(head)
        return HELLO

    s = Server(respond)
    try:
        rc, r = run(["-c", "4", "-t", "2", "-n", "400", "http://localhost:%d/" % s.port])
        check(rc == 0 and r["errors"]["total"] == 0, "errors through a host name", r)
        check(r["requests"] == 400 and s.requests == 400, "counted %d, server read %d" % (r["requests"], s.requests), r)
        check(b"Host: localhost:%d" % s.port in seen[0].split(b"\r\n"), "Host header %r" % seen[0])
    finally:
        s.close()
    rc, r = run(["-c", "1", "-d", "1", "http://no-such-host.invalid/"])
    check(rc == 2 and r["errors"]["connect"] > 0, "an unknown host is a connect error", r)


def test_https_with_the_engines_tls_client():
    with tempfile.TemporaryDirectory() as tmp:
        certs = make_certs(tmp)
        s = TLSServer(lambda n, head: HELLO, certs)
        try:
            ca = os.path.join(certs, "ca.pem")
            rc, r = run(["-c", "3", "-n", "300", "--pipeline", "4", "--cacert", ca, s.url()])
            check(rc == 0 and r["errors"]["total"] == 0, "errors over TLS", r)
            check(r["requests"] == 300 and s.requests == 300, "counted %d over TLS" % r["requests"], r)
            check(s.handshakes == 3, "%d handshakes for 3 connections" % s.handshakes, r)
            # The system store does not know the test CA: every handshake fails.
            rc, r = run(["-c", "1", "-d", "1", s.url()])
            check(rc == 2 and r["errors"]["connect"] > 0 and "TLS" in r["first_error"], "an untrusted CA", r)
            rc, r = run(["-c", "1", "-n", "10", "--insecure", s.url()])
            check(rc == 0 and r["requests"] == 10, "--insecure", r)
        finally:
            s.close()
        # A certificate for other.test, trusted, but dialled as localhost.
        s = TLSServer(lambda n, head: HELLO, certs, name="other")
        try:
            rc, r = run(["-c", "1", "-d", "1", "--cacert", os.path.join(certs, "ca.pem"), s.url()])
            check(rc == 2 and r["errors"]["connect"] > 0 and r["requests"] == 0, "a wrong host name was accepted", r)
        finally:
            s.close()


def test_latency_is_measured_not_guessed():
    s = Server(lambda n, head: HELLO, delay=0.02)
    try:
        rc, r = run(["-c", "2", "-n", "20", s.url()])
        check(rc == 0, "exit %d" % rc, r)
        check(r["latency_us"]["min"] >= 20000, "a 20 ms server timed at %.0f us" % r["latency_us"]["min"], r)
    finally:
        s.close()


def test_rate_mode_corrects_for_coordinated_omission():
    # One connection at 100 req/s for 2 s; the server stalls 0.5 s on the
    # 20th request. The ~50 requests due during the stall are timed from
    # when they were due, so the top tenth of latencies is large. A client
    # that timed from the actual send would see one slow request only.
    s = Server(lambda n, head: HELLO, stall=(20, 0.5))
    try:
        rc, r = run(["-c", "1", "-d", "2", "--rate", "100", s.url()])
        check(rc == 0, "exit %d" % rc, r)
        check(r["requests"] <= 201, "rate exceeded: %d requests" % r["requests"], r)
        check(r["latency_us"]["p90"] >= 200000, "stall hidden: p90 %.0f us" % r["latency_us"]["p90"], r)
        check(r["latency_us"]["max"] >= 450000, "stall missing: max %.0f us" % r["latency_us"]["max"], r)
    finally:
        s.close()


def ws_server(port_box, ready, stop, mangle, ping, tls=None):
    import asyncio
    import logging
    import websockets

    logging.getLogger("websockets").setLevel(logging.CRITICAL)

    async def echo(ws, path=None):
        async for m in ws:
            await ws.send(m[:-1] if mangle else m)

    async def main():
        async with websockets.serve(echo, "127.0.0.1", 0, compression="deflate", ping_interval=ping,
                                    ping_timeout=1 if ping else None, ssl=tls) as srv:
            port_box.append(srv.sockets[0].getsockname()[1])
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.05)

    asyncio.run(main())


def with_ws_server(mangle, fn, ping=None, tls=None):
    box, ready, stop = [], threading.Event(), threading.Event()
    t = threading.Thread(target=ws_server, args=(box, ready, stop, mangle, ping, tls), daemon=True)
    t.start()
    check(ready.wait(10), "websockets server did not start")
    try:
        fn(("wss://localhost:%d/ws" if tls else "ws://127.0.0.1:%d/ws") % box[0])
    finally:
        stop.set()
        t.join(5)


def test_websocket_echo():
    # python3-websockets (make deps) is the echo server here.
    def right(url):
        for extra in ([], ["--ws-deflate"]):
            rc, r = run(["-c", "2", "-n", "300", "--ws-size", "64"] + extra + [url])
            check(rc == 0 and r["errors"]["total"] == 0, "echo errors %s" % extra, r)
            check(r["requests"] == 300 and r["mode"] == "ws", "counted %d" % r["requests"], r)
        rc, r = run(["-c", "1", "-n", "20", "--ws-size", "70000", url])
        check(rc == 0 and r["requests"] == 20, "large messages", r)

    def wrong(url):
        rc, r = run(["-c", "1", "-n", "10", "--ws-size", "64", url])
        check(rc == 1 and r["errors"]["length"] == 10, "a wrong echo went unnoticed", r)

    def pinged(url):
        # The server pings every 20 ms and drops a client that does not
        # answer within 1 s: squall-load must pong while it echoes.
        rc, r = run(["-c", "2", "-d", "1.5", "--ws-size", "64", url])
        check(rc == 0 and r["errors"]["total"] == 0 and r["reconnects"] == 0, "pings not answered", r)

    with_ws_server(False, right)
    with_ws_server(True, wrong)
    with_ws_server(False, pinged, ping=0.02)


def test_websocket_echo_over_tls():
    with tempfile.TemporaryDirectory() as tmp:
        certs = make_certs(tmp)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(certs, "server.pem"), os.path.join(certs, "server.key"))

        def echo(url):
            rc, r = run(["-c", "2", "-n", "200", "--ws-size", "64", "--cacert", os.path.join(certs, "ca.pem"), url])
            check(rc == 0 and r["errors"]["total"] == 0 and r["requests"] == 200, "wss echo", r)

        with_ws_server(False, echo, tls=ctx)


def main():
    tests = [(k, v) for k, v in sorted(globals().items()) if k.startswith("test_")]
    for name, fn in tests:
        t0 = time.monotonic()
        fn()
        print("ok %s (%.1f s)" % (name, time.monotonic() - t0), flush=True)
    print("all %d squall-load tests passed" % len(tests))


if __name__ == "__main__":
    main()
