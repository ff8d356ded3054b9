#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/) with -sanitize=fuzzer,address and runs one.
# usage: scripts/fuzz.sh decoder|tracker|streams [RUNS] [extra libFuzzer flags…]
#   RUNS defaults to 10000000 executions. Seeds come from Fixtures/ and the pcaps in $FLOWTRACK_CORPUS
#   (default ../shared/corpus/pcaps, the development corpus, when it exists);
#   findings go to Fuzz/findings/<target>/ (crash-*, timeout-*, leak-*).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?decoder, tracker or streams}; shift
runs=${1:-10000000}; shift || true
case "$target" in decoder) exe=FuzzDecoder ;; tracker) exe=FuzzTracker ;; streams) exe=FuzzStreams ;; *) echo "unknown target $target" >&2; exit 2 ;; esac
work=$(mktemp -d /tmp/flowtrack-fuzz-XXXXXX)
corpus=${FLOWTRACK_CORPUS:-../shared/corpus/pcaps}
extra=(); [ -d "$corpus" ] && extra=("$corpus"/*)
python3 Fuzz/scripts/make_seeds.py "$work/seeds" Fixtures/*.pcap "${extra[@]}" >/dev/null
mkdir -p "$work/corpus" "Fuzz/findings/$target"
(cd Fuzz && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -g >/dev/null)
SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 "Fuzz/.build/release/$exe" \
    "$work/corpus" "$work/seeds/$target" -runs="$runs" -use_value_profile=1 -max_len=4096 -timeout=10 \
    -artifact_prefix="Fuzz/findings/$target/" -print_final_stats=1 "$@"
