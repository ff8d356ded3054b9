#!/usr/bin/python3
"""Runs TCP scenarios between two network namespaces while the kernel tracks them, and
records what the kernel's conntrack table says at the end.

  conntrack_scenarios.py run OUTDIR    (as root) writes OUTDIR/capture.pcap (tcpdump on the
                                       server's veth) and OUTDIR/conntrack.json
Namespaces ft-c-PID (client 10.99.0.1) and ft-s-PID (server 10.99.0.2) joined by a veth
pair; an nftables `ct state` rule in the server's input chain makes the kernel track every
connection there. The scenarios, one server port each:
  9001 close both ways      9002 server resets       9003 client resets
  9004 half close           9005 tuple reuse         9006 out-of-window RST and data
  9007 repeated ACKs        9008 simultaneous close  9099 SYN to a closed port (RST)
The namespaces are removed at the end, whatever happens.
"""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

CLIENT, SERVER = "10.99.0.1", "10.99.0.2"
LAST = {}  # the last segment the client sent, by server port
PORTS = [9001, 9002, 9003, 9004, 9005, 9006, 9007, 9008]


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def server():
    """Listens on every scenario port; each connection is served by its port's rule."""
    import selectors
    sel = selectors.DefaultSelector()
    for port in PORTS:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((SERVER, port))
        s.listen(8)
        sel.register(s, selectors.EVENT_READ, port)
    print("ready", flush=True)
    keep = []
    while True:
        for key, _ in sel.select():
            conn, _ = key.fileobj.accept()
            port = key.data
            data = conn.recv(4096)
            if port == 9001:
                conn.sendall(b"y" * 200)
                conn.recv(4096)  # the client's FIN
                conn.close()
            elif port == 9002:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
            elif port == 9004:
                conn.recv(4096)  # the client's FIN; this side stays open
                keep.append(conn)
            elif port == 9005:
                if data == b"first":
                    conn.close()  # the server closes first: its side lingers in TIME_WAIT
                else:
                    keep.append(conn)
            elif port in (9006, 9007):
                conn.sendall(data)
                keep.append(conn)
            elif port == 9008:
                conn.shutdown(socket.SHUT_WR)  # as the client does: two FINs at once
                keep.append(conn)
            else:
                keep.append(conn)


def sniffed(port):
    """The last client->server segment of the connection to `port` (seq, ack, window)."""
    last = LAST[port]
    return last.sport, (last.seq + len(bytes(last.payload))) % 2**32, last.ack, last.window


