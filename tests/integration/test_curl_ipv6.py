#!/usr/bin/env python3
"""
IPv6 through sluice (skipped, exit 77, only when ::1 is unavailable).

- curl --socks5 to http://[::1]:port/ (an IPv6 CONNECT target): the
  8 MiB body arrives intact, and an upload's sha256 matches;
- sluice listening on both 127.0.0.1 and [::1] ("listen"): a client on
  [::1] is served too, and its session line shows the [::1] client;
- a raw CONNECT to ::1 gets a success reply whose BND is ::1 with the
  port the origin saw.
"""
import os

import sltest as t

BODY = 8 << 20


def main():
    if not t.have_ipv6():
        raise t.Skip("::1 is not available")
    t.require_curl()
    origin = t.Origin(size=BODY, host="::1")
    p4, p6 = t.free_port(), t.free_port("::1")
    d = t.Sluiced(workers=2, listen=["127.0.0.1:%d" % p4, "[::1]:%d" % p6])
    d.start()
    t.wait_until(lambda: t.listening(p6), 5, "port %d listening" % p6)
    tgt = "[::1]:%d" % origin.port

    t.step("GET %s through the IPv4 listener" % origin.url())
    body = t.curl_fetch(p4, origin.url())
    t.check_eq(t.sha256(body), origin.digest, "body sha256 (IPv6 target)")

    t.step("GET through the [::1] listener")
    body = t.curl_fetch(p6, origin.url(), proxy_host="::1")
    t.check_eq(t.sha256(body), origin.digest,
               "body sha256 (IPv6 client and target)")
    ss = d.wait_sessions(lambda s: s.target == tgt and s.down >= BODY and
                         s.outcome == "done", 2,
                         what="'done' sessions to %s" % tgt)
    clients = sorted(s.client.rsplit(":", 1)[0] for s in ss)
    t.check_eq(clients, ["127.0.0.1", "[::1]"], "client addresses logged")

    t.step("upload to the IPv6 origin")
    tmp = t.mkdtemp()
    data = os.urandom(3 << 20)
    with open(tmp + "/up.bin", "wb") as f:
        f.write(data)
    out = t.curl_ok(["--socks5", "[::1]:%d" % p6, "-T", tmp + "/up.bin",
                     origin.url("/upload")], "PUT upload over IPv6")
    t.check_eq(out.decode().split(), [t.sha256(data), str(len(data))],
               "origin's sha256 of the upload")

    t.step("raw CONNECT to ::1: BND is the real local address")
    echo = t.echo_server(host="::1")
    s, rep, bnd = t.s5_connect(p4, "::1", echo.port)
    try:
        t.check_eq(rep, 0, "reply code for CONNECT [::1]:%d" % echo.port)
        t.check_eq(bnd[0], "::1", "BND.ADDR")
        t.wait_until(lambda: echo.peers, 5, "the echo server's accept")
        t.check_eq(bnd[1], echo.peers[-1][1],
                   "BND.PORT vs the port the target saw")
        t.echo_check(s, os.urandom(50000))
    finally:
        s.close()


t.run(main)
