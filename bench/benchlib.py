"""Helpers shared by squall's load-run drivers (bench/bench.py,
bench/features_bench.py, bench/http_bench.py, bench/echo_bench.py).

Process CPU and memory from /proc, per-CPU busy time, the set of child
processes a run started (all killed on the way out, errors included),
bounded waits for a port and for a child's exit with its rusage, pinning
and SCHED_FIFO prefixes, and medians with their spread. Everything here
talks to 127.0.0.1 only.
"""
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


class BenchError(RuntimeError):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """(utime, stime) of the whole process (all threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def descendants(pid):
    """pid and every live process below it (from /proc/*/stat)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_cpu_seconds(pid):
    """utime+stime of pid and its live descendants, in seconds."""
    total = 0.0
    for p in descendants(pid):
        try:
            u, s = cpu_seconds(p)
        except OSError:
            continue
        total += u + s
    return total


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError("no VmRSS for pid %d" % pid)


def tree_rss_kib(pid):
    total = 0
    for p in descendants(pid):
        try:
            total += rss_kib(p)
        except (OSError, BenchError):
            pass
    return total


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def cpu_ticks(cpus):
    """{cpu: (busy, steal)} jiffies from /proc/stat for the given CPUs."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            name, *vals = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                v = [int(x) for x in vals]
                # user nice system idle iowait irq softirq steal ...
                out[int(name[3:])] = (v[0] + v[1] + v[2] + v[5] + v[6], v[7])
    return out


class Processes:
    """Every child started here; kill_all() ends whatever is still alive."""

    def __init__(self):
        self.procs = []

    def start(self, args, **kw):
        p = subprocess.Popen(args, **kw)
        self.procs.append(p)
        return p

    def forget(self, p):
        if p in self.procs:
            self.procs.remove(p)

    def stop(self, p, timeout=5.0):
        if p.returncode is None and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=timeout)
        self.forget(p)

    def kill_all(self):
        for p in self.procs:
            if p.returncode is None and p.poll() is None:
                p.kill()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        self.procs = []


def kill_on_sigterm():
    """SIGTERM unwinds like Ctrl-C, so a driver's finally still kills every
    process it started."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def nginx_config(bench_dir, name, nginx, port, listen_extra="", server_extra="", worker_connections=4096):
    """Writes bench/peers/nginx.conf (one worker, `return 200 "Hello,
    world!"`) filled in under bench_dir/name; returns the command that
    runs it in the foreground."""
    prefix = os.path.abspath(os.path.join(bench_dir, name))
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(prefix, d), exist_ok=True)
    conf = os.path.join(prefix, "nginx.conf")
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers", "nginx.conf")) as f:
        text = f.read().format(prefix=prefix, port=port, listen_extra=listen_extra,
                               worker_connections=worker_connections,
                               server_extra=server_extra + "\n" if server_extra else "")
    write_file(conf, text)
    return [nginx, "-p", prefix + "/", "-e", os.path.join(prefix, "error.log"), "-c", conf]


def write_file(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def wait_listening(p, port, name, timeout=10.0):
    """Waits until 127.0.0.1:port accepts a connection while p runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise BenchError("%s exited early with %d" % (name, p.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise BenchError("%s did not start listening on port %d" % (name, port))


def wait_rusage(p, timeout, what="the load client"):
    """Reaps p within timeout; returns its CPU seconds (user+system)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            p.returncode = os.waitstatus_to_exitcode(status)
            return ru.ru_utime + ru.ru_stime
        if time.monotonic() > deadline:
            raise BenchError("%s did not finish in time" % what)
        time.sleep(0.02)


def priority_prefix(rt, nice=0, who="bench"):
    """The command prefix that runs a process as SCHED_FIFO (chrt -f 1;
    needs root or CAP_SYS_NICE) and/or at a niceness; (prefix, rt in force)."""
    prefix = ["nice", "-n", str(nice)] if nice else []
    if rt:
        if subprocess.run(["chrt", "-f", "1", "true"], stderr=subprocess.DEVNULL).returncode == 0:
            return ["chrt", "-f", "1"] + prefix, True
        print("%s: SCHED_FIFO not permitted here; running at normal priority" % who, file=sys.stderr)
    return prefix, False


def pinned(cpu, prefix, cmd):
    """cmd pinned to one CPU; taskset and chrt exec it, so the pid is cmd's own."""
    return prefix + ["taskset", "-c", str(cpu)] + cmd


def median(values):
    return statistics.median(values)


def spread(values, fmt):
    """"median (min–max)" of values, each formatted with fmt."""
    return (fmt + " (" + fmt + "–" + fmt + ")") % (statistics.median(values), min(values), max(values))
