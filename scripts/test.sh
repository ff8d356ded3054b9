#!/usr/bin/env bash
# The whole test suite, then again under AddressSanitizer, then the concurrent parts
# (async sequences, live capture, the port demultiplexer) under ThreadSanitizer.
# Separate build folders keep the three builds from invalidating each other.
set -euo pipefail
cd "$(dirname "$0")/.."
swift test
# XCTest itself leaks at exit: leak detection off, every other ASan check on.
# FLOWTRACK_SANITIZER tells the flood test that peak RSS is ASan's, not FlowTrack's.
FLOWTRACK_SANITIZER=address ASAN_OPTIONS=detect_leaks=0 swift test --sanitize=address --scratch-path .build-asan
swift test --sanitize=thread --scratch-path .build-tsan \
    --filter 'LiveCaptureTests|PortDemultiplexerTests|ConnectionRegressionTests|PacketsCommandTests'
