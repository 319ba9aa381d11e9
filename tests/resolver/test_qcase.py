"""
DNS 0x20: the resolver asks with the case of each letter at random and
takes an answer only when its question repeats that case.

The primary answers longername-spoofed.test without echoing the case (as
an off-path spoofer that did not guess it would): that answer is ignored
and the backup's is used.  The questions on the wire carry mixed case.
An honest primary's answer (case echoed) is used without the backup.
With "dns_0x20": false the case is neither mixed nor checked: the
primary's answer is taken.
"""

import rtest as r
from rtest import t, T_A

NAME = "longername-spoofed.test"


def main():
    echo = t.echo_server("127.0.0.7")
    echo8 = t.echo_server("127.0.0.8")
    honest = {"addrs": ["127.0.0.7"], "ttl": 60}
    liar = {"addrs": ["127.0.0.8"], "ttl": 60, "lower": True}
    prim = r.dns({NAME: liar, "honest-primary.test": honest})
    back = r.dns({NAME: honest})
    d = r.daemon("qcase", prim, [back], resolve_timeout=4)

    t.step("an answer without the question's case is not taken")
    rep, _ = r.connect(d, NAME, echo.port)
    t.check_eq(rep, 0, "reply for %s" % NAME)
    r.echo_ok(d, NAME, echo, "echo via the backup's address")
    t.check(prim.count(NAME, T_A, "udp") >= 1, "primary asked")
    t.check(back.count(NAME, T_A, "udp") >= 1, "backup asked")
    raw = [q for q in prim.raw if b"longername-spoofed" in q.lower()]
    t.check(raw and any(q != q.lower() for q in raw),
            "questions to the primary in mixed case: %r" % raw[:4])

    t.step("an honest primary's answer (case echoed) is taken")
    rep, _ = r.connect(d, "honest-primary.test", echo.port)
    t.check_eq(rep, 0, "reply for honest-primary.test")
    t.check_eq(back.count("honest-primary.test", T_A, "udp"), 0,
               "backup asked for a name the primary answered")

    t.step('"dns_0x20": false: plain case, the answer is taken')
    prim2 = r.dns({NAME: liar})
    back2 = r.dns({NAME: honest})
    d2 = r.daemon("no0x20", prim2, [back2], resolve_timeout=4,
                  dns_0x20=False)
    rep, _ = r.connect(d2, NAME, echo8.port)
    t.check_eq(rep, 0, "reply with dns_0x20 off")
    r.echo_ok(d2, NAME, echo8, "echo via the primary's address")
    t.check_eq(back2.count(NAME, T_A, "udp"), 0, "backup asked")
    raw = [q for q in prim2.raw if b"longername-spoofed" in q.lower()]
    t.check(raw and all(q == q.lower() for q in raw),
            "questions in plain case: %r" % raw[:4])


t.run(main)
