"""Static files with real clients: examples/file_server against curl and
Python's http.client, and squall-server --static-path against headless
Chromium (a page whose CSS and JS come from /static/ through static_url:
reloaded, the page is revalidated with a 304 and the versioned assets are
not requested again).

Usage: static_peers_test.py <file_server> <squall-server>
Prints "N passed, M failed"; exits 1 on any failure.
"""
import asyncio
import gzip
import http.client
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile


sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples"))
from chromium import headless_chromium  # noqa: E402
from squall_testing import Checks, ServerProcess  # noqa: E402

check = Checks()
CSS = b"body { color: rgb(1, 2, 3); }\n" + b"/* padding */\n" * 200
JS = b"window.appLoaded = 42;\n"
SECRET = b"SECRET-OUTSIDE"


def make_tree():
    base = pathlib.Path(tempfile.mkdtemp(prefix="squall-peers-"))
    root = base / "root"
    (root / "docs").mkdir(parents=True)
    (base / "secret.txt").write_bytes(SECRET)
    (root / "index.html").write_bytes(b"<h1>home</h1>")
    (root / "docs" / "index.html").write_bytes(b"<h1>docs</h1>")
    (root / "site.css").write_bytes(CSS)
    (root / "app.js").write_bytes(JS)
    (root / "big.bin").write_bytes(os.urandom(2 << 20))
    (root / ".hidden").write_bytes(b"hidden")
    os.symlink(base / "secret.txt", root / "out")
    return base, root


def curl(*args):
    r = subprocess.run(["curl", "-sS", "--max-time", "30", *args], capture_output=True)
    return r.returncode, r.stdout


def with_curl(port, root):
    url = "http://127.0.0.1:%d" % port
    rc, out = curl("-D", "-", "-o", "/dev/null", url + "/site.css")
    head = out.decode()
    check("curl: 200 with type and validators", rc == 0 and " 200 " in head and "text/css; charset=utf-8" in head
          and "ETag:" in head and "Last-Modified:" in head, head)
    rc, out = curl(url + "/big.bin")
    check("curl: 2 MiB body intact", out == (root / "big.bin").read_bytes(), str(len(out)))
    rc, out = curl("-r", "100-199", url + "/big.bin")
    check("curl: range", out == (root / "big.bin").read_bytes()[100:200], str(len(out)))
    rc, out = curl("-z", "Sat, 01 Jan 2000 00:00:00 GMT", "-o", "/dev/null", "-w", "%{http_code}", url + "/site.css")
    check("curl: modified since 2000 is a 200", out == b"200", str(out))
    rc, out = curl("-z", (root / "site.css").as_posix(), "-o", "/dev/null", "-w", "%{http_code}", url + "/site.css")
    check("curl: not modified since the file's time is a 304", out == b"304", str(out))
    rc, out = curl("--compressed", "-D", "-", url + "/site.css")
    check("curl --compressed: gzip, decoded to the file", b"Content-Encoding: gzip" in out and out.endswith(CSS),
          out[:300].decode(errors="replace"))
    for path in ["/../secret.txt", "/%2e%2e/secret.txt", "/%252e%252e/secret.txt", "/..%5csecret.txt", "/out",
                 "/%c0%ae%c0%ae/secret.txt", "/.hidden"]:
        rc, out = curl("--path-as-is", "-w", "\n%{http_code}", url + path)
        code = out.rsplit(b"\n", 1)[-1]
        check("curl: %s refused" % path, code.startswith(b"4") and SECRET not in out, out.decode(errors="replace"))


def with_python(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/app.js")
    r = c.getresponse()
    body = r.read()
    etag = r.getheader("ETag")
    check("python: 200 body", r.status == 200 and body == JS, str(r.status))
    c.request("GET", "/app.js", headers={"If-None-Match": etag})
    r = c.getresponse()
    check("python: 304 on the same keep-alive connection", r.status == 304 and r.read() == b"", str(r.status))
    c.request("GET", "/docs")
    r = c.getresponse()
    r.read()
    check("python: folder redirects with a slash", r.status == 301 and r.getheader("Location") == "/docs/",
          "%d %s" % (r.status, r.getheader("Location")))
    c.request("GET", "/docs/")
    r = c.getresponse()
    check("python: folder index", r.read() == b"<h1>docs</h1>")
    c.request("HEAD", "/big.bin")
    r = c.getresponse()
    r.read()
    check("python: HEAD has the length", r.getheader("Content-Length") == str(2 << 20))
    c.request("DELETE", "/app.js")
    r = c.getresponse()
    r.read()
    check("python: DELETE is a 405", r.status == 405 and r.getheader("Allow") == "GET, HEAD", str(r.status))
    c.request("GET", "/site.css", headers={"Accept-Encoding": "gzip"})
    r = c.getresponse()
    body = r.read()
    check("python: gzip body", r.getheader("Content-Encoding") == "gzip" and gzip.decompress(body) == CSS)
    c.close()


async def with_chromium(port, chromium):
    async with headless_chromium(chromium) as dt:
        if dt is None:
            check("chromium started", False)
            return
        s = await dt.open_page("http://127.0.0.1:%d/static-page" % port)
        ready = "window.appLoaded === 42 && getComputedStyle(document.body).color === 'rgb(1, 2, 3)'"
        check("chromium: page with its CSS and JS", await dt.wait_for(s, ready))
        await dt.call("Page.enable", {}, s)
        await dt.call("Page.reload", {}, s)
        await asyncio.sleep(0.5)
        check("chromium: reloaded page works", await dt.wait_for(s, ready))


def main():
    file_server, squall_server = sys.argv[1], sys.argv[2]
    base, root = make_tree()
    try:
        with ServerProcess(file_server, "--root", str(root), "--compress") as srv:
            with_curl(srv.port, root)
            with_python(srv.port)
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium:
            db = base / "todo.db"
            srv = ServerProcess(squall_server, "--static-path", str(root), "--access-log", "--db", str(db),
                                capture=True)
            try:
                asyncio.run(with_chromium(srv.port, chromium))
            finally:
                _, out = srv.stop()
            log = re.findall(r"\] (\d{3}) GET (\S+) ", out)
            page = [status for status, target in log if target == "/static-page"]
            css = [status for status, target in log if target.startswith("/static/site.css?v=")]
            js = [status for status, target in log if target.startswith("/static/app.js?v=")]
            check("chromium: the page revalidated with a 304", page == ["200", "304"], str(log))
            check("chromium: versioned assets fetched once", css == ["200"] and js == ["200"], str(log))
        else:
            print("chromium not installed: browser part skipped")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
