#!/usr/bin/python3
"""Real HTTP clients against examples/hello: Python's http.client and curl.

Usage: clients_test.py path/to/hello

Starts hello on a free loopback port, runs each check (keep-alive, POST
with a body, chunked uploads, HEAD, Expect: 100-continue), stops the
server with SIGTERM and prints "N passed, M failed"; the exit status is
non-zero when a check failed. Registered with ctest in tests/CMakeLists.txt.
"""

import http.client
import os
import pathlib
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from squall_testing import free_port, wait_listening  # noqa: E402

HELLO = b"Hello, world!"
TIMEOUT = 15  # seconds: a guard against a hung server, never a measure


class checks:
    def __init__(self, port, workdir):
        self.port = port
        self.workdir = workdir
        self.url = f"http://127.0.0.1:{port}"

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)

    # --- Python's http.client ----------------------------------------------

    def test_http_client_keep_alive(self):
        c = self.conn()
        first_sock = None
        for path, want in [("/", HELLO), ("/json", b'{"message":"Hello, world!"}'), ("/", HELLO)]:
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            assert r.status == 200, f"{path}: {r.status}"
            assert body == want, f"{path}: {body!r}"
            assert not r.will_close, f"{path}: the server asked to close"
            first_sock = first_sock or c.sock
            assert c.sock is first_sock, "http.client had to reconnect"
        c.close()

    def test_http_client_post_echo(self):
        c = self.conn()
        body = os.urandom(50_000)
        c.request("POST", "/echo", body=body, headers={"Content-Type": "application/octet-stream"})
        r = c.getresponse()
        got = r.read()
        assert r.status == 200, r.status
        assert got == body, f"echo differs ({len(got)} bytes back)"
        assert r.getheader("Content-Type") == "application/octet-stream", r.getheader("Content-Type")
        # The same connection goes on after a body.
        c.request("GET", "/")
        assert c.getresponse().read() == HELLO
        c.close()

    def test_http_client_chunked_upload(self):
        c = self.conn()
        pieces = [b"first,", os.urandom(3000), b"", b"last"]  # http.client skips the empty one
        c.request("POST", "/echo", body=iter(pieces), encode_chunked=True,
                  headers={"Transfer-Encoding": "chunked", "Content-Type": "application/octet-stream"})
        r = c.getresponse()
        got = r.read()
        assert r.status == 200, r.status
        assert got == b"".join(pieces), f"chunked echo differs ({len(got)} bytes back)"
        c.request("GET", "/")
        assert c.getresponse().read() == HELLO
        c.close()

    def test_http_client_head(self):
        c = self.conn()
        c.request("HEAD", "/")
        r = c.getresponse()
        assert r.status == 200, r.status
        assert r.getheader("Content-Length") == str(len(HELLO)), r.getheader("Content-Length")
        assert r.read() == b"", "HEAD response with a body"
        # No stray body bytes: the next response on the connection is intact.
        c.request("GET", "/")
        r = c.getresponse()
        assert r.status == 200 and r.read() == HELLO
        c.close()

    def test_http_client_expect_100_continue(self):
        c = self.conn()
        body = os.urandom(4096)
        c.putrequest("POST", "/echo")
        c.putheader("Content-Length", str(len(body)))
        c.putheader("Expect", "100-continue")
        c.endheaders()
        # The interim response comes before any body byte is sent.
        ready, _, _ = select.select([c.sock], [], [], TIMEOUT)
        assert ready, "no 100 Continue"
        interim = c.sock.recv(64, socket.MSG_PEEK)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n"), interim
        c.send(body)
        r = c.getresponse()  # skips the 100
        got = r.read()
        assert r.status == 200, r.status
        assert got == body, "echo differs"
        c.close()

    # --- curl --------------------------------------------------------------------

    def curl(self, *args):
        p = subprocess.run(["curl", "-sS", "--max-time", str(TIMEOUT), *args], capture_output=True, timeout=TIMEOUT + 5)
        assert p.returncode == 0, f"curl exited with {p.returncode}: {p.stderr.decode(errors='replace')[-500:]}"
        return p.stdout, p.stderr.decode(errors="replace")

    def payload_file(self, name, size):
        path = os.path.join(self.workdir, name)
        data = os.urandom(size)
        with open(path, "wb") as f:
            f.write(data)
        return path, data

    def test_curl_keep_alive(self):
        out, err = self.curl("--verbose", f"{self.url}/", f"{self.url}/json")
        assert out == HELLO + b'{"message":"Hello, world!"}', out
        assert re.search(r"Re-using existing connection", err), "curl did not re-use the connection:\n" + err
        assert err.count("Connected to") == 1, "curl connected more than once:\n" + err

    def test_curl_chunked_upload(self):
        path, data = self.payload_file("chunked.bin", 200_000)
        out, err = self.curl("--verbose", "-H", "Transfer-Encoding: chunked", "-H", "Content-Type: application/octet-stream",
                             "--data-binary", f"@{path}", f"{self.url}/echo")
        assert re.search(r"^> Transfer-Encoding: chunked", err, re.M), "curl did not send chunked:\n" + err
        assert out == data, f"chunked echo differs ({len(out)} bytes back)"

    def test_curl_expect_100_continue(self):
        path, data = self.payload_file("expect.bin", 5000)
        out, err = self.curl("--verbose", "-H", "Expect: 100-continue", "-H", "Content-Type: application/octet-stream",
                             "--data-binary", f"@{path}", f"{self.url}/echo")
        assert re.search(r"^> Expect: 100-continue", err, re.M), "curl sent no Expect:\n" + err
        assert re.search(r"^< HTTP/1.1 100 Continue", err, re.M), "no 100 Continue:\n" + err
        assert "Done waiting for 100-continue" not in err, "curl gave up waiting for the 100:\n" + err
        assert out == data, f"echo differs ({len(out)} bytes back)"

    def test_curl_http2_upgrade_is_ignored(self):
        # curl offers h2c on plain http://; the server answers in HTTP/1.1
        # and the second URL must be served too (on this connection or a new one).
        out, err = self.curl("--verbose", "--http2", f"{self.url}/", f"{self.url}/json")
        assert re.search(r"^> Upgrade: h2c", err, re.M), "curl offered no upgrade:\n" + err
        assert out == HELLO + b'{"message":"Hello, world!"}', out
        assert not re.search(r"^< HTTP/1.1 [45]", err, re.M), "an error answer:\n" + err

    def test_curl_head(self):
        out, err = self.curl("-I", f"{self.url}/")
        head = out.decode()
        assert head.startswith("HTTP/1.1 200 OK\r\n"), head
        assert re.search(r"^Content-Length: 13\r$", head, re.M), head
        assert head.endswith("\r\n\r\n"), "a body after the HEAD response: " + repr(head)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    if not shutil.which("curl"):
        print("curl is not installed (make deps)")
        return 1
    port = free_port()
    proc = subprocess.Popen([sys.argv[1], "--port", str(port), "--threads", "1", "--drain", "1"])
    passed = failed = 0
    try:
        wait_listening(port, proc, TIMEOUT)
        with tempfile.TemporaryDirectory() as workdir:
            c = checks(port, workdir)
            for name in sorted(n for n in dir(c) if n.startswith("test_")):
                try:
                    getattr(c, name)()
                    passed += 1
                    print(f"ok   {name}")
                except Exception as e:  # noqa: BLE001 - report every failure and go on
                    failed += 1
                    print(f"FAIL {name}: {type(e).__name__}: {e}")
        if proc.poll() is not None:
            failed += 1
            print(f"FAIL hello died during the checks (exit {proc.returncode})")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=TIMEOUT)
                if code != 0:
                    failed += 1
                    print(f"FAIL hello exited with {code} after SIGTERM")
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                failed += 1
                print("FAIL hello did not stop on SIGTERM")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
