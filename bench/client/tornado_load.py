"""The Tornado side of bench/client_bench.py: CONNECTIONS coroutines fetch
URL with AsyncHTTPClient (max_clients=CONNECTIONS) until REQUESTS
responses came; prints "ok=N bytes=B". Tornado's simple_httpclient opens
a connection per request (it has no keep-alive pool).

    tornado_load.py URL CONNECTIONS REQUESTS
"""
import asyncio
import sys

from tornado.httpclient import AsyncHTTPClient


async def main(url, connections, requests):
    client = AsyncHTTPClient(max_clients=connections)
    tally = {"remaining": requests, "ok": 0, "failed": 0, "bytes": 0}

    async def worker():
        while tally["remaining"] > 0:
            tally["remaining"] -= 1
            try:
                r = await client.fetch(url, raise_error=False, decompress_response=False)
                if r.code == 200:
                    tally["ok"] += 1
                    tally["bytes"] += len(r.body)
                else:
                    tally["failed"] += 1
            except Exception:
                tally["failed"] += 1

    await asyncio.gather(*(worker() for _ in range(connections)))
    print("ok=%d failed=%d bytes=%d" % (tally["ok"], tally["failed"], tally["bytes"]))
    return 1 if tally["failed"] else 0


sys.exit(asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
