#!/usr/bin/env python3
"""
Routing strategies over two direct links bound to different source
addresses, 2 workers sharing the counters.

Links A (source 127.0.0.2) and B (source 127.0.0.3); the origin is a
"whoami" TCP server on 127.0.0.1 that tells each client the address it
came from, so the origin itself says which link carried a session.

- round_robin, 40 sequential sessions: 20/20 (within 1) and the sequence
  alternates A B A B ... with at most 1 break although the sessions land
  on both workers (a per-worker cursor would break it about every other
  time the worker changes); the session log agrees (via A / via B).
- round_robin with weights 3:1, 40 sessions: 30/10 within 2.
- least_connections: 6 long sessions opened one at a time, alternately on
  worker 0 and worker 1 (a client connection is re-made until the wanted
  worker holds it): whenever the links' active counts differ the new one
  goes to the link with fewer, ending 3/3; SIGUSR1 shows active 3 and 3.
  Then 2 of A's sessions are closed (A 1, B 3): the next 2 new sessions
  both go to A, the one with fewer active sessions.
- least_connections with weights 2:1: every step goes to the smaller
  active/weight; 6 held sessions end 4/2.
- max_connections 1 on both links: two sessions held on worker 0 fill
  A and B; a request on worker 1 gets 0x01 "no link available: A (at
  max_connections), B (at max_connections)"; once A's session ends, the
  next one on worker 1 goes via A.
- random_link 1:1 over 200 sessions (4 clients at a time): each link
  between 30% and 70%; random_link 3:1 over 200: A between 62.5% and
  87.5% (4 standard deviations).
"""
import concurrent.futures

import sltest as t

SRC = {"127.0.0.2": "A", "127.0.0.3": "B"}


def links(wa=1, wb=1):
    return [{"name": "A", "source": "127.0.0.2", "weight": wa},
            {"name": "B", "source": "127.0.0.3", "weight": wb}]


def daemon(name, strategy, wa=1, wb=1):
    # Started at once: a port from free_port() is only reserved by use.
    return t.Sluiced(name=name, workers=2, balancer={
        "strategy": strategy, "links": links(wa, wb)}).start()


def via(d, who):
    """One short session; the link the origin says carried it."""
    ip = t.s5_whoami(d.port, who)
    t.check(ip in SRC, "the origin saw a connection from %s, not from a "
            "link's source address" % ip)
    return SRC[ip]


def sequential(d, who, n, threads=1):
    """n sessions, one after the other (or from a few threads at once
    when the order does not matter); the links in order."""
    if threads == 1:
        seq = [via(d, who) for _ in range(n)]
    else:
        with concurrent.futures.ThreadPoolExecutor(threads) as ex:
            seq = list(ex.map(lambda _: via(d, who), range(n)))
    d.wait_sessions(lambda s: s.target == "127.0.0.1:%d" % who.port and
                    s.outcome == "done", n, what="%d 'done' sessions" % n)
    ss = [s for s in d.sessions() if s.target == "127.0.0.1:%d" % who.port]
    by_link = {l: sum(1 for s in ss if s.link == l) for l in "AB"}
    t.check_eq(by_link, {l: seq.count(l) for l in "AB"},
               "%s: sessions per link in the log vs what the origin saw"
               % d.name)
    workers = {s.worker for s in ss}
    return seq, workers


def open_on_worker(d, pid, tries=60):
    """A client connection past the greeting, held by worker pid."""
    for _ in range(tries):
        s = t.s5_open(d.port)
        if d.worker_of_client(s) == pid:
            return s
        s.close()
    raise t.Fail("%d connections in a row all went to other workers than "
                 "pid %d" % (tries, pid))


def hold(d, who, pid):
    """A long session through worker pid; (link, socket)."""
    s = open_on_worker(d, pid)
    try:
        s.sendall(t.s5_request("127.0.0.1", who.port))
        rep, _ = t.s5_read_reply(s)
        t.check_eq(rep, 0, "reply for a held session")
        line = b""
        while not line.endswith(b"\n"):
            b = s.recv(256)
            t.check(b, "whoami server closed early")
            line += b
    except BaseException:
        s.close()
        raise
    ip = line.decode().split()[0]
    t.check(ip in SRC, "origin saw %s" % ip)
    return SRC[ip], s


def expect_least(active, w):
    """The link least_connections must pick, None on a tie."""
    a, b = active["A"] * w["B"], active["B"] * w["A"]
    return None if a == b else ("A" if a < b else "B")


def least_steps(d, who, n, w, active, held, k0=0):
    workers = d.workers()
    for i in range(n):
        want = expect_least(active, w)
        link, s = hold(d, who, workers[(k0 + i) % 2])
        held.append((link, s))
        t.step("  %s: session %d (worker %d) -> %s; active before %r"
               % (d.name, len(held), workers[(k0 + i) % 2], link, active))
        if want is not None:
            t.check_eq(link, want, "%s: link for a new session with %r "
                       "active and weights %r" % (d.name, dict(active), w))
        active[link] += 1


