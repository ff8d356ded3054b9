"""The short exchange every link-layer and tunnel fixture carries (make_link_layers.py,
make_tunnels.py): TCP 40000 -> 80 (SYN, SYN-ACK, ACK, 10 bytes up, 20 down, FIN both
ways, last ACK: 5 packets up, 3 down) and UDP 40001 -> 9999 (12 bytes up, 30 down)."""
from scapy.all import IP, TCP, UDP, IPv6, Raw


def exchange(a="10.1.0.1", b="10.1.0.2", v6=False):
    """(from a?, IP packet) for the 10 packets of the two conversations."""
    L3 = IPv6 if v6 else IP

    def t(up, flags, seq, ack=0, data=b""):
        src, dst, sp, dp = (a, b, 40000, 80) if up else (b, a, 80, 40000)
        return up, L3(src=src, dst=dst) / TCP(sport=sp, dport=dp, flags=flags, seq=seq, ack=ack, window=8192) / Raw(data)
    return [t(True, "S", 1000), t(False, "SA", 5000, 1001), t(True, "A", 1001, 5001), t(True, "PA", 1001, 5001, b"q" * 10),
            t(False, "PA", 5001, 1011, b"r" * 20), t(True, "FA", 1011, 5021), t(False, "FA", 5021, 1012),
            t(True, "A", 1012, 5022),
            (True, L3(src=a, dst=b) / UDP(sport=40001, dport=9999) / Raw(b"d" * 12)),
            (False, L3(src=b, dst=a) / UDP(sport=9999, dport=40001) / Raw(b"e" * 30))]
