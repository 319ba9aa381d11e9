#!/usr/bin/env python3
"""
The harness checks itself, without sluiced: the origin server, the echo
server, the fake DNS server, the raw SOCKS5 client and socks5_server.py
(including its RFC 1929 rejection of wrong credentials) work against each
other and against curl.  If this fails, the other integration tests'
verdicts mean nothing.
"""
import os
import socket
import struct

import sltest as t
from socks5_server import Socks5Server


def main():
    t.require_curl()
    origin = t.Origin(size=3 << 20)

    t.step("socks5_server without credentials: curl --socks5 and "
           "--socks5-hostname")
    plain = Socks5Server()
    t.at_exit(plain.close)
    body = t.curl_fetch(plain.port, origin.url())
    t.check_eq(t.sha256(body), origin.digest, "body via --socks5")
    body = t.curl_fetch(plain.port, origin.url(name="localhost"),
                        hostname=True)
    t.check_eq(t.sha256(body), origin.digest, "body via --socks5-hostname")
    t.check_eq(plain.connects[-1], ("127.0.0.1", origin.port),
               "CONNECT target seen by the python server")

    t.step("upload through socks5_server")
    tmp = t.mkdtemp()
    up = os.urandom(2 << 20)
    with open(tmp + "/up.bin", "wb") as f:
        f.write(up)
    out = t.curl_ok(["--socks5", "127.0.0.1:%d" % plain.port, "-T",
                     tmp + "/up.bin", origin.url("/upload")], "PUT")
    t.check_eq(out.decode().split(), [t.sha256(up), str(len(up))],
               "origin's digest of the upload")

    t.step("socks5_server with credentials: right and wrong ones")
    auth = Socks5Server(username="alice", password="s3cret")
    t.at_exit(auth.close)
    out = t.curl_ok(["--socks5", "alice:s3cret@127.0.0.1:%d" % auth.port,
                     origin.url("/small")], "curl with the right credentials")
    t.check_eq(out, b"small\n", "body with the right credentials")
    r = t.curl(["--socks5", "alice:wrong@127.0.0.1:%d" % auth.port,
                origin.url("/small")])
    t.check(r.returncode != 0, "curl with a wrong password succeeded")
    t.check_eq((auth.auth_ok, auth.auth_failed), (1, 1),
               "(auth_ok, auth_failed) of the python server")
    # Raw: no-auth offer to a server that needs a password -> 05 FF.
    s = socket.create_connection(("127.0.0.1", auth.port), timeout=5)
    s.sendall(b"\x05\x01\x00")
    t.check_eq(t.recv_exact(s, 2), b"\x05\xff", "method reply to 00 only")
    s.close()
    # Raw: wrong username -> status 1, then close.
    s = socket.create_connection(("127.0.0.1", auth.port), timeout=5)
    s.sendall(b"\x05\x01\x02")
    t.check_eq(t.recv_exact(s, 2), b"\x05\x02", "method reply to 02")
    s.sendall(b"\x01\x03bob\x06s3cret")
    t.check_eq(t.recv_exact(s, 2), b"\x01\x01", "RFC 1929 status")
    t.check_eq(t.recv_all(s, 5), b"", "bytes after a failed auth")
    s.close()

    t.step("raw client helpers against the python server and echo server")
    echo = t.echo_server()
    s, rep, bnd = t.s5_connect(plain.port, "127.0.0.1", echo.port)
    t.check_eq(rep, 0, "reply code")
    t.check_eq(bnd[0], "127.0.0.1", "BND.ADDR")
    t.wait_until(lambda: len(echo.peers) > 0, 5, "echo server accept")
    t.check_eq(bnd[1], echo.peers[-1][1], "BND.PORT vs echo server's peer")
    t.echo_check(s, b"x" * 100000)
    s.shutdown(socket.SHUT_WR)
    t.check_eq(t.recv_all(s, 5), b"", "echo after half-close")
    s.close()
    s, rep, _ = t.s5_connect(plain.port, "127.0.0.1", t.free_port())
    t.check_eq(rep, 5, "reply code for a closed port")
    s.close()

    t.step("fake DNS answers NXDOMAIN")
    dns = t.FakeDNS()
    t.at_exit(dns.close)
    q = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + \
        b"\x0bnonexistent\x07invalid\x00" + struct.pack("!HH", 1, 1)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(5)
    u.sendto(q, ("127.0.0.1", dns.port))
    a = u.recv(512)
    u.close()
    t.check_eq(a[:2], b"\x12\x34", "DNS id")
    t.check_eq(a[3] & 0x0f, 3, "DNS rcode")
    t.check_eq(dns.queries, ["nonexistent.invalid"], "DNS queries seen")
    t.check(not plain.errors and not auth.errors,
            "python server errors: %r %r" % (plain.errors, auth.errors))


t.run(main, needs_root=False)
