#!/usr/bin/env python3
"""
Strategy `fastest` (TcpRoute's multipath): race, route cache, fallback.

Two socks5 links to two local SOCKS5 servers (racesocks.py): "slow"
holds every CONNECT reply for 0.5 s, "fast" answers at once; "slow" is
listed first, so the policy's order does not favour "fast".  2 workers,
debug log.  The destination is an echo server on 127.0.0.1.

- The first session races both: it is logged "via fast", its reply comes
  well before the slow server would have answered, and the slow server
  sees its client go away (the losing leg closed at once, < 0.4 s after
  it connected) before any reply.
- The winner is cached in the shared region: more sessions to the same
  destination, until both workers have served at least two (one of them
  is the worker that did not race), all go via fast and the slow server
  sees no further connection at all; no further race is logged.
- A different destination port is a different cache entry: it races.
- The fast server dies: the next session's cached route fails
  ("cached route via fast failed, racing"), is dropped, and the race
  runs again: slow wins (reply after >= 0.4 s), logged "via slow".  The
  session after that reuses slow from the cache (no race logged).
- Fast dead and the target port closed: slow's upstream answers 0x05
  (the target's answer) after its delay, fast fails as a link: the
  client gets 0x05 and the log line names slow's answer first, then
  fast's failure.
- fast has now failed as a link 3 times (max_fails, over both workers):
  it cools down; slow's refusal (the target's answer) did not count
  against slow.  With slow dead too, only slow races: the client gets a
  failure and the log line names it (on the other worker, which only
  doubts fast, fast is tried after the race and named after slow).
- route_cache_ttl 0: nothing is cached, every session races.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import sltest as t                      # noqa: E402
from racesocks import RaceSocks         # noqa: E402

DELAY = 0.5


def links(slow, fast):
    return [{"name": "slow", "protocol": "socks5", "domain": "127.0.0.1",
             "port": slow.port, "timeout": 5},
            {"name": "fast", "protocol": "socks5", "domain": "127.0.0.1",
             "port": fast.port, "timeout": 5}]


def one(d, port, what):
    """One echoed session through d to 127.0.0.1:port; its duration."""
    t0 = time.monotonic()
    s = t.s5_tunnel(d.port, "127.0.0.1", port)
    took = time.monotonic() - t0
    try:
        t.echo_check(s, b"race %s\n" % what.encode(), what)
    finally:
        s.close()
    return took


def done_sessions(d, port, mark, n, what):
    return d.wait_sessions(lambda x: x.target == "127.0.0.1:%d" % port and
                           x.outcome == "done", n, mark=mark, what=what)


def first_race(d, slow, fast, echo):
    t.step("first session: both links race, fast wins")
    mark = d.mark()
    took = one(d, echo.port, "first")
    ss = done_sessions(d, echo.port, mark, 1, "the first session")
    t.check_eq(ss[0].link, "fast", "link of the first session")
    t.check(took < DELAY - 0.1, "the first session took %.3f s: it waited "
            "for the slow link" % took)
    d.wait_log(r"debug: race over 2 links won by fast", mark=mark)
    # The losing leg was closed at once, whatever it had sent by then.
    t.wait_until(lambda: slow.cancelled, 3, "the slow server to see the "
                 "losing leg close")
    t.step("  slow leg closed after %s, %.3f s after it connected"
           % slow.cancelled[0])
    t.check(slow.cancelled[0][1] < DELAY - 0.1, "the losing leg was closed "
            "only after %.3f s" % slow.cancelled[0][1])
    t.wait_until(lambda: slow.open == 0, 3, "the slow server's connections "
                 "to close")
    t.check_eq(slow.accepted, 1, "connections the slow server got")
    t.check(slow.connects_to(echo.port) <= 1, "CONNECTs the slow server saw "
            "in the race")
    return ss[0].worker


def cached_reuse(d, slow, fast, echo, raced_on):
    t.step("cached: more sessions on both workers, all via fast")
    mark = d.mark()
    acc = slow.accepted
    per_worker = {}
    for i in range(60):
        one(d, echo.port, "cached %d" % i)
        ss = done_sessions(d, echo.port, mark, i + 1, "%d sessions" % (i + 1))
        per_worker = {}
        for x in ss:
            per_worker[x.worker] = per_worker.get(x.worker, 0) + 1
        if len(per_worker) == 2 and min(per_worker.values()) >= 2:
            break
    t.step("  sessions per worker %r (the race ran on %s)"
           % (per_worker, raced_on))
    t.check(len(per_worker) == 2 and min(per_worker.values()) >= 2,
            "60 sessions did not land twice on each of the 2 workers: %r"
            % per_worker)
    ss = [x for x in d.sessions(mark) if x.target.endswith(":%d" % echo.port)]
    t.check(all(x.link == "fast" for x in ss), "cached sessions not all via "
            "fast: %r" % [x.link for x in ss])
    t.check_eq(slow.accepted, acc, "connections the slow server got while "
               "the route was cached")
    t.check(not d.find_log(r"debug: race ", mark), "a race ran although "
            "the route was cached")


def other_destination(d, echo2):
    t.step("another destination port is not cached: it races")
    mark = d.mark()
    one(d, echo2.port, "other")
    ss = done_sessions(d, echo2.port, mark, 1, "the other destination")
    t.check_eq(ss[0].link, "fast", "link for the other destination")
    d.wait_log(r"debug: race over 2 links won by fast", mark=mark)


def fast_dies(d, slow, fast, echo):
    t.step("fast server dies: the cached route fails, the race runs again")
    fast.close()
    mark = d.mark()
    took = one(d, echo.port, "after fast died")
    ss = done_sessions(d, echo.port, mark, 1, "the session after fast died")
    t.check_eq(ss[0].link, "slow", "link once fast is dead")
    t.check(took >= DELAY - 0.1, "slow answered after only %.3f s" % took)
    d.wait_log(r"debug: session \d+: cached route via fast failed, racing",
               mark=mark)
    d.wait_log(r"debug: race over 2 links won by slow", mark=mark)
    t.step("the next session reuses slow from the cache, no race")
    mark = d.mark()
    one(d, echo.port, "slow cached")
    ss = done_sessions(d, echo.port, mark, 1, "the session via cached slow")
    t.check_eq(ss[0].link, "slow", "link of the cached session")
    t.check(not d.find_log(r"debug: race ", mark), "a race ran although "
            "slow was cached")


def target_refuses(d, slow):
    t.step("fast dead, the target refuses: the target's answer wins")
    closed = t.free_port()
    mark = d.mark()
    s, rep, _ = t.s5_connect(d.port, "127.0.0.1", closed)
    s.close()
    t.check_eq(rep, 5, "reply when slow's upstream says the target refused")
    ss = d.wait_sessions(lambda x: x.outcome.startswith("failed"), 1,
                         mark=mark, what="the failed session")
    t.check_eq(ss[0].link, "slow", "link named by the failed session")
    t.check(ss[0].outcome.startswith("failed, reply 0x05: no link "
                                     "connected: slow: upstream slow: "
                                     "replied 5; fast: connect "),
            "outcome %r" % ss[0].outcome)


def all_dead(d, slow, echo):
    t.step("fast cooling down, slow dead: the failure names what raced")
    # fast failed as a link 3 times (cached dial, two races): max_fails.
    d.wait_log(r"link fast: 3 connect failures in a row")
    t.check(not d.find_log(r"link slow: \d+ connect failures"), "slow's "
            "refusal by the target counted against the link")
    slow.close()
    mark = d.mark()
    s, rep, _ = t.s5_connect(d.port, "127.0.0.1", echo.port)
    s.close()
    t.check(rep != 0, "CONNECT with both upstreams dead succeeded")
    ss = d.wait_sessions(lambda x: x.outcome.startswith("failed"), 1,
                         mark=mark, what="the failed session")
    # The worker that cooled fast down does not try it; the other takes
    # that as a doubt and tries fast only after the race (slow) failed.
    t.check(ss[0].outcome.startswith("failed, reply 0x%02x: no link "
                                     "connected: slow: connect " % rep),
            "outcome %r" % ss[0].outcome)
    if "fast" in ss[0].outcome:
        t.step("  on the other worker: fast tried after slow")
        t.check_eq(ss[0].link, "fast", "link named by the failed session")
    else:
        t.check_eq(ss[0].link, "slow", "link named by the failed session")


def no_cache(echo):
    t.step("route_cache_ttl 0: every session races")
    a, b = RaceSocks(DELAY), RaceSocks(0)
    d = t.Sluiced(name="ttl0", workers=2, log_level="debug",
                  route_cache_ttl=0, balancer={"strategy": "fastest",
                                               "links": links(a, b)}).start()
    mark = d.mark()
    for i in range(3):
        one(d, echo.port, "ttl0 %d" % i)
    ss = done_sessions(d, echo.port, mark, 3, "3 sessions")
    t.check(all(x.link == "fast" for x in ss), "links %r" %
            [x.link for x in ss])
    races = t.wait_until(lambda: d.log_since(mark).count(
        "race over 2 links won by fast") >= 3 and d.log_since(mark).count(
        "race over 2 links won by fast"), 3, "3 races logged")
    t.check_eq(races, 3, "races with route_cache_ttl 0")
    t.check_eq(a.accepted, 3, "connections the slow server got")
    t.wait_until(lambda: len(a.cancelled) == 3, 3, "3 cancelled slow legs")


def main():
    echo = t.echo_server()
    echo2 = t.echo_server()
    slow, fast = RaceSocks(DELAY), RaceSocks(0)
    d = t.Sluiced(name="fastest", workers=2, log_level="debug",
                  balancer={"strategy": "fastest",
                            "links": links(slow, fast)}).start()
    raced_on = first_race(d, slow, fast, echo)
    cached_reuse(d, slow, fast, echo, raced_on)
    other_destination(d, echo2)
    fast_dies(d, slow, fast, echo)
    target_refuses(d, slow)
    all_dead(d, slow, echo)
    no_cache(echo)


t.run(main)
