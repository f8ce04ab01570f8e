#!/usr/bin/env python3
"""Prints the first frames of a log WebSocket, with the standard library only (no websocket package needed).

Usage: scripts/ws-peek.py 'ws://127.0.0.1:8080/ws/containers/NAME/logs?token=…' [frames=5]
"""
import base64
import os
import socket
import sys
import urllib.parse


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def main():
    url = urllib.parse.urlsplit(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    sock = socket.create_connection((url.hostname, url.port or 80), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    path = url.path + ("?" + url.query if url.query else "")
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    if b" 101 " not in response.split(b"\r\n")[0]:
        sys.exit(response.decode(errors="replace"))
    for _ in range(count):
        first, second = read_exact(sock, 2)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(read_exact(sock, 2), "big")
        elif length == 127:
            length = int.from_bytes(read_exact(sock, 8), "big")
        payload = read_exact(sock, length)
        opcode = first & 0x0F
        if opcode == 8:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
            print(f"close {code} {payload[2:].decode(errors='replace')}")
            return
        print(payload.decode(errors="replace"))


if __name__ == "__main__":
    main()
