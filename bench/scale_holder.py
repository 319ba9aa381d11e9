#!/usr/bin/env python3
"""
bench/scale_bench.sh's holder: N idle SOCKS5 sessions through a proxy to
a target (CONNECT by address, reply checked), kept open until stdin
closes.  Writes N to FLAG once all are up.

    scale_holder.py PROXY_PORT TARGET_PORT N FLAG [SOURCE [SECS]]

SOURCE (a 127.0.0.0/8 address, default none: the kernel's choice) is the
address the sessions are bound to, so several holders do not share one
(source, proxy) pair's 55k ports.  Gives up after SECS [120] seconds if
the N are not up by then.  The sessions are opened in batches of BATCH:
each greeting and request is sent before any reply is read, so the
proxy's connects to the target overlap; BATCH stays far below the
proxy's max_handshakes.
"""
import os
import resource
import socket
import struct
import sys
import time

BATCH = 64


def fail(msg):
    sys.exit("scale_holder: " + msg)


def open_batch(proxy, source, hello, count, base, deadline):
    """Open count sessions, numbered from base; returns their sockets."""
    batch = []
    for i in range(count):
        left = deadline - time.monotonic()
        if left <= 0:
            fail("deadline passed at session %d" % (base + i))
        try:
            s = socket.create_connection(("127.0.0.1", proxy),
                                         timeout=min(10, left),
                                         source_address=source)
            s.sendall(hello)
        except OSError as e:
            fail("session %d: connect: %s" % (base + i, e))
        batch.append(s)
    for i, s in enumerate(batch):
        got = b""
        try:
            while len(got) < 12:
                b = s.recv(12 - len(got))
                if not b:
                    fail("session %d: closed by the proxy" % (base + i))
                got += b
        except OSError as e:
            fail("session %d: reply: %s" % (base + i, e))
        if got[:4] != b"\x05\x00\x05\x00":
            fail("session %d: reply %r" % (base + i, got))
    return batch


def main():
    if len(sys.argv) not in (5, 6, 7):
        sys.exit(__doc__.strip().split("\n\n")[1].strip())
    proxy, target, n, flag = int(sys.argv[1]), int(sys.argv[2]), \
        int(sys.argv[3]), sys.argv[4]
    source = None
    if len(sys.argv) > 5 and sys.argv[5] != "":
        if not sys.argv[5].startswith("127."):
            fail("SOURCE must be a loopback address")
        source = (sys.argv[5], 0)
    secs = float(sys.argv[6]) if len(sys.argv) > 6 else 120.0
    deadline = time.monotonic() + secs
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard != resource.RLIM_INFINITY and n + 64 > hard:
        fail("%d sessions need %d fds, RLIMIT_NOFILE is %d" %
             (n, n + 64, hard))
    held = []
    req = b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + \
        struct.pack("!H", target)
    hello = b"\x05\x01\x00" + req
    while len(held) < n:
        held += open_batch(proxy, source, hello, min(BATCH, n - len(held)),
                           len(held), deadline)
    with open(flag + ".tmp", "w") as f:
        f.write("%d\n" % len(held))
    os.replace(flag + ".tmp", flag)
    sys.stdin.read()


main()
