#!/usr/bin/env bash
# Captures real loopback traffic with tcpdump (needs root or CAP_NET_RAW):
#   tcp-loopback.pcap   one TCP connection on 127.0.0.1: handshake, the client sends
#                       1000 bytes, the server answers 2500 bytes, FIN close
#   udp-loopback.pcap   one UDP request (60 bytes) and response (300 bytes) on 127.0.0.1
#   ipv6-loopback.pcap  the same TCP exchange on ::1 (client 700 bytes, server 1300)
# The byte counts are fixed here and asserted by the tests.
set -euo pipefail
cd "$(dirname "$0")"

capture() {  # capture OUT FILTER -- command...
    local out=$1 filter=$2; shift 3
    tcpdump -i lo -U -s 262144 -w "$out" "$filter" 2>/dev/null &
    local pid=$!
    sleep 1
    "$@"
    sleep 1
    kill -INT "$pid"; wait "$pid" || true
}

capture tcp-loopback.pcap 'tcp port 47001' -- python3 helpers/loopback_peer.py tcp 127.0.0.1 47001 1000 2500
capture udp-loopback.pcap 'udp port 47002' -- python3 helpers/loopback_peer.py udp 127.0.0.1 47002 60 300
capture ipv6-loopback.pcap 'tcp port 47003' -- python3 helpers/loopback_peer.py tcp ::1 47003 700 1300
ls -l tcp-loopback.pcap udp-loopback.pcap ipv6-loopback.pcap
