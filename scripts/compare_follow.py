#!/usr/bin/env python3
"""Compares `flowtrack follow --all --format raw` with `tshark -q -z follow,tcp,raw,N` on
captures: for every TCP conversation tshark follows, the bytes each direction delivers
(consecutive chunks joined) must be equal. Prints agreed / differing / unmatched counts and
the differing conversations, by file.

Usage: scripts/compare_follow.py [--flowtrack PATH] [--max-streams N] DIR_OR_FILES…
(checksums are not verified on either side: tshark does not verify them by default).
"Equal but for where bytes are reported missing": the same data, with FlowTrack reporting a
hole tshark leaves unmarked (the uncaptured rest of a segment cut by the snapshot length,
which FlowTrack counts as missing as Zeek does) or the other way round. "Split by Zeek's
timers": FlowTrack's streams for the 4-tuple, joined, are tshark's one stream (Zeek ends a
connection on its attempt or inactivity timer, or at a jump in time, where tshark goes on)."""
import argparse
import os
import subprocess
import sys


def blocks(text):
    """[(node0, node1, [(is_reply, hex)])] from follow output in tshark's raw layout."""
    out, cur = [], None
    for line in text.split("\n"):
        if line.startswith("Node 0: "):
            cur = [line[8:].strip(), None, []]
        elif line.startswith("Node 1: ") and cur is not None:
            cur[1] = line[8:].strip()
        elif line.startswith("====="):
            if cur is not None and cur[1] is not None:
                out.append(cur)
            cur = None
        elif cur is not None and cur[1] is not None and line.strip():
            cur[2].append((line.startswith("\t"), line.strip()))
    return out


def directions(node0, chunks, first):
    """The bytes sent by `first` and by the other node, as hex strings."""
    sent = {False: "", True: ""}
    for reply, hexdata in chunks:
        sent[reply] += hexdata
    return (sent[False], sent[True]) if node0 == first else (sent[True], sent[False])


MARKER_PREFIX = "[".encode().hex()


def without_markers(hexdata):
    """The hex without tshark's "[N bytes missing in capture file]" markers (and their NUL)."""
    text = bytes.fromhex(hexdata)
    out, i = b"", 0
    while True:
        j = text.find(b"[", i)
        k = text.find(b" bytes missing in capture file]\x00", j) if j >= 0 else -1
        if j < 0 or k < 0 or not text[j + 1:k].isdigit():
            return (out + text[i:]).hex()
        out += text[i:j]
        i = k + len(b" bytes missing in capture file]\x00")


def normal(endpoint):
    return endpoint.replace("[", "").replace("]", "")


def compare(path, flowtrack, max_streams):
    fields = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "tcp.stream"], capture_output=True, text=True)
    streams = sorted({int(s) for s in fields.stdout.split() if s.strip().isdigit()})[:max_streams]
    if not streams:
        return None
    args = ["tshark", "-r", path, "-q"]
    for s in streams:
        args += ["-z", f"follow,tcp,raw,{s}"]
    theirs = blocks(subprocess.run(args, capture_output=True, text=True).stdout)
    mine = blocks(subprocess.run([flowtrack, "follow", path, "--all", "--format", "raw", "-C"],
                                 capture_output=True, text=True).stdout)
    pool = {}
    for node0, node1, chunks in mine:
        key = frozenset((normal(node0), normal(node1)))
        pool.setdefault(key, []).append((normal(node0), chunks))
    agreed, explained, split, differing, unmatched = 0, 0, 0, [], 0
    for node0, node1, chunks in theirs:
        key = frozenset((normal(node0), normal(node1)))
        if not pool.get(key):
            if chunks:
                unmatched += 1
            continue
        first = normal(node0)
        expected = directions(first, chunks, first)
        candidates = pool[key]
        match = next((i for i, (n0, c) in enumerate(candidates) if directions(n0, c, first) == expected), None)
        loose = tuple(without_markers(x) for x in expected)
        near = next((i for i, (n0, c) in enumerate(candidates)
                     if tuple(without_markers(x) for x in directions(n0, c, first)) == loose), None)
        if match is not None:
            candidates.pop(match)
            agreed += 1
        elif near is not None:
            candidates.pop(near)
            explained += 1
        elif len(candidates) > 1 and tuple(without_markers("".join(directions(n0, c, first)[d] for n0, c in candidates))
                                           for d in (0, 1)) == loose:
            candidates.clear()
            split += 1
        else:
            n0, c = candidates.pop(0)
            got = directions(n0, c, first)
            differing.append(f"{node0} {node1}: tshark {len(expected[0]) // 2}/{len(expected[1]) // 2} bytes, "
                             f"flowtrack {len(got[0]) // 2}/{len(got[1]) // 2}")
    return agreed, explained, split, differing, unmatched


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--flowtrack", default=".build/release/flowtrack")
    ap.add_argument("--max-streams", type=int, default=200)
    args = ap.parse_args()
    files = []
    for p in args.paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith((".pcap", ".pcapng", ".cap")))
        else:
            files.append(p)
    total_agreed = total_explained = total_split = total_differing = total_unmatched = compared_files = 0
    for path in files:
        result = compare(path, args.flowtrack, args.max_streams)
        if result is None:
            continue
        compared_files += 1
        agreed, explained, split, differing, unmatched = result
        total_agreed += agreed
        total_explained += explained
        total_split += split
        total_differing += len(differing)
        total_unmatched += unmatched
        for d in differing:
            print(f"DIFF {os.path.basename(path)}: {d}")
        if unmatched:
            print(f"UNMATCHED {os.path.basename(path)}: {unmatched} conversation(s) tshark follows, FlowTrack has no stream for")
    print(f"files with TCP: {compared_files}; conversations agreed {total_agreed}, equal but for where bytes are "
          f"reported missing {total_explained}, split by Zeek's timers {total_split}, differing {total_differing}, "
          f"tshark-only {total_unmatched}")


if __name__ == "__main__":
    sys.exit(main())
