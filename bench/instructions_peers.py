"""The servers of make bench-instructions (bench/instructions_bench.py):
which of them serve which case, their command lines (under valgrind or
not), the to-do API's set-up (an account, its signed session cookie, one
task), and the bodies the peers copy from squall so that every server
sends the same number of bytes.

Everything talks to 127.0.0.1 only; every wait is bounded.
"""
import http.client
import json
import os
import pwd
import re
import shutil
import subprocess
import urllib.parse

import benchlib as bl

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "peers")
COOKIE_SECRET = "8f1d0a6c2b7e4f3a9c5d1e0b6a7f2c4d8e9b0a1c2d3e4f5a6b7c8d9e0f1a2b3c"

# The cases each server answers in the instruction counts; the CPU run
# (GET / and ws64 without valgrind) adds Asio's io_uring backend and
# Tornado, which valgrind cannot or should not run.
SERVES = {
    "squall": {"get", "get16", "json", "echo", "todo", "ws64"},
    "nginx": {"get", "get16", "json", "echo", "todo"},
    "h2o": {"get", "get16", "json", "echo", "todo"},
    "h2o-evloop": {"get", "get16"},
    "beast": {"get", "get16"},
    "node": {"ws64"},
}
CPU_SERVES = {"squall": {"get", "todo", "ws64"}, "nginx": {"get", "todo"}, "h2o": {"get", "todo"}, "h2o-evloop": {"get"},
              "beast": {"get"}, "beast-uring": {"get"}, "node": {"get", "ws64"}, "tornado": {"get", "ws64"}}


def serves(name, case, args, cpu=False):
    return case in (CPU_SERVES if cpu else SERVES).get(name, set())


def exe(args, *parts):
    return os.path.join(args.build, *parts)


def missing(name, args):
    """Why server `name` cannot run here, or None."""
    need = {"squall": [exe(args, "examples", "hello"), exe(args, "examples", "ws_echo"),
                       exe(args, "examples", "todo")],
            "nginx": [args.nginx], "h2o": [args.h2o],
            "h2o-evloop": [exe(args, "bench", "h2o_evloop_hello")],
            "beast": [exe(args, "bench", "beast_hello")], "beast-uring": [exe(args, "bench", "beast_hello_uring")],
            "node": [shutil.which("node") or "node"], "tornado": ["/usr/bin/python3"]}.get(name)
    if need is None:
        return "unknown server"
    for path in need:
        if not os.access(path, os.X_OK):
            return "%s is not built or installed (make bench-instructions builds and installs it)" % path
    if name == "node" and not os.path.isdir(os.path.join(args.node_modules, "ws")):
        return "node's ws module is not installed (scripts/install-npm ws@8)"
    if name == "tornado" and subprocess.run(["/usr/bin/python3", "-c", "import tornado"],
                                            stderr=subprocess.DEVNULL).returncode:
        return "python3-tornado is not installed"
    return None


def ruby_literal(text):
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def nginx_literal(text):
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def nginx_command(args, port):
    extra = "\n".join([
        "        location = /json {",
        "            default_type \"application/json; charset=UTF-8\";",
        "            return 200 %s;" % nginx_literal(args.json_body),
        "        }",
        "        location = /echo {",
        "            default_type application/octet-stream;",
        "            return 200 %s;" % nginx_literal("x" * 1024),
        "        }",
        "        location = /todo {",
        "            default_type \"application/json; charset=UTF-8\";",
        "            add_header Cache-Control no-store;",
        "            return 200 %s;" % nginx_literal(args.todo_body),
        "        }"])
    return bl.nginx_config(os.path.join(args.bench_dir, "peers"), "nginx-instr", args.nginx, port,
                           server_extra=extra)


def h2o_command(args, port):
    conf = os.path.abspath(os.path.join(args.bench_dir, "peers", "h2o-instr", "h2o.conf"))
    with open(os.path.join(PEERS, "h2o_routes.conf")) as f:
        text = f.read().format(port=port, user=pwd.getpwuid(os.getuid()).pw_name, json=ruby_literal(args.json_body), todo=ruby_literal(args.todo_body))
    bl.write_file(conf, text)
    return [args.h2o, "-c", conf]


