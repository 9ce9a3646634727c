"""The same requests to Tornado 6.2 (tornado_app.py) and to its port to
squall (tornado_port.cpp), compared field by field: status line, framing
fields (Content-Length, Transfer-Encoding, Connection), Content-Type,
cookies (name, value, attributes; expiry within a few seconds) and
bodies (error pages byte for byte, JSON as values). Signed cookies made
by each are read by the other. A client leaving a long poll is noticed
by both (on_connection_close), and a periodic callback set up on the
serving loop runs in both.

Differences are printed as a table. The known ones (KNOWN below, each
with its reason, the same table as in docs/http.md) pass; any other
fails the test. A known difference that is no longer seen is reported.

    /usr/bin/python3 tornado_parity_test.py build/tests/parity/tornado_port
Exit 77 (skipped) when python3-tornado is missing.
"""

import email.utils
import json
import os
import pathlib
import socket
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from squall_testing import GUARD, Checks, free_port, wait_listening  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent

# (request, field) -> why squall differs from Tornado 6.2 on purpose.
KNOWN = {
    ("*", "etag"): "Tornado adds an Etag to every GET 200; squall does not (yet) hash bodies",
    ("*", "body (JSON spacing)"): "the same JSON value (and so another Content-Length): nlohmann's dump() writes "
                                  "no spaces after ':' and ',', Tornado's json.dumps does",
    ("POST /", "allow"): "RFC 9110 15.5.6: a 405 MUST carry Allow; Tornado sends none",
    ("HEAD /", "status line"): "squall answers HEAD with get() without the body (RFC 9110 9.3.2); Tornado answers "
                               "405 unless the class defines head()",
    ("HEAD /", "content-length"): "the same: squall's is GET's length, Tornado's that of its 405 page",
    ("GET / HTTP/1.0", "connection"): "both close after an HTTP/1.0 response; squall says so with Connection: close",
    ("GET /cookies/signed", "set-cookie quoting"): "Python's Morsel quotes a value holding '=' (base64 padding); "
                                                   "RFC 6265 allows '=' unquoted; each reads the other's",
}

SINGLETONS = ("content-length", "transfer-encoding", "connection", "content-type", "date", "server", "etag")


