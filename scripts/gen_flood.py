#!/usr/bin/env python3
"""Writes a SYN flood: N TCP SYNs (Ethernet/IPv4, valid checksums) from random source
addresses and ports to one server, 1 µs apart. Deterministic for a given --seed.
usage: gen_flood.py OUT.pcap [--syns 2000000] [--seed 1]"""
import argparse
import random
import struct


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--syns", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    dst = bytes([192, 0, 2, 80])
    eth = bytes.fromhex("020000000002" "020000000001" "0800")
    with open(a.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t0 = 1_700_000_000
        for i in range(a.syns):
            src = struct.pack("!I", rng.getrandbits(32) | 0x0A000000 & 0xFFFFFFFF)
            sport = rng.randrange(1024, 65536)
            seq = rng.getrandbits(32)
            ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i & 0xFFFF, 0, 64, 6, 0, src, dst))
            struct.pack_into("!H", ip, 10, checksum(bytes(ip)))
            tcp = bytearray(struct.pack("!HHIIBBHHH", sport, 80, seq, 0, 0x50, 0x02, 64240, 0, 0))
            pseudo = src + dst + struct.pack("!BBH", 0, 6, 20)
            struct.pack_into("!H", tcp, 16, checksum(pseudo + bytes(tcp)))
            frame = eth + bytes(ip) + bytes(tcp)
            us = i
            f.write(struct.pack("<IIII", t0 + us // 1_000_000, us % 1_000_000, len(frame), len(frame)))
            f.write(frame)


main()
