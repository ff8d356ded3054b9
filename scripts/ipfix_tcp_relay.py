#!/usr/bin/env python3
"""Relays IPFIX over TCP to a collector that only listens on UDP (nfcapd, nfacctd).

    ipfix_tcp_relay.py LISTEN_PORT COLLECTOR_PORT [LOG] [--once] [--pace] [--ipv6]

Accepts TCP connections on 127.0.0.1:LISTEN_PORT one after another, cuts each stream into
IPFIX messages by the length field of the message header (RFC 7011 §3.1) and sends every
message as one datagram to 127.0.0.1:COLLECTOR_PORT. With LOG, appends a line per connection
closed: "connection N: M messages, B bytes" (or "... bad message" when a header is not
IPFIX version 10, which would mean the exporter framed the stream wrongly). With --once,
exits when the first connection ends. With --pace, pauses 1 ms after every 16 messages, so
that a burst (an exporter's queue sent at once on connecting) does not overflow the
collector's UDP receive buffer (212,992 bytes by default on Linux): the datagrams the relay
sends are not what is being tested. With --ipv6, listens on [::1]:LISTEN_PORT instead.

FlowTrack's tests use it to check `--ipfix-transport tcp` with nfcapd; nothing in it reads
more than the 16-byte header.
"""
import socket
import struct
import sys
import time


def main():
    listen_port, collector_port = int(sys.argv[1]), int(sys.argv[2])
    once = "--once" in sys.argv
    pace = "--pace" in sys.argv
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    log = args[2] if len(args) > 2 else None
    ipv6 = "--ipv6" in sys.argv
    server = socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("::1" if ipv6 else "127.0.0.1", listen_port))
    server.listen(4)
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    number = 0
    while True:
        conn, _ = server.accept()
        number += 1
        buffer, messages, total, bad = b"", 0, 0, False
        while True:
            data = conn.recv(65536)
            if not data:
                break
            total += len(data)
            buffer += data
            while len(buffer) >= 16:
                version, length = struct.unpack("!HH", buffer[:4])
                if version != 10 or length < 16:
                    bad = True
                    buffer = b""
                    break
                if len(buffer) < length:
                    break
                out.sendto(buffer[:length], ("127.0.0.1", collector_port))
                messages += 1
                if pace and messages % 16 == 0:
                    time.sleep(0.001)
                buffer = buffer[length:]
        conn.close()
        if log:
            with open(log, "a") as f:
                f.write(f"connection {number}: {messages} messages, {total} bytes{' bad message' if bad else ''}\n")
        if once:
            return


if __name__ == "__main__":
    main()
