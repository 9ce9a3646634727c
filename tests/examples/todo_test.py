"""End-to-end: the to-do REST API (examples/todo) and squall-server over
loopback, with Python's http.client as the client.

Usage: todo_test.py <build/examples/todo>
       todo_test.py --squall-server <build/examples/squall-server>

The first form starts examples/todo on a free port with a temporary SQLite
file and walks the API: register, log in (signed cookie), tasks created,
listed, updated and deleted through JSON and form posts, the error codes
(400, 401, 403, 404, 405, 409), passwords stored as PBKDF2 hashes (checked
with hashlib), and the data still there after a restart on the same file.
The second checks that squall-server serves the hello routes and the to-do
API together. Prints "N passed, M failed"; exits 1 on any failure.
"""
import hashlib
import http.client
import json
import os
import pathlib
import sqlite3
import sys
import tempfile
import threading
import urllib.parse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from squall_testing import Checks, ServerProcess  # noqa: E402

check = Checks()

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "%d %r" % (self.status, self.body[:300])


class Client:
    """A keep-alive connection with a cookie jar (just name=value)."""

    def __init__(self, port):
        self.port = port
        self.cookies = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method, path, json_body=None, form=None, raw=None, content_type=None):
        headers = {}
        body = None
        if json_body is not None:
            body, headers["Content-Type"] = json.dumps(json_body), "application/json"
        elif form is not None:
            body, headers["Content-Type"] = urllib.parse.urlencode(form), "application/x-www-form-urlencoded"
        elif raw is not None:
            body, headers["Content-Type"] = raw, content_type
        if self.cookies:
            headers["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read().decode()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()  # the server closed an idle keep-alive connection: retry once
                if attempt == 2:
                    raise
        for cookie in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";")[0]
            if value and "max-age=0" not in cookie.lower():
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return Response(resp.status, resp.headers, data)

    def close(self):
        self.conn.close()


def expect(name, resp, status):
    check(name, resp.status == status, "expected %d, got %r" % (status, resp))
    return resp


def accounts_and_login(c, bob):
    r = expect("routes", c.request("GET", "/api/v1"), 200)
    paths = [x["path"] for x in (r.json or {}).get("routes", [])]
    check("routes list", "/api/v1/accounts/<username>/tasks/<id>" in paths and len(paths) == 12, paths)
    check("routes are JSON", r.headers.get("Content-Type", "").startswith("application/json"), r.headers)
    expect("HEAD routes", c.request("HEAD", "/api/v1"), 200)

    r = expect("register (JSON)", c.request("POST", "/api/v1/accounts",
               json_body={"username": "ann", "email": "ann@example.org", "password": "ann-secret"}), 201)
    check("register body", r.json and r.json["username"] == "ann" and "password" not in r.json, r)
    check("register Location", r.headers.get("Location") == "/api/v1/accounts/ann", r.headers)
    r = expect("register (form)", c.request("POST", "/api/v1/accounts",
               form={"username": "bob", "email": "bob@example.org", "password": "bob-secret"}), 201)
    r = expect("duplicate username", c.request("POST", "/api/v1/accounts",
               form={"username": "ann", "email": "x@example.org", "password": "another1"}), 409)
    check("errors are JSON", r.json and r.json.get("status") == 409 and "taken" in r.json.get("error", ""), r)
    expect("missing password", c.request("POST", "/api/v1/accounts", form={"username": "cy", "email": "c@x.org"}), 400)
    expect("missing fields (JSON)", c.request("POST", "/api/v1/accounts", json_body={"username": "cy"}), 400)
    expect("bad JSON", c.request("POST", "/api/v1/accounts", raw='{"username": "cy",', content_type="application/json"), 400)
    expect("JSON not an object", c.request("POST", "/api/v1/accounts", json_body=["cy"]), 400)
    expect("bad username", c.request("POST", "/api/v1/accounts",
           form={"username": "c y", "email": "c@x.org", "password": "secret1"}), 400)
    expect("reserved username", c.request("POST", "/api/v1/accounts",
           form={"username": "login", "email": "c@x.org", "password": "secret1"}), 400)
    expect("405 on the account list", c.request("GET", "/api/v1/accounts"), 405)

    r = expect("account detail", c.request("GET", "/api/v1/accounts/ann"), 200)
    check("no email for strangers", r.json and "email" not in r.json, r)
    expect("unknown account", c.request("GET", "/api/v1/accounts/nobody"), 404)
    r = expect("tasks without login", c.request("GET", "/api/v1/accounts/ann/tasks"), 401)
    check("401 challenge", "WWW-Authenticate" in r.headers, r.headers)
    expect("edit without login", c.request("PATCH", "/api/v1/accounts/ann", json_body={"email": "a@b.c"}), 401)

    expect("wrong password", c.request("POST", "/api/v1/accounts/login", form={"username": "ann", "password": "nope-nope"}), 401)
    expect("unknown user login", c.request("POST", "/api/v1/accounts/login", form={"username": "zed", "password": "nope-nope"}), 401)
    expect("login without password", c.request("POST", "/api/v1/accounts/login", form={"username": "ann"}), 400)
    check("no cookie after failures", "session" not in c.cookies, c.cookies)
    r = expect("login (form)", c.request("POST", "/api/v1/accounts/login", form={"username": "ann", "password": "ann-secret"}), 200)
    check("session cookie", "session" in c.cookies and "HttpOnly" in (r.headers.get("Set-Cookie") or ""), r.headers)
    r = expect("own account detail", c.request("GET", "/api/v1/accounts/ann"), 200)
    check("email for the owner", r.json and r.json.get("email") == "ann@example.org", r)
    expect("login (JSON)", bob.request("POST", "/api/v1/accounts/login", json_body={"username": "bob", "password": "bob-secret"}), 200)


