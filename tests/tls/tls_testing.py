"""Shared by the TLS end-to-end tests (https_test.py, scan_test.py,
wss_test.py): their checks' tally and the test certificates.

check(cond, what) prints an ok/FAIL line and counts; finish() prints the
verdict and exits 1 when a check failed. make_certs(tmp) makes the CA and
server certificates of make_certs.sh under tmp/certs and returns that
directory. free_port and wait_listening come from tests/support.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from squall_testing import free_port, wait_listening  # noqa: E402,F401

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def finish():
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all checks passed")


def make_certs(tmp):
    certs = os.path.join(tmp, "certs")
    subprocess.run([os.path.join(HERE, "make_certs.sh"), certs], check=True, timeout=60)
    return certs
