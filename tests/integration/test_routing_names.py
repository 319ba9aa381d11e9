#!/usr/bin/env python3
"""
Rules must not be side-stepped by spelling the same target differently.
One daemon, balancer forbid rules: domains_re "\\.intranet\\.com$",
domains "example.com", ips 127.0.0.64/26; a local DNS server resolves the
names to 127.0.0.1, where a "whoami" origin listens (dual.test and
dual2.test to 127.0.0.1 and 127.0.0.77, in both orders), so only the
name rule stands between a client and the origin.  Every spelling below
must get 0x02 naming its rule, and the origin must see no connection:

- x.intranet.com, X.INTRANET.COM, x.intranet.com. (trailing dot: the same
  name in DNS; the domains matcher already treats "example.com." as
  example.com, domains_re must too);
- example.com, Example.COM., sub.example.com.;
- 127.0.0.77, ::ffff:127.0.0.77, ::ffff:7f00:4d (IPv4-mapped IPv6);
- dual.test, dual2.test (a name with one forbidden address among
  several).
A control name (open.test -> 127.0.0.1) still passes.
"""
import sltest as t

NAMES = {
    "x.intranet.com": ["127.0.0.1"],
    "example.com": ["127.0.0.1"],
    "*.example.com": ["127.0.0.1"],
    "dual.test": ["127.0.0.1", "127.0.0.77"],
    "dual2.test": ["127.0.0.77", "127.0.0.1"],
    "open.test": ["127.0.0.1"],
}


def main():
    who = t.whoami_server()
    d = t.Sluiced(name="names", workers=1, dns=t.MapDNS(NAMES), balancer={
        "links": [{"name": "direct"}],
        "matchers": [
            {"policy": "forbid", "domains_re": ["\\.intranet\\.com$"]},
            {"policy": "forbid", "domains": ["example.com"]},
            {"policy": "forbid", "ips": ["127.0.0.64/26"]}]}).start()

    t.step("control: open.test passes")
    t.check_eq(t.s5_whoami(d.port, who, host="open.test"), "127.0.0.1",
               "open.test")

    bad = []
    for host, rule in (
            ("x.intranet.com", 0), ("X.INTRANET.COM", 0),
            ("example.com", 1), ("Example.COM.", 1), ("sub.example.com.", 1),
            ("127.0.0.77", 2), ("::ffff:127.0.0.77", 2),
            ("::ffff:7f00:4d", 2), ("dual.test", 2), ("dual2.test", 2),
            ("x.intranet.com.", 0)):
        n = len(who.peers)
        mark = d.mark()
        s, rep, _ = t.s5_connect(d.port, host, who.port)
        s.close()
        reached = len(who.peers) > n
        t.step("  %-20s -> reply 0x%02x%s" % (host, rep, ", origin reached"
                                             if reached else ""))
        if rep != 0x02:
            bad.append("%s: reply 0x%02x, want 0x02 (refused by "
                       "balancer.matchers[%d])%s" % (
                           host, rep, rule, " and the origin was reached"
                           if reached else ""))
            continue
        if ":" in host:     # inet_ntop's spelling, e.g. [::ffff:127.0.0.77]
            want = lambda x: x.target.startswith("[") and \
                x.target.endswith("]:%d" % who.port)
        else:
            want = lambda x: x.target == "%s:%d" % (host, who.port)
        d.wait_sessions(lambda x: want(x) and x.outcome.startswith(
            "failed, reply 0x02: refused by balancer.matchers[%d] "
            "(forbid)" % rule), 1, mark=mark,
            what="the refusal of %s by rule %d" % (host, rule))
        t.check_eq(len(who.peers), n, "connections the origin got for %s"
                   % host)
    t.check(not bad, "forbid rules side-stepped: " + "; ".join(bad))


t.run(main)
