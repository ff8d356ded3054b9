#!/usr/bin/python3
"""Crafts one capture per link layer and L2 encapsulation (Fixtures/ll-*.pcap) with scapy.

Each holds the same short exchange, so every file has the same two conversations:
TCP 10.1.0.1:40000 -> 10.1.0.2:80 (SYN, SYN-ACK, ACK, 10 bytes up, 20 down, FIN both
ways, last ACK: 5 packets up, 3 down) and UDP 10.1.0.1:40001 -> 10.1.0.2:9999 (one
datagram each way). The tests compare FlowTrack's rows with tshark's conversations of
each file and with the rows these numbers give. Run: /usr/bin/python3 Fixtures/make_link_layers.py
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers"))
from pcapfile import write_pcap  # noqa: E402
from exchange import exchange  # noqa: E402
from scapy.contrib.mpls import MPLS  # noqa: E402
from scapy.all import (IP, LLC, SNAP, TCP, UDP, Dot1AD, Dot1Q, Dot3, Dot11, Dot11QoS, Ether, PPPoE,  # noqa: E402
                       RadioTap, Raw)

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1_700_100_000 * 1_000_000_000
A, B = "10.1.0.1", "10.1.0.2"
MA, MB, AP = "02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:ff"


def save(name, linktype, wrap):
    """wrap(up, ip) -> frame bytes."""
    records = [(T0 + i * 100_000_000, bytes(wrap(up, ip))) for i, (up, ip) in enumerate(exchange())]
    write_pcap(os.path.join(HERE, name), linktype, records)


def eth(up, payload, type=0x0800):
    return Ether(src=MA if up else MB, dst=MB if up else MA, type=type) / payload


# Link types.
save("ll-ppp.pcap", 9, lambda up, ip: b"\xff\x03\x00\x21" + bytes(ip))                  # PPP, HDLC-like framing
save("ll-ppp-bare.pcap", 9, lambda up, ip: b"\x00\x21" + bytes(ip))                     # PPP without address/control
save("ll-ppp-serial.pcap", 50, lambda up, ip: b"\xff\x03\x00\x21" + bytes(ip))
save("ll-ppp-dir.pcap", 204, lambda up, ip: (b"\x01" if up else b"\x00") + b"\xff\x03\x00\x21" + bytes(ip))
save("ll-ppp-ether.pcap", 51, lambda up, ip: struct.pack("!BBHH", 0x11, 0, 7, len(bytes(ip)) + 2) + b"\x00\x21" + bytes(ip))
save("ll-chdlc.pcap", 104, lambda up, ip: b"\x0f\x00\x08\x00" + bytes(ip))
save("ll-chdlc-dir.pcap", 205, lambda up, ip: (b"\x01" if up else b"\x00") + b"\x0f\x00\x08\x00" + bytes(ip))
save("ll-fddi.pcap", 10, lambda up, ip: b"\x50" + b"\x00\x11\x22\x33\x44\x55" + b"\x00\x66\x77\x88\x99\xaa"
     + b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + bytes(ip))


def nflog(up, ip):
    data = bytes(ip)
    hdr = struct.pack("<HH", 8, 1) + struct.pack("!HBB", 0x0800, 1, 0)    # NFULA_PACKET_HDR: hw protocol, hook
    prefix = struct.pack("<HH", 4 + 4, 10) + b"ft\x00\x00"                 # NFULA_PREFIX "ft"
    payload = struct.pack("<HH", 4 + len(data), 9) + data
    payload += b"\x00" * (-len(payload) % 4)
    return struct.pack("!BBH", 2, 0, 0) + hdr + prefix + payload


save("ll-nflog.pcap", 239, nflog)


# 802.11: a station (MA) and the access point (AP) relaying to the wired host B (MB).
def dot11(up, ip, qos=False, four=False, amsdu=False):
    if four:
        frame = Dot11(type=2, subtype=8 if qos else 0, FCfield="to-DS+from-DS", addr1=AP, addr2=AP,
                      addr3=MB if up else MA, addr4=MA if up else MB)
    elif up:
        frame = Dot11(type=2, subtype=8 if qos else 0, FCfield="to-DS", addr1=AP, addr2=MA, addr3=MB)
    else:
        frame = Dot11(type=2, subtype=8 if qos else 0, FCfield="from-DS", addr1=MA, addr2=AP, addr3=MB)
    if qos:
        frame = frame / Dot11QoS(A_MSDU_Present=1 if amsdu else 0)
    body = bytes(LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x0800) / ip)
    if amsdu:
        # One A-MSDU subframe: DA, SA, length, body, padded to 4 bytes.
        sub = bytes.fromhex((MB if up else MA).replace(":", "")) + bytes.fromhex((MA if up else MB).replace(":", ""))
        sub += struct.pack("!H", len(body)) + body
        return bytes(frame) + sub + b"\x00" * (-len(sub) % 4)
    return bytes(frame / Raw(body))


save("ll-80211.pcap", 105, lambda up, ip: dot11(up, ip))
save("ll-80211-qos.pcap", 105, lambda up, ip: dot11(up, ip, qos=True))
save("ll-80211-4addr.pcap", 105, lambda up, ip: dot11(up, ip, qos=True, four=True))
save("ll-80211-amsdu.pcap", 105, lambda up, ip: dot11(up, ip, qos=True, amsdu=True))
save("ll-radiotap.pcap", 127, lambda up, ip: bytes(RadioTap(present="Flags+Rate", Flags=0, Rate=2)) + dot11(up, ip, qos=True))
save("ll-ppi.pcap", 192, lambda up, ip: struct.pack("<BBHI", 0, 0, 8, 105) + dot11(up, ip))
save("ll-prism.pcap", 119, lambda up, ip: struct.pack("<II", 0x41, 144) + b"wlan0".ljust(16, b"\x00") + b"\x00" * 120 + dot11(up, ip))
save("ll-avs.pcap", 163, lambda up, ip: struct.pack("!II", 0x80211001, 64) + b"\x00" * 56 + dot11(up, ip))

# L2 inside Ethernet (DLT 1).
save("l2-pbb.pcap", 1, lambda up, ip: eth(up, Raw(struct.pack("!I", 0x00012345)) / eth(up, ip), type=0x88E7))
save("l2-vntag.pcap", 1, lambda up, ip: eth(up, Raw(struct.pack("!IH", 0x80010002, 0x0800)) / ip, type=0x8926))
save("l2-etag.pcap", 1, lambda up, ip: eth(up, Raw(struct.pack("!HIH", 0x0001, 0x00020000, 0x0800)) / ip, type=0x893F))
save("l2-fabricpath.pcap", 1, lambda up, ip: bytes.fromhex("020000000aa1020000000bb1") + b"\x89\x03\x00\x3f" + bytes(eth(up, ip)))
# NSH: base header (MD type 2, length 2 words), service path header, next protocol 3 (Ethernet) or 1 (IPv4).
save("l2-nsh-ether.pcap", 1, lambda up, ip: eth(up, Raw(struct.pack("!BBBBI", 0x0F, 0x02, 0x02, 3, 0x000101FF)) / eth(up, ip), type=0x894F))
save("l2-nsh-ip.pcap", 1, lambda up, ip: eth(up, Raw(struct.pack("!BBBBI", 0x0F, 0x02, 0x02, 1, 0x000101FF)) / ip, type=0x894F))
save("l2-mpls-pw.pcap", 1, lambda up, ip: eth(up, MPLS(label=100, s=1, ttl=64) / Raw(b"\x00\x00\x00\x07") / eth(up, ip), type=0x8847))
save("l2-pppoe-qinq.pcap", 1, lambda up, ip: eth(up, Dot1AD(vlan=100, type=0x8100) / Dot1Q(vlan=200, type=0x8864)
                                                   / PPPoE(sessionid=7) / Raw(b"\x00\x21") / ip, type=0x88A8))
# 802.3 frames (a length, not a type) with LLC/SNAP, and the same LLC behind the "jumbo LLC" EtherType 0x8870.
save("l2-llc-snap.pcap", 1, lambda up, ip: Dot3(src=MA if up else MB, dst=MB if up else MA)
     / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x0800) / ip)
save("l2-jumbo-llc.pcap", 1, lambda up, ip: eth(up, LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x0800) / ip, type=0x8870))
print("link-layer fixtures written to", HERE)
