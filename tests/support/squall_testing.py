"""Helpers shared by squall's Python end-to-end tests (run by ctest with
Debian's /usr/bin/python3).

    import sys, pathlib
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
    from squall_testing import Checks, ServerProcess, free_port, wait_listening

ServerProcess starts a server binary on a free loopback port and waits
until it accepts; stop() sends SIGTERM and returns (exit code, stdout);
kill() (also on leaving a `with` block) makes sure nothing is left
running. Checks counts named checks and prints "N passed, M failed".
Every wait here is a guard against a hung server, never a measure.
"""

import os
import signal
import socket
import subprocess
import time

GUARD = 15.0  # seconds


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_listening(port, proc=None, timeout=GUARD, host="127.0.0.1"):
    """Returns once something accepts on host:port; raises when `proc`
    exits first or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("server exited early with %d" % proc.returncode)
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("server did not start listening on %s:%d" % (host, port))


def wait_for(pred, timeout=GUARD, step=0.02):
    """True once pred() is; False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return False


def rss(pid):
    """The resident set size of process `pid`, in bytes (0 once it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return 0


def established(port):
    """How many TCP connections whose local port is `port` are established
    (a server's side of its connections, by ss)."""
    out = subprocess.run(["ss", "-Htn", "state", "established", "( sport = :%d )" % port],
                         capture_output=True, text=True).stdout
    return len([l for l in out.splitlines() if l.strip()])


def children_of(pid):
    """The process ids whose parent is `pid`, in order."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return sorted(int(x) for x in out.split())


def sanitizer_reports(lines):
    """The lines of a server's output that an ASan or UBSan report wrote."""
    return [l for l in lines if "Sanitizer" in l or "runtime error:" in l]


def kill_tree(proc):
    """SIGKILL to the children of `proc` (pre-forked workers), then to it."""
    for pid in children_of(proc.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if proc.poll() is None:
        proc.kill()
        proc.wait()


class ServerProcess:
    """`binary --port P *args` on a free port P, listening when built."""

    def __init__(self, binary, *args, capture=False, port=None, env=None):
        self.port = port or free_port()
        out = subprocess.PIPE if capture else None
        self.proc = subprocess.Popen([binary, "--port", str(self.port), *args], stdout=out, text=True, env=env)
        try:
            wait_listening(self.port, self.proc)
        except Exception:
            self.kill()
            raise

    def stop(self, timeout=20):
        """SIGTERM, then (exit code, captured stdout)."""
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out or ""

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


class Checks:
    """Named pass/fail checks; report() prints the tally and gives the
    exit status (non-zero when one failed or none ran)."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def __call__(self, name, ok, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: %s %s" % (name, detail), flush=True)
        return ok

    def report(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed or not self.passed else 0
