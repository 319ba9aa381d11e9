#!/usr/bin/env python3
"""
SOCKS5 BIND (RFC 1928), driven by a raw-socket BIND client.

- The README's "socks5-bind" example (free port): a BIND is announced on
  the `out` link's source 127.0.0.2; the announced address is reachable;
  the second reply names the peer; 1 MiB flows each way byte-exact, with
  the bytes the client sent while waiting delivered to the peer first;
  half-close passes through; a second peer is refused; the log line
  names the peer.
- Policy: DST.ADDR 127.0.0.66 (forbidden by the example's rule) gets 0x02
  in the first reply; with DST.ADDR 0.0.0.0, a peer from 127.0.0.66 gets
  0x02 in the second reply; with DST.ADDR 127.0.0.1, a peer from
  127.0.0.5 gets 0x02; each time the peer is closed.
- A listener without links (direct, no source): the BIND is announced
  on the address the client reached (127.0.0.1, and ::1 over IPv6); no
  peer within bind_timeout (1 s) gives 0x04 and the close, and the port
  stops listening; a client that leaves while waiting frees the port.
- An upstream socks5 link as the first candidate: 0x07.
- Worker pids are unchanged at the end.
"""
import os
import socket
import threading
import time

import sltest as t


def bind_open(port, host, dport, proxy_host="127.0.0.1"):
    """(socket, rep, (addr, port)) of a BIND request's first reply."""
    s = t.s5_open(port, proxy_host)
    try:
        s.sendall(t.s5_request(host, dport, cmd=2))
        rep, bnd = t.s5_read_reply(s)
    except BaseException:
        s.close()
        raise
    return s, rep, bnd


def peer_connect(bnd, source=None):
    fam = socket.AF_INET6 if ":" in bnd[0] else socket.AF_INET
    p = socket.socket(fam, socket.SOCK_STREAM)
    p.settimeout(10)
    if source is not None:
        p.bind((source, 0))
    try:
        p.connect(bnd)
    except BaseException:
        p.close()
        raise
    return p


def refused(bnd):
    try:
        c = peer_connect(bnd)
    except ConnectionRefusedError:
        return True
    except ConnectionResetError:
        return False    # queued as the socket closed: ask again
    c.close()
    return False


def pump_both(c, p, early):
    """1 MiB each way at once, then half-close both; check byte-exact."""
    up, down = os.urandom(1 << 20), os.urandom(1 << 20)
    got = {}
    errs = []

    def send(sock, data):
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            errs.append(e)

    def recv(sock, key):
        try:
            got[key] = t.recv_all(sock, 30)
        except BaseException as e:
            errs.append(e)

    th = [threading.Thread(target=send, args=(c, up)),
          threading.Thread(target=send, args=(p, down)),
          threading.Thread(target=recv, args=(p, "peer"))]
    for x in th:
        x.start()
    recv(c, "client")
    for x in th:
        x.join(40)
    t.check(not errs, "relay errors: %r" % errs)
    t.check_eq(t.sha256(got["peer"]), t.sha256(early + up),
               "bytes the peer got (early + 1 MiB)")
    t.check_eq(t.sha256(got["client"]), t.sha256(down),
               "bytes the client got (1 MiB)")


def readme_bind(d):
    port = d.port_of["ftp"]
    t.step("BIND 127.0.0.1:0: announced on the link's source 127.0.0.2")
    m = d.mark()
    c, rep, bnd = bind_open(port, "127.0.0.1", 0)
    try:
        t.check_eq(rep, 0, "first reply")
        t.check_eq(bnd[0], "127.0.0.2", "announced address")
        t.check(bnd[1] > 0, "announced port %d" % bnd[1])
        t.check(t.listening(bnd[1]), "announced port listens")
        c.sendall(b"early bytes\n")
        p = peer_connect(bnd, "127.0.0.1")
        try:
            rep2, peer = t.s5_read_reply(c)
            t.check_eq(rep2, 0, "second reply")
            t.check_eq(peer, p.getsockname(), "second reply names the peer")
            t.step("a second peer is refused")
            t.wait_until(lambda: refused(bnd), 5, "second peer refused")
            t.step("1 MiB each way, byte-exact")
            pump_both(c, p, b"early bytes\n")
        finally:
            p.close()
    finally:
        c.close()
    s = d.wait_sessions(lambda s: s.outcome.startswith("done"), 1, mark=m,
                        what="done BIND session")[0]
    t.check_eq(s.outcome, "done: BIND peer 127.0.0.1:%d" % peer[1],
               "outcome")
    t.check_eq(s.target, "127.0.0.1:0", "target in the log")
    t.check(s.up >= (1 << 20) and s.down >= (1 << 20), "bytes counted")


