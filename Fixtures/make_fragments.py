#!/usr/bin/python3
"""Crafts the IP fragment fixtures (Fixtures/fr-*.pcap) with scapy; the rows they must give
are written in Tests/FlowTrackTests/FragmentTests.swift from the datagrams below.
Hosts 10.2.0.1 -> 10.2.0.2 (2001:db8:2::1 -> ::2), packets 0.1 s apart unless said.
Run: /usr/bin/python3 Fixtures/make_fragments.py
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers"))
from pcapfile import write_pcap  # noqa: E402
from scapy.all import GRE, IP, TCP, UDP, Ether, IPv6, IPv6ExtHdrFragment, Raw, fragment, fragment6  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1_700_300_000 * 1_000_000_000
A, B = "10.2.0.1", "10.2.0.2"
A6, B6 = "2001:db8:2::1", "2001:db8:2::2"


def eth(p):
    return bytes(Ether(src="02:00:00:00:02:01", dst="02:00:00:00:02:02") / p)


def save(name, packets, times=None):
    times = times or [i * 0.1 for i in range(len(packets))]
    write_pcap(os.path.join(HERE, name), 1, [(T0 + int(round(t * 1e9)), p if isinstance(p, bytes) else eth(p))
                                             for t, p in zip(times, packets)])


# A 3000-byte UDP datagram in three IPv4 fragments, last first, then a 30-byte answer.
big = IP(src=A, dst=B, id=77) / UDP(sport=40001, dport=9999) / Raw(b"u" * 3000)
frags = fragment(IP(bytes(big)), fragsize=1200)
save("fr-udp-v4.pcap", list(reversed(frags)) + [IP(src=B, dst=A) / UDP(sport=9999, dport=40001) / Raw(b"a" * 30)])

# A 2000-byte UDP datagram in IPv6 fragments.
big6 = IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(id=0x1234) / UDP(sport=40001, dport=9999) / Raw(b"v" * 2000)
save("fr-udp-v6.pcap", fragment6(IPv6(bytes(big6)), 1280))

# A TCP exchange whose 100-byte data segment is cut into 8-byte fragments: its header spans three.
def t(up, flags, seq, ack=0, data=b""):
    src, dst, sp, dp = (A, B, 40000, 80) if up else (B, A, 80, 40000)
    return IP(src=src, dst=dst, id=seq & 0xFFFF) / TCP(sport=sp, dport=dp, flags=flags, seq=seq, ack=ack, window=8192) / Raw(data)


data = t(True, "PA", 1001, 5001, b"q" * 100)
tiny = fragment(IP(bytes(data)), fragsize=8)
save("fr-tcp-tiny.pcap", [t(True, "S", 1000), t(False, "SA", 5000, 1001), t(True, "A", 1001, 5001)] + tiny
     + [t(False, "A", 5001, 1101), t(True, "FA", 1101, 5001), t(False, "FA", 5001, 1102), t(True, "A", 1102, 5002)])

# Overlap with different bytes: fragment 1 carries bytes 0-15 of a 32-byte UDP datagram
# (header + "AAAAAAAA"), fragment 2 bytes 8-31 whose first 8 bytes say "XXXXXXXX" instead
# of "AAAAAAAA". The first-seen bytes win, which gives the datagram whose checksum is right.
whole = bytes(UDP(sport=40001, dport=9999) / Raw(b"A" * 8 + b"C" * 16))
whole = bytes(IP(src=A, dst=B, id=99, proto=17) / Raw(whole))[20:]  # UDP checksum over the IPv4 pseudo-header
f1 = IP(src=A, dst=B, id=99, proto=17, flags="MF", frag=0) / Raw(whole[:16])
f2 = IP(src=A, dst=B, id=99, proto=17, frag=1) / Raw(b"X" * 8 + whole[16:])
save("fr-overlap.pcap", [f1, f2])

# A first fragment whose others never come, then another datagram 61 s later: the first
# times out (60 s), the second is tracked.
lost = fragment(IP(bytes(IP(src=A, dst=B, id=5) / UDP(sport=40005, dport=9999) / Raw(b"l" * 2000))), fragsize=1200)[0]
save("fr-incomplete.pcap", [lost, IP(src=A, dst=B) / UDP(sport=40006, dport=9999) / Raw(b"n" * 10)], times=[0, 61])

# A tunnel inside fragments: GRE over IPv4, the outer packet fragmented, carrying a 1500-byte UDP datagram.
inner = IP(src="10.1.0.1", dst="10.1.0.2") / UDP(sport=40001, dport=9999) / Raw(b"g" * 1500)
outer = IP(src="192.0.2.1", dst="192.0.2.2", id=200, proto=47) / GRE(proto=0x0800) / inner
save("fr-gre.pcap", fragment(IP(bytes(outer)), fragsize=1000))
# Fragments inside a tunnel: an unfragmented GRE packet each, carrying the fragments of a
# 2000-byte inner UDP datagram.
inner_frags = fragment(IP(bytes(IP(src="10.1.0.1", dst="10.1.0.2", id=300) / UDP(sport=40001, dport=9999) / Raw(b"h" * 2000))),
                       fragsize=1200)
save("fr-in-gre.pcap", [IP(src="192.0.2.1", dst="192.0.2.2", proto=47) / GRE(proto=0x0800) / f for f in inner_frags])
print("fragment fixtures written to", HERE)
