"""The chat demo's long poll (POST /a/message/updates) when the client
leaves: the wait ends at once through the request's wait token (not at
its 25 s deadline), and the access log says 499, not 200. A poller that
stays gets the next message.

    /usr/bin/python3 chat_longpoll_test.py build/examples/chat
"""

import http.client
import pathlib
import queue
import socket
import sys
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from squall_testing import GUARD, Checks, ServerProcess  # noqa: E402

POLL = b"POST /a/message/updates HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n" \
       b"Content-Length: 8\r\n\r\ncursor=0"


def main(binary):
    check = Checks()
    with ServerProcess(binary, capture=True) as server:
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l) for l in server.proc.stdout], daemon=True).start()

        def wait_line(needle, guard):
            deadline = time.monotonic() + guard
            while time.monotonic() < deadline:
                try:
                    line = lines.get(timeout=0.1)
                except queue.Empty:
                    continue
                if needle in line:
                    return line
            return None

        s = socket.create_connection(("127.0.0.1", server.port), timeout=GUARD)
        s.sendall(POLL)
        time.sleep(0.5)  # the poller waits: the room is empty
        left = time.monotonic()
        s.close()
        line = wait_line("POST /a/message/updates", GUARD)
        check("the left poll is logged", line is not None)
        check("... as 499, not 200", line is not None and " 499 " in " " + line, line)
        # Its 25 s deadline is far: only the close can have ended it this soon.
        check("... at once, not at its deadline", time.monotonic() - left < 10, time.monotonic() - left)

        # A poller that stays is answered by the next message.
        waiting = http.client.HTTPConnection("127.0.0.1", server.port, timeout=GUARD)
        waiting.request("POST", "/a/message/updates", body="cursor=0",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        time.sleep(0.3)
        poster = http.client.HTTPConnection("127.0.0.1", server.port, timeout=GUARD)
        poster.request("POST", "/a/message/new", body="body=hi",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        check("message posted", poster.getresponse().status == 200)
        r = waiting.getresponse()
        body = r.read().decode()
        check("the staying poller gets the message", r.status == 200 and '"hi"' in body, body)
    return check.report()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
