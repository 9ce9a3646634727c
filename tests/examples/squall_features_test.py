"""End-to-end: examples/squall-features runs and reports every feature.

Usage: squall_features_test.py <path to build/examples/squall-features>
Runs the probe with --json and checks it exits 0 with the kernel release,
the liburing version and, for each expected feature, a boolean verdict and
a reason; then checks the table names each feature too. Exits 77 (skipped)
when io_uring itself is unavailable here.
"""
import json
import subprocess
import sys

EXPECTED = {
    "single_issuer": "SINGLE_ISSUER",
    "defer_taskrun": "DEFER_TASKRUN",
    "coop_taskrun": "COOP_TASKRUN",
    "sqpoll": "SQPOLL",
    "registered_ring_fd": "registered ring fd",
    "ext_arg": "EXT_ARG",
    "nodrop": "NODROP",
    "buffer_ring": "provided buffer ring",
    "multishot_accept": "multishot accept",
    "multishot_recv": "multishot recv",
    "send_zc": "SEND_ZC",
    "sendmsg_zc": "SENDMSG_ZC",
    "msg_ring": "MSG_RING",
    "async_cancel_flags": "ASYNC_CANCEL any/fd",
    "socket_op": "socket op",
    "bind_listen": "BIND/LISTEN ops",
    "setsockopt_cmd": "setsockopt cmd",
    "min_timeout": "min_wait_usec",
    "napi": "NAPI busy poll",
    "pbuf_ring_inc": "incremental buffers",
    "recv_bundle": "recv bundle",
    "send_fixed_buf": "SEND fixed buffer",
    "send_zc_fixed_buf": "SEND_ZC fixed buffer",
    "accept_direct": "accept direct fd",
}


def run(args):
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def main():
    probe = sys.argv[1]
    failures = []
    out = run([probe, "--json"])
    if out.returncode == 1 and "cannot start an io_uring instance" in out.stderr:
        print("SKIP: io_uring unavailable:", out.stderr.strip())
        return 77
    if out.returncode != 0:
        print("FAIL: --json exited with", out.returncode, out.stderr)
        return 1
    doc = json.loads(out.stdout)
    for key in ("kernel", "liburing"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            failures.append("missing or empty %r" % key)
    features = doc.get("features", {})
    for key in EXPECTED:
        f = features.get(key)
        if not isinstance(f, dict) or not isinstance(f.get("supported"), bool) or not f.get("reason"):
            failures.append("feature %r: bad entry %r" % (key, f))
    extra = set(features) - set(EXPECTED)
    if extra:
        failures.append("unexpected features %s" % sorted(extra))

    table = run([probe])
    if table.returncode != 0:
        failures.append("table mode exited with %d" % table.returncode)
    for label in ["kernel", "liburing"] + list(EXPECTED.values()):
        if label not in table.stdout:
            failures.append("table lacks %r" % label)

    for f in failures:
        print("FAIL:", f)
    print("%d features probed, %d failures" % (len(features), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
