#!/usr/bin/env bash
# The test suite under AddressSanitizer, then the concurrent parts (async sequences, live
# capture, the port demultiplexer, tracking on several threads, streams' writing thread) under ThreadSanitizer. README's test command runs this
# after a plain `swift test`. Separate build folders keep the builds from invalidating each other.
set -euo pipefail
cd "$(dirname "$0")/.."
# XCTest itself leaks at exit: leak detection off, every other ASan check on.
# FLOWTRACK_SANITIZER tells the flood test that peak RSS is ASan's, not FlowTrack's.
FLOWTRACK_SANITIZER=address ASAN_OPTIONS=detect_leaks=0 swift test --sanitize=address --scratch-path .build-asan
swift test --sanitize=thread --scratch-path .build-tsan \
    --filter 'LiveCaptureTests|PortDemultiplexerTests|ConnectionRegressionTests|PacketsCommandTests|AsyncEventsTests|SnippetTests|ShardedTests|threadsGiveTheSameOutput|StreamsThreadsTests'
