#!/usr/bin/python3
"""Crafts the payload-stream fixtures (Fixtures/st-*.pcap) with scapy, each a case a TCP
reassembler must get right; the tests compare FlowTrack's streams with the bytes written
here and with tshark's `-z follow,tcp,raw`.

st-reorder.pcap   TCP 40100 -> 80: the request in three segments that arrive 2, 1, 3; the
                  answer's sequence numbers start at 0xFFFFFFF0 so its data crosses 2^32;
                  FIN both ways.
st-gap.pcap       TCP 40101 -> 80: the client's second segment (100 bytes) is never captured
                  but the server acknowledges it (a gap of 100); a retransmission of the first
                  segment with different bytes (first data wins) and of the segment held behind
                  the hole (an inconsistent overlap, counted); a segment after the client's
                  FIN (data after the close).
st-dns.pcap       UDP 40102 -> 53: a DNS query for www.example.com and its answer.
Run: /usr/bin/python3 Fixtures/make_streams.py
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers"))
from pcapfile import write_pcap  # noqa: E402
from scapy.all import DNS, DNSQR, DNSRR, IP, TCP, UDP, Ether, Raw  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1_700_400_000 * 1_000_000_000
C, S = "10.7.0.1", "10.7.0.2"
CM, SM = "02:00:00:00:07:01", "02:00:00:00:07:02"


def pkt(up, sport, dport, flags, seq, ack=0, data=b""):
    src, dst, sp, dp = (C, S, sport, dport) if up else (S, C, dport, sport)
    e = Ether(src=CM if up else SM, dst=SM if up else CM)
    return e / IP(src=src, dst=dst) / TCP(sport=sp, dport=dp, flags=flags, seq=seq % 2**32, ack=ack % 2**32,
                                          window=65535) / Raw(data)


def save(name, packets):
    write_pcap(os.path.join(HERE, name), 1, [(T0 + i * 10_000_000, bytes(p)) for i, p in enumerate(packets)])


REQUEST = b"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: flowtrack-test\r\n\r\n"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello, world"

# Out of order, and sequence numbers that wrap.
p = 40100
c0, s0 = 1000, 0xFFFFFFF0
a, b, c = REQUEST[:20], REQUEST[20:50], REQUEST[50:]
ce = c0 + 1 + len(REQUEST)
se = s0 + 1 + len(ANSWER)
save("st-reorder.pcap", [
    pkt(True, p, 80, "S", c0), pkt(False, p, 80, "SA", s0, c0 + 1), pkt(True, p, 80, "A", c0 + 1, s0 + 1),
    pkt(True, p, 80, "PA", c0 + 1 + len(a), s0 + 1, b),
    pkt(True, p, 80, "PA", c0 + 1, s0 + 1, a),
    pkt(True, p, 80, "PA", c0 + 1 + len(a) + len(b), s0 + 1, c),
    pkt(False, p, 80, "A", s0 + 1, ce),
    pkt(False, p, 80, "PA", s0 + 1, ce, ANSWER),
    pkt(True, p, 80, "A", ce, se),
    pkt(True, p, 80, "FA", ce, se), pkt(False, p, 80, "FA", se, ce + 1), pkt(True, p, 80, "A", ce + 1, se + 1),
])

# A hole the peer acknowledges, an inconsistent overlap, data after the close.
p = 40101
c0, s0 = 5000, 9000
first, lost, third = b"A" * 100, b"B" * 100, b"C" * 100
ce = c0 + 1 + 300
save("st-gap.pcap", [
    pkt(True, p, 80, "S", c0), pkt(False, p, 80, "SA", s0, c0 + 1), pkt(True, p, 80, "A", c0 + 1, s0 + 1),
    pkt(True, p, 80, "PA", c0 + 1, s0 + 1, first),
    pkt(True, p, 80, "PA", c0 + 1, s0 + 1, b"X" * 100),           # same sequence, other bytes: the first stay
    pkt(True, p, 80, "PA", c0 + 201, s0 + 1, third),             # after the lost segment: held
    pkt(True, p, 80, "PA", c0 + 201, s0 + 1, b"D" * 100),        # held data again, other bytes: counted
    pkt(False, p, 80, "A", s0 + 1, ce),                          # acknowledges all 300: 100 never seen
    pkt(False, p, 80, "PA", s0 + 1, ce, b"ok"),
    pkt(True, p, 80, "FA", ce, s0 + 3), pkt(False, p, 80, "FA", s0 + 3, ce + 1),
    pkt(True, p, 80, "PA", ce + 1, s0 + 4, b"late"),              # after the FIN: not part of the stream
    pkt(True, p, 80, "A", ce + 1, s0 + 4),
])

# A DNS query and its answer.
q = Ether(src=CM, dst=SM) / IP(src=C, dst=S) / UDP(sport=40102, dport=53) / DNS(id=7, rd=1, qd=DNSQR(qname="www.example.com"))
r = Ether(src=SM, dst=CM) / IP(src=S, dst=C) / UDP(sport=53, dport=40102) / DNS(
    id=7, qr=1, aa=1, qd=DNSQR(qname="www.example.com"), an=DNSRR(rrname="www.example.com", rdata="192.0.2.80"))
save("st-dns.pcap", [q, r])
print("stream fixtures written to", HERE)
