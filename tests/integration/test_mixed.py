#!/usr/bin/env python3
"""
One mixed port, the README's "mixed" example: curl --socks5-hostname,
--socks4a, -x http:// (absolute-form) and -p -x http:// (CONNECT) each
download a 2 MiB body byte-exact (sha256) through the same port, and each
session's log line names the front-end that served it (socks5, socks4,
http).  A raw SOCKS5 CONNECT and a raw HTTP CONNECT to an echo server
on that port relay both ways; garbage that starts like neither SOCKS
version gets the HTTP front-end's 400.  The worker pids stay the same.
"""
import socket

import sltest as t

BODY = 2 << 20


def main():
    t.require_curl()
    origin = t.Origin(size=BODY)
    echo = t.echo_server()
    conf = t.readme_example("mixed")
    d = t.Sluiced(listeners=t.with_free_ports(conf["listeners"])).start()
    port = d.port_of["any"]
    pids = d.workers()
    px = "127.0.0.1:%d" % port
    url = origin.url(name="localhost")
    cases = [("socks5", ["--socks5-hostname", px]),
             ("socks4", ["--socks4a", px]),
             ("http", ["-x", "http://" + px]),
             ("http", ["-p", "-x", "http://" + px])]
    for front, args in cases:
        t.step("%s through the mixed port" % " ".join(args))
        body = t.curl_ok(args + [url], " ".join(args))
        t.check_eq(t.sha256(body), origin.digest, "sha256 via %s" % args)
    for front, n in (("socks5", 1), ("socks4", 1), ("http", 2)):
        d.wait_sessions(lambda s, f=front: s.front == f and
                        s.outcome == "done" and s.down >= BODY, n,
                        what="done %s sessions" % front)

    t.step("raw SOCKS5 and HTTP CONNECT to an echo server")
    s = t.s5_tunnel(port, "127.0.0.1", echo.port)
    t.echo_check(s, b"socks5 on the mixed port")
    s.close()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % echo.port)
    want = b"HTTP/1.1 200 Connection established\r\n\r\n"
    t.check_eq(t.recv_exact(s, len(want), "CONNECT reply"), want,
               "HTTP CONNECT reply")
    t.echo_check(s, b"http on the mixed port")
    s.close()

    t.step("neither 04 nor 05 nor a request: the HTTP front-end's 400")
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"\x06\x01\x00 garbage\r\n")
    got = t.recv_all(s, 10)
    s.close()
    t.check(got.startswith(b"HTTP/1.1 400 "), "answer to garbage: %r"
            % got[:60])
    t.check_eq(d.workers(), pids, "worker pids")


if __name__ == "__main__":
    t.run(main)
