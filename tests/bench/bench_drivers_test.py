#!/usr/bin/python3
"""Tiny runs of make bench-instructions and make bench-memory, so that a
change that breaks a driver shows up in the test suite, not at the next
benchmark.

Usage: /usr/bin/python3 tests/bench/bench_drivers_test.py BUILD_DIR

bench/instructions_bench.py counts GET / on examples/hello and nginx
under cachegrind with a few hundred requests (one count, no CPU run);
bench/memory_bench.py opens 200 connections to each. The checks are on
the reports' shape and on sanity bounds that no correct run misses (an
HTTP answer costs more than a thousand instructions and less than a
million; a connection holds some memory, less than 64 KiB), never on
speed. Each driver checks every answer itself and fails on any error.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
failures = []
passed = []


def check(name, ok, detail=""):
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, "" if ok else ": %s" % detail), flush=True)
    (passed if ok else failures).append(name)


def run(script, *args, timeout=600):
    out = tempfile.NamedTemporaryFile(suffix=".md", delete=False).name
    p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", script), "--build", BUILD, "--out", out]
                       + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    text = p.stdout.decode(errors="replace")
    check("%s exits 0" % script, p.returncode == 0, text[-2000:])
    report = open(out).read() if os.path.exists(out) else ""
    if os.path.exists(out):
        os.unlink(out)
    return report


def instructions():
    report = run("instructions_bench.py", "--servers", "squall,nginx", "--cases", "get", "--short", "200",
                 "--long", "600", "--repeat", "1", "--no-cpu")
    m = re.search(r"^\| GET /, 50 conns, depth 1 \| ([\d,]+) \| ([\d,]+) \| ([\d.]+)×", report, re.M)
    check("instructions row for GET /", m is not None, report[:1500])
    if m:
        squall, nginx = (int(m.group(i).replace(",", "")) for i in (1, 2))
        check("squall's count is sane", 1000 < squall < 1000000, squall)
        check("nginx's count is sane", 1000 < nginx < 1000000, nginx)
        check("the ratio is squall over nginx", abs(float(m.group(3)) - squall / nginx) < 0.01, m.group(0))


def memory():
    report = run("memory_bench.py", "--servers", "squall,nginx", "--conns", "200", "--seconds", "1", "--sources", "2")
    for name in ("squall", "nginx"):
        m = re.search(r"^\| %s \| (\d+) \| ([\d.-]+) \| ([\d.-]+) \| ([\d.-]+) \|" % name, report, re.M)
        check("memory row for %s" % name, m is not None, report[:1500])
        if m:
            idle, active = float(m.group(2)), float(m.group(3))
            check("%s: idle KiB per connection is sane" % name, 0 < idle < 64, idle)
            check("%s: active KiB per connection is sane" % name, 0 < active < 64, active)


def main():
    if not shutil.which("valgrind"):
        check("valgrind is installed (make deps installs it)", False)
    else:
        instructions()
    memory()
    print("%d passed, %d failed" % (len(passed), len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
