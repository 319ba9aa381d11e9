"""
The resolver's cache, seen from the DNS server.

Daemon "ttl" (dns_min_ttl 0, dns_negative_ttl 2, dns_cache_size 2):
- ttl.test has TTL 2: a second CONNECT within the TTL sends no query;
  once the TTL has run out, the next CONNECT asks again.
- nx.test is NXDOMAIN: cached for dns_negative_ttl, then asked again.
- LRU: with room for two names, a, b, c push a out; c is still cached.

A worker also keeps an answer for at most 2 s (its name cache): the
steps that look behind it wait that long first.

Daemon "floor" (dns_min_ttl 3): floor.test with TTL 1 stays cached past
1 s.  Daemon "ceiling" (dns_max_ttl 1): ceil.test with TTL 3600 is asked
again after 1 s.
"""

import time

import rtest as r
from rtest import t, T_A


def expire(since, ttl, what):
    """Wait until ttl seconds (and a little) have passed since `since`."""
    t.wait_until(lambda: time.monotonic() > since + ttl + 0.3, ttl + 5,
                 "the TTL of %s to run out" % what)


def lookups(d, srv, name, port, want_rep=0):
    rep, _ = r.connect(d, name, port)
    t.check_eq(rep, want_rep, "reply for %s" % name)
    return srv.count(name, T_A)


def main():
    echo = t.echo_server("127.0.0.7")
    srv = r.dns({"ttl.test": {"addrs": ["127.0.0.7"], "ttl": 2},
                 "a.test": {"addrs": ["127.0.0.7"], "ttl": 300},
                 "b.test": {"addrs": ["127.0.0.7"], "ttl": 300},
                 "c.test": {"addrs": ["127.0.0.7"], "ttl": 300}})
    d = r.daemon("ttl", srv, dns_min_ttl=0, dns_negative_ttl=2,
                 dns_cache_size=2)

    t.step("positive answer: cached for its TTL, then asked again")
    t0 = time.monotonic()
    t.check_eq(lookups(d, srv, "ttl.test", echo.port), 1, "first lookup")
    t.check_eq(lookups(d, srv, "ttl.test", echo.port), 1,
               "A queries after a second CONNECT within the TTL")
    expire(t0, 2, "ttl.test")
    t.check_eq(lookups(d, srv, "ttl.test", echo.port), 2,
               "A queries after the TTL ran out")

    t.step("negative answer: cached for dns_negative_ttl")
    t0 = time.monotonic()
    nx1 = lookups(d, srv, "nx.test", echo.port, 4)
    t.check(nx1 >= 1, "nx.test asked")
    t.check_eq(lookups(d, srv, "nx.test", echo.port, 4), nx1,
               "A queries for nx.test within the negative TTL")
    expire(t0, 2, "nx.test")
    t.check(lookups(d, srv, "nx.test", echo.port, 4) > nx1,
            "nx.test asked again after the negative TTL")

    t.step("LRU bounded at dns_cache_size names")
    t0 = time.monotonic()
    for n in ("a.test", "b.test", "c.test"):
        lookups(d, srv, n, echo.port)
    t.check_eq(lookups(d, srv, "c.test", echo.port), 1, "c.test cached")
    expire(t0, 2, "the workers' name caches")
    t.check_eq(lookups(d, srv, "a.test", echo.port), 2,
               "a.test was evicted and asked again")

    t.step("TTL floor and ceiling")
    srv2 = r.dns({"floor.test": {"addrs": ["127.0.0.7"], "ttl": 1},
                  "ceil.test": {"addrs": ["127.0.0.7"], "ttl": 3600}})
    d2 = r.daemon("floor", srv2, dns_min_ttl=3)
    t0 = time.monotonic()
    lookups(d2, srv2, "floor.test", echo.port)
    expire(t0, 1, "floor.test (its own TTL)")
    t.check_eq(lookups(d2, srv2, "floor.test", echo.port), 1,
               "floor.test still cached under the floor")
    srv3 = r.dns({"ceil.test": {"addrs": ["127.0.0.7"], "ttl": 3600}})
    d3 = r.daemon("ceiling", srv3, dns_min_ttl=0, dns_max_ttl=1)
    t0 = time.monotonic()
    lookups(d3, srv3, "ceil.test", echo.port)
    expire(t0, 1, "ceil.test under the ceiling")
    t.check_eq(lookups(d3, srv3, "ceil.test", echo.port), 2,
               "ceil.test asked again after the ceiling")


t.run(main)
