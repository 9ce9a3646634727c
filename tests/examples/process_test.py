#!/usr/bin/python3
"""squall-server's process model (engine/process.hpp,
http/process_server.hpp), end to end over loopback:

- spread: 4 children, 64 concurrent connections, each child 25% +- 10%;
- kill -9 of a child: a new one with the same task id within a second,
  and no connection fails meanwhile;
- a child that cannot start (a database it cannot open): the master stops
  at the restart cap with a clear message and exit code 1;
- SIGTERM with a lame duck: /healthz 503 while new connections are still
  served, Connection: close on a keep-alive connection, exit 0; a
  WebSocket open through the lame duck, then closed with 1001;
- --host localhost: served on 127.0.0.1 and ::1;
- systemd: socket activation (LISTEN_FDS/LISTEN_PID on fd 3) and
  READY=1 on NOTIFY_SOCKET;
- SIGUSR1 reopens --log-file after a logrotate-style rename;
- SIGHUP reloads the TLS certificates in every child;
- SIGUSR2: a new master from the binary on disk takes the sockets over,
  the old one drains and exits, no request fails.

Usage: process_test.py SQUALL_SERVER
"""

import http.client
import json
import os
import pathlib
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from squall_testing import (GUARD, Checks, children_of, free_port, kill_tree,  # noqa: E402
                            sanitizer_reports, wait_for, wait_listening)

check = Checks()


def whoami(port, conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=GUARD)
    c.request("GET", "/whoami")
    r = c.getresponse()
    body = json.loads(r.read())
    if conn is None:
        c.close()
    return body


def dead(pid):
    try:
        return open("/proc/%d/stat" % pid).read().rsplit(") ", 1)[1].startswith(("Z", "X"))
    except OSError:
        return True