def readme_policy(d):
    port = d.port_of["ftp"]
    t.step("DST.ADDR forbidden by the rule: 0x02 at once")
    c, rep, _ = bind_open(port, "127.0.0.66", 21)
    t.check_eq(rep, 2, "first reply for 127.0.0.66")
    t.wait_closed(c, 5, "refused BIND closed")
    c.close()

    t.step("DST.ADDR 0.0.0.0, peer from 127.0.0.66: 0x02")
    m = d.mark()
    c, rep, bnd = bind_open(port, "0.0.0.0", 0)
    try:
        t.check_eq(rep, 0, "first reply")
        p = peer_connect(bnd, "127.0.0.66")
        rep2, _ = t.s5_read_reply(c)
        t.check_eq(rep2, 2, "second reply for a forbidden peer")
        t.wait_closed(c, 5, "client closed after 0x02")
        t.wait_closed(p, 5, "forbidden peer closed")
        p.close()
    finally:
        c.close()
    d.wait_sessions(lambda s: "BIND peer 127.0.0.66:" in s.outcome and
                    "refused by balancer.matchers[0]" in s.outcome, 1,
                    mark=m, what="session refusing the peer")

    t.step("DST.ADDR 127.0.0.1, peer from 127.0.0.5: 0x02")
    c, rep, bnd = bind_open(port, "127.0.0.1", 2121)
    try:
        t.check_eq(rep, 0, "first reply")
        p = peer_connect(bnd, "127.0.0.5")
        rep2, _ = t.s5_read_reply(c)
        t.check_eq(rep2, 2, "second reply for the wrong peer")
        t.wait_closed(p, 5, "wrong peer closed")
        p.close()
    finally:
        c.close()
    d.wait_sessions(lambda s: "BIND peer 127.0.0.5:" in s.outcome and
                    "is not DST.ADDR 127.0.0.1" in s.outcome, 1, mark=m,
                    what="session refusing the wrong peer")


def plain_listener(have6):
    ls = [{"name": "plain", "kind": "socks5", "listen": "127.0.0.1:0",
           "bind_timeout": 1}]
    if have6:
        ls.append({"name": "six", "kind": "mixed", "listen": "[::1]:0"})
    d = t.Sluiced(listeners=t.with_free_ports(ls)).start()
    pids = d.workers()
    port = d.port_of["plain"]

    t.step("no source: announced on the address the client reached")
    c, rep, bnd = bind_open(port, "127.0.0.1", 0)
    try:
        t.check_eq((rep, bnd[0]), (0, "127.0.0.1"), "first reply")
        t.step("no peer within bind_timeout 1 s: 0x04, then the close")
        t0 = time.monotonic()
        c.settimeout(10)
        rep2, _ = t.s5_read_reply(c)
        dt = time.monotonic() - t0
        t.check_eq(rep2, 4, "reply after bind_timeout")
        t.check(0.5 < dt < 5, "0x04 after %.2f s, want about 1" % dt)
        t.wait_closed(c, 5, "timed-out BIND closed")
    finally:
        c.close()
    t.check(refused(bnd), "port still listens after the timeout")
    d.wait_sessions(lambda s: s.outcome == "failed, reply 0x04: BIND: no "
                    "peer within 1000 ms", 1, what="timed-out session")

    t.step("a client leaving while it waits frees the port")
    c, rep, bnd = bind_open(port, "0.0.0.0", 0)
    t.check_eq(rep, 0, "first reply")
    c.close()
    t.wait_until(lambda: refused(bnd), 5, "BIND port closed with its client")

    if have6:
        t.step("IPv6: announced on ::1, data flows")
        c, rep, bnd = bind_open(d.port_of["six"], "::", 0, "::1")
        try:
            t.check_eq((rep, bnd[0]), (0, "::1"), "first reply over IPv6")
            p = peer_connect(bnd)
            try:
                rep2, peer = t.s5_read_reply(c)
                t.check_eq((rep2, peer[0]), (0, "::1"), "second reply")
                pump_both(c, p, b"")
            finally:
                p.close()
        finally:
            c.close()
    t.check_eq(d.workers(), pids, "worker pids")
    d.cleanup()


def upstream_link():
    t.step("first candidate an upstream socks5 link: 0x07")
    d = t.Sluiced(balancer={"links": [
        {"name": "up", "protocol": "socks5", "domain": "127.0.0.1",
         "port": 9}]}).start()
    c, rep, _ = bind_open(d.port, "127.0.0.1", 0)
    c.close()
    t.check_eq(rep, 7, "BIND through a socks5 link")
    d.wait_sessions(lambda s: "BIND via socks5 link up not supported" in
                    s.outcome, 1, what="0x07 session")
    d.cleanup()


def main():
    conf = t.readme_example("socks5-bind")
    conf["listeners"] = t.with_free_ports(conf["listeners"])
    d = t.Sluiced(**conf).start()
    pids = d.workers()
    readme_bind(d)
    readme_policy(d)
    t.check_eq(d.workers(), pids, "worker pids")
    t.check(not d.find_log(r"killed by|respawning"), "a worker died")
    d.cleanup()
    plain_listener(t.have_ipv6())
    upstream_link()


if __name__ == "__main__":
    t.run(main)
