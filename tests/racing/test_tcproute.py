#!/usr/bin/env python3
"""
TcpRoute's example configuration, end to end: a multipath of a direct
line and a socks5 line (itself reached over a direct line).

The document is TcpRoute's README example with only what must change on
a test machine changed: the SOCKS5 port (7070) and the upstream's port
(5555) are free ports, and the nameservers ("system" and four public
servers) are two local fake DNS servers, so nothing leaves 127.0.0.0/8.
The keys the harness needs (domain, workers, user, chroot, timeouts) are
sluice's own, beside TcpRoute's.  log_level stays "INDO" (sic).

The upstream is a local SOCKS5 server (racesocks.py) that answers after
0.3 s and knows one name the local DNS does not, only-via-proxy.test.

- 127.0.0.1:P: both lines race; the direct line wins (logged
  "via upstream.list[0]", reply < 0.25 s) and the upstream sees its
  client leave before any answer.
- only-via-proxy.test:P: the direct line cannot resolve the name (the
  target's failure, not the line's), the socks5 line passes the name on
  untouched and wins after its delay: "via upstream.list[1]"; the hop
  below it, "upstream.list[1].upstream", is never chosen by itself.
- again: the cached winner, upstream.list[1], is used at once.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import sltest as t                      # noqa: E402
from racesocks import RaceSocks         # noqa: E402

# TcpRoute's README example, verbatim.
EXAMPLE = """
{
  "log_level":"INDO",
  "port":7070,
  "nameservers":"system",
  "nameservers_backup":["8.8.8.8","8.8.4.4","208.67.222.222","208.67.220.220"],
  "upstream":
  {
    "type":"multipath",
    "list":
    [
      {
        "type":"direct",
        "source_ip":"0.0.0.0",
        "source_port":0
      },
      {
        "type":"socks5",
        "host":"127.0.0.1",
        "port":5555,
        "upstream":
        {
          "type":"direct",
          "source_ip":"0.0.0.0",
          "source_port":0
        }
      }
    ]
  },
  "IpBlacklist":[]
}
"""

DELAY = 0.3
DIRECT, SOCKS = "upstream.list[0]", "upstream.list[1]"


def session(d, host, port, link, what):
    mark = d.mark()
    t0 = time.monotonic()
    s = t.s5_tunnel(d.port, host, port)
    took = time.monotonic() - t0
    try:
        t.echo_check(s, b"tcproute\n", what)
    finally:
        s.close()
    ss = d.wait_sessions(lambda x: x.target == "%s:%d" % (host, port) and
                         x.outcome == "done", 1, mark=mark, what=what)
    t.step("  %s: via %s, reply after %.3f s" % (what, ss[0].link, took))
    t.check_eq(ss[0].link, link, "link of %s" % what)
    return took


def main():
    echo = t.echo_server()
    up = RaceSocks(DELAY, names={"only-via-proxy.test": "127.0.0.1"})
    backup = t.FakeDNS()
    t.at_exit(backup.close)
    conf = json.loads(EXAMPLE)
    conf["upstream"]["list"][1]["port"] = up.port
    conf["nameservers_backup"] = ["127.0.0.1:%d" % backup.port]
    d = t.Sluiced(name="tcproute", workers=2, log_level=conf["log_level"],
                  upstream=conf["upstream"],
                  IpBlacklist=conf["IpBlacklist"],
                  nameservers_backup=conf["nameservers_backup"])
    t.check_eq(set(conf) - set(d.conf), set(), "TcpRoute keys missing from "
               "the document sluiced gets")
    d.start()
    P = echo.port

    t.step("an address both lines reach: direct wins the race")
    took = session(d, "127.0.0.1", P, DIRECT, "127.0.0.1")
    t.check(took < DELAY - 0.05, "the direct line's session waited %.3f s"
            % took)
    t.wait_until(lambda: up.cancelled, 3, "the upstream to see the losing "
                 "leg leave")

    t.step("a name only the upstream knows: the socks5 line wins")
    took = session(d, "only-via-proxy.test", P, SOCKS, "only-via-proxy")
    t.check(took >= DELAY - 0.05, "the socks5 line answered after %.3f s"
            % took)
    t.check(("only-via-proxy.test", P) in up.requests, "the upstream did "
            "not get the name untouched: %r" % up.requests)

    t.step("again: the cached line")
    n = len(up.requests)
    session(d, "only-via-proxy.test", P, SOCKS, "only-via-proxy, cached")
    t.check_eq(len(up.requests), n + 1, "CONNECTs at the upstream")
    t.check(not any(x.link == SOCKS + ".upstream" for x in d.sessions()),
            "the hop was chosen as a line by itself")


t.run(main)
