"""End-to-end: examples/hello over HTTPS against real clients.

Usage: https_test.py <path to build/examples/hello>

Makes fresh certificates (tests/tls/make_certs.sh), starts hello with
--cert/--key on a free port and checks, in order:
  - curl --cacert: GET / and POST /echo on one kept-alive connection;
  - Python's ssl + http.client: keep-alive, ALPN http/1.1, TLS 1.3 and 1.2,
    session resumption (tickets) in both versions;
  - bad input, each while a healthy kept-alive client goes on working:
    plain HTTP on the TLS port, random bytes, a ClientHello cut in half
    (then silence), a client that connects and never speaks — each is
    closed by the server (the last two by the handshake deadline);
  - SNI: a second certificate for other.test (--sni) is served to clients
    asking for it;
  - SIGHUP: the certificate files are replaced and re-read; new
    connections get the new certificate, an open connection goes on.
Every process started here is stopped on the way out.
"""
import http.client
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

from tls_testing import check, finish, free_port, make_certs, wait_listening


def context(certs, version=None):
    ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    if version is not None:
        ctx.minimum_version = version
        ctx.maximum_version = version
    return ctx


def closed_by_server(sock, timeout):
    """True once the server has closed (EOF or reset) within timeout."""
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def healthy_request(conn, n):
    conn.request("GET", "/")
    r = conn.getresponse()
    body = r.read()
    return r.status == 200 and body == b"Hello, world!"


def curl_checks(port, certs):
    base = "https://localhost:%d" % port
    out = subprocess.run(
        ["curl", "-sS", "--cacert", os.path.join(certs, "ca.pem"), base + "/",
         "--next", "--cacert", os.path.join(certs, "ca.pem"), "-d", "posted over tls", base + "/echo",
         "-w", "|%{http_code}|%{num_connects}|%{ssl_verify_result}\n"],
        capture_output=True, text=True, timeout=30)
    check(out.returncode == 0, "curl --cacert exits 0 (%s)" % out.stderr.strip())
    check(out.stdout.startswith("Hello, world!"), "curl GET / over HTTPS")
    check("posted over tls|200|0|0" in out.stdout, "curl POST /echo on the same connection: %r" % out.stdout)


def python_checks(port, certs):
    for version, name in [(None, "TLSv1.3"), (ssl.TLSVersion.TLSv1_2, "TLSv1.2")]:
        ctx = context(certs, version)
        conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
        ok = all(healthy_request(conn, i) for i in range(3))
        conn.request("POST", "/echo", body=b"x" * 100000)
        r = conn.getresponse()
        echoed = r.read()
        check(ok and r.status == 200 and echoed == b"x" * 100000, "http.client keep-alive GET x3 + 100 KB POST (%s)" % name)
        check(conn.sock.version() == name, "negotiated %s (got %s)" % (name, conn.sock.version()))
        check(conn.sock.selected_alpn_protocol() == "http/1.1", "ALPN http/1.1 (%s)" % name)
        cipher = conn.sock.cipher()[0]
        check("GCM" in cipher or "CHACHA20" in cipher, "an AEAD suite (%s: %s)" % (name, cipher))
        session = conn.sock.session
        conn.close()
        # Resumption: a new connection offering the saved session (ticket).
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        tls = ctx.wrap_socket(sock, server_hostname="localhost", session=session)
        conn2 = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
        conn2.sock = tls
        ok2 = healthy_request(conn2, 0)
        check(ok2 and tls.session_reused, "session resumed with a ticket (%s)" % name)
        conn2.close()


def bad_input_checks(port, certs):
    ctx = context(certs)
    healthy = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
    check(healthy_request(healthy, 0), "healthy client before the bad ones")

    def raw():
        return socket.create_connection(("127.0.0.1", port), timeout=10)

    s = raw()
    s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    check(closed_by_server(s, 5), "plain HTTP on the TLS port is closed")
    s.close()
    check(healthy_request(healthy, 1), "healthy client after plain HTTP")

    s = raw()
    s.sendall(random.Random(1).randbytes(5000))
    check(closed_by_server(s, 5), "random bytes are closed")
    s.close()
    check(healthy_request(healthy, 2), "healthy client after random bytes")

    # A real ClientHello, captured from Python's ssl through memory BIOs.
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, outg, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outg.read()
    check(len(hello) > 100 and hello[0] == 0x16, "captured a ClientHello (%d bytes)" % len(hello))
    s = raw()
    s.sendall(hello[: len(hello) // 2])
    started = time.monotonic()
    check(closed_by_server(s, 10), "a ClientHello cut in half is closed by the handshake deadline")
    s.close()
    check(healthy_request(healthy, 3), "healthy client after the half handshake")

    s = raw()
    check(closed_by_server(s, 10), "a client that never speaks is closed by the handshake deadline")
    s.close()
    print("     (deadline waits took %.1f s)" % (time.monotonic() - started))

    # The first half of a handshake, then the client hangs up.
    s = raw()
    s.sendall(hello[: len(hello) // 2])
    s.close()
    check(healthy_request(healthy, 4), "healthy client after a hang-up mid-handshake")
    healthy.close()


def peer_name(port, certs, host):
    ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname=host) as t:
            subject = dict(x[0] for x in t.getpeercert()["subject"])
            return subject.get("commonName")


def main():
    hello = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="squall-https-test-")
    procs = []
    try:
        certs = make_certs(tmp)
        live = os.path.join(tmp, "live")
        os.mkdir(live)
        shutil.copy(os.path.join(certs, "server.pem"), os.path.join(live, "cert.pem"))
        shutil.copy(os.path.join(certs, "server.key"), os.path.join(live, "key.pem"))
        port = free_port()
        proc = subprocess.Popen(
            [hello, "--port", str(port), "--threads", "2",
             "--cert", os.path.join(live, "cert.pem"), "--key", os.path.join(live, "key.pem"),
             "--sni", "other.test:%s:%s" % (os.path.join(certs, "other.pem"), os.path.join(certs, "other.key")),
             "--handshake-timeout", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        procs.append(proc)
        wait_listening(port, proc)

        curl_checks(port, certs)
        python_checks(port, certs)
        bad_input_checks(port, certs)

        check(peer_name(port, certs, "other.test") == "other.test", "SNI other.test gets its own certificate")
        check(peer_name(port, certs, "localhost") == "localhost", "SNI localhost gets the default certificate")

        # SIGHUP: swap the files under the server, then reload.
        ctx = context(certs)
        before = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
        check(healthy_request(before, 0), "a connection opened before the reload")
        shutil.copy(os.path.join(certs, "other.pem"), os.path.join(live, "cert.pem"))
        shutil.copy(os.path.join(certs, "other.key"), os.path.join(live, "key.pem"))
        proc.send_signal(signal.SIGHUP)
        got = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                got = peer_name(port, certs, "localhost")
            except ssl.SSLCertVerificationError:
                got = "other"  # the new certificate does not name localhost
                break
            time.sleep(0.1)
        check(got == "other", "after SIGHUP new connections get the new certificate")
        check(healthy_request(before, 1), "the connection opened before the reload goes on")
        before.close()

        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        log = out.decode(errors="replace")
        check(proc.returncode == 0, "server exits 0 on SIGTERM (%s)" % proc.returncode)
        if proc.returncode != 0:
            print(log[-6000:])
        check("listening on https://" in log, "the log names https")
        check("TLS certificates reloaded" in log, "the log records the reload")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
