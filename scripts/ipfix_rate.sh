#!/usr/bin/env bash
# Records/s into a real collector: `flowtrack conn --ipfix` and `softflowd -r` (IPFIX, -v 10)
# each export a capture into nfcapd (nfdump) on loopback, one after the other, RUNS times;
# prints each run's wall time, the records nfcapd stored and the rate.
#
# The TCP run's time includes the Python relay's (it ends when the relay has passed on the last
# message) and 0.2 s for the relay to start listening.
#
# Usage: scripts/ipfix_rate.sh CAPTURE [RUNS]      (needs nfdump and softflowd installed)
set -euo pipefail
cd "$(dirname "$0")/.."
capture=$1; runs=${2:-3}
binary=${FLOWTRACK:-.build/release/flowtrack}
[ -x "$binary" ] || swift build -c release --product flowtrack >/dev/null
work=$(mktemp -d)
trap 'pkill -TERM -f "nfcapd -b 127.0.0.1 -p 9970" 2>/dev/null || true; rm -rf "$work"' EXIT
# nfcapd through Python, which clears any blocked signals so that SIGTERM makes it write its file.
start_nfcapd() {
    mkdir -p "$1"
    python3 -c 'import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])' \
        /usr/bin/nfcapd -b 127.0.0.1 -p 9970 -w "$1" -B 67108864 >/dev/null 2>&1 &
    sleep 0.5
}
stop_nfcapd() { sleep 1; pkill -TERM -f "nfcapd -b 127.0.0.1 -p 9970"; sleep 1; nfdump -R "$1" -q -o raw | grep -c "Flow Record"; }
measure() {  # name, command...
    local name=$1; shift
    local dir="$work/$name-$RANDOM"
    start_nfcapd "$dir"
    local t0 t1 records
    t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N)
    records=$(stop_nfcapd "$dir")
    python3 -c "import sys; w=float(sys.argv[2])-float(sys.argv[1]); r=int(sys.argv[3]); print(f'{sys.argv[4]:10s} {w:7.3f} s  {r:9d} records  {r/w/1000:8.1f} k records/s')" "$t0" "$t1" "$records" "$name"
}
# TCP: scripts/ipfix_tcp_relay.py takes the stream on TCP 9970 and hands each message to
# nfcapd on UDP 9970 (nfcapd has no TCP listener).
tcp_export() {
    python3 scripts/ipfix_tcp_relay.py 9970 9970 --once &
    local relay=$!
    sleep 0.2
    "$binary" conn -C -q --format json --ipfix 127.0.0.1:9970 --ipfix-transport tcp "$capture"
    wait "$relay"
}
for _ in $(seq "$runs"); do
    measure flowtrack "$binary" conn -C -q --format json --ipfix 127.0.0.1:9970 "$capture"
    measure flowtrack-tcp tcp_export
    measure softflowd softflowd -r "$capture" -n 127.0.0.1:9970 -v 10 -m 2000000
done
