#!/usr/bin/env python3
"""
Targets sluice never connects to directly, whatever the client spells
(issue 14, item 5): ip_blacklist and deny_targets are checked against
every address a name resolved to, not only against address targets.

Daemon "deny" (default deny_targets, ip_blacklist 127.0.0.1 and ::1, an
`ips` matcher so the session resolves names before routing):
- localhost (answered by the resolver's hosts table, which the
  blacklist does not filter) -> 0x02 naming ip_blacklist, the whoami
  origin on 127.0.0.1 sees nothing (before: connected);
- 169.254.169.254:80 as an address -> 0x02 naming deny_targets (no
  packet leaves the host);
- meta.test -> 169.254.169.254 -> 0x02 naming deny_targets;
- mixed.test -> 169.254.169.254 and 127.0.0.2: the allowed address is
  used; open.test -> 127.0.0.2 passes (control).
Daemon "open" ("deny_targets": [], same blacklist, no matcher so the
dial resolves the name itself):
- localhost -> 0x02 naming ip_blacklist;
- [fe80::1]:80 is not refused by policy (connect(2) fails at once
  without a scope id, so nothing leaves the host): any reply but 0x02;
  under the default it is 0x02 naming deny_targets.
"""
import sltest as t

NAMES = {
    "meta.test": ["169.254.169.254"],
    "mixed.test": ["169.254.169.254", "127.0.0.2"],
    "open.test": ["127.0.0.2"],
}
BLACK = ["127.0.0.1", "::1"]


def refused(d, who, host, port, key):
    """CONNECT host:port must get 0x02 with a log line naming key."""
    n = len(who.peers)
    mark = d.mark()
    s, rep, _ = t.s5_connect(d.port, host, port)
    s.close()
    t.step("  %s %s:%d -> reply 0x%02x" % (d.name, host, port, rep))
    t.check_eq(rep, 0x02, "reply to CONNECT %s:%d" % (host, port))
    want = "failed, reply 0x02: refused by %s" % key
    d.wait_sessions(lambda x: x.outcome.startswith(want), 1, mark=mark,
                    what="the refusal of %s by %s" % (host, key))
    t.check_eq(len(who.peers), n, "connections the origin got for %s"
               % host)


def reaches(d, who, host):
    """CONNECT host (a name for who's address) is relayed to who."""
    n = len(who.peers)
    t.s5_whoami(d.port, who, host=host)
    t.check_eq(len(who.peers), n + 1, "connections %s got for %s"
               % (who.host, host))


def main():
    who = t.whoami_server("127.0.0.1")
    who2 = t.whoami_server("127.0.0.2")
    deny = t.Sluiced(name="deny", workers=1, dns=t.MapDNS(NAMES),
                     ip_blacklist=BLACK, balancer={
                         "links": [{"name": "direct"}],
                         "matchers": [{"policy": "forbid",
                                       "ips": ["127.0.0.200"]}]}).start()
    t.step("control: open.test and mixed.test reach 127.0.0.2")
    reaches(deny, who2, "open.test")
    reaches(deny, who2, "mixed.test")

    t.step("default deny_targets, names resolved before routing")
    refused(deny, who, "localhost", who.port, "ip_blacklist")
    refused(deny, who, "169.254.169.254", 80, "deny_targets")
    refused(deny, who, "meta.test", 80, "deny_targets")
    if t.have_ipv6():
        refused(deny, who, "fe80::1", 80, "deny_targets")

    opn = t.Sluiced(name="open", workers=1, dns=t.MapDNS(NAMES),
                    ip_blacklist=BLACK, deny_targets=[]).start()
    t.step("deny_targets [], names resolved by the dial")
    refused(opn, who, "localhost", who.port, "ip_blacklist")
    reaches(opn, who2, "open.test")
    mark = opn.mark()
    s, rep, _ = t.s5_connect(opn.port, "fe80::1", 80)
    s.close()
    t.step("  open fe80::1:80 -> reply 0x%02x" % rep)
    t.check(rep != 0x02, "CONNECT [fe80::1]:80 with deny_targets [] got "
            "0x02: %s" % [x.line for x in opn.sessions(mark)])


t.run(main)
