#!/usr/bin/python3
"""Crafts the fixtures of Zeek's smaller conn.log rules (Fixtures/zr-*.pcap) with scapy.

One capture per rule; the rows FlowTrack must report are written by hand in
Fixtures/zeek-rules-expected.tsv from Docs/ZeekSemantics.md and
Docs/Encapsulation.md §4 (the reasoning is in the comment above each capture).
Hosts and numbers as in make_conn.py: client C = 10.0.0.1 (ISN 1000), server
S = 10.0.0.2 (ISN 5000), times in seconds from T0.
Run: /usr/bin/python3 Fixtures/make_zeek_rules.py
"""
import base64
import hashlib
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers"))
from pcapfile import write_pcap  # noqa: E402
from scapy.all import DNS, DNSQR, DNSRR, IP, SCTP, TCP, UDP, Dot1AD, Dot1Q, Ether, Raw  # noqa: E402
from scapy.layers.ntp import NTP  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1_700_000_000 * 1_000_000_000
C, S = "10.0.0.1", "10.0.0.2"
CMAC, SMAC = "02:00:00:00:00:01", "02:00:00:00:00:02"


def eth(src_ip):
    return Ether(src=CMAC, dst=SMAC) if src_ip == C else Ether(src=SMAC, dst=CMAC)


def tcp(src, dst, sport, dport, flags, seq, ack=0, data=b""):
    return eth(src) / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=8192) / Raw(data)


def c2s(flags, seq, ack=0, data=b"", port=80):
    return tcp(C, S, 40000, port, flags, seq, ack, data)


def s2c(flags, seq, ack=0, data=b"", port=80):
    return tcp(S, C, port, 40000, flags, seq, ack, data)


def save(name, packets, times):
    assert len(packets) == len(times), name
    write_pcap(os.path.join(HERE, name), 1,
               [(T0 + int(round(t * 1e9)), p if isinstance(p, bytes) else bytes(p)) for t, p in zip(times, packets)])


def session(idle):
    """Handshake, `idle` seconds of silence, 10 bytes up, 20 down, FIN both ways, last ACK."""
    return ([c2s("S", 1000), s2c("SA", 5000, 1001), c2s("A", 1001, 5001), c2s("PA", 1001, 5001, b"x" * 10),
             s2c("PA", 5001, 1011, b"y" * 20), c2s("FA", 1011, 5021), s2c("FA", 5021, 1012), c2s("A", 1012, 5022)],
            [0, 0.1, 0.2] + [idle + 0.3 + i / 10 for i in range(5)])


# 1. The TCP inactivity timeout (§4a). The SYN-ACK moves the originator SYN_SENT ->
# ESTABLISHED while the responder is still INACTIVE: the timeout switches to 5 min there.
# 100 s and 240 s of silence stay one SF row; 360 s ends the first row 300 s after its last
# packet (S1 ShA, timeout) and the rest is a midstream pickup (DdFfA).
for idle in (100, 240, 360):
    save(f"zr-idle-{idle}.pcap", *session(idle))

# Idle in the handshake: the SYN's row ends by the attempt timer (5 s) before the SYN-ACK
# at 30 s, which starts a row of its own (flipped at creation: ^h). With the attempt delay
# raised to 120 s the handshake's UDP-valued inactivity timeout (60 s) ends the row instead.
save("zr-idle-handshake.pcap", [c2s("S", 1000), s2c("SA", 5000, 1001)], [0, 70])

# Midstream pickup, then silence: the first packet (data, no SYN) makes the originator
# PARTIAL while the responder is INACTIVE, which switches to 5 min at once; 200 s of
# silence stays one row (both PARTIAL: OTH).
save("zr-midstream-idle.pcap", [c2s("PA", 1001, 5001, b"m" * 10), s2c("A", 5001, 1011),
                                c2s("PA", 1011, 5001, b"n" * 10), s2c("A", 5001, 1021)], [0, 0.1, 200.2, 200.3])

