#!/bin/sh
# Instructions per request of `GET /` on examples/hello (one thread),
# counted by cachegrind: the difference between a short and a long
# squall-load run over their difference in requests, so that start-up and
# shutdown cancel out. Deterministic enough to compare two builds (a few
# tenths of a percent apart from run to run), unlike a timing.
#   bench/instructions.sh [build-dir] [short] [long] [depth]
# depth: requests pipelined on each connection (squall-load --pipeline).
set -eu
build=${1:-build}
short=${2:-20000}
long=${3:-120000}
depth=${4:-1}
port=${PORT:-18931}

count() {
    out=$(mktemp)
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$out" \
        "$build/examples/hello" --port "$port" --threads 1 >/dev/null 2>&1 &
    pid=$!
    # Up under valgrind: wait until it answers (bounded).
    i=0
    until curl -s -o /dev/null "http://127.0.0.1:$port/" || [ $i -ge 300 ]; do sleep 0.2; i=$((i + 1)); done
    "$build/bench/squall-load" -c 50 -p "$depth" -n "$1" "http://127.0.0.1:$port/" >/dev/null
    kill -INT $pid
    wait $pid || true
    grep '^summary:' "$out" | awk '{print $2}'
    rm -f "$out"
}

a=$(count "$short")
b=$(count "$long")
echo "instructions per request (depth $depth): $(( (b - a) / (long - short) ))  (runs: $short -> $a, $long -> $b)"
