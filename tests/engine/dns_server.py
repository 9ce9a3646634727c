#!/usr/bin/python3
"""A scripted DNS responder on 127.0.0.1 (UDP and TCP, one port) for the
resolver tests: the answers dnsmasq cannot be made to give.

    dns_server.py --zone ZONE.json --log QUERIES.log

prints "port N" once both sockets listen, then serves until killed. Every
query received is appended to the log as "udp|tcp NAME TYPE" (flushed at
once), so a test can count what reached the server. The zone maps a
lower-case name to either a string or an object:

    "nxdomain"  NXDOMAIN          "servfail"  SERVFAIL
    "refused"   REFUSED           "silent"    no answer at all
    {"A": [...], "AAAA": [...], "ttl": 60, "delay_ms": 0, "tc": false}
        the records (a type with none listed: NOERROR with no answer,
        i.e. NODATA); delay_ms delays the reply (a number, or per type:
        {"A": 300}); "silent": ["AAAA"] never answers those types; tc:
        over UDP the reply carries no records and the TC bit, over TCP
        the full answer.

Names not in the zone get NXDOMAIN.
"""
import argparse
import ipaddress
import json
import socket
import struct
import sys
import threading
import time

TYPES = {1: "A", 28: "AAAA"}


def parse_question(msg):
    """(id, flags, qname, qtype, end of question) of a query."""
    qid, flags, qdcount = struct.unpack("!HHH", msg[:6])
    if qdcount != 1:
        raise ValueError("one question expected")
    labels, i = [], 12
    while msg[i] != 0:
        n = msg[i]
        labels.append(msg[i + 1:i + 1 + n].decode("ascii"))
        i += 1 + n
    qtype, _ = struct.unpack("!HH", msg[i + 1:i + 5])
    return qid, flags, ".".join(labels).lower(), qtype, i + 5


def reply(msg, zone, over_tcp):
    """The answer to `msg`, or None to stay silent."""
    qid, qflags, name, qtype, qend = parse_question(msg)
    entry = zone.get(name, "nxdomain")
    rcode, answers, tc = 0, [], False
    if entry == "silent":
        return None, 0
    if isinstance(entry, str):
        rcode = {"nxdomain": 3, "servfail": 2, "refused": 5}[entry]
        delay = 0
    else:
        qname = TYPES.get(qtype, "?")
        if qname in entry.get("silent", []):
            return None, 0
        delay = entry.get("delay_ms", 0)
        if isinstance(delay, dict):
            delay = delay.get(qname, 0)
        ttl = entry.get("ttl", 60)
        for value in entry.get(TYPES.get(qtype, "?"), []):
            packed = ipaddress.ip_address(value).packed
            answers.append(struct.pack("!HHHIH", 0xC00C, qtype, 1, ttl, len(packed)) + packed)
        if entry.get("tc") and not over_tcp:
            answers, tc = [], True
    flags = 0x8000 | (qflags & 0x0100) | 0x0080 | rcode  # QR, RD copied, RA
    if tc:
        flags |= 0x0200
    header = struct.pack("!HHHHHH", qid, flags, 1, len(answers), 0, 0)
    return header + msg[12:qend] + b"".join(answers), delay


class Server:
    def __init__(self, zone, log):
        self.zone, self.log, self.lock = zone, log, threading.Lock()

    def note(self, proto, msg):
        try:
            _, _, name, qtype, _ = parse_question(msg)
        except (ValueError, IndexError, struct.error):
            name, qtype = "?", 0
        with self.lock:
            self.log.write(f"{proto} {name} {TYPES.get(qtype, qtype)}\n")
            self.log.flush()

    def answer_udp(self, sock, msg, peer):
        self.note("udp", msg)
        out, delay = reply(msg, self.zone, False)
        if out is None:
            return
        if delay:
            time.sleep(delay / 1000)
        sock.sendto(out, peer)

    def serve_udp(self, sock):
        while True:
            msg, peer = sock.recvfrom(4096)
            threading.Thread(target=self.answer_udp, args=(sock, msg, peer), daemon=True).start()

    def serve_tcp_conn(self, conn):
        with conn:
            while True:
                head = conn.recv(2, socket.MSG_WAITALL)
                if len(head) < 2:
                    return
                msg = conn.recv(struct.unpack("!H", head)[0], socket.MSG_WAITALL)
                self.note("tcp", msg)
                out, delay = reply(msg, self.zone, True)
                if out is None:
                    continue
                if delay:
                    time.sleep(delay / 1000)
                conn.sendall(struct.pack("!H", len(out)) + out)

    def serve_tcp(self, sock):
        while True:
            conn, _ = sock.accept()
            threading.Thread(target=self.serve_tcp_conn, args=(conn,), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zone", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    with open(args.zone) as f:
        zone = {k.lower().rstrip("."): v for k, v in json.load(f).items()}
    server = Server(zone, open(args.log, "a"))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", 0))
    port = tcp.getsockname()[1]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", port))
    tcp.listen(16)
    threading.Thread(target=server.serve_tcp, args=(tcp,), daemon=True).start()
    print(f"port {port}", flush=True)
    server.serve_udp(udp)


if __name__ == "__main__":
    sys.exit(main())
