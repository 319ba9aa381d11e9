#!/usr/bin/env python3
"""
bench/scale_bench.sh's holder: N idle SOCKS5 sessions through a proxy to
a target (CONNECT by address, reply checked), kept open until stdin
closes.  Writes N to FLAG once all are up.

    scale_holder.py PROXY_PORT TARGET_PORT N FLAG < fifo
"""
import resource
import socket
import struct
import sys


def main():
    proxy, target, n, flag = int(sys.argv[1]), int(sys.argv[2]), \
        int(sys.argv[3]), sys.argv[4]
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held = []
    req = b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + \
        struct.pack("!H", target)
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", proxy), timeout=10)
        s.sendall(b"\x05\x01\x00" + req)
        got = b""
        while len(got) < 12:
            b = s.recv(12 - len(got))
            if not b:
                sys.exit("session %d: closed" % i)
            got += b
        if got[:4] != b"\x05\x00\x05\x00":
            sys.exit("session %d: reply %r" % (i, got))
        held.append(s)
    with open(flag, "w") as f:
        f.write("%d\n" % len(held))
    sys.stdin.read()


main()