def client():
    global SNIFFER
    from scapy.all import IP, TCP, AsyncSniffer, Raw, send
    SNIFFER = AsyncSniffer(iface="ft-c", filter="tcp and src host %s" % CLIENT, store=False,
                           prn=lambda p: LAST.__setitem__(p[TCP].dport, p[TCP]) if TCP in p else None)
    SNIFFER.start()
    time.sleep(1)
    keep = []

    def connect(port, bind=None):
        s = socket.socket()
        if bind:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((CLIENT, bind))
        s.connect((SERVER, port))
        return s

    # 9005: tuple reuse. The server closes first; the client reconnects from the same port.
    s = connect(9005, bind=45005)
    s.sendall(b"first")
    s.recv(10)
    s.close()
    time.sleep(0.5)
    s = connect(9005, bind=45005)
    s.sendall(b"second")
    keep.append(s)
    # 9001: close both ways.
    s = connect(9001)
    s.sendall(b"x" * 100)
    got = b""
    while len(got) < 200:
        got += s.recv(4096)
    s.shutdown(socket.SHUT_WR)
    s.recv(10)
    s.close()
    # 9004: half close.
    s = connect(9004)
    s.sendall(b"h")
    s.shutdown(socket.SHUT_WR)
    keep.append(s)
    # 9006: out-of-window RST and data, spoofed with the connection's ports.
    s = connect(9006)
    s.sendall(b"w" * 100)
    s.recv(4096)
    time.sleep(0.3)
    sport, seq, ack, win = sniffed(9006)
    send(IP(src=CLIENT, dst=SERVER) / TCP(sport=sport, dport=9006, flags="R", seq=(seq + 2**30) % 2**32), verbose=False)
    send(IP(src=CLIENT, dst=SERVER) / TCP(sport=sport, dport=9006, flags="PA", seq=(seq + 2**30) % 2**32, ack=ack,
                                          window=win) / Raw(b"z" * 10), verbose=False)
    keep.append(s)
    # 9007: the same ACK four times (conntrack counts retransmissions of ACK-class packets).
    s = connect(9007)
    s.sendall(b"r" * 10)
    s.recv(4096)
    time.sleep(0.3)
    sport, seq, ack, win = sniffed(9007)
    for _ in range(4):
        send(IP(src=CLIENT, dst=SERVER) / TCP(sport=sport, dport=9007, flags="A", seq=seq, ack=ack, window=win), verbose=False)
    keep.append(s)
    # 9008: simultaneous close.
    s = connect(9008)
    s.sendall(b"go")
    s.shutdown(socket.SHUT_WR)
    time.sleep(0.3)
    s.close()
    # 9099: a SYN to a closed port, answered by a RST.
    try:
        connect(9099)
    except OSError:
        pass
    # 9003: the client resets.
    s = connect(9003)
    s.sendall(b"c")
    time.sleep(0.1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    # 9002: the server resets.
    s = connect(9002)
    s.sendall(b"s")
    time.sleep(0.3)
    s.close()
    time.sleep(0.5)
    SNIFFER.stop()
    print("done", flush=True)
    sys.stdin.read()  # hold the open connections until the driver has read the table


def run(outdir):
    pid = os.getpid()
    cns, sns = "ft-c-%d" % pid, "ft-s-%d" % pid
    pcap = os.path.join(outdir, "capture.pcap")
    procs = []
    try:
        sh("ip", "netns", "add", cns)
        sh("ip", "netns", "add", sns)
        sh("ip", "link", "add", "ft-c", "netns", cns, "type", "veth", "peer", "name", "ft-s", "netns", sns)
        sh("ip", "-n", cns, "addr", "add", CLIENT + "/24", "dev", "ft-c")
        sh("ip", "-n", sns, "addr", "add", SERVER + "/24", "dev", "ft-s")
        for ns, dev in ((cns, "ft-c"), (sns, "ft-s")):
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        # The kernel's defaults, stated: strict windows, loose pickup.
        sh("ip", "netns", "exec", sns, "sysctl", "-qw", "net.netfilter.nf_conntrack_tcp_be_liberal=0")
        rules = ("table inet ft {\n chain track {\n  type filter hook input priority 0;\n"
                 "  ct state new,established,related,invalid accept\n }\n}\n")
        subprocess.run(["ip", "netns", "exec", sns, "nft", "-f", "-"], input=rules, text=True, check=True, capture_output=True)
        # A test runner may start this with SIGINT/SIGTERM ignored; tcpdump must be stoppable.
        def default_signals():
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        dump = subprocess.Popen(["ip", "netns", "exec", sns, "tcpdump", "-i", "ft-s", "-U", "-s", "0", "-w", pcap, "tcp"],
                                stderr=subprocess.PIPE, text=True, preexec_fn=default_signals)
        procs.append(dump)
        dump.stderr.readline()  # "listening on ft-s ..."
        me = os.path.abspath(__file__)
        srv = subprocess.Popen(["ip", "netns", "exec", sns, sys.executable, me, "server"], stdout=subprocess.PIPE, text=True)
        procs.append(srv)
        assert srv.stdout.readline().strip() == "ready"
        cli = subprocess.Popen(["ip", "netns", "exec", cns, sys.executable, me, "client"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
        procs.append(cli)
        line = cli.stdout.readline().strip()
        assert line == "done", "client: %r" % line
        listing = sh("ip", "netns", "exec", sns, "conntrack", "-L", "-p", "tcp", check=False)
        taken = time.time()
        entries = []
        for text in listing.stdout.splitlines():
            f = text.split()
            kv = [x.split("=", 1) for x in f if "=" in x]
            entries.append({"state": f[3], "timeout": int(f[2]), "src": kv[0][1], "dst": kv[1][1],
                            "sport": int(kv[2][1]), "dport": int(kv[3][1]), "assured": "[ASSURED]" in f, "line": text})
        # The capture ends with the listing: the connections still open close only after it.
        time.sleep(0.5)
        dump.send_signal(signal.SIGINT)
        try:
            dump.wait(timeout=5)
        except subprocess.TimeoutExpired:
            dump.kill()  # -U wrote every packet as it came
            dump.wait(timeout=5)
        cli.stdin.close()
        cli.wait(timeout=10)
        with open(os.path.join(outdir, "conntrack.json"), "w") as out:
            json.dump({"taken": taken, "entries": entries, "kernel": os.uname().release}, out, indent=1)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        sh("ip", "netns", "del", cns, check=False)
        sh("ip", "netns", "del", sns, check=False)


if __name__ == "__main__":
    {"run": lambda: run(sys.argv[2]), "server": server, "client": client}[sys.argv[1]]()
