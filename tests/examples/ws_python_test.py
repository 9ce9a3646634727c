"""End-to-end: examples/ws_echo against Python's `websockets` client
(Debian python3-websockets), with and without permessage-deflate.

Usage: ws_python_test.py <build/examples/ws_echo>

Checks echo of text and binary messages of every length class, fragmented
messages from the client, compression negotiated with context takeover
and without (client_no_context_takeover, server_max_window_bits), the
client's pings answered, /prime, the close handshake with the client's
code, close 1009 for a message above --max-message-size (also when it only
grows past it after inflating), the server's pings answered by the client
(--ping-interval) and 50 clients at once. Prints "N passed, M failed";
exits 1 on any failure.
"""
import asyncio
import os
import pathlib
import subprocess
import sys

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from squall_testing import Checks, ServerProcess  # noqa: E402

check = Checks()


class Server(ServerProcess):
    def url(self, path):
        return "ws://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        try:
            super().stop(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


SIZES = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20]


async def echo_all(url, label, **kw):
    async with websockets.connect(url, max_size=None, **kw) as ws:
        ext = ws.response_headers.get("Sec-WebSocket-Extensions")
        for n in SIZES:
            text = ("squall-" * (n // 7 + 1))[:n]
            await ws.send(text)
            got = await ws.recv()
            check("%s text %d" % (label, n), got == text)
            data = os.urandom(n)
            await ws.send(data)
            got = await ws.recv()
            check("%s binary %d" % (label, n), got == data)
        # Fragmented messages (the client sends an iterable as fragments).
        await ws.send(["frag", "men", "ted \u03ba\u03cc\u03c3\u03bc\u03b5"])
        check("%s fragmented text" % label, await ws.recv() == "fragmented \u03ba\u03cc\u03c3\u03bc\u03b5")
        await ws.send([b"\x00\x01", b"", b"\x02"])
        check("%s fragmented binary" % label, await ws.recv() == b"\x00\x01\x02")
        pong = await ws.ping(b"p1")
        await asyncio.wait_for(pong, 10)
        check("%s ping answered" % label, True)
        await ws.close(4000, "done")
        check("%s close code" % label, ws.close_code == 4000, str(ws.close_code))
        return ext


async def main(binary):
    srv = Server(binary)
    try:
        ext = await echo_all(srv.url("/ws"), "plain", compression=None)
        check("no extension when not offered", ext is None, str(ext))
        # Codes of IANA's registry past RFC 6455 are echoed, not refused with 1002.
        for code in (1012, 1013, 1014):
            async with websockets.connect(srv.url("/ws"), compression=None) as ws:
                await ws.close(code, "later")
                check("close code %d echoed" % code, ws.close_code == code, str(ws.close_code))
        ext = await echo_all(srv.url("/ws"), "deflate")
        check("deflate negotiated", ext is not None and ext.startswith("permessage-deflate"), str(ext))
        ext = await echo_all(srv.url("/ws"), "deflate-no-takeover", extensions=[ClientPerMessageDeflateFactory(
            client_no_context_takeover=True, server_no_context_takeover=True, server_max_window_bits=10,
            client_max_window_bits=12)], compression=None)
        check("deflate parameters answered", ext is not None and "server_no_context_takeover" in ext
              and "server_max_window_bits=10" in ext, str(ext))

        async with websockets.connect(srv.url("/prime")) as ws:
            answers = []
            for n in ["2", "9", "7919", "1000000007", "x"]:
                await ws.send(n)
                answers.append(await ws.recv())
            check("prime answers", answers[:4] == ["2 is prime", "9 is not prime", "7919 is prime",
                                                   "1000000007 is prime"], str(answers))
            check("prime refuses non-integers", answers[4].startswith("not a"), answers[4])

        async def one_client(i):
            async with websockets.connect(srv.url("/ws")) as ws:
                for j in range(20):
                    msg = "client %d message %d" % (i, j)
                    await ws.send(msg)
                    if await ws.recv() != msg:
                        return False
            return True
        results = await asyncio.gather(*(one_client(i) for i in range(50)))
        check("50 clients at once", all(results))

        # A refused origin is a 403, which websockets reports as a status error.
        try:
            async with websockets.connect(srv.url("/ws"), origin="http://elsewhere.example"):
                check("foreign origin refused", False)
        except websockets.exceptions.InvalidStatusCode as e:
            check("foreign origin refused with 403", e.status_code == 403, str(e.status_code))
    finally:
        srv.stop()

    small = Server(binary, "--max-message-size", "4096", "--ping-interval", "0.05")
    try:
        async with websockets.connect(small.url("/ws"), compression=None) as ws:
            await ws.send("x" * 4096)
            check("message at the limit", await ws.recv() == "x" * 4096)
            await asyncio.sleep(0.3)  # several server pings, answered by the client
            await ws.send("still open")
            check("server pings answered, connection kept", await ws.recv() == "still open")
            await ws.send("x" * 4097)
            try:
                await ws.recv()
                check("1009 for a message above the limit", False)
            except websockets.exceptions.ConnectionClosed as e:
                check("1009 for a message above the limit", e.rcvd is not None and e.rcvd.code == 1009, str(e))
        async with websockets.connect(small.url("/ws")) as ws:
            # 1 MiB of zeros deflates to about a kilobyte: the limit holds after inflating.
            await ws.send(b"\x00" * (1 << 20))
            try:
                await ws.recv()
                check("1009 after inflating", False)
            except websockets.exceptions.ConnectionClosed as e:
                check("1009 after inflating", e.rcvd is not None and e.rcvd.code == 1009, str(e))
    finally:
        small.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
    sys.exit(check.report())
