"""
DNS over TCP: truncation and UDP failure.

- tc.test: the UDP answer is truncated (TC bit, no records); c-ares asks
  again over TCP and the full answer is used.
- many.test: 20 addresses (more than the 16 an answer carries), over TCP
  after truncation; every one is a listener on the same port, and the
  CONNECT reaches one of them.
- udpfail.test: SERVFAIL over UDP, a good answer over TCP; with no backup
  servers the TCP retry to the primary is what answers.
"""

import rtest as r
from rtest import t, T_A


def main():
    echo = t.echo_server("127.0.0.7")
    many = ["127.0.0.%d" % i for i in range(10, 30)]
    lsocks = [r.trap(a, echo.port) for a in many]
    prim = r.dns({
        "tc.test": {"addrs": ["127.0.0.7"], "udp": {"tc": True}},
        "many.test": {"addrs": many, "udp": {"tc": True}},
        "udpfail.test": {"addrs": ["127.0.0.7"], "udp": {"rcode": 2}},
    })
    d = r.daemon("tcp", prim, resolve_timeout=4)

    t.step("truncated over UDP: the answer comes over TCP")
    r.echo_ok(d, "tc.test", echo)
    t.check_eq(prim.count("tc.test", T_A, "udp"), 1, "A queries over UDP")
    t.check(prim.count("tc.test", T_A, "tcp") >= 1, "A query over TCP")

    t.step("20 addresses over TCP: one of them is reached")
    s = t.s5_tunnel(d.port, "many.test", echo.port)
    got = t.wait_until(lambda: sum(r.trapped(x) for x in lsocks), 5,
                       "a connection to one of the many.test addresses")
    t.check(got >= 1, "a connection to a many.test address")
    s.close()
    t.check(prim.count("many.test", T_A, "tcp") >= 1, "A query over TCP")

    t.step("SERVFAIL over UDP, retried over TCP to the primary")
    r.echo_ok(d, "udpfail.test", echo)
    t.check(prim.count("udpfail.test", T_A, "udp") >= 1, "UDP tried first")
    t.check(prim.count("udpfail.test", T_A, "tcp") >= 1, "then TCP")


t.run(main)