class Server:
    def __init__(self, binary, *args, port=None, env=None, prefix=(), pass_fds=(), preexec=None):
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="squall-proc-")
        db = () if "--db" in args else ("--db", os.path.join(self.dir, "todo.db"))
        cmd = [*prefix, binary, "--port", str(self.port), *db, *args]
        # spdlog writes to stdout: the log is read from there.
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                     pass_fds=pass_fds, preexec_fn=preexec)
        self.err = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stdout:
            self.err.append(line)

    def ready(self, n):
        wait_listening(self.port, self.proc)
        return wait_for(lambda: len(children_of(self.proc.pid)) == n)

    def stop(self, timeout=GUARD):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        bad = sanitizer_reports(self.err)
        check("no sanitizer report", not bad, "".join(bad[:5]))
        kill_tree(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def test_spread(binary):
    s = Server(binary, "--processes", "4")
    try:
        check("spread: 4 children", s.ready(4))
        conns = [http.client.HTTPConnection("127.0.0.1", s.port, timeout=GUARD) for _ in range(64)]
        barrier = threading.Barrier(64)
        ids = [None] * 64

        def one(i):
            conns[i].connect()
            barrier.wait()
            ids[i] = whoami(s.port, conns[i])["task_id"]

        threads = [threading.Thread(target=one, args=(i,)) for i in range(64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(GUARD)
        counts = [ids.count(k) for k in range(4)]
        print("spread over 4 children, 64 connections:", counts)
        check("spread: each child 25% +- 10% (10..22 of 64)", all(10 <= c <= 22 for c in counts), str(counts))
        for c in conns:
            c.close()
    finally:
        s.kill()


def test_kill_child(binary):
    s = Server(binary, "--processes", "2")
    try:
        check("kill -9: 2 children", s.ready(2))
        before = children_of(s.proc.pid)
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        t0 = time.monotonic()
        # A connection the kernel hands to the child while it is being torn
        # down (its armed accept completes in its exit) is reset with it:
        # the count starts once the child is dead, before its replacement.
        check("kill -9: the child died", wait_for(lambda: dead(victim), step=0.001))
        failures, served = 0, 0
        replaced_at = None
        # New connections, one after another, while the child is replaced.
        while time.monotonic() - t0 < 1.5:
            try:
                whoami(s.port)
                served += 1
            except OSError as e:
                print("kill -9: failed:", repr(e), time.monotonic() - t0)
                failures += 1
            kids = children_of(s.proc.pid)
            if replaced_at is None and len(kids) == 2 and victim not in kids:
                replaced_at = time.monotonic() - t0
        print("kill -9: replaced after %s s, %d served, %d failed" % (replaced_at, served, failures))
        check("kill -9: replaced within a second", replaced_at is not None and replaced_at < 1.0, str(replaced_at))
        check("kill -9: no failed connection", failures == 0 and served > 0, "%d failed" % failures)
        check("kill -9: the master says so", wait_for(lambda: any("killed by signal 9" in l for l in s.err)))
        check("kill -9: the new child serves", len({whoami(s.port)["pid"] for _ in range(6)}) == 2)
    finally:
        s.kill()


def test_crash_loop(binary):
    s = Server(binary, "--processes", "2", "--max-restarts", "3", "--db", "/nonexistent/dir/todo.db")
    try:
        code = s.proc.wait(GUARD)
    except subprocess.TimeoutExpired:
        code = None
    text = "".join(s.err)
    check("crash loop: the master gives up with exit 1", code == 1, str(code))
    check("crash loop: a clear message", "reached the cap" in text and "giving up" in text, text[-400:])
    check("crash loop: children were restarted first", text.count("restarting") == 3, str(text.count("restarting")))
    s.kill()


def test_lame_duck(binary):
    s = Server(binary, "--processes", "2", "--lame-duck", "1.5", "--drain", "5")
    try:
        check("lame duck: started", s.ready(2))
        keep = http.client.HTTPConnection("127.0.0.1", s.port, timeout=GUARD)
        keep.request("GET", "/healthz")
        r = keep.getresponse()
        check("healthz: 200 while serving", r.status == 200 and r.read() == b"ok\n")
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=GUARD)
        c.request("GET", "/healthz")
        r = c.getresponse()
        check("healthz: 503 once stopping, on a new connection", r.status == 503, str(r.status))
        r.read()
        keep.request("GET", "/whoami")
        r = keep.getresponse()
        r.read()
        check("lame duck: keep-alive answered with Connection: close",
              r.status == 200 and r.getheader("Connection") == "close", str(r.getheaders()))
        code = s.proc.wait(GUARD)
        check("SIGTERM: the master exits 0 once the children drained", code == 0, str(code))
        refused = False
        try:
            socket.create_connection(("127.0.0.1", s.port), timeout=2).close()
        except OSError:
            refused = True
        check("SIGTERM: the socket is closed afterwards", refused)
    finally:
        s.kill()


def test_systemd(binary):
    port = free_port()
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(128)
    d = tempfile.mkdtemp(prefix="squall-notify-")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(os.path.join(d, "notify"))
    notify.settimeout(GUARD)
    env = dict(os.environ, NOTIFY_SOCKET=os.path.join(d, "notify"), LISTEN_FDS="1")
    fd = lsock.fileno()

    def to_fd3():
        os.dup2(fd, 3)

    # LISTEN_PID must be the server's own pid: sh sets it, then execs.
    s = Server(binary, "--processes", "2", port=port, env=env, pass_fds=(3,), preexec=to_fd3,
               prefix=("/bin/sh", "-c", 'LISTEN_PID=$$ exec "$0" "$@"'))
    lsock.close()
    try:
        msg = notify.recv(4096).decode()
        check("systemd: READY=1 with MAINPID", "READY=1" in msg and "MAINPID=%d" % s.proc.pid in msg, msg)
        check("systemd: 2 children", s.ready(2))
        check("systemd: the inherited socket serves", whoami(port)["scheme"] == "http")
        check("systemd: said it inherited", any("inherited" in l for l in s.err))
        s.proc.send_signal(signal.SIGTERM)
        msg = notify.recv(4096).decode()
        check("systemd: STOPPING=1 on SIGTERM", "STOPPING=1" in msg, msg)
        check("systemd: exits 0", s.proc.wait(GUARD) == 0)
    finally:
        s.kill()


def test_log_reopen(binary):
    d = tempfile.mkdtemp(prefix="squall-log-")
    log = os.path.join(d, "access.log")
    s = Server(binary, "--processes", "2", "--access-log", "--log-file", log)
    try:
        check("log file: started", s.ready(2))
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=GUARD)
        c.request("GET", "/?before")
        c.getresponse().read()
        c.close()
        check("log file: the request logged", wait_for(lambda: "/?before" in open(log).read()))
        os.rename(log, log + ".1")  # what logrotate does
        s.proc.send_signal(signal.SIGUSR1)
        time.sleep(0.3)
        for _ in range(4):  # reach both children
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=GUARD)
            c.request("GET", "/?after")
            c.getresponse().read()
            c.close()
        check("log file: SIGUSR1 reopened it",
              wait_for(lambda: os.path.exists(log) and open(log).read().count("/?after") == 4))
        check("log file: the old one kept its lines", "/?after" not in open(log + ".1").read())
    finally:
        s.kill()


