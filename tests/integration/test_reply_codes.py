#!/usr/bin/env python3
"""
SOCKS5 reply codes, with a raw client:

- CONNECT to a closed port                  -> 0x05 (connection refused)
- CONNECT to nonexistent.invalid             -> 0x04 (host unreachable)
- an unknown command (0x04, 0xff)           -> 0x07 (command not supported)
- address type 0x05                          -> 0x08 (atyp not supported)
- request with version 4                     -> 0x01 (general failure)
- greeting offering only 0x02 (user/pass)    -> 05 FF, then close
- success: BND.ADDR is 127.0.0.1 and BND.PORT is the (nonzero) port the
  target saw the connection come from; the tunnel relays; CONNECT by
  name (localhost) works too.
Every failure reply is followed by the server closing the connection, and
each failure is logged as "failed, reply 0xNN".  The fake DNS server must
have seen the query for nonexistent.invalid (it came from the resolver).
"""
import os
import socket

import sltest as t


def expect_rep(d, host, port, want, what, cmd=1):
    s, rep, bnd = t.s5_connect(d.port, host, port, cmd=cmd)
    try:
        t.check_eq(rep, want, "reply code for %s" % what)
        t.wait_closed(s, 5, "sluice closing the connection after %s" % what)
    finally:
        s.close()
    return bnd


def raw(d, data, what):
    """Send raw bytes after connecting; return everything until EOF."""
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    try:
        s.sendall(data)
        return t.recv_all(s, 5)
    finally:
        s.close()


def main():
    d = t.Sluiced(workers=1).start()
    echo = t.echo_server()

    t.step("closed port -> 0x05")
    closed = t.free_port()
    expect_rep(d, "127.0.0.1", closed, 0x05, "a closed port")
    d.wait_sessions(lambda s: s.target == "127.0.0.1:%d" % closed and
                    s.outcome.startswith("failed, reply 0x05"), 1,
                    what="'failed, reply 0x05' session")

    t.step("nonexistent.invalid -> 0x04")
    expect_rep(d, "nonexistent.invalid", 80, 0x04, "nonexistent.invalid")
    d.wait_sessions(lambda s: s.target == "nonexistent.invalid:80" and
                    s.outcome.startswith("failed, reply 0x04"), 1,
                    what="'failed, reply 0x04' session")
    t.check(any(q.rstrip(".").startswith("nonexistent.invalid")
                for q in d.dns.queries),
            "the local DNS server never saw nonexistent.invalid "
            "(queries: %r)" % d.dns.queries)

    t.step("unknown commands 0x04 and 0xff -> 0x07")
    expect_rep(d, "127.0.0.1", echo.port, 0x07, "command 0x04", cmd=4)
    expect_rep(d, "127.0.0.1", echo.port, 0x07, "command 0xff", cmd=0xff)
    t.check_eq(echo.peers, [], "connections the echo server got from "
               "unknown commands")

    t.step("address type 0x05 -> 0x08")
    s = t.s5_open(d.port)
    try:
        s.sendall(b"\x05\x01\x00\x05\x7f\x00\x00\x01\x00\x50")
        rep, _ = t.s5_read_reply(s)
        t.check_eq(rep, 0x08, "reply code for address type 0x05")
        t.wait_closed(s, 5, "close after the 0x08 reply")
    finally:
        s.close()

    t.step("request version 4 -> 0x01")
    s = t.s5_open(d.port)
    try:
        s.sendall(b"\x04\x01\x00\x01\x7f\x00\x00\x01" +
                  echo.port.to_bytes(2, "big"))
        rep, _ = t.s5_read_reply(s)
        t.check_eq(rep, 0x01, "reply code for a version 4 request")
        t.wait_closed(s, 5, "close after the 0x01 reply")
    finally:
        s.close()

    t.step("greeting with only method 0x02 -> 05 FF and close")
    t.check_eq(raw(d, b"\x05\x01\x02", "greeting 02"), b"\x05\xff",
               "everything sluice sent back to a 0x02-only greeting")
    t.check_eq(raw(d, b"\x05\x02\x02\x80", "greeting 02 80"), b"\x05\xff",
               "everything sluice sent back to a 0x02,0x80 greeting")

    t.step("success: BND is the real local address of the outgoing "
           "connection")
    s, rep, bnd = t.s5_connect(d.port, "127.0.0.1", echo.port)
    try:
        t.check_eq(rep, 0, "reply code for CONNECT to the echo server")
        t.check_eq(bnd[0], "127.0.0.1", "BND.ADDR")
        t.check(bnd[1] != 0, "BND.PORT is 0")
        t.wait_until(lambda: echo.peers, 5, "the echo server's accept")
        t.check_eq(bnd[1], echo.peers[-1][1],
                   "BND.PORT vs the port the target saw")
        t.echo_check(s, os.urandom(200000), "echo through the tunnel")
    finally:
        s.close()

    t.step("success by name: localhost")
    s, rep, bnd = t.s5_connect(d.port, "localhost", echo.port)
    try:
        t.check_eq(rep, 0, "reply code for CONNECT localhost")
        t.check(bnd[0] in ("127.0.0.1", "::1") and bnd[1] != 0,
                "BND for localhost: %r" % (bnd,))
        t.echo_check(s, b"hello by name\n")
    finally:
        s.close()

    # One greeting+request in a single segment, data right behind it: the
    # data must not be lost (it arrives before the reply is sent).
    t.step("pipelined greeting, request and data in one send")
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    try:
        s.sendall(b"\x05\x01\x00" + t.s5_request("127.0.0.1", echo.port) +
                  b"pipelined!")
        t.check_eq(t.recv_exact(s, 2), b"\x05\x00", "method reply")
        rep, _ = t.s5_read_reply(s)
        t.check_eq(rep, 0, "reply code")
        t.check_eq(t.recv_exact(s, 10, "pipelined echo"), b"pipelined!",
                   "echo of the pipelined data")
    finally:
        s.close()
    t.check(not d.find_log(r"killed by|exited with status|respawning"),
            "a child died during the test")


t.run(main)
