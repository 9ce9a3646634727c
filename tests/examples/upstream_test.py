"""examples/upstream (an async handler calling a service with the HTTP
client) against a scripted Python upstream: answers pass through; an
upstream that breaks HTTP or cannot be reached gives 502, one too slow
gives 504. Driven by Python's http.client.

    upstream_test.py BUILD/examples/upstream
"""
import http.client
import os
import socketserver
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from squall_testing import Checks, ServerProcess, free_port  # noqa: E402


class Upstream(socketserver.BaseRequestHandler):
    def handle(self):
        data = b""
        while b"\r\n\r\n" not in data:
            got = self.request.recv(4096)
            if not got:
                return
            data += got
        head, _, body = data.partition(b"\r\n\r\n")
        line = head.split(b"\r\n")[0].decode()
        length = 0
        for f in head.split(b"\r\n")[1:]:
            if f.lower().startswith(b"content-length:"):
                length = int(f.split(b":")[1])
        while len(body) < length:
            body += self.request.recv(4096)
        method, target, _ = line.split(" ")
        if target.startswith("/slow"):
            time.sleep(3)
        if target.startswith("/broken"):
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
            return
        answer = ("%s %s %s" % (method, target, body.decode())).encode()
        self.request.sendall(b"HTTP/1.1 201 Made\r\nContent-Type: text/x-test\r\nContent-Length: %d\r\n"
                             b"Connection: close\r\n\r\n" % len(answer) + answer)


def request(port, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    c.request(method, path, body=body)
    r = c.getresponse()
    out = (r.status, r.getheader("Content-Type"), r.read())
    c.close()
    return out


def main():
    checks = Checks()
    up = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Upstream)
    up.daemon_threads = True
    threading.Thread(target=up.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % up.server_address[1]
    with ServerProcess(sys.argv[1], "--upstream", base, "--timeout", "1") as s:
        status, ctype, body = request(s.port, "GET", "/a/b?q=1")
        checks("GET passes through (%d %s %r)" % (status, ctype, body),
               status == 201 and ctype == "text/x-test" and body == b"GET /a/b?q=1 ")
        status, _, body = request(s.port, "POST", "/form", body=b"x=1")
        checks("POST body forwarded (%r)" % body, status == 201 and body == b"POST /form x=1")
        status, _, _ = request(s.port, "GET", "/broken")
        checks("an upstream breaking HTTP gives 502 (%d)" % status, status == 502)
        status, _, _ = request(s.port, "GET", "/slow")
        checks("a slow upstream gives 504 (%d)" % status, status == 504)
    with ServerProcess(sys.argv[1], "--upstream", "http://127.0.0.1:%d" % free_port()) as s:
        status, _, _ = request(s.port, "GET", "/")
        checks("an unreachable upstream gives 502 (%d)" % status, status == 502)
    up.shutdown()
    sys.exit(checks.report())


main()
