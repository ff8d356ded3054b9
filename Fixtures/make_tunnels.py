#!/usr/bin/python3
"""Crafts one capture per tunnel (Fixtures/tn-*.pcap) with scapy, each carrying the exchange
of helpers/exchange.py (TCP 40000 -> 80, UDP 40001 -> 9999) between the inner hosts
10.1.0.1 and 10.1.0.2 (2001:db8:1::1 and ::2 for IPv6 inside). Outer hosts: 192.0.2.1
and 192.0.2.2 (2001:db8:ff::1 and ::2 for IPv6 outside). The tests compare FlowTrack's rows
with tshark's conversations and with what Docs/Encapsulation.md §2-3 says of each tunnel.
Run: /usr/bin/python3 Fixtures/make_tunnels.py
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers"))
from exchange import exchange  # noqa: E402
from pcapfile import write_pcap  # noqa: E402
from scapy.all import GRE, IP, LLC, SNAP, UDP, Dot11, Ether, IPv6, Raw  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1_700_200_000 * 1_000_000_000
O4 = ("192.0.2.1", "192.0.2.2")
O6 = ("2001:db8:ff::1", "2001:db8:ff::2")
MO = ("02:00:00:00:01:01", "02:00:00:00:01:02")   # outer MACs
MI = ("02:00:00:00:00:0a", "02:00:00:00:00:0b")   # inner MACs


def outer_ip(up, proto, v6=False):
    a, b = O6 if v6 else O4
    src, dst = (a, b) if up else (b, a)
    return IPv6(src=src, dst=dst, nh=proto) if v6 else IP(src=src, dst=dst, proto=proto)


def ether(up, payload, macs=MO, type=None):
    e = Ether(src=macs[0] if up else macs[1], dst=macs[1] if up else macs[0])
    if type is not None:
        e.type = type
    return e / payload


def save(name, wrap, v6_inner=False):
    inner = exchange("2001:db8:1::1", "2001:db8:1::2", v6=True) if v6_inner else exchange()
    write_pcap(os.path.join(HERE, name), 1, [(T0 + i * 100_000_000, bytes(wrap(up, ip))) for i, (up, ip) in enumerate(inner)])


# IP in IP, all four combinations (protocol 4 carries IPv4, 41 IPv6).
save("tn-ipip-44.pcap", lambda up, ip: ether(up, outer_ip(up, 4) / ip))
save("tn-ipip-46.pcap", lambda up, ip: ether(up, outer_ip(up, 41) / ip), v6_inner=True)
save("tn-ipip-64.pcap", lambda up, ip: ether(up, outer_ip(up, 4, v6=True) / ip))
save("tn-ipip-66.pcap", lambda up, ip: ether(up, outer_ip(up, 41, v6=True) / ip), v6_inner=True)

# GRE version 0: IPv4 inside; with checksum, key and sequence words; Ethernet inside (0x6558).
save("tn-gre.pcap", lambda up, ip: ether(up, outer_ip(up, 47) / GRE(proto=0x0800) / ip))
save("tn-gre-csum-key-seq.pcap", lambda up, ip: ether(up, outer_ip(up, 47) / GRE(chksum_present=1, key_present=1,
     seqnum_present=1, key=42, seqence_number=7, proto=0x0800) / ip))
save("tn-gre-teb.pcap", lambda up, ip: ether(up, outer_ip(up, 47) / GRE(proto=0x6558) / ether(up, ip, macs=MI)))
# ERSPAN type I (no sequence number, no header), II (8-byte header), III (12 bytes, with and
# without the 8-byte platform sub-header).
save("tn-erspan1.pcap", lambda up, ip: ether(up, outer_ip(up, 47) / GRE(proto=0x88BE) / ether(up, ip, macs=MI)))
save("tn-erspan2.pcap", lambda up, ip: ether(up, outer_ip(up, 47) / GRE(seqnum_present=1, seqence_number=1, proto=0x88BE)
     / Raw(struct.pack("!HHI", 0x1000 | 5, 0x0800 | 7, 0)) / ether(up, ip, macs=MI)))
save("tn-erspan3.pcap", lambda up, ip: ether(up, outer_ip(up, 47) / GRE(seqnum_present=1, seqence_number=1, proto=0x22EB)
     / Raw(struct.pack("!HHIHH", 0x2000 | 5, 0x0000 | 7, 12345, 0, 0)) / ether(up, ip, macs=MI)))
save("tn-erspan3-platform.pcap", lambda up, ip: ether(up, outer_ip(up, 47) / GRE(seqnum_present=1, seqence_number=1,
     proto=0x22EB) / Raw(struct.pack("!HHIHH", 0x2000 | 5, 0x0000 | 7, 12345, 0, 1) + b"\x00" * 8) / ether(up, ip, macs=MI)))
# GRE version 1 (PPTP): key (payload length, call id) and sequence words, then PPP.
save("tn-pptp.pcap", lambda up, ip: ether(up, outer_ip(up, 47)
     / Raw(struct.pack("!HHHHI", 0x3001, 0x880B, len(bytes(ip)) + 4, 9, 1) + b"\xff\x03\x00\x21") / ip))

# VXLAN: each direction in its own outer flow (random source port -> 4789), as Linux sends it.
save("tn-vxlan.pcap", lambda up, ip: ether(up, outer_ip(up, 17) / UDP(sport=50000 if up else 50001, dport=4789)
     / Raw(struct.pack("!II", 0x08000000, 100 << 8)) / ether(up, ip, macs=MI)))
# Geneve with one 8-byte option (length 2 words), Ethernet inside, one outer flow.
save("tn-geneve.pcap", lambda up, ip: ether(up, outer_ip(up, 17) / UDP(sport=50000 if up else 6081, dport=6081 if up else 50000)
     / Raw(struct.pack("!BBHI", 2, 0, 0x6558, 100 << 8) + struct.pack("!HBBI", 0x0102, 0x80, 1, 0xDEADBEEF))
     / ether(up, ip, macs=MI)))
# GTPv1-U G-PDUs with a PDU session container extension header (type 0x85), TEID 7.
save("tn-gtpu.pcap", lambda up, ip: ether(up, outer_ip(up, 17) / UDP(sport=2152, dport=2152)
     / Raw(struct.pack("!BBHIHBB", 0x34, 255, len(bytes(ip)) + 8, 7, 0, 0, 0x85) + bytes([1, 0x10, 9, 0])) / ip))
# GRE in UDP (port 4754), IPv4 inside.
save("tn-gre-udp.pcap", lambda up, ip: ether(up, outer_ip(up, 17) / UDP(sport=50000 if up else 4754, dport=4754 if up else 50000)
     / GRE(proto=0x0800) / ip))
# Teredo: the client (outer 192.0.2.1:50000) to the relay's port 3544; the server side's packets
# carry an origin indication. IPv6 inside.
save("tn-teredo.pcap", lambda up, ip: ether(up, outer_ip(up, 17) / UDP(sport=50000 if up else 3544, dport=3544 if up else 50000)
     / (Raw(b"") if up else Raw(struct.pack("!HH", 0, 50000 ^ 0xFFFF) + bytes(x ^ 0xFF for x in (192, 0, 2, 1)))) / ip),
     v6_inner=True)
# AYIYA (port 5072): 8 fixed bytes + 16 identity bytes (2^4) + no signature, opcode 1 (forward), IPv4 inside.
save("tn-ayiya.pcap", lambda up, ip: ether(up, outer_ip(up, 17) / UDP(sport=50000 if up else 5072, dport=5072 if up else 50000)
     / Raw(struct.pack("!BBBBI", 0x41, 0x00, 0x01, 4, 0) + b"\x00" * 16) / ip))
# CAPWAP data (UDP 5247; Zeek does not decapsulate it, tshark does): 8-byte header (HLEN 2),
# an 802.11 data frame (T set, wireless binding 1) or an Ethernet frame (T clear).
def dot11(up, ip):
    ap, a, b = "02:00:00:00:00:ff", MI[0], MI[1]
    frame = (Dot11(type=2, subtype=0, FCfield="to-DS", addr1=ap, addr2=a, addr3=b) if up
             else Dot11(type=2, subtype=0, FCfield="from-DS", addr1=a, addr2=ap, addr3=b))
    return frame / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x0800) / ip


save("tn-capwap-80211.pcap", lambda up, ip: ether(up, outer_ip(up, 17) / UDP(sport=50000 if up else 5247, dport=5247 if up else 50000)
     / Raw(struct.pack("!II", (2 << 19) | (1 << 9) | (1 << 8), 0)) / dot11(up, ip)))
save("tn-capwap-ether.pcap", lambda up, ip: ether(up, outer_ip(up, 17) / UDP(sport=50000 if up else 5247, dport=5247 if up else 50000)
     / Raw(struct.pack("!II", 2 << 19, 0)) / ether(up, ip, macs=MI)))

# Zeek's decapsulation rules on the carrying connection (Docs/Encapsulation.md §2.1, 2.4):
# a VXLAN header without the I flag is a violation, after which nothing more of that UDP
# connection is decapsulated; and a flow whose first packet comes *from* 4789 is only
# decapsulated when the likely-server-port flip makes 4789 the responder port.
def vxlan(up, ip, flags=0x08000000, reverse=False):
    ports = dict(sport=4789, dport=50000) if reverse else dict(sport=50000, dport=4789)
    return ether(up, outer_ip(True, 17) / UDP(**ports) / Raw(struct.pack("!II", flags, 100 << 8)) / ether(up, ip, macs=MI))


pairs = list(enumerate(__import__("exchange").exchange()))
write_pcap(os.path.join(HERE, "tv-vxlan-violation.pcap"), 1,
           [(T0 + i * 100_000_000, bytes(vxlan(up, ip, flags=0 if i == 0 else 0x08000000))) for i, (up, ip) in pairs])
write_pcap(os.path.join(HERE, "tv-vxlan-reverse.pcap"), 1,
           [(T0 + i * 100_000_000, bytes(vxlan(up, ip, reverse=True))) for i, (up, ip) in pairs])

# tunnel.log's EXPIRE: a GRE tunnel used by one inner datagram at 0 s, then an untunnelled
# packet at 3700 s: the tunnel has been idle over an hour (Tunnel::expiration_interval).
gre_udp = outer_ip(True, 47) / GRE(proto=0x0800) / IP(src="10.1.0.1", dst="10.1.0.2") / UDP(sport=40001, dport=9999) / Raw(b"x" * 8)
plain = IP(src="10.1.0.1", dst="10.1.0.3") / UDP(sport=40002, dport=9999) / Raw(b"y" * 8)
write_pcap(os.path.join(HERE, "tl-expire.pcap"), 1, [(T0, bytes(ether(True, gre_udp))), (T0 + 3700 * 10**9, bytes(ether(True, plain)))])
# Untunnelled packets between tunnelled ones (Zeek's Connection::CheckEncapsulation): a change
# to or from an empty stack raises tunnel_changed without counting against
# Tunnel::max_changes_per_connection (5). UDP 40003 alternates GRE tunnels 1 and 2 with
# untunnelled datagrams (no change counted: two parents, no X); UDP 40004 goes through GRE
# tunnels 1..7 back to back (five changes add 2..6, the sixth is refused with X), then
# untunnelled, then tunnel 8, which is added again.
def gre_to(n, sport):
    inner = IP(src="10.1.0.1", dst="10.1.0.2") / UDP(sport=sport, dport=9999) / Raw(b"z" * 8)
    if n == 0:
        return ether(True, inner)
    return ether(True, IP(src="192.0.2.1", dst=f"198.51.100.{n}", proto=47) / GRE(proto=0x0800) / inner)


steps = [(40003, n) for n in (1, 0, 2, 0, 1, 0, 2, 0, 1, 0, 2, 0, 1)] + [(40004, n) for n in (1, 2, 3, 4, 5, 6, 7, 0, 8)]
write_pcap(os.path.join(HERE, "tv-untunnelled.pcap"), 1,
           [(T0 + i * 100_000_000, bytes(gre_to(n, sport))) for i, (sport, n) in enumerate(steps)])
# Tunnel::max_depth (4): five VXLAN layers, each carried between its own pair of hosts
# 10.9.k.1 -> 10.9.k.2 (k = 1 outermost). Four are decapsulated (carriers 1..4 confirmed
# as vxlan); the fifth is not: its carrying flow gets history X and no service, and the
# innermost UDP datagram (40005 -> 9999) is never seen.
def nested_vxlan(levels):
    packet = IP(src="10.1.0.1", dst="10.1.0.2") / UDP(sport=40005, dport=9999) / Raw(b"deep")
    for k in range(levels, 0, -1):
        packet = (IP(src=f"10.9.{k}.1", dst=f"10.9.{k}.2") / UDP(sport=50000 + k, dport=4789)
                  / Raw(struct.pack("!II", 0x08000000, k << 8)) / ether(True, packet, macs=MI))
    return ether(True, packet)


write_pcap(os.path.join(HERE, "tv-max-depth.pcap"), 1, [(T0 + i * 100_000_000, bytes(nested_vxlan(5))) for i in range(2)])
# AYIYA confirms a forward packet before it checks the inner packet (Docs/Encapsulation.md §2.2):
# 50010 -> 5072 carries IPv4 with a byte too many after it (IPTunnel's length rule refuses it),
# still confirmed as ayiya; 50011 -> 5072 sends opcode 2 (not a forward): ignored, no service.
def ayiya_raw(sport, opcode, tail):
    inner = IP(src="10.1.0.1", dst="10.1.0.2") / UDP(sport=40006, dport=9999) / Raw(b"ayiya")
    return ether(True, IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=sport, dport=5072)
                 / Raw(struct.pack("!BBBBI", 0x41, 0x00, opcode, 4, 0) + b"\x00" * 16 + bytes(inner) + tail))


write_pcap(os.path.join(HERE, "tv-ayiya-bad-inner.pcap"), 1,
           [(T0, bytes(ayiya_raw(50010, 1, b"!"))), (T0 + 100_000_000, bytes(ayiya_raw(50011, 2, b"")))])
# Teredo found by its payload on a port without a tunnel (Docs/Encapsulation.md §2.5): a payload
# that Zeek's detection rejects is left alone, so a later Teredo packet of the same flow is
# still decapsulated. 50020 -> 9000 first sends 48 bytes whose second byte is 1 after a first
# byte that is not 0; 50021 -> 9000 an origin indication followed by IPv4, not IPv6. Each then
# sends IPv6 from a Teredo address (2001:0::/32) carrying UDP 40007 (40008) -> 9999.
def teredo_detect(sport, first, inner_port):
    inner = IPv6(src="2001:0:c000:201::1", dst="2001:db8:1::2") / UDP(sport=inner_port, dport=9999) / Raw(b"teredo")
    outer = lambda payload: ether(True, IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=sport, dport=9000) / Raw(payload))
    return [outer(first), outer(bytes(inner))]


write_pcap(os.path.join(HERE, "tv-teredo-detect.pcap"), 1,
           [(T0 + i * 100_000_000, bytes(f)) for i, f in enumerate(
               teredo_detect(50020, b"\x12\x01" + b"\x00" * 46, 40007)
               + teredo_detect(50021, struct.pack("!HH", 0, 0xFFFF) + b"\x00" * 4 + bytes(IP(src="10.9.0.1", dst="10.9.0.2") / Raw(b"x" * 20)), 40008))])
print("tunnel fixtures written to", HERE)
