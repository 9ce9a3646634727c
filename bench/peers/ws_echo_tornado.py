#!/usr/bin/python3
"""A WebSocket echo server on Tornado's WebSocketHandler (Debian
python3-tornado), a peer for squall's benchmarks: every text and binary
message comes back as it came.

Usage: ws_echo_tornado.py --port N [--host 127.0.0.1] [--deflate]
Prints "listening on PORT" once ready.
"""
import argparse
import asyncio
import signal

import tornado.web
import tornado.websocket


class Echo(tornado.websocket.WebSocketHandler):
    def initialize(self, deflate):
        self.deflate = deflate

    def get_compression_options(self):
        return {} if self.deflate else None

    def check_origin(self, origin):
        return True

    def on_message(self, message):
        self.write_message(message, binary=isinstance(message, bytes))


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--deflate", action="store_true")
    a = p.parse_args()
    app = tornado.web.Application([(r"/.*", Echo, {"deflate": a.deflate})],
                                  websocket_max_message_size=10 * 1024 * 1024)
    app.listen(a.port, a.host)
    print("listening on %d" % a.port, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
