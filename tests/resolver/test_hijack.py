"""
DNS hijack defence (TcpRoute's).

The primary server is a liar: it answers every name, the random
*.invalid names of the resolver's hijack check included, with
127.0.0.99.  The backup is honest.  A hijack probe address (a UDP server
that is no DNS server anybody configured, and answers anything with
127.0.0.98) is listed in hijack_probes.

- Both addresses are learned at start (one warning line each).
- evil.test, which the liar resolves to 127.0.0.99, fails over to the
  backup's honest answer; a listener on 127.0.0.99 at the same port
  never sees a connection.
- ip_blacklist: static.test resolves (backup) to a blacklisted and a good
  address: the good one is used, the other never reached; allbad.test
  resolves only to blacklisted addresses: the CONNECT fails.
- hijack_check_interval 1: the check runs again (more .invalid queries).
"""

import rtest as r
from rtest import t, T_A


def invalid_queries(srv):
    return sum(1 for n in srv.names() if n.endswith(".invalid"))


def main():
    echo = t.echo_server("127.0.0.7")
    liar_trap = r.trap("127.0.0.99", echo.port)
    static_trap = r.trap("127.0.0.96", echo.port)
    liar = r.dns(default={"addrs": ["127.0.0.99"], "ttl": 60})
    honest = r.dns({
        "evil.test": {"addrs": ["127.0.0.7"]},
        "static.test": {"addrs": ["127.0.0.96", "127.0.0.7"]},
        "allbad.test": {"addrs": ["127.0.0.97"]},
    })
    probe = r.dns(default={"addrs": ["127.0.0.98"]}, tcp=False)
    d = r.daemon("hijack", liar, [honest], resolve_timeout=4,
                 hijack_probes=[r.ns(probe)], hijack_check_interval=1,
                 ip_blacklist=["127.0.0.96/31"])

    t.step("hijack addresses learned at start")
    for addr, src in (("127.0.0.99", "primary servers"),
                      ("127.0.0.98", "hijack probe 127.0.0.1:%d"
                       % probe.port)):
        d.wait_log(r"resolver warn\w*: learned hijack address %s from %s"
                   % (addr.replace(".", r"\."), src), 5)

    t.step("a name the liar resolves to 127.0.0.99 uses the backup")
    r.echo_ok(d, "evil.test", echo)
    t.check(liar.count("evil.test", T_A) >= 1, "the liar was asked")
    t.check(honest.count("evil.test", T_A) >= 1, "the backup was asked")
    t.check_eq(r.trapped(liar_trap), 0, "connections to 127.0.0.99")

    t.step("static blacklist: blacklisted addresses are never used")
    for _ in range(3):
        r.echo_ok(d, "static.test", echo)
    t.check_eq(r.trapped(static_trap), 0, "connections to 127.0.0.96")
    rep, _ = r.connect(d, "allbad.test", echo.port)
    t.check(rep != 0, "allbad.test: reply 0x%02x, want a failure" % rep)

    t.step("the check runs again every hijack_check_interval")
    first = invalid_queries(liar)
    t.wait_until(lambda: invalid_queries(liar) > first, 5,
                 "a second round of .invalid queries")
    t.check_eq(r.trapped(liar_trap), 0, "connections to 127.0.0.99")
    t.check(probe.count() >= 2, "the probe address was asked again")


t.run(main)
