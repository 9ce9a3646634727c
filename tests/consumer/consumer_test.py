"""squall as an installed library: installs the build into a temporary
prefix, then builds tests/consumer/service.cpp from a copy outside the
source tree three ways (find_package with the shared libraries,
find_package with the static ones, pkg-config) and runs each: GET / and a
WebSocket message. The include and link lines must name the install only,
never the source or build tree, and the installed libraries must keep
their bundled llhttp to themselves.

    consumer_test.py --build BUILD_DIR --source SOURCE_DIR
"""

import argparse
import asyncio
import glob
import http.client
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from squall_testing import Checks, ServerProcess  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if p.returncode != 0:
        print(p.stdout)
        raise RuntimeError("failed (%d): %s" % (p.returncode, " ".join(map(str, cmd))))
    return p.stdout


def leaks_tree(text, trees):
    return [t for t in trees if t in text]


def exported_llhttp(path):
    """Global llhttp symbols a library defines (must be none)."""
    flag = ["-D"] if path.endswith(".so") or ".so." in path else []
    out = run(["nm", "-g", "--defined-only", *flag, path])
    return [l for l in out.splitlines() if re.search(r"\sllhttp_", l)]


async def ws_roundtrip(port):
    import websockets

    async with websockets.connect("ws://127.0.0.1:%d/shout" % port, compression=None) as ws:
        await ws.send("hello from a consumer")
        return await asyncio.wait_for(ws.recv(), 10)


def serve_and_check(checks, name, binary, version, env=None):
    with ServerProcess(str(binary), env=env) as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        conn.request("GET", "/")
        r = conn.getresponse()
        body = r.read().decode()
        want = "consumer on squall %s built with %s\n" % (version, version)
        checks("%s: GET / answers 200 with the linked version" % name, r.status == 200 and body == want,
                     "%d %r" % (r.status, body))
        echoed = asyncio.run(ws_roundtrip(srv.port))
        checks("%s: WebSocket message answered" % name, echoed == "HELLO FROM A CONSUMER", repr(echoed))
        code, _ = srv.stop()
        checks("%s: SIGTERM stops it cleanly" % name, code == 0, "exit %s" % code)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--version", required=True)
    a = ap.parse_args()
    trees = [os.path.realpath(a.source), os.path.realpath(a.build)]
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="squall-consumer-") as tmp:
        tmp = pathlib.Path(tmp)
        prefix = tmp / "prefix"
        run(["cmake", "--install", a.build, "--prefix", str(prefix)])
        pcs = glob.glob(str(prefix / "**" / "pkgconfig" / "squall.pc"), recursive=True)
        checks("install: squall.pc installed", len(pcs) == 1, str(pcs))
        libdir = pathlib.Path(pcs[0]).parent.parent
        for lib in ("engine", "http", "ws"):
            so = libdir / ("libsquall_%s.so.0" % lib)
            checks("install: libsquall_%s.so.0 (SONAME)" % lib, so.exists(), str(so))
            soname = run(["objdump", "-p", str(so)]) if so.exists() else ""
            checks("install: libsquall_%s SONAME is .so.0" % lib,
                         "SONAME               libsquall_%s.so.0" % lib in soname, "")
        for lib in glob.glob(str(libdir / "libsquall_http.*")):
            if not os.path.islink(lib):
                bad = exported_llhttp(lib)
                checks("install: %s keeps llhttp private" % os.path.basename(lib), not bad, str(bad[:3]))
        checks("install: headers under include/squall/",
                     (prefix / "include/squall/http/application.hpp").exists()
                     and (prefix / "include/squall/version.hpp").exists()
                     and not (prefix / "include/squall/http/detail/llhttp_state.hpp").exists()
                     and not (prefix / "include/squall/http/detail/llhttp_glue.hpp").exists(), "")

        src = tmp / "src"
        src.mkdir()
        for f in ("CMakeLists.txt", "service.cpp"):
            shutil.copy(HERE / f, src / f)

        for kind, extra in (("cmake-shared", []), ("cmake-static", ["-DSQUALL_CONSUMER_STATIC=ON"])):
            b = tmp / kind
            run(["cmake", "-S", str(src), "-B", str(b), "-DCMAKE_PREFIX_PATH=" + str(prefix),
                 "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF", "-DCMAKE_BUILD_TYPE=Release", *extra])
            log = run(["cmake", "--build", str(b), "-v", "-j", "2"])
            lines = [l for l in log.splitlines() if "service" in l and ("-o " in l or " -c " in l)]
            checks("%s: compiled and linked" % kind, (b / "service").exists() and lines, "")
            checks("%s: no path into the source or build tree" % kind,
                         not leaks_tree("\n".join(lines), trees), "\n".join(lines))
            serve_and_check(checks, kind, b / "service", a.version)

        env = dict(os.environ, PKG_CONFIG_PATH=str(pathlib.Path(pcs[0]).parent))
        flags = run(["pkg-config", "--cflags", "--libs", "squall"], env=env).split()
        checks("pkg-config: no path into the source or build tree", not leaks_tree(" ".join(flags), trees),
                     " ".join(flags))
        exe = tmp / "service-pc"
        run(["g++", "-std=c++20", "-O1", str(src / "service.cpp"), "-o", str(exe), *flags,
             "-Wl,-rpath," + str(libdir)], env=env)
        deps = run(["ldd", str(exe)])
        checks("pkg-config: linked to the installed shared libraries",
                     str(libdir / "libsquall_http.so.0") in deps, deps)
        serve_and_check(checks, "pkg-config", exe, a.version)
    return checks.report()


if __name__ == "__main__":
    sys.exit(main())
