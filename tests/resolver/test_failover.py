"""
Backup nameservers take over when the primaries fail.

The primary answers SERVFAIL for sf.test, REFUSED for rf.test, never
answers for to.test and sends a malformed reply (answer count larger than
the answers) for gb.test; each time the lookup is retried over TCP to the
primary, then the backup answers and the CONNECT reaches the echo server
the backup named, in less than resolve_timeout.  A second daemon whose
primary is a closed port (connection refused) also falls over to the
backup.  A name only the lying primary knows fails cleanly and the
resolver process survives all of it.
"""

import rtest as r
from rtest import t, T_A


def main():
    echo = t.echo_server("127.0.0.7")
    honest = {"addrs": ["127.0.0.7"], "ttl": 60}
    prim = r.dns({"sf.test": {"rcode": 2}, "rf.test": {"rcode": 5},
                  "to.test": {"drop": True}, "gb.test": {"garbage": True},
                  "gbonly.test": {"garbage": True}})
    back = r.dns({"sf.test": honest, "rf.test": honest, "to.test": honest,
                  "gb.test": honest})
    d = r.daemon("failover", prim, [back], resolve_timeout=4)
    resolver = d.resolver()

    for name, why in (("sf.test", "SERVFAIL"), ("rf.test", "REFUSED"),
                      ("gb.test", "a malformed answer"),
                      ("to.test", "a timeout")):
        t.step("%s: the primary gives %s, the backup answers" % (name, why))
        rep, secs = r.connect(d, name, echo.port)
        t.check_eq(rep, 0, "reply for %s" % name)
        t.check(secs < 4, "%s took %.2f s, more than resolve_timeout"
                % (name, secs))
        t.check(prim.count(name, T_A, "udp") >= 1, "primary asked over UDP")
        t.check(prim.count(name, T_A, "tcp") >= 1,
                "primary asked over TCP after UDP failed (%d)"
                % prim.count(name, T_A, "tcp"))
        t.check(back.count(name, T_A, "udp") >= 1, "backup asked")
        r.echo_ok(d, name, echo)

    t.step("a malformed answer and no backup that knows: that lookup fails")
    rep, _ = r.connect(d, "gbonly.test", echo.port)
    t.check(rep != 0, "gbonly.test: reply 0x%02x, want a failure" % rep)
    t.check_eq(d.resolver(), resolver, "resolver pid (it must survive)")

    t.step("primary refuses the connection (closed port): backup answers")
    closed = t.free_port()
    back2 = r.dns({"sf.test": honest})
    d2 = r.daemon("refused", None, [back2], resolve_timeout=4,
                  nameservers=["127.0.0.1:%d" % closed])
    rep, secs = r.connect(d2, "sf.test", echo.port)
    t.check_eq(rep, 0, "reply with a dead primary")
    t.check(secs < 4, "took %.2f s" % secs)
    t.check(back2.count("sf.test", T_A, "udp") >= 1, "backup asked")


t.run(main)