def tasks(c, bob):
    base = "/api/v1/accounts/ann/tasks"
    r = expect("list empty", c.request("GET", base), 200)
    check("empty list", r.json == {"username": "ann", "tasks": []}, r)
    r = expect("create (JSON)", c.request("POST", base, json_body={"name": "milk", "due_date": "2030-01-02"}), 201)
    milk = r.json or {}
    check("created task", milk.get("name") == "milk" and milk.get("completed") is False and milk.get("due_date") == "2030-01-02", r)
    check("task Location", r.headers.get("Location") == "%s/%s" % (base, milk.get("id")), r.headers)
    r = expect("create (form)", c.request("POST", base, form={"name": "bread", "note": "rye", "completed": "true"}), 201)
    bread = r.json or {}
    check("form task", bread.get("note") == "rye" and bread.get("completed") is True and bread.get("due_date") is None, r)
    expect("create without name", c.request("POST", base, form={"note": "no name"}), 400)
    expect("create with bad date", c.request("POST", base, json_body={"name": "x", "due_date": "tomorrow"}), 400)
    expect("create with bad flag", c.request("POST", base, json_body={"name": "x", "completed": "maybe"}), 400)
    expect("create with bad JSON", c.request("POST", base, raw="{name", content_type="application/json"), 400)
    r = expect("list", c.request("GET", base), 200)
    check("list order", [t["name"] for t in (r.json or {}).get("tasks", [])] == ["milk", "bread"], r)

    one = "%s/%d" % (base, milk.get("id", 0))
    r = expect("task detail", c.request("GET", one), 200)
    check("task detail body", r.json == milk, r)
    r = expect("PATCH (JSON)", c.request("PATCH", one, json_body={"completed": True}), 200)
    check("patched", r.json and r.json["completed"] is True and r.json["name"] == "milk", r)
    r = expect("PUT (form)", c.request("PUT", one, form={"name": "oat milk", "due_date": ""}), 200)
    check("put", r.json and r.json["name"] == "oat milk" and r.json["due_date"] is None and r.json["completed"], r)
    expect("update with nothing", c.request("PUT", one, json_body={}), 400)
    expect("unknown task", c.request("GET", base + "/999999"), 404)
    expect("huge task id", c.request("GET", base + "/99999999999999999999999"), 404)
    expect("non-numeric task id", c.request("GET", base + "/abc"), 404)
    expect("unknown API path", c.request("GET", "/api/v1/nothing"), 404)
    r = expect("405 on a task", c.request("POST", one, json_body={"name": "x"}), 405)
    check("Allow field", set((r.headers.get("Allow") or "").split(", ")) >= {"GET", "PUT", "PATCH", "DELETE"}, r.headers)
    expect("405 on the list", c.request("DELETE", base), 405)
    expect("405 on the routes", c.request("PUT", "/api/v1", json_body={}), 405)

    expect("other user's tasks", bob.request("GET", base), 403)
    expect("other user's task", bob.request("GET", one), 403)
    expect("other user's update", bob.request("PATCH", one, json_body={"name": "mine"}), 403)
    expect("other user's delete", bob.request("DELETE", one), 403)
    expect("other user's account edit", bob.request("PATCH", "/api/v1/accounts/ann", json_body={"email": "x@y.z"}), 403)
    r = expect("bob creates", bob.request("POST", "/api/v1/accounts/bob/tasks", form={"name": "bob's"}), 201)
    bobs = "/api/v1/accounts/bob/tasks/%d" % (r.json or {}).get("id", 0)
    expect("bob's task under ann", c.request("GET", "%s/%d" % (base, (r.json or {}).get("id", 0))), 404)
    expect("ann on bob's task", c.request("GET", bobs), 403)

    expect("delete task", c.request("DELETE", "%s/%d" % (base, bread["id"])), 204)
    expect("deleted task", c.request("GET", "%s/%d" % (base, bread["id"])), 404)
    expect("delete again", c.request("DELETE", "%s/%d" % (base, bread["id"])), 404)
    return one


