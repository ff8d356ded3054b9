#!/usr/bin/python3
"""Crafts the edge-case fixtures with scapy (Debian's python3-scapy).

Every packet is built by scapy; a tiny pcap writer below (struct only) writes
them so each record's captured and wire lengths, the link type and the
nanosecond timestamps are exactly what a test expects. The facts the tests
check (VLAN IDs, addresses, ports, flags, lengths) are the literals written
here. Run: /usr/bin/python3 Fixtures/make_crafted.py
"""
import os
import struct

from scapy.all import (AH, ARP, ESP, ICMP, IP, TCP, UDP, CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q,
                       Ether, ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6PacketTooBig, IPOption_RR,
                       IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrRouting, LLC, Raw, fragment)

HERE = os.path.dirname(os.path.abspath(__file__))
BASE_TIME = 1_700_000_000  # 2023-11-14 22:13:20 UTC


def write_pcap(name, linktype, records, snaplen=262144, cut_last=None):
    """records: list of bytes, or (bytes, wire_length) to mark a snaplen cut.
    cut_last: write only this many bytes of the final record's data (a file
    cut mid-record)."""
    path = os.path.join(HERE, name)
    with open(path, "wb") as f:
        # pcap header, nanosecond magic (0xa1b23c4d), version 2.4
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, snaplen, linktype))
        for i, rec in enumerate(records):
            data, wire = (rec, len(rec)) if isinstance(rec, (bytes, bytearray)) else rec
            f.write(struct.pack("<IIII", BASE_TIME + i, 1000 * i + 1, len(data), wire))
            if cut_last is not None and i == len(records) - 1:
                f.write(data[:cut_last])
            else:
                f.write(data)
    return path


E = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")

# --- VLAN: one 802.1Q tag; QinQ with 802.1ad outer; legacy 0x9100 outer -------------
write_pcap("vlan.pcap", 1, [
    bytes(Ether(**E) / Dot1Q(vlan=100) / IP(src="10.1.0.1", dst="10.1.0.2") / TCP(sport=40000, dport=80, flags="S", seq=1000)),
    bytes(Ether(**E) / Dot1AD(vlan=200) / Dot1Q(vlan=300) / IP(src="10.2.0.1", dst="10.2.0.2") / UDP(sport=5353, dport=53) / Raw(b"x" * 20)),
    bytes(Ether(**E, type=0x9100) / Dot1Q(vlan=7) / Dot1Q(vlan=8) / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=1, dport=2) / Raw(b"y" * 4)),
])

# --- IPv6 extension headers ------------------------------------------------------------
write_pcap("ipv6-ext.pcap", 1, [
    # 1: hop-by-hop, destination options, routing, then TCP 443 with 10 bytes of payload
    bytes(Ether(**E) / IPv6(src="2001:db8::a", dst="2001:db8::b") / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt()
          / IPv6ExtHdrRouting(addresses=["2001:db8::c"]) / TCP(sport=50000, dport=443, flags="PA") / Raw(b"0123456789")),
    # 2: AH then UDP 500 -> 4500 with 8 bytes
    bytes(Ether(**E) / IPv6(src="2001:db8::a", dst="2001:db8::b") / AH(nh=17, payloadlen=4, spi=1, seq=1, icv=b"\x00" * 12) / UDP(sport=500, dport=4500) / Raw(b"12345678")),
    # 3: ESP ends the walk (protocol 50, no ports)
    bytes(Ether(**E) / IPv6(src="2001:db8::a", dst="2001:db8::b") / ESP(spi=7, seq=1, data=b"\x00" * 16)),
    # 4: No Next Header (59)
    bytes(Ether(**E) / IPv6(src="2001:db8::a", dst="2001:db8::b", nh=59)),
])

# --- IPv4 options and TCP options ------------------------------------------------------
write_pcap("ipv4-options.pcap", 1, [
    # record-route option (IHL 6 words = 24 bytes? scapy pads: RR with 1 slot = 7 bytes -> 8)
    bytes(Ether(**E) / IP(src="192.0.2.1", dst="192.0.2.2", options=[IPOption_RR(routers=["0.0.0.0"])])
          / TCP(sport=33000, dport=22, flags="S", seq=4000000000,
                options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (123456, 0)), ("NOP", None), ("WScale", 7)])),
    bytes(Ether(**E) / IP(src="192.0.2.2", dst="192.0.2.1")
          / TCP(sport=22, dport=33000, flags="A", seq=1, ack=4000000001,
                options=[("NOP", None), ("NOP", None), ("SAck", (100, 200, 300, 400))])),
])

