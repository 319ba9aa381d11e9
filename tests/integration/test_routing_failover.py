#!/usr/bin/env python3
"""
Failure handling: retries, passive cool-down, active health checks, and a
socks5 chain of depth 2.  The origin is a "whoami" TCP server on
127.0.0.1 (it says which address a session came from).

- failover, a socks5 link "dead" (upstream port closed, max_fails 2,
  cooldown 30) listed before a direct link, 2 workers: the first session
  succeeds via direct and the debug log shows "link dead failed: connect
  ...: Connection refused"; SIGUSR1 counts dead failed 1.  After the
  second, "link dead: 2 connect failures in a row (last: ...), skipped for
  30.000 s"; 5 more sessions succeed via direct with no new failure on
  dead (SIGUSR1 failed stays 2, no new debug line).
- the same with cooldown 1: sessions during the cool-down do not touch
  dead; the first one after it (at least 0.8 s after the cool-down line
  was seen) tries dead again, still succeeds via direct, and that one
  failure starts a new cool-down ("3 connect failures in a row").
- failures must be in a row: a python SOCKS5 upstream that hangs up at
  once while "broken" (a link fault: the upstream misbehaves) fails,
  works, fails: no cool-down (max_fails 2), SIGUSR1 failed 2; one more
  failure: "link flaky: 2 connect failures in a row (last: upstream
  flaky: ...)"; during the 1 s cool-down flaky gets no connection; after
  it, a session via flaky succeeds and the log says "link flaky:
  connected again, back in service".
- retries 0, max_fails 0: the client gets the failure (not 0x00), nothing
  is retried, and 4 failures put nothing in a cool-down.
- a socks5 upstream that accepts but never answers (link timeout 0.5 s):
  retried on direct after about 0.5 s; after max_fails 2 the link cools
  down ("last: connect timeout") and the next sessions are not delayed
  (< 0.3 s each) and never reach it.
- a direct link whose source address (192.0.2.1) is not local is retried
  on the next link; its failures count.
- chain of depth 2: link "outer" (python SOCKS5 server S2) via "inner"
  (python SOCKS5 server S1) via "base" (direct, source 127.0.0.2); inner
  and base only allow port 1, so they are never picked themselves.  S1
  sees a client from 127.0.0.2 asking for S2; S2 sees a client from
  127.0.0.1 asking for the origin (or a name, passed on untouched).
- active health check, 2 workers, round_robin over "checked" (source
  127.0.0.2, check target a closed port, interval 0.3 s, fails 2) and
  "other" (127.0.0.3): "link checked: health check failed 2 times (...),
  link down"; 8 sessions all via other (a worker whose own check has no
  verdict yet takes the other's as a doubt); a listener opened on the
  check port sees the check come from 127.0.0.2 (through the link
  itself); "health check passed, link up" from both workers (each checks
  and acts on its own verdict); sessions use both links again; closing
  the listener takes it down again in both.  With that link alone, a request
  while it is down gets 0x01 at once and the log says "no link
  available: ... (health check failing)".
"""
import re
import socket
import threading
import time

import sltest as t

SRC = {"127.0.0.2": "A", "127.0.0.3": "B", "127.0.0.1": "lo"}


