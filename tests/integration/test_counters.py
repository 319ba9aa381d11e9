#!/usr/bin/env python3
"""
Counters (SIGUSR1), over 2 workers sharing them.

After 6 relayed sessions with known byte counts (through an echo server)
and 1 failed CONNECT (closed port), all closed and logged, SIGUSR1 makes
the master log "sessions open: 0" and for link direct: active 0,
total >= 6, failed >= 1, up >= bytes sent, down >= bytes received (and
not wildly more: at most 4 KiB of slack, so double counting fails).
While a session is open, "sessions open" and "active" count it.  After
more traffic, a second SIGUSR1 shows the counters grew by at least that.
"""
import os

import sltest as t

SLACK = 4096


def settled(d):
    """Counters once no session is open any more (polled, 3 s)."""
    last = {}

    def idle():
        last["v"] = d.counters()
        o, links = last["v"]
        return o == 0 and links["direct"]["active"] == 0
    try:
        t.wait_until(idle, 3, "sessions open 0 and active 0")
    except t.Fail as e:
        raise t.Fail("%s: last SIGUSR1 said %r" % (e, last.get("v")))
    return last["v"]


def main():
    echo = t.echo_server()
    d = t.Sluiced(workers=2).start()

    t.step("6 sessions with known sizes, 1 refused")
    sent = recv = 0
    for i in range(6):
        data = os.urandom((i + 1) * 50000 + i)
        s = t.s5_tunnel(d.port, "127.0.0.1", echo.port)
        t.echo_check(s, data, "echo #%d" % i)
        s.close()
        sent += len(data)
        recv += len(data)
    s, rep, _ = t.s5_connect(d.port, "127.0.0.1", t.free_port())
    s.close()
    t.check_eq(rep, 0x05, "reply for a closed port")
    d.wait_sessions(lambda x: x.target == "127.0.0.1:%d" % echo.port and
                    x.outcome == "done", 6, what="6 'done' echo sessions")
    d.wait_sessions(lambda x: x.outcome.startswith("failed"), 1,
                    what="the failed session")
    workers = {x.worker for x in d.sessions()}
    t.step("sessions served by %s" % sorted(workers))

    # A worker logs a session's end just before it takes the session off
    # the live counts, so "sessions open"/"active" may lag the log line by
    # a moment: poll for them.
    open_, links = settled(d)
    c = links["direct"]
    t.step("counters: sessions open %d, direct %r (sent %d, received %d)"
           % (open_, c, sent, recv))
    t.check(c["total"] >= 6, "direct total %d < 6 sessions" % c["total"])
    t.check(c["failed"] >= 1, "direct failed %d < 1" % c["failed"])
    t.check(sent <= c["up"] <= sent + SLACK,
            "direct up %d not in [%d, %d]" % (c["up"], sent, sent + SLACK))
    t.check(recv <= c["down"] <= recv + SLACK,
            "direct down %d not in [%d, %d]" % (c["down"], recv,
                                                recv + SLACK))

    t.step("an open session is counted; more traffic adds up")
    s = t.s5_tunnel(d.port, "127.0.0.1", echo.port)
    more = os.urandom(300000)
    t.echo_check(s, more, "echo (open session)")
    # A worker adds to the shared counters right after each send(), so the
    # client may see the bytes a moment before the counters do: poll.
    snap = {}

    def grown():
        snap["open"], links2 = d.counters()
        c2 = snap["c"] = links2["direct"]
        return (snap["open"] == 1 and c2["active"] == 1 and
                c2["total"] >= c["total"] + 1 and
                c2["up"] >= c["up"] + len(more) and
                c2["down"] >= c["down"] + len(more))
    try:
        t.wait_until(grown, 3, "the counters to show the open session")
    except t.Fail as e:
        raise t.Fail("%s: sessions open %r, direct %r -> %r (+%d bytes each "
                     "way)" % (e, snap.get("open"), c, snap.get("c"),
                               len(more)))
    t.check(snap["c"]["up"] <= c["up"] + len(more) + SLACK,
            "up grew by more than %d: %r -> %r" % (len(more), c, snap["c"]))
    s.close()
    d.wait_sessions(lambda x: x.target == "127.0.0.1:%d" % echo.port and
                    x.outcome == "done", 7, what="7 'done' echo sessions")
    open3, links3 = settled(d)
    t.check_eq(links3["direct"]["total"], snap["c"]["total"],
               "total after the last session closed")
    t.check(d.alive(), "sluiced died on SIGUSR1")
    t.check(not d.find_log(r"killed by|exited with status"),
            "a child died during the test")


t.run(main)
