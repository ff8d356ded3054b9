#!/usr/bin/env python3
"""Checks that `flowtrack conn --threads N` gives byte-identical output to `--threads 1`.

For every capture given (files, or directories searched for .pcap/.pcapng/.cap files), runs
`flowtrack conn --community-id --format F --threads N` for each format (zeek, json, csv,
table) and each N of --threads-list, and compares standard output (without Zeek's #open and
#close lines, which carry the wall clock), standard error and the exit status with the one-
thread run. Prints the identical / differing counts and every difference.

Usage: scripts/compare_threads.py [--flowtrack PATH] [--threads-list 2,4] [--extra ARGS] DIR_OR_FILES…
"""
import argparse
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


def captures(paths):
    for path in paths:
        if os.path.isdir(path):
            for root, _, names in os.walk(path):
                for name in sorted(names):
                    if name.endswith((".pcap", ".pcapng", ".cap", ".pcap.gz")):
                        yield os.path.join(root, name)
        else:
            yield path


def run(flowtrack, capture, fmt, threads, extra):
    argv = [flowtrack, "conn", "-q", "--community-id", "--format", fmt, "--threads", str(threads)] + extra + [capture]
    p = subprocess.run(argv, capture_output=True, timeout=600)
    out = b"\n".join(line for line in p.stdout.split(b"\n") if not line.startswith((b"#open", b"#close")))
    return out, p.stderr, p.returncode


def check(args, capture):
    differences = []
    for fmt in ("zeek", "json", "csv", "table"):
        one = run(args.flowtrack, capture, fmt, 1, args.extra)
        for n in args.threads:
            other = run(args.flowtrack, capture, fmt, n, args.extra)
            if other != one:
                what = [name for name, a, b in zip(("stdout", "stderr", "status"), one, other) if a != b]
                differences.append(f"{capture}: --format {fmt} --threads {n}: {', '.join(what)} differ")
    return differences


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--flowtrack", default=".build/release/flowtrack")
    ap.add_argument("--threads-list", default="2,4")
    ap.add_argument("--extra", default="", help="more conn arguments, e.g. '-C'")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    args.threads = [int(n) for n in args.threads_list.split(",")]
    args.extra = args.extra.split()
    files = list(captures(args.paths))
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda c: check(args, c), files))
    differing = [d for r in results for d in r]
    bad_files = sum(1 for r in results if r)
    runs = len(files) * 4 * len(args.threads)
    print(f"{len(files)} captures, {runs} comparisons (4 formats x threads {args.threads_list} vs 1): "
          f"{runs - len(differing)} identical, {len(differing)} differing ({bad_files} captures)")
    for d in differing:
        print("  " + d)
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
