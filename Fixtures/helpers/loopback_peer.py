"""Runs a server and a client on loopback that exchange a fixed number of bytes.

usage: loopback_peer.py tcp|udp HOST PORT CLIENT_BYTES SERVER_BYTES
"""
import socket
import sys
import threading

proto, host, port, client_bytes, server_bytes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
ready = threading.Event()


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def tcp_server(listener):
    conn, _ = listener.accept()
    got = recv_exact(conn, client_bytes)
    assert len(got) == client_bytes
    conn.sendall(b"S" * server_bytes)
    conn.shutdown(socket.SHUT_WR)
    assert conn.recv(1) == b""
    conn.close()


def udp_server(sock):
    data, addr = sock.recvfrom(65535)
    assert len(data) == client_bytes
    sock.sendto(b"R" * server_bytes, addr)


if proto == "tcp":
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(1)
    t = threading.Thread(target=tcp_server, args=(listener,))
    t.start()
    client = socket.create_connection((host, port))
    client.sendall(b"C" * client_bytes)
    reply = recv_exact(client, server_bytes)
    assert len(reply) == server_bytes
    assert client.recv(1) == b""
    client.close()
    t.join()
    listener.close()
else:
    server = socket.socket(family, socket.SOCK_DGRAM)
    server.bind((host, port))
    t = threading.Thread(target=udp_server, args=(server,))
    t.start()
    client = socket.socket(family, socket.SOCK_DGRAM)
    client.sendto(b"Q" * client_bytes, (host, port))
    data, _ = client.recvfrom(65535)
    assert len(data) == server_bytes
    t.join()
    server.close()
    client.close()
