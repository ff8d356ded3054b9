#!/usr/bin/python3
"""Crafts Fixtures/many-flows.pcap with scapy: 3,000 UDP exchanges (a 32-byte request from
10.2.H.L:40000+i to 10.3.0.1:5000 and a 32-byte answer), one every millisecond, 6,000 packets
in all. The tests of the asynchronous event sequence use it as a capture long enough to
see backpressure (a slow consumer) and cancellation in the middle of a file.
Run: /usr/bin/python3 Fixtures/make_many_flows.py
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers"))
from pcapfile import write_pcap  # noqa: E402
from scapy.all import IP, UDP, Ether, Raw  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1_700_300_000 * 1_000_000_000
CLIENT_MAC, SERVER_MAC = "02:00:00:00:02:01", "02:00:00:00:03:01"

records = []
for i in range(3000):
    client = f"10.2.{i // 250}.{i % 250 + 1}"
    port = 40000 + i % 20000
    t = T0 + i * 1_000_000
    request = Ether(src=CLIENT_MAC, dst=SERVER_MAC) / IP(src=client, dst="10.3.0.1") / UDP(sport=port, dport=5000) / Raw(b"q" * 32)
    answer = Ether(src=SERVER_MAC, dst=CLIENT_MAC) / IP(src="10.3.0.1", dst=client) / UDP(sport=5000, dport=port) / Raw(b"a" * 32)
    records += [(t, bytes(request)), (t + 200_000, bytes(answer))]
write_pcap(os.path.join(HERE, "many-flows.pcap"), 1, records)
print("many-flows.pcap:", len(records), "packets")