def test_binary_upgrade(binary):
    s = Server(binary, "--processes", "2", "--lame-duck", "0.2")
    new_master = None
    try:
        check("upgrade: started", s.ready(2))
        stop = threading.Event()
        tally = {"ok": 0, "failed": 0, "pids": set(), "errors": []}

        def load():
            while not stop.is_set():
                t0 = time.monotonic()
                try:
                    tally["pids"].add(whoami(s.port)["pid"])
                    tally["ok"] += 1
                except OSError as e:
                    tally["failed"] += 1
                    tally["errors"].append("%r after %.3f s" % (e, time.monotonic() - t0))

        t = threading.Thread(target=load)
        t.start()
        time.sleep(0.2)
        old_kids = set(children_of(s.proc.pid))
        s.proc.send_signal(signal.SIGUSR2)
        code = s.proc.wait(GUARD)
        time.sleep(0.3)
        stop.set()
        t.join(GUARD)
        # The new master was the old one's child; it is orphaned now.
        after = whoami(s.port)["pid"]
        new_master = int(open("/proc/%d/stat" % after).read().split(") ")[1].split()[1])
        print("upgrade: %d served, %d failed" % (tally["ok"], tally["failed"]))
        check("upgrade: the old master drained and exited 0", code == 0, str(code))
        check("upgrade: new children serve", after not in old_kids and new_master != s.proc.pid)
        check("upgrade: no request failed", tally["failed"] == 0 and tally["ok"] > 0,
              "%d: %s" % (tally["failed"], "; ".join(tally["errors"][:5])))
    finally:
        s.kill()
        if new_master:
            os.kill(new_master, signal.SIGTERM)
            wait_for(lambda: not os.path.exists("/proc/%d" % new_master) or
                     open("/proc/%d/stat" % new_master).read().split(") ")[1].startswith("Z"))