# --- Fragments: a 3000-byte UDP datagram in 3 IPv4 fragments, a 2000-byte IPv6 one in 2 --
v4 = IP(src="198.51.100.1", dst="198.51.100.2", id=4242) / UDP(sport=7000, dport=7001) / Raw(b"f" * 3000)
v4frags = fragment(v4, fragsize=1200)
v6 = IPv6(src="2001:db8::1:1", dst="2001:db8::1:2") / IPv6ExtHdrFragment(id=0xABCDEF, offset=0, m=1) / UDP(sport=8000, dport=8001, len=2008) / Raw(b"g" * 1192)
v6b = IPv6(src="2001:db8::1:1", dst="2001:db8::1:2") / IPv6ExtHdrFragment(id=0xABCDEF, offset=150, m=0, nh=17) / Raw(b"g" * 808)
write_pcap("fragments.pcap", 1, [bytes(Ether(**E) / f) for f in v4frags] + [bytes(Ether(**E) / v6), bytes(Ether(**E) / v6b)])

# --- Link types --------------------------------------------------------------------------
tcp4 = IP(src="10.9.0.1", dst="10.9.0.2") / TCP(sport=1234, dport=80, flags="S")
udp6 = IPv6(src="fe80::1", dst="ff02::fb") / UDP(sport=5353, dport=5353) / Raw(b"mdns")
write_pcap("sll.pcap", 113, [bytes(CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6, src=b"\x02\x00\x00\x00\x00\x01\x00\x00", proto=0x0800) / tcp4),
                             bytes(CookedLinux(pkttype=4, lladdrtype=1, lladdrlen=6, proto=0x86DD) / udp6)])
write_pcap("sll2.pcap", 276, [bytes(CookedLinuxV2(proto=0x0800, ifindex=2, pkttype=0) / tcp4),
                              bytes(CookedLinuxV2(proto=0x86DD, ifindex=3, pkttype=4) / udp6)])
# DLT_NULL: family in the capturing host's byte order (little-endian here; big-endian too)
write_pcap("null.pcap", 0, [struct.pack("<I", 2) + bytes(tcp4), struct.pack("<I", 30) + bytes(udp6),
                            struct.pack(">I", 2) + bytes(tcp4)])
# DLT_LOOP: network byte order
write_pcap("loop.pcap", 108, [struct.pack(">I", 2) + bytes(tcp4), struct.pack(">I", 24) + bytes(udp6)])
write_pcap("raw-ip.pcap", 101, [bytes(tcp4), bytes(udp6)])
write_pcap("ipv4-linktype.pcap", 228, [bytes(tcp4)])
write_pcap("ipv6-linktype.pcap", 229, [bytes(udp6)])

# --- Snaplen-truncated: snaplen 64, four packets cut at different layers ---------------
big = bytes(Ether(**E) / IP(src="10.3.0.1", dst="10.3.0.2") / TCP(sport=2000, dport=80, flags="PA") / Raw(b"p" * 100))
big6 = bytes(Ether(**E) / IPv6(src="2001:db8::3", dst="2001:db8::4") / UDP(sport=3000, dport=53) / Raw(b"q" * 100))
write_pcap("snaplen-truncated.pcap", 1, [
    (big[:64], len(big)),    # payload cut: TCP header whole, 10 of 100 payload bytes
    (big[:44], len(big)),    # TCP header cut (10 of its 20 bytes)
    (big[:24], len(big)),    # IPv4 header cut (10 of 20 bytes)
    (big6[:64], len(big6)),  # IPv6 40 + UDP 8 whole, payload cut
], snaplen=64)

# --- Checksums: good and bad ------------------------------------------------------------
def corrupt(pkt, offset):
    b = bytearray(bytes(pkt))
    b[offset] ^= 0xFF
    return bytes(b)

good_tcp = Ether(**E) / IP(src="10.4.0.1", dst="10.4.0.2") / TCP(sport=1, dport=2, flags="S")
good_udp = Ether(**E) / IP(src="10.4.0.1", dst="10.4.0.2") / UDP(sport=3, dport=4) / Raw(b"hello")
good_icmp = Ether(**E) / IP(src="10.4.0.1", dst="10.4.0.2") / ICMP(type=8, id=1, seq=1) / Raw(b"ping")
good_udp6 = Ether(**E) / IPv6(src="2001:db8::5", dst="2001:db8::6") / UDP(sport=5, dport=6) / Raw(b"six")
write_pcap("checksums.pcap", 1, [
    bytes(good_tcp), bytes(good_udp), bytes(good_icmp), bytes(good_udp6),  # 1-4 good
    corrupt(good_tcp, 14 + 10),          # 5: IPv4 header checksum byte flipped
    corrupt(good_tcp, 14 + 20 + 16),     # 6: TCP checksum flipped
    corrupt(good_udp, 14 + 20 + 6),      # 7: UDP checksum flipped
    corrupt(good_icmp, 14 + 20 + 2),     # 8: ICMP checksum flipped
    corrupt(good_udp6, 14 + 40 + 6),     # 9: UDP over IPv6 checksum flipped
    bytes(Ether(**E) / IP(src="10.4.0.1", dst="10.4.0.2") / UDP(sport=3, dport=4, chksum=0) / Raw(b"none")),  # 10: no UDP checksum
])

