"""End-to-end: examples/chat (Tornado's chat demo) with real clients.

Usage: chat_chromium_test.py <build/examples/chat>
       chat_chromium_test.py --squall-server <build/examples/squall-server>

First with Python's clients: a message sent on the WebSocket reaches a
long poll waiting on /a/message/updates, and one posted to
/a/message/new reaches the WebSocket; the page lists cached messages;
a bad cursor is a 400 and a WebSocket message that is not {"body": ...}
closes with 1003. Then two headless Chromium pages driven over the
DevTools protocol (spoken with Python's websockets): page A uses the
WebSocket, page B long polling; a message typed into A appears in B, and
one typed into B appears in A. Prints "N passed, M failed"; exits 1 on
any failure.
"""
import asyncio
import http.client
import json
import pathlib
import shutil
import signal
import subprocess
import sys
import urllib.parse

import websockets

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from chromium import headless_chromium  # noqa: E402
from squall_testing import Checks, free_port, wait_listening  # noqa: E402

check = Checks()


def post(port, path, fields):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", path, urllib.parse.urlencode(fields), {"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


async def python_clients(port, prefix=""):
    async with websockets.connect("ws://127.0.0.1:%d%s/chatsocket" % (port, prefix)) as ws:
        # A long poll waits; a message sent on the WebSocket wakes it.
        poll = asyncio.get_running_loop().run_in_executor(None, post, port, prefix + "/a/message/updates", {"cursor": "0"})
        await asyncio.sleep(0.2)
        await ws.send(json.dumps({"body": "from the socket <b>"}))
        echoed = json.loads(await ws.recv())
        check("socket gets its own message back", echoed["body"] == "from the socket <b>", str(echoed))
        check("html is escaped", "&lt;b&gt;" in echoed["html"], echoed["html"])
        status, body = await poll
        msgs = json.loads(body)["messages"]
        check("long poll woken by the socket's message", status == 200 and msgs and msgs[-1]["body"] == "from the socket <b>",
              "%d %s" % (status, body))
        # A message posted over HTTP reaches the socket.
        status, body = post(port, prefix + "/a/message/new", {"body": "from a form"})
        check("post answers the message", status == 200 and json.loads(body)["body"] == "from a form", str(body))
        got = json.loads(await ws.recv())
        check("socket gets the posted message", got["body"] == "from a form", str(got))
        # Updates after a cursor: only what is newer.
        status, body = post(port, prefix + "/a/message/updates", {"cursor": echoed["id"]})
        check("cursor skips older messages", [m["body"] for m in json.loads(body)["messages"]] == ["from a form"], str(body))
        status, _ = post(port, prefix + "/a/message/updates", {"cursor": "x1"})
        check("bad cursor is a 400", status == 400, str(status))
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", prefix + "/")
    page = c.getresponse().read().decode()
    check("page lists the cached messages", "from a form" in page and "from the socket &lt;b&gt;" in page)
    async with websockets.connect("ws://127.0.0.1:%d%s/chatsocket" % (port, prefix)) as ws:
        await ws.send("not json")
        try:
            await ws.recv()
            check("bad message closes 1003", False)
        except websockets.exceptions.ConnectionClosed as e:
            check("bad message closes 1003", e.rcvd is not None and e.rcvd.code == 1003, str(e))


def type_into(text):
    return ("(() => { document.getElementById('message').value = %s;"
            " document.getElementById('messageform').requestSubmit(); return true; })()" % json.dumps(text))


def inbox_has(text):
    return "document.getElementById('inbox').innerText.includes(%s)" % json.dumps(text)


async def chromium_pages(port, chromium):
    async with headless_chromium(chromium) as dt:
        if dt is None:
            check("chromium started", False)
            return
        a = await dt.open_page("http://127.0.0.1:%d/" % port)
        b = await dt.open_page("http://127.0.0.1:%d/?transport=poll" % port)
        check("page A (WebSocket) ready", await dt.wait_for(a, "window.chatReady === true"))
        check("page B (long polling) ready", await dt.wait_for(b, "window.chatReady === true"))
        check("page A uses the WebSocket", "WebSocket" in (await dt.evaluate(a, "document.getElementById('status').textContent")))
        await asyncio.sleep(0.3)  # let B's first long poll reach the server
        await dt.evaluate(a, type_into("hello from A over the WebSocket"))
        check("A's WebSocket message appears in B by long polling",
              await dt.wait_for(b, inbox_has("hello from A over the WebSocket")))
        check("and in A itself", await dt.wait_for(a, inbox_has("hello from A over the WebSocket")))
        await dt.evaluate(b, type_into("hello from B by POST"))
        check("B's posted message appears in A over the WebSocket", await dt.wait_for(a, inbox_has("hello from B by POST")))
        check("and in B itself", await dt.wait_for(b, inbox_has("hello from B by POST")))
        for page, label in ((a, "A"), (b, "B")):
            texts = await dt.evaluate(page, "[...document.querySelectorAll('#inbox .message')].map(e => e.textContent)")
            check("no message shown twice in " + label, len(texts) == len(set(texts)), str(texts))


def main(binary, squall_server=False):
    port = free_port()
    if squall_server:  # the make-run server: the chat under /chat, Python's clients only
        server = subprocess.Popen([binary, "--port", str(port), "--db", ":memory:"], stdout=subprocess.DEVNULL)
    else:
        server = subprocess.Popen([binary, "--port", str(port)])
    try:
        wait_listening(port, server, 20)
        asyncio.run(python_clients(port, "/chat" if squall_server else ""))
        if squall_server:
            return
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        check("chromium installed (make deps)", chromium is not None)
        if chromium:
            asyncio.run(chromium_pages(port, chromium))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    if sys.argv[1] == "--squall-server":
        main(sys.argv[2], squall_server=True)
    else:
        main(sys.argv[1])
    sys.exit(check.report())