def concurrent_tasks(c):
    """Parallel clients on both loops: every create and delete lands once."""
    base = "/api/v1/accounts/ann/tasks"
    start = len(c.request("GET", base).json["tasks"])
    ids, errors = [], []

    def worker(n, action):
        w = Client(c.port)
        w.cookies = dict(c.cookies)
        try:
            for i in range(5):
                if action == "create":
                    r = w.request("POST", base, json_body={"name": "job %d.%d" % (n, i)})
                    if r.status == 201:
                        ids.append(r.json["id"])
                    else:
                        errors.append(r)
                else:
                    r = w.request("DELETE", "%s/%d" % (base, ids[n * 5 + i]))
                    if r.status != 204:
                        errors.append(r)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            w.close()

    for action in ("create", "delete"):
        threads = [threading.Thread(target=worker, args=(n, action)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check("concurrent " + action, not errors and len(set(ids)) == 40, errors[:3])
        want = start + 40 if action == "create" else start
        got = len(c.request("GET", base).json["tasks"])
        check("count after concurrent " + action, got == want, (got, want))


def account_edits(c, bob):
    r = expect("edit email", bob.request("PATCH", "/api/v1/accounts/bob", json_body={"email": "robert@example.org"}), 200)
    check("edited", r.json and r.json.get("email") == "robert@example.org", r)
    expect("rename to a taken name", bob.request("PUT", "/api/v1/accounts/bob", form={"username": "ann"}), 409)
    expect("edit nothing", bob.request("PATCH", "/api/v1/accounts/bob", json_body={}), 400)
    expect("new password", bob.request("PATCH", "/api/v1/accounts/bob", json_body={"password": "bob-new-secret"}), 200)
    fresh = Client(bob.port)
    expect("old password", fresh.request("POST", "/api/v1/accounts/login", form={"username": "bob", "password": "bob-secret"}), 401)
    expect("login with new password", fresh.request("POST", "/api/v1/accounts/login",
           form={"username": "bob", "password": "bob-new-secret"}), 200)
    expect("logout (POST)", fresh.request("POST", "/api/v1/accounts/logout"), 200)
    check("cookie cleared", "session" not in fresh.cookies, fresh.cookies)
    expect("tasks after logout", fresh.request("GET", "/api/v1/accounts/bob/tasks"), 401)
    fresh.close()


def check_hashes(db):
    with sqlite3.connect(db) as conn:
        rows = dict(conn.execute("SELECT username, password FROM accounts").fetchall())
    scheme, iterations, salt, digest = rows.get("ann", "$$$").split("$")
    check("stored hashed", scheme == "pbkdf2_sha256" and "ann-secret" not in rows.get("ann", ""), rows)
    want = hashlib.pbkdf2_hmac("sha256", b"ann-secret", salt.encode(), int(iterations or 1)).hex()
    check("PBKDF2-HMAC-SHA256", digest == want, (digest, want))
    check("salted", rows.get("ann", "").split("$")[2] != rows.get("bob", "").split("$")[2], rows)


def todo_suite(binary):
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "todo.sqlite3")
        args = ["--db", db, "--threads", "2", "--password-iterations", "2000", "--cookie-secret", "test-secret"]
        server = ServerProcess(binary, *args)
        try:
            c, bob = Client(server.port), Client(server.port)
            accounts_and_login(c, bob)
            one = tasks(c, bob)
            concurrent_tasks(c)
            account_edits(c, bob)
            check_hashes(db)
            before = c.request("GET", "/api/v1/accounts/ann/tasks").json
            # Idle keep-alive connections would hold the server's drain.
            c.close()
            bob.close()
            rc, _ = server.stop()
            check("clean exit", rc == 0, rc)

            server = ServerProcess(binary, *args)
            c.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            r = expect("session across restart", c.request("GET", "/api/v1/accounts/ann/tasks"), 200)
            check("data persists", r.json == before and len(before["tasks"]) == 1, (r, before))
            expect("task persists", c.request("GET", one), 200)
            again = Client(server.port)
            expect("login after restart", again.request("POST", "/api/v1/accounts/login",
                   json_body={"username": "bob", "password": "bob-new-secret"}), 200)
            expect("delete account", again.request("DELETE", "/api/v1/accounts/bob"), 204)
            check("delete clears the session", "session" not in again.cookies, again.cookies)
            expect("deleted account", c.request("GET", "/api/v1/accounts/bob"), 404)
            with sqlite3.connect(db) as conn:
                left = conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
            check("account's tasks deleted", left == 1, left)
            c.close()
            again.close()
            rc, _ = server.stop()
            check("clean exit after restart", rc == 0, rc)
        finally:
            server.kill()


def squall_server_suite(binary):
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(binary, "--db", os.path.join(tmp, "todo.sqlite3"), capture=True)
        try:
            c = Client(server.port)
            r = expect("GET /", c.request("GET", "/"), 200)
            check("hello", r.body == "Hello, world!", r)
            r = expect("GET /json", c.request("GET", "/json"), 200)
            check("hello json", r.json == {"message": "Hello, world!"}, r)
            r = expect("POST /echo", c.request("POST", "/echo", raw="ping", content_type="text/plain"), 200)
            check("echo", r.body == "ping", r)
            r = expect("POST /upload", c.request("POST", "/upload", raw="x" * 70000, content_type="text/plain"), 200)
            check("upload", r.body == "ok", r)
            r = expect("API routes", c.request("GET", "/api/v1"), 200)
            check("API routes body", len((r.json or {}).get("routes", [])) == 12, r)
            expect("register", c.request("POST", "/api/v1/accounts",
                   form={"username": "dee", "email": "dee@example.org", "password": "dee-secret"}), 201)
            expect("login", c.request("POST", "/api/v1/accounts/login", form={"username": "dee", "password": "dee-secret"}), 200)
            expect("create task", c.request("POST", "/api/v1/accounts/dee/tasks", json_body={"name": "ship"}), 201)
            r = expect("list tasks", c.request("GET", "/api/v1/accounts/dee/tasks"), 200)
            check("task listed", [t["name"] for t in (r.json or {}).get("tasks", [])] == ["ship"], r)
            c.close()
            rc, out = server.stop()
            check("clean exit", rc == 0, rc)
            check("prints where it listens", "http://127.0.0.1:%d/" % server.port in out, out)
            check("prints the routes", "/api/v1/accounts/<username>/tasks" in out and "/echo" in out, out)
        finally:
            server.kill()


def main():
    try:
        if sys.argv[1] == "--squall-server":
            squall_server_suite(sys.argv[2])
        else:
            todo_suite(sys.argv[1])
    except Exception as e:  # noqa: BLE001 - an unexpected error is a failure too
        check("no exception", False, repr(e))
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
