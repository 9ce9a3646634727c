"""End-to-end: examples/ws_echo over wss:// against Python's websockets.

Usage: wss_test.py <path to build/examples/ws_echo>

Makes fresh certificates (tests/tls/make_certs.sh), starts ws_echo with
--cert/--key and checks with the websockets package (Debian's
python3-websockets, over Python's ssl verifying against the test CA):
text and binary echo, a 1 MB message, permessage-deflate, the /prime
service, several clients at once, and that a client which does not
trust the CA is refused. Every process started here is stopped.
"""
import asyncio
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile

import websockets

from tls_testing import check, finish, free_port, make_certs, wait_listening


async def scenarios(port, certs):
    ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
    url = "wss://localhost:%d" % port
    async with websockets.connect(url + "/ws", ssl=ctx, compression=None, max_size=None) as ws:
        await ws.send("hello over wss")
        check(await ws.recv() == "hello over wss", "text echo over wss://")
        await ws.send(b"\x00\x01\xfe\xff" * 1000)
        check(await ws.recv() == b"\x00\x01\xfe\xff" * 1000, "binary echo over wss://")
        big = os.urandom(1 << 20)
        await ws.send(big)
        check(await ws.recv() == big, "1 MB binary message echoed")
        tls = ws.transport.get_extra_info("ssl_object")
        check(tls.version() == "TLSv1.3", "TLS 1.3 (%s)" % tls.version())
    async with websockets.connect(url + "/ws", ssl=ctx, compression="deflate") as ws:
        text = "squall " * 5000
        await ws.send(text)
        check(await ws.recv() == text, "permessage-deflate echo over wss://")
    async with websockets.connect(url + "/prime", ssl=ctx) as ws:
        await ws.send("7")
        check(await ws.recv() == "7 is prime", "/prime over wss://")

    async def one(i):
        async with websockets.connect(url + "/ws", ssl=ctx) as ws:
            for j in range(20):
                await ws.send("client %d message %d" % (i, j))
                if await ws.recv() != "client %d message %d" % (i, j):
                    return False
        return True

    results = await asyncio.gather(*(one(i) for i in range(8)))
    check(all(results), "8 concurrent wss:// clients, 20 messages each")

    untrusting = ssl.create_default_context()  # the system store, without our CA
    try:
        async with websockets.connect(url + "/ws", ssl=untrusting):
            refused = False
    except ssl.SSLCertVerificationError:
        refused = True
    check(refused, "a client without the test CA refuses the certificate")


def main():
    ws_echo = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="squall-wss-test-")
    proc = None
    try:
        certs = make_certs(tmp)
        port = free_port()
        proc = subprocess.Popen(
            [ws_echo, "--port", str(port), "--cert", os.path.join(certs, "server.pem"),
             "--key", os.path.join(certs, "server.key")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        wait_listening(port, proc)
        asyncio.run(asyncio.wait_for(scenarios(port, certs), 60))
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        check(proc.returncode == 0, "ws_echo exits 0 on SIGTERM")
        check(b"listening on https://" in out, "the log names https")
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
