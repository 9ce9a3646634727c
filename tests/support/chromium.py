"""Headless Chromium driven over the DevTools protocol, for squall's
end-to-end browser tests (Debian's chromium, /usr/bin/python3).

    async with headless_chromium(chromium) as dt:
        if dt is None: ...                     # it did not start
        page = await dt.open_page(url)
        ok = await dt.wait_for(page, "window.ready === true")

The browser runs with a profile of its own in a temporary folder; leaving
the block closes it (Browser.close, then a kill if it lingers) and removes
the profile. Every wait is a guard against a hang, never a measure.
"""

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time

import websockets


class DevTools:
    """The DevTools protocol over the browser's WebSocket, flattened sessions."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0

    async def call(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        await self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(await self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"]))
                return reply["result"]

    async def open_page(self, url):
        target = await self.call("Target.createTarget", {"url": url})
        att = await self.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        return att["sessionId"]

    async def evaluate(self, session, expr):
        r = await self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True},
                            session)
        return r["result"].get("value")

    async def wait_for(self, session, expr, guard=30):
        deadline = time.monotonic() + guard
        while time.monotonic() < deadline:
            if await self.evaluate(session, expr):
                return True
            await asyncio.sleep(0.1)
        return False


@contextlib.asynccontextmanager
async def headless_chromium(chromium, guard=30):
    """Yields a DevTools connected to a new headless browser, or None when
    it did not start within `guard` seconds."""
    profile = tempfile.mkdtemp(prefix="squall-chromium-")
    proc = subprocess.Popen([chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--remote-debugging-port=0", "--user-data-dir=" + profile, "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        active = os.path.join(profile, "DevToolsActivePort")
        deadline = time.monotonic() + guard
        while not os.path.exists(active) or len(open(active).read().split()) < 2:
            if time.monotonic() > deadline or proc.poll() is not None:
                yield None
                return
            await asyncio.sleep(0.1)
        port, path = open(active).read().split()[:2]
        async with websockets.connect("ws://127.0.0.1:%s%s" % (port, path), max_size=None) as ws:
            dt = DevTools(ws)
            yield dt
            with contextlib.suppress(Exception):
                await dt.call("Browser.close")
    finally:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