def check_active(d, active):
    def same():
        _, ls = d.counters()
        return {l: ls[l]["active"] for l in "AB"} == active and ls
    try:
        t.wait_until(same, 3, "SIGUSR1 active counts %r" % active)
    except t.Fail:
        _, ls = d.counters()
        raise t.Fail("%s: SIGUSR1 active A %d, B %d, want %r" % (
            d.name, ls["A"]["active"], ls["B"]["active"], active))


def main():
    who = t.whoami_server()
    rr = daemon("rr", "round_robin")
    rw = daemon("rr-3-1", "round_robin", 3, 1)
    lc = daemon("least", "least_connections")
    lw = daemon("least-2-1", "least_connections", 2, 1)
    rnd = daemon("random", "random_link")
    rnw = daemon("random-3-1", "random_link", 3, 1)
    mc = t.Sluiced(name="max-connections", workers=2, balancer={
        "links": [dict(l, max_connections=1) for l in links()]}).start()

    t.step("round_robin: 40 sequential sessions")
    seq, workers = sequential(rr, who, 40)
    t.step("  sequence %s, workers %s" % ("".join(seq), sorted(workers)))
    t.check_eq(len(workers), 2, "workers that served the 40 sessions")
    breaks = sum(1 for x, y in zip(seq, seq[1:]) if x == y)
    t.check(abs(seq.count("A") - 20) <= 1,
            "round robin split A %d / B %d, want 20/20 (within 1)"
            % (seq.count("A"), seq.count("B")))
    t.check(breaks <= 1, "round robin did not alternate: %d repeats in %s "
            "(a per-worker cursor?)" % (breaks, "".join(seq)))

    t.step("round_robin 3:1: 40 sequential sessions")
    seq, _ = sequential(rw, who, 40)
    t.step("  sequence %s" % "".join(seq))
    t.check(abs(seq.count("A") - 30) <= 2,
            "weighted round robin 3:1 gave A %d / B %d, want 30/10 (within "
            "2)" % (seq.count("A"), seq.count("B")))

    t.step("least_connections: 6 held sessions, alternating workers")
    active, held = {"A": 0, "B": 0}, []
    w = {"A": 1, "B": 1}
    least_steps(lc, who, 6, w, active, held)
    t.check_eq(active, {"A": 3, "B": 3}, "held sessions per link")
    check_active(lc, active)
    t.step("least_connections: close 2 of A's sessions, open 2 more")
    mark = lc.mark()
    closing = [x for x in held if x[0] == "A"][:2]
    for x in closing:
        x[1].close()
        held.remove(x)
        active["A"] -= 1
    lc.wait_sessions(lambda s: s.link == "A" and s.outcome == "done", 2,
                     mark=mark, what="the 2 closed sessions via A")
    check_active(lc, active)
    least_steps(lc, who, 2, w, active, held, k0=1)
    t.check_eq(active, {"A": 3, "B": 3}, "held sessions per link after "
               "closing 2 on A and opening 2")
    for _, s in held:
        s.close()

    t.step("least_connections 2:1: 6 held sessions")
    active, held = {"A": 0, "B": 0}, []
    least_steps(lw, who, 6, {"A": 2, "B": 1}, active, held)
    t.check_eq(active, {"A": 4, "B": 2}, "held sessions per link, 2:1")
    check_active(lw, active)
    for _, s in held:
        s.close()

    t.step("max_connections 1 on both links, counted across workers")
    w0, w1 = mc.workers()
    held = [hold(mc, who, w0), hold(mc, who, w0)]
    t.check_eq(sorted(l for l, _ in held), ["A", "B"],
               "links of 2 sessions with max_connections 1 each")
    s = open_on_worker(mc, w1)
    try:
        s.sendall(t.s5_request("127.0.0.1", who.port))
        rep, _ = t.s5_read_reply(s)
    finally:
        s.close()
    t.check_eq(rep, 0x01, "reply on the other worker with both links full")
    mc.wait_sessions(lambda x: x.outcome == "failed, reply 0x01: no link "
                     "available: A (at max_connections), B (at "
                     "max_connections)", 1, what="the 0x01 session naming "
                     "both full links")
    mark = mc.mark()
    for l, s in held:
        if l == "A":
            s.close()
    mc.wait_sessions(lambda x: x.link == "A" and x.outcome == "done", 1,
                     mark=mark, what="the end of the session via A")
    link, s = hold(mc, who, w1)
    t.check_eq(link, "A", "link once A has room again")
    s.close()
    for l, s in held:
        s.close()

    t.step("random_link 1:1: 200 sessions")
    seq, _ = sequential(rnd, who, 200, threads=4)
    a = seq.count("A")
    t.step("  A %d, B %d" % (a, 200 - a))
    t.check(60 <= a <= 140, "random_link 1:1 gave A %d of 200, want 60..140"
            % a)
    t.step("random_link 3:1: 200 sessions")
    seq, _ = sequential(rnw, who, 200, threads=4)
    a = seq.count("A")
    t.step("  A %d, B %d" % (a, 200 - a))
    t.check(125 <= a <= 175, "random_link 3:1 gave A %d of 200, want "
            "125..175" % a)
    t.check(not who.errors, "origin errors: %r" % who.errors[:5])


t.run(main)
