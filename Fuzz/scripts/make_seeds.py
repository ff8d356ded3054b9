#!/usr/bin/env python3
"""Builds libFuzzer seed corpora from capture files (classic pcap; pcapng is skipped).

decoder seeds: one file per frame: [link-type selector][wire slack][frame]
tracker seeds: one file per capture (Ethernet only): [flags] then [time step][length][frame]…
usage: make_seeds.py OUT_DIR CAPTURE…"""
import os
import struct
import sys

SELECTOR = {1: 0, 113: 1, 276: 2, 0: 3, 108: 4, 12: 5, 14: 5, 101: 5, 228: 6, 229: 7,
            # link types added with issue 18, in FuzzDecoder's order after the first eight
            9: 8, 50: 9, 51: 10, 104: 11, 105: 12, 119: 13, 127: 14, 163: 15, 192: 16, 204: 17, 205: 18, 239: 19, 10: 20}


def records(path):
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            return None, []
        magic = head[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            endian = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            endian = ">"
        else:
            return None, []
        linktype = struct.unpack(endian + "I", head[20:24])[0] & 0xFFFF
        out = []
        while len(out) < 200:
            rec = f.read(16)
            if len(rec) < 16:
                break
            _, _, caplen, wire = struct.unpack(endian + "IIII", rec)
            if caplen > 65535:
                break
            data = f.read(caplen)
            if len(data) < caplen:
                break
            out.append((data, wire))
        return linktype, out


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "decoder"), exist_ok=True)
    os.makedirs(os.path.join(out, "tracker"), exist_ok=True)
    os.makedirs(os.path.join(out, "streams"), exist_ok=True)
    # streams: [limits][control][seq delta][ack delta][length]… (FuzzStreams.swift): a handshake,
    # data both ways, a hole, a retransmission, FINs.
    SYN, ACK, FIN, PSH = 0x10, 0x80, 0x08, 0x40
    seeds = {
        "handshake-data-fin": [(0, SYN, 0, 0, 0), (1, SYN | ACK, 0, 1, 0), (0, ACK, 1, 0, 0), (0, PSH | ACK, 0, 0, 100),
                               (1, PSH | ACK, 0, 7, 50), (0, FIN | ACK, 7, 4, 0), (1, FIN | ACK, 4, 1, 0)],
        "hole-then-fill": [(0, SYN, 0, 0, 0), (0, PSH | ACK, 10, 0, 60), (0, PSH | ACK, -10, 0, 160), (1, ACK, 0, 20, 0)],
    }
    for name, segments in seeds.items():
        blob = bytearray([0x10])
        for side, flags, dseq, dack, length in segments:
            blob += bytes([side | flags, dseq & 0xFF, dack & 0xFF, length]) + b""
        with open(os.path.join(out, "streams", name), "wb") as f:
            f.write(bytes(blob))
    n = 0
    for path in sys.argv[2:]:
        linktype, recs = records(path)
        if linktype not in SELECTOR:
            continue
        base = os.path.basename(path)
        for i, (data, wire) in enumerate(recs[:20]):
            slack = max(0, min(15, wire - len(data)))
            with open(os.path.join(out, "decoder", "%s-%d" % (base, i)), "wb") as f:
                f.write(bytes([SELECTOR[linktype], slack]) + data)
            n += 1
        if linktype == 1 and recs:
            blob = bytearray([0])
            for data, _ in recs[:60]:
                frame = data[:255]
                blob += bytes([1, len(frame)]) + frame
            with open(os.path.join(out, "tracker", base), "wb") as f:
                f.write(bytes(blob))
    print("seeds:", n, "decoder frames")


main()
