"""End-to-end: examples/echo served to Python socket clients over loopback.

Usage: echo_test.py <path to build/examples/echo>
Starts the server on a free port with 2 threads, runs concurrent clients
sending random sizes (1 byte to 256 KiB), compares every byte, then stops
the server with SIGTERM and checks that it exits cleanly.
"""
import pathlib
import random
import signal
import socket
import subprocess
import sys
import threading

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from squall_testing import free_port, wait_listening  # noqa: E402


def client(port, seed, errors):
    rng = random.Random(seed)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
            for _ in range(5):
                size = rng.choice([1, 2, 100, 4096, 65536, rng.randint(1, 256 * 1024)])
                payload = rng.randbytes(size)
                sender = threading.Thread(target=s.sendall, args=(payload,))
                sender.start()
                got = bytearray()
                while len(got) < size:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                sender.join()
                if bytes(got) != payload:
                    errors.append("client %d: %d bytes sent, %d back, equal=%s" % (seed, size, len(got), bytes(got) == payload))
                    return
    except Exception as e:  # noqa: BLE001 - every failure is reported
        errors.append("client %d: %r" % (seed, e))


def main():
    server = sys.argv[1]
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--threads", "2"])
    passed = failed = 0
    try:
        wait_listening(port, proc)
        errors = []
        clients = [threading.Thread(target=client, args=(port, i, errors)) for i in range(50)]
        for t in clients:
            t.start()
        for t in clients:
            t.join()
        for e in errors:
            print("FAIL:", e)
        failed += len(errors)
        passed += len(clients) - len(errors)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=10)
        if rc == 0:
            passed += 1
        else:
            print("FAIL: server exit code after SIGTERM:", rc)
            failed += 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