# --- ICMP echo and errors --------------------------------------------------------------
quoted = IP(src="10.5.0.1", dst="10.5.0.2") / UDP(sport=33434, dport=33435) / Raw(b"probe")
quoted6 = IPv6(src="2001:db8::7", dst="2001:db8::8") / TCP(sport=44000, dport=443, flags="PA") / Raw(b"z" * 1400)
write_pcap("icmp.pcap", 1, [
    bytes(Ether(**E) / IP(src="10.5.0.1", dst="10.5.0.2") / ICMP(type=8, id=77, seq=1) / Raw(b"a" * 56)),
    bytes(Ether(**E) / IP(src="10.5.0.2", dst="10.5.0.1") / ICMP(type=0, id=77, seq=1) / Raw(b"a" * 56)),
    bytes(Ether(**E) / IP(src="10.5.0.2", dst="10.5.0.1") / ICMP(type=3, code=3) / bytes(quoted)[:28]),
    bytes(Ether(**E) / IPv6(src="2001:db8::7", dst="2001:db8::8") / ICMPv6EchoRequest(id=9, seq=2, data=b"b" * 8)),
    bytes(Ether(**E) / IPv6(src="2001:db8::8", dst="2001:db8::7") / ICMPv6EchoReply(id=9, seq=2, data=b"b" * 8)),
    bytes(Ether(**E) / IPv6(src="2001:db8::9", dst="2001:db8::7") / ICMPv6PacketTooBig(mtu=1280) / bytes(quoted6)[:1232]),
])

# --- Malformed: each lies in one way ----------------------------------------------------
ip_ihl4 = bytearray(bytes(IP(src="10.6.0.1", dst="10.6.0.2") / TCP()))
ip_ihl4[0] = 0x44  # IHL 4 words = 16 bytes < 20
ip_long = bytearray(bytes(IP(src="10.6.0.1", dst="10.6.0.2") / TCP()))
ip_long[2:4] = struct.pack(">H", 1500)  # total length 1500 in a 40-byte packet
tcp_doff = bytearray(bytes(IP(src="10.6.0.1", dst="10.6.0.2") / TCP(sport=9, dport=10)))
tcp_doff[20 + 12] = 0x30  # data offset 3 words = 12 bytes < 20
udp_short = bytearray(bytes(IP(src="10.6.0.1", dst="10.6.0.2") / UDP(sport=11, dport=12) / Raw(b"abc")))
udp_short[20 + 4:20 + 6] = struct.pack(">H", 4)  # UDP length 4 < 8
bad_version = bytearray(bytes(IP(src="10.6.0.1", dst="10.6.0.2") / TCP()))
bad_version[0] = 0x55  # version 5 under EtherType IPv4
short_tcp = bytes(IP(src="10.6.0.1", dst="10.6.0.2", len=30) / TCP())[:30]  # IP says 30: 10-byte TCP header
write_pcap("malformed.pcap", 1, [bytes(Ether(**E, type=0x0800) / Raw(bytes(b))) for b in (ip_ihl4, ip_long, tcp_doff, udp_short, bad_version, short_tcp)]
           + [bytes(Ether(**E))[:10]])  # 8: a 10-byte frame, shorter than Ethernet

# --- Other Ethernet: ARP, 802.3/LLC, minimum-size frame with padding --------------------
write_pcap("ethernet-misc.pcap", 1, [
    bytes(Ether(src=E["src"], dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="10.7.0.1", pdst="10.7.0.2")),
    bytes(Ether(**E, type=0x26) / LLC(dsap=0x42, ssap=0x42, ctrl=3) / Raw(b"\x00" * 35)),
    bytes(Ether(**E) / IP(src="10.7.0.1", dst="10.7.0.2") / TCP(sport=5000, dport=5001, flags="A")) + b"\x00" * 6,  # 54 + 6 bytes of padding
])

# --- A file cut in the middle of its fourth record --------------------------------------
tcp_a = bytes(Ether(**E) / IP(src="10.8.0.1", dst="10.8.0.2") / TCP(sport=6000, dport=6001, flags="S"))
write_pcap("cut-mid-record.pcap", 1, [tcp_a, tcp_a, tcp_a, tcp_a], cut_last=30)
print("crafted fixtures written to", HERE)
