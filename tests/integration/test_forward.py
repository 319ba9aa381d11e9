#!/usr/bin/env python3
"""
`forward` listeners: TCP to a fixed target (issue 11).

- The README's "forward" example (transmitm's TCPProxy with its two
  taps): curl through it asks the origin for /api/small, the origin sees
  /forbidden/small, and the `log` tap names sizes and endpoints.
- Without taps, an 8 MiB download is byte-exact (the splice relay).
- A server that speaks first (a banner, like SSH or SMTP) is heard
  before the client sends a byte.
- A target that refuses: the client's connection is reset, not closed
  quietly, and the log says "failed".
- IPv4 <-> IPv6 bridging: a [::1] listener to an IPv4 target and an IPv4
  listener to a [::1] target.
- A `deny_targets` target is refused (reset) with the key in the log.
"""
import socket

import sltest as t


def readme_forward(origin):
    conf = t.readme_example("forward")
    ls = t.with_free_ports(conf["listeners"])
    ls[0]["target"] = "127.0.0.1:%d" % origin.port
    d = t.Sluiced(listeners=ls).start()
    t.step("curl /api/small through the forward listener")
    port = d.port_of[ls[0]["name"]]
    r = t.curl(["-o", "/dev/null", "-w", "%{http_code}",
                "http://127.0.0.1:%d/api/small" % port])
    t.check_eq(r.stdout, b"404", "status of the rewritten request")
    t.check_eq(origin.requests[-1][1], "/forbidden/small",
               "path the origin saw")
    # curl --fail drops the 404's body unread and resets: any outcome.
    s = d.wait_sessions(lambda s: s.front == "forward", 1,
                        what="the forward session's line")[0]
    t.check(s.up > 0 and s.down > 0, "bytes both ways: %r" % s)
    d.wait_log(r"tap log: up \d+ bytes", what="the log tap's line (up)")
    d.wait_log(r"tap log: down \d+ bytes",
               what="the log tap's line (down)")
    d.cleanup()


def plain_forward(origin, origin6, banner):
    closed = t.free_port()
    ls = t.with_free_ports([
        {"name": "blob", "kind": "forward", "listen": "127.0.0.1:0",
         "target": "127.0.0.1:%d" % origin.port},
        {"name": "banner", "kind": "forward", "listen": "127.0.0.1:0",
         "target": "127.0.0.1:%d" % banner.port},
        {"name": "refused", "kind": "forward", "listen": "127.0.0.1:0",
         "target": "127.0.0.1:%d" % closed},
        {"name": "meta", "kind": "forward", "listen": "127.0.0.1:0",
         "target": "169.254.169.254:80"},
    ])
    if origin6 is not None:
        ls += t.with_free_ports([
            {"name": "v6in", "kind": "forward", "listen": "[::1]:0",
             "target": "127.0.0.1:%d" % origin.port},
            {"name": "v6out", "kind": "forward", "listen": "127.0.0.1:0",
             "target": "[::1]:%d" % origin6.port},
        ])
    d = t.Sluiced(listeners=ls).start()
    p = d.port_of

    t.step("8 MiB through a forward listener without taps: byte-exact")
    body = t.curl_ok(["http://127.0.0.1:%d/blob" % p["blob"]], "GET /blob")
    t.check_eq(t.sha256(body), origin.digest, "body digest")

    t.step("a server that speaks first is heard before the client speaks")
    c = socket.create_connection(("127.0.0.1", p["banner"]), timeout=5)
    t.check_eq(t.recv_exact(c, 9, "banner"), b"220 hello", "banner")
    c.sendall(b"ping\n")
    t.check_eq(t.recv_exact(c, 5, "echo"), b"ping\n", "echo after banner")
    c.close()

    for name, why in (("refused", r"failed"), ("meta", r"deny_targets")):
        t.step("%s target: the client's connection is reset" % name)
        m = d.mark()
        try:
            # The reset may come before connect() returns.
            c = socket.create_connection(("127.0.0.1", p[name]), timeout=5)
            got = c.recv(10)
            c.close()
            t.check(False, "%s: expected a reset, got %r" % (name, got))
        except ConnectionResetError:
            pass
        d.wait_log(r"session \d+: forward .*%s" % why, mark=m,
                   what="%s session logged" % name)

    if origin6 is not None:
        t.step("[::1] listener -> IPv4 target, IPv4 listener -> [::1]")
        body = t.curl_ok(["-g", "http://[::1]:%d/small" % p["v6in"]],
                         "GET via the v6 listener")
        t.check_eq(body, b"small\n", "body via [::1] -> 127.0.0.1")
        body = t.curl_ok(["http://127.0.0.1:%d/small" % p["v6out"]],
                         "GET to the v6 target")
        t.check_eq(body, b"small\n", "body via 127.0.0.1 -> [::1]")
        t.check(any(r[2][0] == "::1" for r in origin6.requests),
                "the IPv6 origin saw a client at ::1")
    d.check_alive()
    d.cleanup()


def banner_handler(c, a, srv):
    c.sendall(b"220 hello")
    while True:
        data = c.recv(4096)
        if not data:
            return
        c.sendall(data)


def main():
    t.require_curl()
    origin = t.Origin()
    origin6 = t.Origin(size=1024, host="::1") if t.have_ipv6() else None
    banner = t.TCPServer(banner_handler)
    readme_forward(origin)
    plain_forward(origin, origin6, banner)


if __name__ == "__main__":
    t.run(main)