def test_tls_reload(binary):
    d = tempfile.mkdtemp(prefix="squall-certs-")
    make = pathlib.Path(__file__).resolve().parents[1] / "tls" / "make_certs.sh"
    subprocess.run(["/bin/sh", str(make), d], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    shutil.copy(os.path.join(d, "server.pem"), cert)
    shutil.copy(os.path.join(d, "server.key"), key)
    s = Server(binary, "--processes", "2", "--cert", cert, "--key", key)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    def served_certs(n=8):
        out = set()
        for _ in range(n):
            with socket.create_connection(("127.0.0.1", s.port), timeout=GUARD) as raw:
                with ctx.wrap_socket(raw) as t:
                    out.add(t.getpeercert(binary_form=True))
        return out

    def der(name):
        return ssl.PEM_cert_to_DER_cert(open(os.path.join(d, name)).read().split("-----END CERTIFICATE-----")[0] +
                                        "-----END CERTIFICATE-----\n")
    try:
        check("tls reload: started", s.ready(2))
        check("tls reload: the first certificate", served_certs() == {der("server.pem")})
        shutil.copy(os.path.join(d, "other.pem"), cert)
        shutil.copy(os.path.join(d, "other.key"), key)
        s.proc.send_signal(signal.SIGHUP)
        check("tls reload: every child reloaded",
              wait_for(lambda: sum("certificates reloaded" in l for l in s.err) == 2))
        check("tls reload: every connection gets the new one", served_certs() == {der("other.pem")})
    finally:
        s.kill()
        shutil.rmtree(d, ignore_errors=True)


def test_websocket_going_away(binary):
    """A WebSocket stays open through the lame duck (the balancer still
    sees the server), then gets close 1001 (going away) when the drain
    begins, and the master exits 0."""
    import asyncio
    import websockets

    s = Server(binary, "--processes", "2", "--lame-duck", "2", "--drain", "5")
    seen = {}

    def healthz():
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=GUARD)
        c.request("GET", "/healthz")
        status = c.getresponse().status
        c.close()
        return status

    async def session():
        url = "ws://127.0.0.1:%d/chat/chatsocket" % s.port
        async with websockets.connect(url, ping_interval=None) as ws:
            s.proc.send_signal(signal.SIGTERM)
            seen["503"] = await asyncio.get_running_loop().run_in_executor(
                None, lambda: wait_for(lambda: healthz() == 503))
            # Still in the lame duck: the socket works both ways.
            await ws.send(json.dumps({"body": "during the lame duck"}))
            try:
                while True:
                    m = json.loads(await asyncio.wait_for(ws.recv(), GUARD))
                    if m.get("body") == "during the lame duck":
                        seen["echo"] = True
                        break
            except (websockets.ConnectionClosed, asyncio.TimeoutError):
                pass
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), GUARD)
            except websockets.ConnectionClosed:
                pass
            except asyncio.TimeoutError:
                seen["timeout"] = True
            seen["code"], seen["reason"] = ws.close_code, ws.close_reason

    try:
        check("ws going away: started", s.ready(2))
        asyncio.run(session())
        check("ws going away: /healthz 503 once stopping", seen.get("503"))
        check("ws going away: the socket still works in the lame duck", seen.get("echo"), str(seen))
        check("ws going away: then closed with 1001", seen.get("code") == 1001 and not seen.get("timeout"), str(seen))
        check("ws going away: the master exits 0", s.proc.wait(GUARD) == 0)
    finally:
        s.kill()


def test_host_name(binary):
    """--host takes a name: every address it names (getaddrinfo, as the
    server resolves it) is served."""
    s = Server(binary, "--host", "localhost", "--processes", "2")
    try:
        check("host name: started", s.ready(2))
        addrs = sorted({ai[4][0] for ai in socket.getaddrinfo("localhost", s.port, type=socket.SOCK_STREAM)})
        for a in addrs:
            c = http.client.HTTPConnection(a, s.port, timeout=GUARD)
            check("host name: served on %s" % a, whoami(s.port, c)["remote_ip"] == a)
            c.close()
        check("host name: one listening socket per address",
              sum("squall: serving http://" in l for l in s.err) == 2 * len(addrs), str(addrs))
    finally:
        s.kill()


def main():
    binary = sys.argv[1]
    for t in (test_spread, test_kill_child, test_crash_loop, test_lame_duck, test_websocket_going_away,
              test_host_name, test_systemd, test_log_reopen, test_tls_reload, test_binary_upgrade):
        print("--", t.__name__, flush=True)
        t(binary)
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