def reserve_port():
    """A socket bound to a free 127.0.0.1 port, not listening: connects to
    it are refused until listen() is called on it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    t.at_exit(s.close)
    return s


class Acceptor:
    """Accepts on a reserved socket; records peers, closes connections."""

    def __init__(self, s):
        self.s = s
        self.peers = []
        s.listen(64)
        self.th = threading.Thread(target=self._loop, daemon=True)
        self.th.start()

    def _loop(self):
        while True:
            try:
                c, a = self.s.accept()
            except OSError:
                return
            self.peers.append(a)
            c.close()

    def close(self):
        try:
            self.s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.s.close()


def link_fail_lines(d, link, mark=0):
    return len(re.findall(r"debug: session \d+: link %s failed: " % link,
                          d.log_since(mark)))


def wait_lines(d, regex, n, mark, what):
    """Wait for n log lines matching regex since mark."""
    t.wait_until(lambda: len(re.findall(regex, d.log_since(mark), re.M)) >= n,
                 5, what)


def cooldown_re(link, n, secs):
    return (r"warn\w*: link %s: %d connect failures in a row \(last: [^)]+"
            r"\), skipped for %s s$" % (link, n, secs))


def session_via(d, who, want_link, host="127.0.0.1"):
    """One session; check it went out via the direct link (source
    127.0.0.1) and that the log says via want_link."""
    mark = d.mark()
    t0 = time.monotonic()
    ip = t.s5_whoami(d.port, who, host=host)
    dt = time.monotonic() - t0
    t.check_eq(ip, "127.0.0.1", "%s: address the origin saw" % d.name)
    d.wait_sessions(lambda x: x.link == want_link and x.outcome == "done",
                    1, mark=mark, what="a 'done' session via %s" % want_link)
    return dt


class FlakySocks5(t.NameSocks5):
    """A SOCKS5 upstream that, while broken is set, hangs up on every
    client at once (a misbehaving upstream: the link's fault)."""
    broken = False

    def _serve(self, c, a, srv):
        if self.broken:
            with self.lock:
                self.peers.append(a)
            return
        return super()._serve(c, a, srv)


def sluiced(**kw):
    """Started at once: a port from free_port() is only reserved by use."""
    return t.Sluiced(**kw).start()


def main():
    who = t.whoami_server()

    # Bound, never listening: refused, and no one else can take it.
    dead_port = reserve_port().getsockname()[1]
    dead = {"name": "dead", "protocol": "socks5", "domain": "127.0.0.1",
            "port": dead_port, "max_fails": 2}
    fo = sluiced(name="failover", workers=2, log_level="debug", balancer={
        "strategy": "failover",
        "links": [dict(dead, cooldown=30), {"name": "direct"}]})
    fo1 = sluiced(name="failover-cool1", workers=2, log_level="debug",
                  balancer={"strategy": "failover",
                            "links": [dict(dead, cooldown=1),
                                      {"name": "direct"}]})
    nore = sluiced(name="no-retry", workers=1, log_level="debug",
                   balancer={"strategy": "failover", "retries": 0,
                             "links": [dict(dead, max_fails=0),
                                       {"name": "direct"}]})

    def silent(c, a, srv):          # accepts, reads, never answers
        while c.recv(4096):
            pass
    hole = t.TCPServer(silent)
    slow = sluiced(name="blackhole", workers=2, balancer={
        "strategy": "failover",
        "links": [{"name": "hole", "protocol": "socks5",
                   "domain": "127.0.0.1", "port": hole.port, "timeout": 0.5,
                   "max_fails": 2, "cooldown": 30},
                  {"name": "direct"}]})
    with open("/proc/sys/net/ipv4/ip_nonlocal_bind") as f:
        nonlocal_bind = f.read().strip() != "0"
    badsrc = None
    if not nonlocal_bind:
        badsrc = sluiced(name="bad-source", workers=1, balancer={
            "strategy": "failover",
            "links": [{"name": "badsrc", "source": "192.0.2.1"},
                      {"name": "direct"}]})
    s1 = t.NameSocks5()
    s2 = t.NameSocks5({"www.example.org": "127.0.0.1"})
    t.at_exit(s1.close)
    t.at_exit(s2.close)
    hop_only = [{"policy": "allow", "ports": [1]}]
    chain = sluiced(name="chain", workers=1, balancer={
        "strategy": "round_robin",
        "links": [{"name": "outer", "protocol": "socks5",
                   "domain": "127.0.0.1", "port": s2.port, "via": "inner"},
                  {"name": "inner", "protocol": "socks5",
                   "domain": "127.0.0.1", "port": s1.port, "via": "base",
                   "matchers": hop_only},
                  {"name": "base", "source": "127.0.0.2",
                   "matchers": hop_only}]})
    cres = reserve_port()
    cport = cres.getsockname()[1]
    check = {"target": "127.0.0.1:%d" % cport, "interval": 0.3,
             "timeout": 0.3, "fails": 2, "passes": 1}
    hc = sluiced(name="health", workers=2, balancer={
        "strategy": "round_robin",
        "links": [{"name": "checked", "source": "127.0.0.2", "check": check},
                  {"name": "other", "source": "127.0.0.3"}]})
    c1port = reserve_port().getsockname()[1]      # never listens
    hc1 = sluiced(name="health-alone", workers=1, balancer={
        "links": [{"name": "only", "check": dict(
            check, target="127.0.0.1:%d" % c1port)}]})

    flaky = FlakySocks5()
    t.at_exit(flaky.close)
    fls = sluiced(name="flaky", workers=2, balancer={
        "strategy": "failover",
        "links": [{"name": "flaky", "protocol": "socks5",
                   "domain": "127.0.0.1", "port": flaky.port,
                   "max_fails": 2, "cooldown": 1},
                  {"name": "direct"}]})

    t.step("failover: a dead socks5 link first, the session still succeeds")
    session_via(fo, who, "direct")
    fo.wait_log(r"debug: session \d+: link dead failed: connect "
                r"127\.0\.0\.1:%d: Connection refused$" % dead_port,
                what="the debug line for dead's failure")
    _, c = fo.counters()
    t.check_eq(c["dead"]["failed"], 1, "dead failed after 1 session")
    t.check(not fo.find_log(cooldown_re("dead", 1, r"[\d.]+")),
            "a cool-down after 1 failure (max_fails 2)")
    t.step("failover: the second failure starts the cool-down")
    session_via(fo, who, "direct")
    fo.wait_log(cooldown_re("dead", 2, r"30\.000"),
                what="dead's cool-down line")
    mark = fo.mark()
    for i in range(5):
        session_via(fo, who, "direct")
    _, c = fo.counters()
    t.check_eq(c["dead"]["failed"], 2, "dead failed after 5 more sessions "
               "in its cool-down")
    t.check_eq(c["direct"]["total"], 7, "direct total")
    t.check_eq((c["dead"]["active"], c["dead"]["total"]), (0, 0),
               "dead active and total (failed dials hold nothing)")
    t.check_eq(link_fail_lines(fo, "dead", mark), 0, "dead tried during its "
               "cool-down (debug lines)")

    t.step("cooldown 1 s: tried again once it is over")
    session_via(fo1, who, "direct")
    session_via(fo1, who, "direct")
    fo1.wait_log(cooldown_re("dead", 2, r"1\.000"),
                 what="dead's 1 s cool-down line")
    seen = time.monotonic()
    mark = fo1.mark()

    def retried():
        session_via(fo1, who, "direct")
        return link_fail_lines(fo1, "dead", mark) > 0
    t.wait_until(retried, 5, "a session trying dead after its cool-down",
                 interval=0.1)
    after = time.monotonic() - seen
    t.step("  dead tried again %.2f s after the cool-down line" % after)
    t.check(after >= 0.8, "dead was tried %.2f s into a 1 s cool-down"
            % after)
    fo1.wait_log(cooldown_re("dead", 3, r"1\.000"), mark=mark,
                 what="a new cool-down after the one failure")

    t.step("only failures in a row count; a success ends the cool-down")

    def fl(broken, want):
        flaky.broken = broken
        mark = fls.mark()
        ip = t.s5_whoami(fls.port, who)
        t.check_eq(ip, "127.0.0.1", "flaky: address the origin saw")
        fls.wait_sessions(lambda x: x.link == want and x.outcome == "done",
                          1, mark=mark, what="a 'done' session via %s"
                          % want)
    fl(True, "direct")
    fl(False, "flaky")
    fl(True, "direct")
    t.check(not fls.find_log(r"connect failures in a row"),
            "flaky cooled down after 2 failures that were not in a row")
    _, c = fls.counters()
    t.check_eq(c["flaky"]["failed"], 2, "flaky failed")
    fl(True, "direct")
    fls.wait_log(cooldown_re("flaky", 2, r"1\.000"), what="flaky's cool-down "
                 "(2 in a row, the upstream hanging up)")
    t.check(re.search(r"link flaky: 2 connect failures in a row \(last: "
                      r"upstream flaky: [^)]*\)", fls.log()),
            "the cool-down line should name the upstream's misbehaviour")
    n = len(flaky.peers)
    fl(False, "direct")
    t.check_eq(len(flaky.peers), n, "connections to flaky in its cool-down")
    mark = fls.mark()

    def back():
        ip = t.s5_whoami(fls.port, who)
        t.check_eq(ip, "127.0.0.1", "flaky: address the origin saw")
        return fls.find_log(r"info: link flaky: connected again, back in "
                            r"service$", mark)
    t.wait_until(back, 5, "'link flaky: connected again, back in service'",
                 interval=0.1)
    fls.wait_sessions(lambda x: x.link == "flaky" and x.outcome == "done",
                      1, mark=mark, what="a session via flaky after its "
                      "cool-down")

    t.step("retries 0, max_fails 0: no retry, no cool-down")
    for i in range(4):
        s, rep, _ = t.s5_connect(nore.port, "127.0.0.1", who.port)
        s.close()
        t.check(rep != 0, "retries 0: session %d succeeded, so it was "
                "retried on direct" % i)
    nore.wait_sessions(lambda x: x.link == "dead" and
                       x.outcome.startswith("failed, reply 0x"), 4,
                       what="4 failed sessions via dead")
    _, c = nore.counters()
    t.check_eq(c["dead"]["failed"], 4, "no-retry dead failed")
    t.check_eq(c["direct"]["total"], 0, "no-retry direct total")
    t.check(not nore.find_log(r"connect failures in a row"),
            "max_fails 0 still put the link in a cool-down")

    t.step("an upstream that never answers: connect timeout, retried")
    for i in range(2):
        dt = session_via(slow, who, "direct")
        t.check(dt >= 0.4, "session %d took %.2f s, but hole's timeout is "
                "0.5 s" % (i, dt))
    slow.wait_log(cooldown_re("hole", 2, r"30\.000"), what="hole's cool-down")
    t.check(re.search(r"link hole: 2 connect failures in a row \(last: "
                      r"connect timeout\)", slow.log()),
            "the cool-down line should say 'last: connect timeout'")
    n = len(hole.peers)
    for i in range(3):
        dt = session_via(slow, who, "direct")
        t.check(dt < 0.3, "session %d waited %.2f s for a link in its "
                "cool-down" % (i, dt))
    t.check_eq(len(hole.peers), n, "connections to the silent upstream "
               "during its cool-down")

    if badsrc is not None:
        t.step("a source address that is not local: retried")
        session_via(badsrc, who, "direct")
        _, c = badsrc.counters()
        t.check_eq(c["badsrc"]["failed"], 1, "badsrc failed")
    else:
        t.step("NOTE: net.ipv4.ip_nonlocal_bind is set: skipping the "
               "unusable-source case")

    t.step("socks5 chain of depth 2 (outer via inner via base)")
    ip = t.s5_whoami(chain.port, who)
    t.check_eq(ip, "127.0.0.1", "address the origin saw (S2's)")
    t.check_eq(s1.requests, [("127.0.0.1", s2.port)], "S1's requests")
    t.check_eq([p[0] for p in s1.peers], ["127.0.0.2"],
               "S1's clients (base's source address)")
    t.check_eq(s2.requests, [("127.0.0.1", who.port)], "S2's requests")
    t.check_eq([p[0] for p in s2.peers], ["127.0.0.1"], "S2's clients")
    ip = t.s5_whoami(chain.port, who, host="www.example.org")
    t.check_eq(s2.requests[-1], ("www.example.org", who.port),
               "S2's request for a name (passed on untouched)")
    t.check_eq(len(s1.requests), 2, "S1's requests")
    chain.wait_sessions(lambda x: x.link == "outer" and x.outcome == "done",
                        2, what="2 'done' sessions via outer")
    t.check(all(x.link == "outer" for x in chain.sessions()),
            "a session went via a hop-only link: %r" % chain.sessions())

    t.step("active health check: link down")
    hc.wait_log(r"warn\w*: link checked: health check failed 2 times "
                r"\([^)]*\), link down$", 5, what="'link checked ... link "
                "down'")
    for i in range(8):
        ip = t.s5_whoami(hc.port, who)
        t.check_eq(SRC.get(ip), "B", "health: session %d while checked is "
                   "down" % i)
    hc1.wait_log(r"link only: health check failed 2 times", 5,
                 what="'link only ... link down'")
    t0 = time.monotonic()
    s, rep, _ = t.s5_connect(hc1.port, "127.0.0.1", who.port)
    s.close()
    t.check_eq(rep, 0x01, "reply when the only link is down")
    t.check(time.monotonic() - t0 < 0.5, "the reply took %.2f s"
            % (time.monotonic() - t0))
    hc1.wait_sessions(lambda x: x.outcome.startswith(
        "failed, reply 0x01: no link available: only (health check "
        "failing)"), 1, what="the 0x01 session naming the link")
    _, c = hc.counters()
    t.check_eq(c["checked"]["total"], 0, "sessions via checked while down")

    t.step("active health check: listener opens, link up")
    mark = hc.mark()
    acc = Acceptor(cres)
    t.at_exit(acc.close)
    # Every worker checks and acts on its own verdict: wait for both.
    wait_lines(hc, r"info: link checked: health check passed, link up$", 2,
               mark, "'link checked: health check passed, link up' from "
               "both workers")
    t.check(acc.peers, "the listener never saw the check")
    t.check_eq({p[0] for p in acc.peers}, {"127.0.0.2"},
               "where the checks came from (checked's source)")
    got = [SRC.get(t.s5_whoami(hc.port, who)) for _ in range(8)]
    t.check_eq(sorted(got), list("AAAABBBB"), "links after the link came "
               "back (%s)" % "".join(got))

    t.step("active health check: listener gone, link down again")
    mark = hc.mark()
    acc.close()
    wait_lines(hc, r"link checked: health check failed 2 times", 2, mark,
               "the second 'link down' from both workers")
    for i in range(4):
        ip = t.s5_whoami(hc.port, who)
        t.check_eq(SRC.get(ip), "B", "health: session %d after the second "
                   "down" % i)
    for d in (fo, fo1, fls, nore, slow, badsrc, chain, hc, hc1):
        if d is not None:
            t.check(not d.find_log(r"killed by|exited with status|"
                                   r"respawning"),
                    "%s: a child died during the test" % d.name)
    t.check(not who.errors, "origin errors: %r" % who.errors[:5])


t.run(main)