# 2. ^ on flips at creation (§4b): data from a likely server port first (^d then the
# client's A), and a lone RST from port 443 (^r, RSTRH).
save("zr-flip-data.pcap", [s2c("PA", 5001, 1001, b"d" * 20), c2s("A", 1001, 5021)], [0, 0.1])
save("zr-flip-rst.pcap", [tcp(S, C, 443, 40000, "R", 5001)], [0])

# 3. Likely server ports. A lone SYN-ACK from port 80: flipped at creation with Zeek's
# default set (^h), not with zeek -b's set (H, originator 10.0.0.2:80). The SYN-ACK captured
# before its SYN on port 80: with zeek-bare it is recorded Hs^ (flipped by the reversal).
save("zr-lone-synack.pcap", [s2c("SA", 5000, 1001)], [0])
save("zr-reversal-80.pcap", [s2c("SA", 5000, 1001), c2s("S", 1000), c2s("A", 1001, 5001), c2s("FA", 1001, 5001),
                             s2c("FA", 5001, 1002), c2s("A", 1002, 5002)], [0, 0.1, 0.2, 0.3, 0.4, 0.5])

# 4. VLAN key and vlan/mac logging: the same UDP 5-tuple untagged, on VLAN 10, on VLAN 20
# and on QinQ 100/200; one row without the VLAN key, four with it.
def udp_on(tags, payload=b"v" * 10):
    frame = Ether(src=CMAC, dst=SMAC)
    if len(tags) == 2:
        frame = frame / Dot1AD(vlan=tags[0]) / Dot1Q(vlan=tags[1])
    elif len(tags) == 1:
        frame = frame / Dot1Q(vlan=tags[0])
    return frame / IP(src=C, dst=S) / UDP(sport=5000, dport=6000) / Raw(payload)


save("zr-vlan.pcap", [udp_on([]), udp_on([10]), udp_on([20]), udp_on([100, 200]), udp_on([10])], [0, 0.1, 0.2, 0.3, 0.4])

# 5. SCTP: two associations between the same hosts (ports 5000->6000 and 5001->6000).
# Zeek keys SCTP with ports 0: one unknown_transport row; keyed by ports: two.
save("zr-sctp.pcap", [
    eth(C) / IP(src=C, dst=S) / SCTP(sport=5000, dport=6000, tag=1) / Raw(b"\x00" * 16),
    eth(S) / IP(src=S, dst=C) / SCTP(sport=6000, dport=5000, tag=2) / Raw(b"\x00" * 16),
    eth(C) / IP(src=C, dst=S) / SCTP(sport=5001, dport=6000, tag=3) / Raw(b"\x00" * 16)], [0, 0.1, 0.2])

# 6. DNS and NTP (§4f). NTP between two port-123 hosts, the server's reply captured first:
# the reply (mode 4) from the originator turns the connection around (D^); both packets
# are counted for the new originator (the UDP counter quirk): orig_pkts 2, S0.
save("zr-ntp.pcap", [eth(S) / IP(src=S, dst=C) / UDP(sport=123, dport=123) / NTP(mode=4, ref=0, orig=0, recv=0, sent=0),
                     eth(C) / IP(src=C, dst=S) / UDP(sport=123, dport=123) / NTP(mode=3, ref=0, orig=0, recv=0, sent=0)], [0, 0.1])

# DNS between two port-53 hosts (no flip at creation: both ports likely), the response
# first: turned around by the DNS analyzer (D^). Then an mDNS response to 224.0.0.251:
# never turned around (multicast responder).
query = DNS(id=7, rd=1, qd=DNSQR(qname="example.com"))
answer = DNS(id=7, qr=1, rd=1, ra=1, qd=DNSQR(qname="example.com"), an=DNSRR(rrname="example.com", rdata="192.0.2.1"))
assert (len(bytes(query)), len(bytes(answer))) == (29, 56)
save("zr-dns-flip.pcap", [
    eth(S) / IP(src=S, dst=C) / UDP(sport=53, dport=53) / answer,
    eth(C) / IP(src=C, dst=S) / UDP(sport=53, dport=53) / query,
    eth(C) / IP(src="10.0.0.5", dst="224.0.0.251") / UDP(sport=5353, dport=5353) / answer], [0, 0.1, 1])

