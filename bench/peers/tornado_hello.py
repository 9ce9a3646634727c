#!/usr/bin/python3
"""Tornado as squall's peer in make bench (bench/bench.py): one process,
`GET /` -> "Hello, world!" (text/plain), keep-alive, no access log.

Usage: /usr/bin/python3 bench/peers/tornado_hello.py PORT
"""
import asyncio
import logging
import sys

import tornado.web


class Hello(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", "text/plain")
        self.write("Hello, world!")


async def main(port):
    logging.getLogger("tornado.access").disabled = True
    app = tornado.web.Application([(r"/", Hello)])
    app.listen(port, address="127.0.0.1", backlog=4096)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