def command(args, name, case, port):
    p = str(port)
    if name == "squall":
        common = ["--host", "127.0.0.1", "--port", p, "--threads", "1", "--drain", "1"]
        if case == "ws64":
            return [exe(args, "examples", "ws_echo")] + common
        if case == "todo":
            return [exe(args, "examples", "todo"), "--db", ":memory:", "--cookie-secret", COOKIE_SECRET,
                    "--password-iterations", "1"] + common
        return [exe(args, "examples", "hello")] + common
    if name == "nginx":
        return nginx_command(args, port)
    if name == "h2o":
        return h2o_command(args, port)
    if name in ("h2o-evloop", "beast", "beast-uring"):
        prog = {"h2o-evloop": "h2o_evloop_hello", "beast": "beast_hello", "beast-uring": "beast_hello_uring"}[name]
        return [exe(args, "bench", prog), "--host", "127.0.0.1", "--port", p]
    if name == "node":
        if case == "ws64":
            return ["node", os.path.join(PEERS, "ws_echo_node.js"), "--port", p]
        return ["node", os.path.join(PEERS, "node_hello.js"), p]
    if name == "tornado":
        if case == "ws64":
            return ["/usr/bin/python3", os.path.join(PEERS, "ws_echo_tornado.py"), "--port", p]
        return ["/usr/bin/python3", os.path.join(PEERS, "tornado_hello.py"), p]
    raise bl.BenchError("unknown server %r" % name)


class Server:
    def __init__(self, procs, args, name, case, port, valgrind):
        self.procs, self.name, self.case, self.port = procs, name, case, port
        cmd = (valgrind or []) + command(args, name, case, port)
        env = dict(os.environ, NODE_PATH=args.node_modules)
        log = open(os.path.join(args.bench_dir, "instructions-server-%s.log" % name), "ab")
        self.p = procs.start(bl.pinned(0, [], cmd), stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        bl.wait_listening(self.p, port, name, timeout=120 if valgrind else 20)

    def setup(self):
        """Set-up requests before the load; {"path": ..., "headers": [...]}
        for the load (the to-do API's task and session cookie)."""
        if self.case != "todo" or self.name != "squall":
            return {}
        return todo_session(self.port)

    def stop(self, timeout):
        self.procs.stop(self.p, timeout=timeout)


def start(procs, args, name, case, port, valgrind):
    return Server(procs, args, name, case, port, valgrind)


def request(port, method, path, form=None, headers=None, expect=200):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        body = urllib.parse.urlencode(form) if form is not None else None
        h = dict(headers or {})
        if body is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        if r.status != expect:
            raise bl.BenchError("%s %s: %d, not %d: %r" % (method, path, r.status, expect, data[:200]))
        return r, data
    finally:
        c.close()


def todo_session(port):
    """Registers an account, logs in and adds a task on the to-do API;
    the task's path and the signed session cookie to send with it."""
    user = {"username": "bench", "email": "bench@example.org", "password": "bench-secret"}
    request(port, "POST", "/api/v1/accounts", form=user, expect=201)
    r, _ = request(port, "POST", "/api/v1/accounts/login", form={"username": "bench", "password": "bench-secret"})
    m = re.match(r"\s*(session=[^;]+)", r.getheader("Set-Cookie") or "")
    if not m:
        raise bl.BenchError("the to-do login set no session cookie")
    cookie = m.group(1)
    _, data = request(port, "POST", "/api/v1/accounts/bench/tasks", form={"name": "milk", "note": "two litres"},
                      headers={"Cookie": cookie}, expect=201)
    path = "/api/v1/accounts/bench/tasks/%d" % json.loads(data)["id"]
    request(port, "GET", path, headers={"Cookie": cookie})
    return {"path": path, "headers": ["Cookie: " + cookie]}


def probe_bodies(procs, args):
    """Reads squall's /json body and to-do answer (without valgrind), the
    bodies the peers send in their place."""
    port = bl.free_port()
    s = Server(procs, args, "squall", "todo", port, None)
    try:
        load = todo_session(port)
        _, todo = request(port, "GET", load["path"], headers={"Cookie": load["headers"][0][len("Cookie: "):]})
    finally:
        s.stop(timeout=10)
    port = bl.free_port()
    s = Server(procs, args, "squall", "json", port, None)
    try:
        _, js = request(port, "GET", "/json")
    finally:
        s.stop(timeout=10)
    args.todo_body, args.json_body = todo.decode(), js.decode()
