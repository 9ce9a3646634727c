#!/usr/bin/python3
"""squall-server's binary upgrade (SIGUSR2) looped under load: no request
may be lost, however often the masters hand the sockets over.

Usage: upgrade_test.py SQUALL_SERVER [UPGRADES]

Four client threads send GET /whoami, each on a fresh connection, as fast
as they can, while the test upgrades the server UPGRADES times (default
6): SIGUSR2 to the current master, which starts a new master from the
binary on disk with the listening socket inherited; the new one asks the
old one to drain once its children run. The test is this process tree's
subreaper, so each new master is reparented here and can be waited for.
Checks, after each round: the old master exited 0, the new master's
children answer; at the end: zero failed requests (a connection refused,
reset or closed without an answer), and the last master stops cleanly.
The loop is bounded by a guard on each round, never a measure of speed.
Prints "N passed, M failed"; exits 1 on any failure.
"""

import ctypes
import http.client
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from squall_testing import (GUARD, Checks, children_of, free_port,  # noqa: E402
                            sanitizer_reports, wait_for, wait_listening)

check = Checks()
PR_SET_CHILD_SUBREAPER = 36


def whoami(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=GUARD)
    try:
        c.request("GET", "/whoami")
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise OSError("status %d" % r.status)
        return json.loads(body)
    finally:
        c.close()


def reap(pid, timeout=GUARD):
    """The exit status of our child (or adopted orphan) `pid`, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    return None


def main():
    binary = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    libc = ctypes.CDLL(None, use_errno=True)
    check("the test becomes the subreaper of its tree", libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="squall-upgrade-")
    out = open(os.path.join(tmp, "server.log"), "w+")
    first = subprocess.Popen([binary, "--port", str(port), "--db", os.path.join(tmp, "todo.db"), "--processes", "2",
                              "--lame-duck", "0.2", "--drain", "5"], stdout=out, stderr=subprocess.STDOUT)
    master = first.pid
    masters = [master]
    stop = threading.Event()
    tally = {"ok": 0, "failed": 0, "errors": []}
    lock = threading.Lock()

    def load():
        while not stop.is_set():
            try:
                whoami(port)
                with lock:
                    tally["ok"] += 1
            except (OSError, http.client.HTTPException, ValueError) as e:
                with lock:
                    tally["failed"] += 1
                    tally["errors"].append("%.3f %r" % (time.monotonic(), e))

    threads = []
    try:
        wait_listening(port, first)
        check("started: 2 children", wait_for(lambda: len(children_of(master)) == 2))
        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        for n in range(rounds):
            old_kids = set(children_of(master))
            os.kill(master, signal.SIGUSR2)
            # The new master is a child of the old one until the old one
            # exits, then ours (the subreaper's).
            new = []

            def found():
                known = old_kids | set(masters)
                new[:] = sorted({p for p in children_of(master) + children_of(os.getpid()) if p not in known})
                return bool(new)
            wait_for(found)
            if not check("round %d: a new master was started" % n, len(new) == 1, str(new)):
                break
            new_master = new[0]
            code = first.wait(GUARD) if master == first.pid else reap(master)
            check("round %d: the old master drained and exited 0" % n, code == 0, str(code))
            check("round %d: the new master runs 2 children" % n,
                  wait_for(lambda: len(children_of(new_master)) == 2))
            master = new_master
            masters.append(master)
            time.sleep(0.2)  # load on the new children before the next round
        stop.set()
        for t in threads:
            t.join(GUARD)
        print("%d upgrades: %d requests served, %d failed" % (len(masters) - 1, tally["ok"], tally["failed"]))
        for e in tally["errors"][:10]:
            print("  failed:", e)
        check("no request failed across the upgrades", tally["failed"] == 0 and tally["ok"] > 0,
              "%d failed of %d" % (tally["failed"], tally["ok"] + tally["failed"]))
        os.kill(master, signal.SIGTERM)
        check("the last master stops cleanly", reap(master) == 0)
    finally:
        stop.set()
        for t in threads:
            t.join(GUARD)
        for pid in masters:
            for kid in children_of(pid):
                try:
                    os.kill(kid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        out.seek(0)
        log = out.read().splitlines()
        if check.failed:
            print("the servers' log, last lines:\n  " + "\n  ".join(log[-25:]))
        bad = sanitizer_reports(log)
        check("no sanitizer report", not bad, "\n".join(bad[:5]))
        out.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
