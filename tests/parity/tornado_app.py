"""The Tornado 6.2 program tornado_port.cpp was ported from: the same
routes, run by Debian's python3-tornado for tornado_parity_test.py.

    python3 tornado_app.py --port 8888
"""

import asyncio
import sys

import tornado.ioloop
import tornado.locks
import tornado.web

closed_polls = 0
ticks = 0


class MainHandler(tornado.web.RequestHandler):
    def get(self):
        self.write("Hello, world")


class JsonHandler(tornado.web.RequestHandler):
    def get(self):
        self.write({"a": 1})


class NotFoundHandler(tornado.web.RequestHandler):
    def prepare(self):
        raise tornado.web.HTTPError(404)

    def write_error(self, status_code, **kwargs):
        self.write("custom %d page" % status_code)


class PollHandler(tornado.web.RequestHandler):
    async def get(self):
        if not self.get_argument("cursor", ""):
            self.wait = asyncio.ensure_future(asyncio.sleep(30))
            try:
                await self.wait
            except asyncio.CancelledError:
                return
        self.write({"messages": []})

    def on_connection_close(self):
        global closed_polls
        closed_polls += 1
        if hasattr(self, "wait"):
            self.wait.cancel()


class ClosedHandler(tornado.web.RequestHandler):
    def get(self):
        self.write(str(closed_polls))


class CookieSetHandler(tornado.web.RequestHandler):
    def get(self):
        self.set_cookie("plain", "1")
        self.set_cookie("twice", "first")
        self.set_cookie("twice", "second")
        self.set_cookie("typed", "v", domain="example.com", path="/app", expires_days=2, max_age=3600,
                        httponly=True, secure=True, samesite="Lax")
        self.write("set")


class CookieSignedHandler(tornado.web.RequestHandler):
    def get(self):
        self.set_secure_cookie("session", "user 42")  # 6.2 spelling of set_signed_cookie
        self.write("signed")


class CookieReadHandler(tornado.web.RequestHandler):
    def get(self):
        v = self.get_secure_cookie("session")
        self.write(v.decode() if v is not None else "none")


class ArgsHandler(tornado.web.RequestHandler):
    def get(self):
        self.write({"a": self.get_argument("a", ""), "raw": self.get_argument("a", "", strip=False),
                    "all": self.get_query_arguments("a")})


class ErrorHandler(tornado.web.RequestHandler):
    def get(self, code):
        raise tornado.web.HTTPError(int(code), "bad <b>%s</b>" % self.get_argument("x", ""))


class BoomHandler(tornado.web.RequestHandler):
    def get(self):
        raise RuntimeError("boom")


class TicksHandler(tornado.web.RequestHandler):
    def get(self):
        self.write(str(ticks))


def tick():
    global ticks
    ticks += 1


def main():
    port = int(sys.argv[sys.argv.index("--port") + 1])
    app = tornado.web.Application(
        [
            (r"/", MainHandler),
            (r"/json", JsonHandler),
            (r"/poll", PollHandler),
            (r"/poll/closed", ClosedHandler),
            (r"/cookies/set", CookieSetHandler),
            (r"/cookies/signed", CookieSignedHandler),
            (r"/cookies/read", CookieReadHandler),
            (r"/args", ArgsHandler),
            (r"/error/([0-9]+)", ErrorHandler),
            (r"/boom", BoomHandler),
            (r"/ticks", TicksHandler),
        ],
        default_handler_class=NotFoundHandler,
        cookie_secret={1: "parity old secret", 2: "parity secret"},
        key_version=2,
    )
    app.listen(port, address="localhost")
    tornado.ioloop.PeriodicCallback(tick, 20).start()
    tornado.ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
