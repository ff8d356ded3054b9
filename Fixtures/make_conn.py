#!/usr/bin/python3
"""Crafts the connection-tracking fixtures (Fixtures/conn-*.pcap) with scapy.

One capture per behaviour. The rows FlowTrack must report for each are written
by hand in Fixtures/conn-expected.tsv, derived from Docs/
Docs/ZeekSemantics.md (the reasoning for each is in the comment above its capture).
Hosts: client C = 10.0.0.1, server S = 10.0.0.2; client ISN 1000, server ISN 5000;
packets 0.1 s apart unless a scenario says otherwise.
Run: /usr/bin/python3 Fixtures/make_conn.py
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers"))
from pcapfile import write_pcap  # noqa: E402
from scapy.all import DNS, DNSQR, DNSRR, ICMP, IP, TCP, UDP, Ether, ICMPv6EchoReply, ICMPv6EchoRequest, IPv6, Raw  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1_700_000_000 * 1_000_000_000
STEP = 100_000_000  # 0.1 s
C, S = "10.0.0.1", "10.0.0.2"
MAC = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def tcp(src, dst, sport, dport, flags, seq, ack=0, data=b"", window=8192, v6=False):
    ip = IPv6(src=src, dst=dst) if v6 else IP(src=src, dst=dst)
    return Ether(**MAC) / ip / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=window) / Raw(data)


def c2s(flags, seq, ack=0, data=b"", **kw):
    return tcp(C, S, 40000, 80, flags, seq, ack, data, **kw)


def s2c(flags, seq, ack=0, data=b"", **kw):
    return tcp(S, C, 80, 40000, flags, seq, ack, data, **kw)


def bad_checksum(pkt):
    b = bytearray(bytes(pkt))
    b[14 + 20 + 16] ^= 0xFF  # TCP checksum
    return bytes(b)


def save(name, packets, times=None):
    """packets: scapy packets or bytes; times: seconds offsets (default 0.1 s apart)."""
    records = []
    for i, p in enumerate(packets):
        t = T0 + (int(round(times[i] * 1e9)) if times else i * STEP)
        records.append((t, p if isinstance(p, bytes) else bytes(p)))
    write_pcap(os.path.join(HERE, name), 1, records)


# SF: full handshake, 100 bytes up, 200 down, FIN both ways, last ACK.
save("conn-sf.pcap", [
    c2s("S", 1000), s2c("SA", 5000, 1001), c2s("A", 1001, 5001),
    c2s("PA", 1001, 5001, b"x" * 100), s2c("PA", 5001, 1101, b"y" * 200),
    c2s("FA", 1101, 5201), s2c("FA", 5201, 1102), c2s("A", 1102, 5202)])

# S0: a SYN, its retransmission 1 s later (same ISN: same row), and the same SYN 7 s
# after the first: the attempt timer removed the first row at 5 s, so a new row starts.
save("conn-s0.pcap", [c2s("S", 1000), c2s("S", 1000), c2s("S", 1000)], times=[0, 1, 7])

# REJ: SYN answered by RST-ACK.
save("conn-rej.pcap", [c2s("S", 1000), s2c("RA", 0, 1001)])

# S1: handshake only.
save("conn-s1.pcap", [c2s("S", 1000), s2c("SA", 5000, 1001), c2s("A", 1001, 5001)])

# S2: established, originator FIN, no answer.
save("conn-s2.pcap", [c2s("S", 1000), s2c("SA", 5000, 1001), c2s("A", 1001, 5001), c2s("FA", 1001, 5001)])

# S3: established, responder FIN, no answer.
save("conn-s3.pcap", [c2s("S", 1000), s2c("SA", 5000, 1001), c2s("A", 1001, 5001), s2c("FA", 5001, 1001)])

# RSTO: established, originator RST.
save("conn-rsto.pcap", [c2s("S", 1000), s2c("SA", 5000, 1001), c2s("A", 1001, 5001), c2s("R", 1001)])

# RSTR: established, responder RST.
save("conn-rstr.pcap", [c2s("S", 1000), s2c("SA", 5000, 1001), c2s("A", 1001, 5001), s2c("R", 5001)])

# RSTOS0: SYN then RST from the originator, nothing from the responder.
save("conn-rstos0.pcap", [c2s("S", 1000), c2s("R", 1001)])

# RSTRH: SYN-ACK then RST from the server, no SYN seen. Source port 80 is a likely
# server port, so the connection is flipped at creation: the client is the originator.
save("conn-rstrh.pcap", [s2c("SA", 5000, 1001), s2c("R", 5001)])

# SH: SYN then FIN from the originator, nothing back.
save("conn-sh.pcap", [c2s("S", 1000), c2s("F", 1001)])

# SHR: SYN-ACK then FIN from the server (flipped at creation), nothing from the client.
save("conn-shr.pcap", [s2c("SA", 5000, 1001), s2c("FA", 5001, 1001)])

# OTH: midstream data both ways, no SYN, no close: both sides PARTIAL.
save("conn-oth.pcap", [c2s("PA", 2000, 7000, b"a" * 10), s2c("PA", 7000, 2010, b"b" * 20)])

# I and Q: an established connection ended by a FIN+RST packet (I; state RESET -> RSTO),
# and a lone SYN+FIN from another client port (Q; SYN_SENT then CLOSED -> SH).
save("conn-iq.pcap", [
    c2s("S", 1000), s2c("SA", 5000, 1001), c2s("A", 1001, 5001), c2s("FR", 1001, 5001),
    tcp(C, S, 40001, 80, "SF", 3000)])

# C and c: bad TCP checksums from each side after the handshake (not counted; -C counts them).
save("conn-checksum.pcap", [
    c2s("S", 1000), s2c("SA", 5000, 1001), c2s("A", 1001, 5001),
    bad_checksum(c2s("PA", 1001, 5001, b"c" * 10)), bad_checksum(s2c("PA", 5001, 1001, b"s" * 10))])

# T (logarithmic), W/w, t: the client's 10-byte segment retransmitted 10 times (T on the
# 1st and 10th), the server's zero-window ACK (a, w), its 50 bytes sent twice (d, t),
# and the client's zero-window ACK (W).
save("conn-retransmit.pcap", [
    c2s("S", 1000), s2c("SA", 5000, 1001), c2s("A", 1001, 5001), c2s("PA", 1001, 5001, b"r" * 10)]
    + [c2s("PA", 1001, 5001, b"r" * 10) for _ in range(10)]
    + [s2c("A", 5001, 1011, window=0), s2c("PA", 5001, 1011, b"q" * 50), s2c("PA", 5001, 1011, b"q" * 50),
       c2s("A", 1011, 5051, window=0)])

# G: the client's second 100-byte segment is missing from the capture; the server's ACK
# of all 300 bytes reveals a 100-byte gap in the client's data.
save("conn-gap.pcap", [
    c2s("S", 1000), s2c("SA", 5000, 1001), c2s("A", 1001, 5001),
    c2s("PA", 1001, 5001, b"1" * 100), c2s("PA", 1201, 5001, b"3" * 100), s2c("A", 5001, 1301)])

# ^ and H: a SYN-ACK between two non-server ports (not flipped: H), then the client's
# ACK flips the connection and the history becomes ^h; then data and FINs.
save("conn-flip-h.pcap", [
    tcp(S, C, 9000, 40000, "SA", 5000, 1001), tcp(C, S, 40000, 9000, "A", 1001, 5001),
    tcp(S, C, 9000, 40000, "PA", 5001, 1001, b"d" * 20), tcp(C, S, 40000, 9000, "FA", 1001, 5021),
    tcp(S, C, 9000, 40000, "FA", 5021, 1002)])

# SYN/SYN-ACK reversal: the SYN-ACK was captured before the SYN (Hs^).
save("conn-reversal.pcap", [
    tcp(S, C, 9000, 40000, "SA", 5000, 1001), tcp(C, S, 40000, 9000, "S", 1000),
    tcp(C, S, 40000, 9000, "A", 1001, 5001), tcp(C, S, 40000, 9000, "PA", 1001, 5001, b"u" * 30),
    tcp(S, C, 9000, 40000, "PA", 5001, 1031, b"v" * 40), tcp(C, S, 40000, 9000, "FA", 1031, 5041),
    tcp(S, C, 9000, 40000, "FA", 5041, 1032), tcp(C, S, 40000, 9000, "A", 1032, 5042)])

# Port reuse: a closed connection, then a SYN with a new ISN from the same port 0.5 s
# later (before the close delay ends) starts a new row.
save("conn-reuse.pcap", [
    c2s("S", 1000), s2c("SA", 5000, 1001), c2s("A", 1001, 5001), c2s("FA", 1001, 5001),
    s2c("FA", 5001, 1002), c2s("A", 1002, 5002),
    c2s("S", 9000), s2c("SA", 7000, 9001), c2s("A", 9001, 7001)],
    times=[0, 0.1, 0.2, 0.3, 0.4, 0.5, 1.0, 1.1, 1.2])

# Simultaneous open on ports 5001/5002: each side sends a SYN, then each a SYN-ACK.
# Zeek's reuse rule ends the first row (S) when the other side's SYN, with a new ISN,
# arrives; the second row follows the rest.
save("conn-simultaneous.pcap", [
    tcp(C, S, 5001, 5002, "S", 1000), tcp(S, C, 5002, 5001, "S", 5000),
    tcp(C, S, 5001, 5002, "SA", 1000, 5001), tcp(S, C, 5002, 5001, "SA", 5000, 1001),
    tcp(C, S, 5001, 5002, "A", 1001, 5001), tcp(S, C, 5002, 5001, "A", 5001, 1001),
    tcp(C, S, 5001, 5002, "FA", 1001, 5001), tcp(S, C, 5002, 5001, "FA", 5001, 1002),
    tcp(C, S, 5001, 5002, "A", 1002, 5002)])

# Midstream pickup with a normal close: PARTIAL sides that both FIN are SF.
save("conn-midstream.pcap", [
    c2s("PA", 2000, 7000, b"m" * 10), s2c("A", 7000, 2010), s2c("PA", 7000, 2010, b"n" * 20),
    c2s("A", 2010, 7020), c2s("FA", 2010, 7020), s2c("FA", 7020, 2011), c2s("A", 2011, 7021)])

# One-sided capture: only the client's packets (SYN, ACK, 2 x 100 bytes, FIN).
save("conn-one-sided.pcap", [
    c2s("S", 1000), c2s("A", 1001, 5001), c2s("PA", 1001, 5001, b"o" * 100),
    c2s("PA", 1101, 5001, b"p" * 100), c2s("FA", 1201, 5001)])

# Sequence wrap: the client's ISN is 0xFFFFFF00; its 300 bytes cross 2^32.
W = 0xFFFFFF00
save("conn-wrap.pcap", [
    c2s("S", W), s2c("SA", 5000, W + 1), c2s("A", W + 1, 5001),
    c2s("PA", W + 1, 5001, b"w" * 100), c2s("PA", W + 101, 5001, b"w" * 100),
    c2s("PA", W + 201, 5001, b"w" * 100), s2c("A", 5001, (W + 301) % 2**32),
    c2s("FA", (W + 301) % 2**32, 5001), s2c("FA", 5001, (W + 302) % 2**32), c2s("A", (W + 302) % 2**32, 5002)])

# IPv6: 50 bytes up, FIN both ways.
C6, S6 = "2001:db8::1", "2001:db8::2"
save("conn-ipv6.pcap", [
    tcp(C6, S6, 40000, 443, "S", 1000, v6=True), tcp(S6, C6, 443, 40000, "SA", 5000, 1001, v6=True),
    tcp(C6, S6, 40000, 443, "A", 1001, 5001, v6=True), tcp(C6, S6, 40000, 443, "PA", 1001, 5001, b"6" * 50, v6=True),
    tcp(C6, S6, 40000, 443, "FA", 1051, 5001, v6=True), tcp(S6, C6, 443, 40000, "FA", 5001, 1052, v6=True),
    tcp(C6, S6, 40000, 443, "A", 1052, 5002, v6=True)])

# ICMP: two echo request/reply pairs (one connection: 8/0), a port unreachable (3/3)
# quoting a UDP packet, and an ICMPv6 echo pair (128/129).
quoted = bytes(IP(src=C, dst=S) / UDP(sport=33000, dport=33434))[:28]
save("conn-icmp.pcap", [
    Ether(**MAC) / IP(src=C, dst=S) / ICMP(type=8, id=1, seq=1) / Raw(b"e" * 56),
    Ether(**MAC) / IP(src=S, dst=C) / ICMP(type=0, id=1, seq=1) / Raw(b"e" * 56),
    Ether(**MAC) / IP(src=C, dst=S) / ICMP(type=8, id=1, seq=2) / Raw(b"e" * 56),
    Ether(**MAC) / IP(src=S, dst=C) / ICMP(type=0, id=1, seq=2) / Raw(b"e" * 56),
    Ether(**MAC) / IP(src=S, dst=C) / ICMP(type=3, code=3) / Raw(quoted),
    Ether(**MAC) / IPv6(src=C6, dst=S6) / ICMPv6EchoRequest(id=7, seq=1, data=b"f" * 8),
    Ether(**MAC) / IPv6(src=S6, dst=C6) / ICMPv6EchoReply(id=7, seq=1, data=b"f" * 8)],
    times=[0, 0.1, 1.0, 1.1, 2.0, 3.0, 3.1])

# UDP: a DNS query and its answer; an answer whose query was not captured (flipped at
# creation: source port 53 is a likely server port); a DHCP offer to the limited
# broadcast address (never flipped).
query = DNS(id=0x1234, rd=1, qd=DNSQR(qname="example.com"))
answer = DNS(id=0x1234, qr=1, rd=1, ra=1, qd=DNSQR(qname="example.com"),
             an=DNSRR(rrname="example.com", ttl=300, rdata="93.184.216.34"))
assert len(bytes(query)) == 29 and len(bytes(answer)) == 56, (len(bytes(query)), len(bytes(answer)))
save("conn-udp.pcap", [
    Ether(**MAC) / IP(src=C, dst="10.0.0.53") / UDP(sport=53000, dport=53) / query,
    Ether(**MAC) / IP(src="10.0.0.53", dst=C) / UDP(sport=53, dport=53000) / answer,
    Ether(**MAC) / IP(src="10.0.0.53", dst="10.0.0.9") / UDP(sport=53, dport=53001) / answer,
    Ether(**MAC) / IP(src=C, dst="255.255.255.255") / UDP(sport=67, dport=68) / Raw(b"o" * 300)],
    times=[0, 0.05, 1.0, 2.0])

# Unknown IP protocol (89, OSPF): two packets 10 s apart.
save("conn-unknown.pcap", [
    Ether(**MAC) / IP(src=C, dst="224.0.0.5", proto=89) / Raw(b"\x02" * 40),
    Ether(**MAC) / IP(src=C, dst="224.0.0.5", proto=89) / Raw(b"\x02" * 40)], times=[0, 10])

# UDP inactivity: the same 5-tuple 61 s apart makes two rows (timeout 60 s).
save("conn-udp-timeout.pcap", [
    Ether(**MAC) / IP(src=C, dst=S) / UDP(sport=5000, dport=6000) / Raw(b"t" * 10),
    Ether(**MAC) / IP(src=C, dst=S) / UDP(sport=5000, dport=6000) / Raw(b"t" * 10)], times=[0, 61])
print("connection fixtures written to", HERE)
