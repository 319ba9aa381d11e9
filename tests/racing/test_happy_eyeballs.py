#!/usr/bin/env python3
"""
Happy eyeballs (RFC 8305) when a name has several addresses.

Dead addresses must make connect() hang, not fail, so the test runs in a
network namespace it creates (and deletes at the end): lo up, and a veth
pair va/vb with 10.255.255.2/24 and fd00:dead::2/64 on va and permanent
neighbour entries for 10.255.255.1, .3-.6 and fd00:dead::1 pointing at a
MAC nobody has: SYNs to them leave and are never answered.  The whole
test (DNS server, origin, sluiced, clients) runs inside it: the script
re-runs itself under `ip netns exec`.  Names are answered by a local DNS
server (sltest.MapDNS, "nameservers": "127.0.0.1:PORT") in the order
given below.  Link timeout 10 s, happy_eyeballs_delay 0.25 unless said.

- dead-first (A 10.255.255.1, 127.0.0.1): the session completes in < 2 s
  (about one attempt delay), not after the 10 s connect timeout.
- v6-first (AAAA fd00:dead::1, A 127.0.0.1): IPv6 is tried first, so the
  session takes at least about one attempt delay, and < 2 s.
- four dead, then 127.0.0.1 (delay 0.1): with every attempt slot busy the
  oldest gives way; connected in < 2 s.
- refused-first (A 127.0.0.3, 127.0.0.1; nothing listens on 127.0.0.3)
  with happy_eyeballs_delay 3: the refusal starts the next attempt at
  once: < 1 s (no sequential wait, no attempt delay).
- dead-first with happy_eyeballs_delay 3: the second attempt starts
  after the delay: between 2.7 and 6 s, so attempts are staggered.
- a socks5 link whose upstream's name resolves to (dead, 127.0.0.1):
  the chain's first hop is raced too, < 2 s.
- all dead, link timeout 1 s: the client gets 0x04 after about 1 s (the
  link timeout bounds the whole dial), logged "connect timeout".
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import sltest as t                      # noqa: E402
from racesocks import RaceSocks         # noqa: E402

NS = "slrace-he-%d" % os.getpid()
DEAD4 = "10.255.255.1"
DEAD6 = "fd00:dead::1"
NOBODY = "02:00:00:00:00:01"

SETUP = [
    ["ip", "netns", "add", NS],
    ["ip", "-n", NS, "link", "set", "lo", "up"],
    ["ip", "-n", NS, "link", "add", "va", "type", "veth", "peer", "name",
     "vb"],
    ["ip", "-n", NS, "link", "set", "vb", "up"],
    ["ip", "-n", NS, "addr", "add", "10.255.255.2/24", "dev", "va"],
    ["ip", "-n", NS, "addr", "add", "fd00:dead::2/64", "dev", "va",
     "nodad"],
    ["ip", "-n", NS, "link", "set", "va", "up"],
] + [["ip", "-n", NS, "neigh", "add", a, "lladdr", NOBODY, "dev", "va",
      "nud", "permanent"]
     for a in ("10.255.255.1", "10.255.255.3", "10.255.255.4",
               "10.255.255.5", "10.255.255.6", DEAD6)]


def outer():
    """Make the namespace, run the test in it, delete it."""
    t.require_root()
    t.require_tool("ip")
    t.at_exit(lambda: subprocess.run(["ip", "netns", "del", NS],
                                     capture_output=True, timeout=10))
    for cmd in SETUP:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise t.Skip("cannot set up the test namespace: %s: %s"
                         % (" ".join(cmd), r.stderr.strip()))
    t.step("namespace %s ready; running the test inside it" % NS)
    try:
        r = subprocess.run(["ip", "netns", "exec", NS, sys.executable,
                            os.path.abspath(__file__), "--inner"],
                           timeout=85)
    except subprocess.TimeoutExpired:
        raise t.Fail("the test inside the namespace ran for over 85 s")
    if r.returncode == t.SKIP:
        raise t.Skip("skipped inside the namespace")
    t.check_eq(r.returncode, 0, "exit status of the test in the namespace")


def timed(d, host, port, what, want=0):
    """CONNECT to host:port through d; (seconds to the reply, reply)."""
    t0 = time.monotonic()
    s, rep, _ = t.s5_connect(d.port, host, port, timeout=20)
    took = time.monotonic() - t0
    try:
        if want == 0 and rep == 0:
            t.echo_check(s, b"eyeballs\n", what)
    finally:
        s.close()
    t.step("  %s: reply 0x%02x after %.3f s" % (what, rep, took))
    t.check_eq(rep, want, "reply for %s" % what)
    return took


def daemon(name, dns, delay, links=None):
    return t.Sluiced(name=name, workers=1, dns=dns,
                     happy_eyeballs_delay=delay, log_level="debug",
                     balancer={"links": links or [{"name": "direct",
                                                   "timeout": 10}]})


def inner():
    echo = t.echo_server()
    up = RaceSocks(0)
    ipv6 = t.have_ipv6()
    dns = t.MapDNS({
        "dead-first.test": [DEAD4, "127.0.0.1"],
        "v6-first.test": [DEAD6, "127.0.0.1"],
        "four-dead.test": [DEAD4, "10.255.255.3", "10.255.255.4",
                           "10.255.255.5", "127.0.0.1"],
        "refused-first.test": ["127.0.0.3", "127.0.0.1"],
        "proxy.test": [DEAD4, "127.0.0.1"],
        "all-dead.test": [DEAD4, "10.255.255.3"],
    })
    he = daemon("he", dns, 0.25)
    he01 = daemon("he-0.1", dns, 0.1)
    slow = daemon("he-3", dns, 3)
    chain = daemon("he-chain", dns, 0.25, [
        {"name": "hop", "protocol": "socks5", "domain": "proxy.test",
         "port": up.port, "timeout": 10}])
    short = daemon("he-short", dns, 0.25, [{"name": "direct",
                                            "timeout": 1}])
    for d in (he, he01, slow, chain, short):
        d.start()
    P = echo.port

    t.step("dead address first, live second")
    took = timed(he, "dead-first.test", P, "dead-first")
    t.check(took < 2, "dead-first took %.3f s: the second address waited "
            "for the connect timeout" % took)
    he.wait_log(r"dead-first\.test:%d via direct: .* done" % P)

    if ipv6:
        t.step("IPv6 first: a dead AAAA, a live A")
        took = timed(he, "v6-first.test", P, "v6-first")
        t.check(0.2 <= took < 2, "v6-first took %.3f s: want one attempt "
                "delay (IPv6 first), not the timeout" % took)
    else:
        t.step("no IPv6 here: the v6-first case is skipped")

    t.step("four dead addresses, then a live one (delay 0.1)")
    took = timed(he01, "four-dead.test", P, "four-dead")
    t.check(took < 2, "four-dead took %.3f s" % took)

    t.step("refused first: the next address at once (delay 3 s)")
    took = timed(slow, "refused-first.test", P, "refused-first")
    t.check(took < 1, "refused-first took %.3f s: the refusal did not start "
            "the next attempt at once" % took)

    t.step("dead first with a 3 s delay: the attempts are staggered")
    took = timed(slow, "dead-first.test", P, "dead-first, delay 3")
    t.check(2.7 <= took < 6, "dead-first with a 3 s delay took %.3f s"
            % took)

    t.step("socks5 link: the upstream's own name is raced")
    took = timed(chain, "127.0.0.1", P, "chain")
    t.check(took < 2, "chain took %.3f s" % took)
    t.check_eq(len(up.requests), 1, "CONNECTs the upstream saw")

    t.step("all addresses dead, link timeout 1 s")
    took = timed(short, "all-dead.test", P, "all-dead", want=4)
    t.check(0.8 <= took < 3, "all-dead failed after %.3f s, want about the "
            "1 s link timeout" % took)
    short.wait_log(r"all-dead\.test:%d via direct: .*failed, reply 0x04: "
                   r"connect timeout" % P)


if __name__ == "__main__":
    t.run(inner if "--inner" in sys.argv[1:] else outer)