# DNS's 10 s expiry: query/answer at 0, 5 and 12 s on one 5-tuple, then a query at 30 s.
# Checks at 10 s (5.05 s quiet: kept, next at 22 s) and, when the packet at 30 s advances
# network time, at 22 s (17.95 s quiet: ended). Without the DNS rule: one row.
dns_c = eth(C) / IP(src=C, dst=S) / UDP(sport=40000, dport=53) / query
dns_s = eth(S) / IP(src=S, dst=C) / UDP(sport=53, dport=40000) / answer
save("zr-dns-timeout.pcap", [dns_c, dns_s, dns_c, dns_s, dns_c, dns_s, dns_c], [0, 0.05, 5, 5.05, 12, 12.05, 30])

# DNS protocol violations record X once (Docs/Encapsulation.md §4f): a STATUS query (opcode 2)
# from port 40001, then the server's answer (the analyzer skips the STATUS message, so the
# answer is its first message, sent by the responder: no flip): DXd. A query claiming 30
# questions from port 40002 (over dns_max_queries = 25): DX.
status = bytes(DNS(id=8, opcode=2, rd=1, qd=DNSQR(qname="example.com")))
many = struct.pack("!HHHHHH", 9, 0x0100, 30, 0, 0, 0)
save("zr-dns-x.pcap", [
    eth(C) / IP(src=C, dst=S) / UDP(sport=40001, dport=53) / Raw(status),
    eth(S) / IP(src=S, dst=C) / UDP(sport=53, dport=40001) / answer,
    eth(C) / IP(src=C, dst=S) / UDP(sport=40002, dport=53) / Raw(many)], [0, 0.1, 0.2])

# 7. Several files are one capture: one SF connection whose packets alternate between two
# files (as from two taps), read in either order. And time going backwards inside a file:
# a UDP flow at 100-102 s with another flow's packet stamped 50 s between (counted, no
# timer fires early).
pk, times = session(0)
save("zr-split-a.pcap", pk[0::2], times[0::2])
save("zr-split-b.pcap", pk[1::2], times[1::2])
flow = eth(C) / IP(src=C, dst=S) / UDP(sport=7000, dport=7001) / Raw(b"b" * 10)
other = eth(C) / IP(src=C, dst=S) / UDP(sport=7002, dport=7003) / Raw(b"b" * 10)
save("zr-backwards.pcap", [flow, flow, other, flow], [100, 101, 50, 102])

# The kernel's window check (Docs/Conntrack.md §3): after the handshake the client's RST
# carries a sequence number 2^30 beyond the window. Zeek takes it (RSTO, ShAR); conntrack
# finds it invalid and keeps the connection ESTABLISHED.
save("zr-spoofed-rst.pcap", [c2s("S", 1000), s2c("SA", 5000, 1001), c2s("A", 1001, 5001), c2s("R", 1001 + 2**30)],
     [0, 0.1, 0.2, 0.3])

# A REJ on another client port, later than make_conn.py's captures (for multi-file tests).
save("zr-rej-40001.pcap", [tcp(C, S, 40001, 80, "S", 3000), tcp(S, C, 80, 40001, "RA", 0, 3001)], [10, 10.1])


def community_id(proto, saddr, daddr, sport, dport):
    """Community ID v1 (seed 0), written from the spec, for the expected file's SCTP rows."""
    s, d = socket.inet_aton(saddr), socket.inet_aton(daddr)
    if (s, sport) > (d, dport):
        s, d, sport, dport = d, s, dport, sport
    data = struct.pack("!H", 0) + s + d + struct.pack("!BB", proto, 0) + struct.pack("!HH", sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


print("SCTP community IDs (ports 0; 5000->6000; 5001->6000):",
      community_id(132, C, S, 0, 0), community_id(132, C, S, 5000, 6000), community_id(132, C, S, 5001, 6000))
print("zeek-rule fixtures written to", HERE)
