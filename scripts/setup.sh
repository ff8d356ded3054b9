#!/usr/bin/env bash
# Installs what FlowTrack needs to build and test on Debian/Ubuntu: libpcap's
# headers (the only build dependency) and pkg-config. Uses sudo when not root.
# Fixture regeneration additionally needs tcpdump and python3-scapy; benchmark
# comparisons need tshark: pass --all to install those too.
set -euo pipefail
packages=(libpcap-dev pkg-config)
if [[ "${1:-}" == "--all" ]]; then packages+=(tcpdump tshark python3-scapy iproute2 tcpreplay); fi
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift 6.2 or later is needed (https://swift.org/install)" >&2; exit 1; }
