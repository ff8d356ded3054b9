#!/usr/bin/env python3
"""Compares `flowtrack streams FILE -o A --holes zero --no-udp` with `tcpflow -r FILE -o B`:
every file tcpflow writes against FlowTrack's file for the same direction (FlowTrack adds
"-UID" to the name; tcpflow adds "c1", "c2"… to a reused 4-tuple and "--VLAN" to a tagged one). Classes: equal; equal but
for zero bytes tcpflow appends (it writes the Ethernet padding of short frames, such as a
60-byte FIN, as data); differing; only one side.

Usage: scripts/compare_tcpflow.py CAPTURE [--flowtrack PATH]"""
import argparse
import collections
import os
import subprocess
import tempfile


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("capture")
    ap.add_argument("--flowtrack", default=".build/release/flowtrack")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        mine_dir, theirs_dir = os.path.join(work, "flowtrack"), os.path.join(work, "tcpflow")
        os.makedirs(theirs_dir)
        subprocess.run([args.flowtrack, "streams", args.capture, "-o", mine_dir, "--holes", "zero", "--no-udp", "-C"],
                       check=True, capture_output=True)
        subprocess.run(["tcpflow", "-r", args.capture, "-o", theirs_dir], check=True, capture_output=True)
        mine = collections.defaultdict(list)
        for f in os.listdir(mine_dir):
            if not f.endswith(".json"):
                mine[f.rsplit("-", 1)[0]].append(open(os.path.join(mine_dir, f), "rb").read())
        counts = collections.Counter()
        for f in sorted(os.listdir(theirs_dir)):
            if f.endswith(".xml"):
                continue
            theirs = open(os.path.join(theirs_dir, f), "rb").read()
            base = f
            if "--" in base:  # tcpflow appends --VLAN to the names of 802.1Q-tagged flows
                base = base[:base.index("--")]
            if "c" in base.rsplit(".", 1)[-1]:
                base = base[:base.rindex("c")]
            candidates = mine.get(base, [])
            if theirs in candidates:
                candidates.remove(theirs)
                counts["equal"] += 1
            elif any(theirs.startswith(c) and not theirs[len(c):].strip(b"\0") for c in candidates):
                c = next(c for c in candidates if theirs.startswith(c) and not theirs[len(c):].strip(b"\0"))
                candidates.remove(c)
                counts["equal but for tcpflow's trailing zero bytes"] += 1
            elif not theirs.strip(b"\0"):
                counts["tcpflow-only, zeros only"] += 1
            elif candidates:
                candidates.pop(0)
                counts["differing"] += 1
            else:
                counts["tcpflow-only"] += 1
        counts["flowtrack-only"] = sum(len(v) for v in mine.values())
        for k, v in counts.items():
            print(f"{k}: {v}")


if __name__ == "__main__":
    main()
