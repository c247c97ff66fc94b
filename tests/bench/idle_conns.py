#!/usr/bin/env python3
"""Opens N keep-alive connections to HOST:PORT, sends one request on each, reads the answer,
then keeps them idle and prints the RSS of PIDs (KiB) before and after. Usage:
  idle_conns.py HOST PORT N PATH PID[,PID...] [extra header lines...]"""
import resource
import socket
import sys
import time


def rss_kib(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def main():
    host, port, n, path, pids = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    extra = "".join(h + "\r\n" for h in sys.argv[6:])
    pids = [int(p) for p in pids.split(",")]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1000), hard))
    time.sleep(0.5)  # let the contender settle after the previous phase
    before = rss_kib(pids)
    socks = []
    req = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()
    for _ in range(n):
        s = socket.create_connection((host, port))
        s.sendall(req)
        socks.append(s)
    # Read every answer (headers and a small body), keeping the connection open.
    for s in socks:
        s.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                raise SystemExit("connection closed by the server")
            data += chunk
    time.sleep(1.0)
    after = rss_kib(pids)
    alive = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                continue
        except BlockingIOError:
            pass
        alive += 1
    print(f"{before} {after} {alive}")
    for s in socks:
        s.close()


main()