def exchange(port, raw, head=False):
    """Sends `raw`, returns (status line, [(name, value)], body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=GUARD) as s:
        s.sendall(raw)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        head_bytes, _, rest = buf.partition(b"\r\n\r\n")
        lines = head_bytes.decode("latin-1").split("\r\n")
        fields = [(n.strip().lower(), v.strip()) for n, _, v in (l.partition(":") for l in lines[1:])]
        f = dict(fields)
        body = rest
        if head:
            body = b""
        elif "content-length" in f:
            n = int(f["content-length"])
            while len(body) < n:
                chunk = s.recv(65536)
                if not chunk:
                    break
                body += chunk
        elif f.get("transfer-encoding") == "chunked":
            while not body.endswith(b"0\r\n\r\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                body += chunk
        return lines[0], fields, body


def cookie_parts(value):
    """'n=v; Path=/; HttpOnly' -> (n, v, {attr: value})."""
    first, *attrs = [p.strip() for p in value.split(";")]
    name, _, val = first.partition("=")
    out = {}
    for a in attrs:
        k, _, v = a.partition("=")
        out[k.lower()] = v
    return name, val, out


def same_cookies(a, b):
    """Compares Set-Cookie lists; returns a list of differences."""
    diffs = []
    ca = {cookie_parts(v)[0]: cookie_parts(v) for v in a}
    cb = {cookie_parts(v)[0]: cookie_parts(v) for v in b}
    if len(a) != len(b):
        diffs.append("count %d vs %d" % (len(a), len(b)))
    for name in sorted(set(ca) | set(cb)):
        if name not in ca or name not in cb:
            diffs.append("%s only in one" % name)
            continue
        (_, va, xa), (_, vb, xb) = ca[name], cb[name]
        if va.startswith('"2|') and va.endswith('"') and not vb.startswith('"'):
            diffs.append("quoting")
            va = va[1:-1]
        signed = va.startswith("2|") and vb.startswith("2|")
        if signed:  # the timestamp and signature differ; the layout must not
            if va.split("|")[:2] != vb.split("|")[:2] or va.split("|")[3:5] != vb.split("|")[3:5]:
                diffs.append("%s signed value %s vs %s" % (name, va, vb))
        elif va != vb:
            diffs.append("%s value %r vs %r" % (name, va, vb))
        if set(xa) != set(xb):
            diffs.append("%s attributes %s vs %s" % (name, sorted(xa), sorted(xb)))
        for k in set(xa) & set(xb):
            if k == "expires":
                ta = email.utils.parsedate_to_datetime(xa[k]).timestamp()
                tb = email.utils.parsedate_to_datetime(xb[k]).timestamp()
                if abs(ta - tb) > 30:
                    diffs.append("%s expires %s vs %s" % (name, xa[k], xb[k]))
            elif xa[k] != xb[k]:
                diffs.append("%s %s=%r vs %r" % (name, k, xa[k], xb[k]))
    return diffs


def request(method, path, version="1.1", extra=""):
    return ("%s %s HTTP/%s\r\nHost: localhost\r\n%s\r\n" % (method, path, version, extra)).encode()


REQUESTS = [
    ("GET /", request("GET", "/"), False),
    ("HEAD /", request("HEAD", "/"), True),
    ("GET / HTTP/1.0", request("GET", "/", "1.0"), False),
    ("GET /json", request("GET", "/json"), False),
    ("GET /missing", request("GET", "/missing"), False),
    ("POST /missing", request("POST", "/missing", extra="Content-Length: 0\r\n"), False),
    ("DELETE /missing", request("DELETE", "/missing"), False),
    ("POST /", request("POST", "/", extra="Content-Length: 0\r\n"), False),
    ("GET /poll?cursor=1", request("GET", "/poll?cursor=1"), False),
    ("GET /error/400", request("GET", "/error/400?x=%3Cscript%3E"), False),
    ("GET /error/404", request("GET", "/error/404"), False),
    ("GET /error/503", request("GET", "/error/503"), False),
    ("GET /boom", request("GET", "/boom"), False),
    ("GET /cookies/set", request("GET", "/cookies/set"), False),
    ("GET /cookies/signed", request("GET", "/cookies/signed"), False),
    ("GET /args", request("GET", "/args?a=%20x%01y%09%20&a=%C2%A0z%E3%80%80&a=%00"), False),
]


def compare(name, t, s, diffs):
    (tl, tf, tb), (sl, sf, sb) = t, s
    td, sd = dict(tf), dict(sf)
    if tl != sl:
        diffs.append((name, "status line", tl, sl))
    json_spacing = False
    if tb != sb and td.get("content-type", "").startswith("application/json") and \
            sd.get("content-type", "").startswith("application/json"):
        json_spacing = json.loads(tb) == json.loads(sb)
    for field in ("content-length", "transfer-encoding", "connection", "content-type", "etag", "allow"):
        if field == "content-length" and json_spacing:
            continue
        if td.get(field) != sd.get(field):
            diffs.append((name, field, td.get(field), sd.get(field)))
    for field in SINGLETONS:
        n = sum(1 for k, _ in sf if k == field)
        if n > 1:
            diffs.append((name, field + " count", "<= 1", str(n)))
    tc = [v for k, v in tf if k == "set-cookie"]
    sc = [v for k, v in sf if k == "set-cookie"]
    for d in same_cookies(tc, sc):
        diffs.append((name, "set-cookie quoting", "quoted", "not quoted") if d == "quoting" else
                     (name, "set-cookie", d, ""))
    if json_spacing:
        diffs.append((name, "body (JSON spacing)", tb.decode(), sb.decode()))
    elif tb != sb:
        diffs.append((name, "body", tb.decode("latin-1"), sb.decode("latin-1")))


def cookie_value(fields, name):
    for k, v in fields:
        if k == "set-cookie" and v.startswith(name + "="):
            return cookie_parts(v)[1]
    return None


def leave_a_long_poll(port):
    """Starts a long poll, leaves, and returns /poll/closed afterwards."""
    s = socket.create_connection(("127.0.0.1", port), timeout=GUARD)
    s.sendall(request("GET", "/poll"))
    time.sleep(0.3)
    s.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        _, _, body = exchange(port, request("GET", "/poll/closed"))
        if body == b"1":
            return body
        time.sleep(0.05)
    return body


def main(port_binary):
    try:
        subprocess.run(["/usr/bin/python3", "-c", "import tornado.web"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        print("python3-tornado is not installed: skipped")
        return 77
    check = Checks()
    tport, sport = free_port(), free_port()
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    tornado = subprocess.Popen(["/usr/bin/python3", str(HERE / "tornado_app.py"), "--port", str(tport)], env=env,
                               stderr=subprocess.DEVNULL)
    squall = subprocess.Popen([port_binary, "--port", str(sport), "--host", "localhost"], stdout=subprocess.DEVNULL)
    try:
        wait_listening(tport, tornado)
        wait_listening(sport, squall)
        diffs = []
        for name, raw, head in REQUESTS:
            compare(name, exchange(tport, raw, head), exchange(sport, raw, head), diffs)
        # Signed cookies cross over: each reads what the other signed.
        for signer, reader, label in ((tport, sport, "tornado -> squall"), (sport, tport, "squall -> tornado")):
            _, fields, _ = exchange(signer, request("GET", "/cookies/signed"))
            v = cookie_value(fields, "session")
            check("signed cookie made by " + label.split()[0], v is not None and v.strip('"').startswith("2|1:2|"), v)
            _, _, body = exchange(reader, request("GET", "/cookies/read", extra="Cookie: session=%s\r\n" % v))
            check("signed cookie read " + label, body == b"user 42", body)
        check("tornado notices a client leaving a long poll", leave_a_long_poll(tport) == b"1")
        check("squall notices a client leaving a long poll", leave_a_long_poll(sport) == b"1")
        for port, who in ((tport, "tornado"), (sport, "squall")):
            _, _, body = exchange(port, request("GET", "/ticks"))
            check(who + ": the periodic callback on the serving loop runs", int(body or b"0") > 0, body)

        seen = set()
        print("| request | field | Tornado 6.2 | squall | known |")
        print("|---|---|---|---|---|")
        for name, field, tv, sv in diffs:
            key = ("*", field) if ("*", field) in KNOWN else (name, field)
            known = key in KNOWN
            seen.add(key)
            print("| %s | %s | %s | %s | %s |" % (name, field, tv, sv, KNOWN[key] if known else "NEW"))
            check("%s %s as Tornado (or a known difference)" % (name, field), known, "%r vs %r" % (tv, sv))
        for key, why in KNOWN.items():
            if key not in seen:
                print("no longer different: %s %s (%s)" % (key[0], key[1], why))
        # The must-haves, whatever the table says: the same error pages
        # and the cookies set alike.
        bodies = [d for d in diffs if d[1] in ("body", "set-cookie") and not KNOWN.get((d[0], d[1]), "").startswith("PENDING")]
        check("error pages and cookies as Tornado's", not bodies, bodies)
        check("the comparison ran", len(REQUESTS) > 0)
    finally:
        for p in (tornado, squall):
            p.terminate()
            try:
                p.wait(timeout=GUARD)
            except subprocess.TimeoutExpired:
                p.kill()
    return check.report()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
