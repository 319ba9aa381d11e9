"""
A resolver killed with SIGKILL fails only the lookup in flight, is
respawned confined, and lookups work again (its cache is gone, so the
name is asked again once the workers' own short name caches, at most
dns_max_ttl here, let go of it).
"""

import os
import signal
import time

import rtest as r
from rtest import t, T_A


def main():
    echo = t.echo_server("127.0.0.7")
    srv = r.dns({"a.test": {"addrs": ["127.0.0.7"]},
                 "slow.test": {"addrs": ["127.0.0.7"], "delay": 3}})
    d = r.daemon("respawn", srv, resolve_timeout=10, dns_min_ttl=0,
                 dns_max_ttl=1)
    r.echo_ok(d, "a.test", echo)
    old = d.resolver()

    t.step("a lookup in flight when the resolver dies fails at once")
    s = t.s5_open(d.port, timeout=15)
    s.sendall(t.s5_request("slow.test", echo.port))
    r.wait_count(srv, "slow.test", T_A, "udp", 1)
    t0 = time.monotonic()
    os.kill(old, signal.SIGKILL)
    rep, _ = t.s5_read_reply(s)
    s.close()
    secs = time.monotonic() - t0
    t.check(rep != 0, "slow.test: reply 0x%02x, want a failure" % rep)
    t.check(secs < 2.5, "the failure took %.2f s (the answer was due "
            "after 3 s)" % secs)

    t.step("a new resolver, confined, answers")
    new = t.wait_until(lambda: (d.resolver() not in (None, old)) and
                       t.seccomp_mode(d.resolver()) == 2 and d.resolver(),
                       10, "a respawned, confined resolver")
    t.check(new != old, "resolver pid changed")
    before = srv.count("a.test", T_A)
    t.wait_until(lambda: r.connect(d, "a.test", echo.port)[0] == 0 and
                 srv.count("a.test", T_A) > before, 10,
                 "a.test asked again through the new resolver")
    r.echo_ok(d, "a.test", echo)


t.run(main)
