#!/usr/bin/env python3
"""
Half-close, with "splice": true and with "splice": false.

1. client first: the client sends 2 MiB and shuts its write side; the
   target reads to EOF, then answers (sha256 of what it got + 1 MiB) and
   closes.  The client receives the whole answer: the proxy kept the
   target -> client direction open after client -> target ended.
2. target first: the target sends 1 MiB and shuts its write side, then
   reads to EOF.  The client reads to EOF (all 1 MiB), and only then sends
   2 MiB and shuts its write side; the target receives every byte: the
   proxy kept client -> target open after target -> client ended.
Each session is logged "done" with exactly the bytes relayed each way.
"""
import hashlib
import os
import socket

import sltest as t

UP = 2 << 20
DOWN = 1 << 20


def read_to_eof(c):
    h, n = hashlib.sha256(), 0
    while True:
        d = c.recv(65536)
        if not d:
            return h.hexdigest(), n
        h.update(d)
        n += len(d)


def client_first(c, a, srv):
    digest, n = read_to_eof(c)
    reply = ("%s %d\n" % (digest, n)).encode().ljust(80) + srv.state["down"]
    c.sendall(reply)
    c.shutdown(socket.SHUT_WR)
    srv.state.setdefault("done", []).append((digest, n))


def target_first(c, a, srv):
    c.sendall(srv.state["down"])
    c.shutdown(socket.SHUT_WR)
    digest, n = read_to_eof(c)
    srv.state.setdefault("done", []).append((digest, n))


def run_case(splice):
    name = "splice-%s" % ("on" if splice else "off")
    d = t.Sluiced(name=name, workers=1, splice=splice).start()
    up = os.urandom(UP)
    down = os.urandom(DOWN)

    t.step("%s: client closes its write side first" % name)
    srv = t.TCPServer(client_first)
    srv.state["down"] = down
    s = t.s5_tunnel(d.port, "127.0.0.1", srv.port)
    s.sendall(up)
    s.shutdown(socket.SHUT_WR)
    got = t.recv_all(s, 20)
    s.close()
    want = ("%s %d\n" % (t.sha256(up), UP)).encode().ljust(80) + down
    t.check_eq(len(got), len(want), "%s: bytes the client got back" % name)
    t.check(got[:80] == want[:80], "%s: target's digest line: got %r, want "
            "%r" % (name, got[:80], want[:80]))
    t.check(got == want, "%s: reply payload differs" % name)
    t.check(not srv.errors, "%s: target errors %r" % (name, srv.errors))
    ss = d.wait_sessions(lambda x: x.target == "127.0.0.1:%d" % srv.port, 1,
                         what="the client-first session")
    t.check_eq((ss[0].outcome, ss[0].up, ss[0].down), ("done", UP, len(want)),
               "%s: client-first session (outcome, up, down)" % name)

    t.step("%s: target closes its write side first" % name)
    srv = t.TCPServer(target_first)
    srv.state["down"] = down
    s = t.s5_tunnel(d.port, "127.0.0.1", srv.port)
    got = t.recv_all(s, 20)
    t.check_eq(len(got), DOWN, "%s: bytes before the target's EOF" % name)
    t.check(got == down, "%s: target's data differs" % name)
    s.sendall(up)                     # after EOF from the target
    s.shutdown(socket.SHUT_WR)
    t.wait_until(lambda: srv.state.get("done") or srv.errors, 20,
                 "%s: the target reading to EOF" % name)
    t.check(not srv.errors, "%s: target errors %r" % (name, srv.errors))
    t.check_eq(srv.state["done"][0], (t.sha256(up), UP),
               "%s: (sha256, length) the target received after its "
               "half-close" % name)
    t.check_eq(t.recv_all(s, 5), b"", "%s: data after both EOFs" % name)
    s.close()
    ss = d.wait_sessions(lambda x: x.target == "127.0.0.1:%d" % srv.port, 1,
                         what="the target-first session")
    t.check_eq((ss[0].outcome, ss[0].up, ss[0].down), ("done", UP, DOWN),
               "%s: target-first session (outcome, up, down)" % name)
    d.signal(15)
    t.check_eq(d.wait_exit(10), 0, "%s: exit status" % name)


def main():
    run_case(True)
    run_case(False)


t.run(main)
