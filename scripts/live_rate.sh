#!/usr/bin/env bash
# The packets/s `flowtrack live` keeps up with, by thread count: two network namespaces
# joined by a veth pair; tcpreplay --topspeed sends a capture from one end while
# `flowtrack live --threads N` captures on the other; the kernel's drop count (libpcap's
# statistics, printed by flowtrack at the end) says whether it kept up.
#
# Usage (root): [BUFFER=bytes] [PPS=N] scripts/live_rate.sh CAPTURE [THREADS...]   (default threads: 1 2;
# BUFFER, the kernel capture buffer, 4 MiB by default: small enough that a slow reader drops;
# PPS, a fixed send rate instead of tcpreplay's top speed)
# Prints one line per run: threads, packets sent, send rate, packets flowtrack read,
# kernel received / dropped.
set -euo pipefail
cd "$(dirname "$0")/.."
capture=$1; shift
[ $# -gt 0 ] && threads=("$@") || threads=(1 2)
binary=.build/release/flowtrack
[ -x "$binary" ] || swift build -c release --product flowtrack >/dev/null
a=ftrate-a$$ b=ftrate-b$$
cleanup() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$a"; ip netns add "$b"
ip link add rate-a netns "$a" type veth peer name rate-b netns "$b"
ip -n "$a" link set rate-a up mtu 9000; ip -n "$b" link set rate-b up mtu 9000
for n in "${threads[@]}"; do
    err=$(mktemp)
    ip netns exec "$b" "$binary" live -i rate-b -C --threads "$n" --format json --buffer-size "${BUFFER:-4194304}" >/dev/null 2>"$err" &
    pid=$!
    sleep 1.5
    speed=--topspeed; [ -n "${PPS:-}" ] && speed=--pps=$PPS
    sent=$(ip netns exec "$a" tcpreplay -i rate-a "$speed" "$capture" 2>&1 | awk '/Actual:/ {print $2, $4, $5, $6, $7, $8}')
    sleep 1
    kill -INT "$pid"; wait "$pid" || true
    echo "threads $n: sent $sent; $(grep -o '[0-9]* packets captured.*' "$err")"
    rm -f "$err"
done
