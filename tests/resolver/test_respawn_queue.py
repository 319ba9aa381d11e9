"""
Lookups that arrive while the resolver is being respawned wait for the new
one (each at most its resolve timeout) instead of failing at once: under
200 lookups/s, a SIGKILL of the resolver fails only the few lookups that
were in flight at the kill.

"In flight" is as the worker sees it: sent before the resolver's end of
the channel closed.  A killed process closes its sockets only after its
memory is torn down (milliseconds, tens under ASan), so lookups sent in
that window are in flight too; the test times the window and allows them.

Each lookup is a SOCKS5 CONNECT to a name of its own (so neither cache
answers it) whose address is an echo server on 127.0.0.7.
"""

import os
import signal
import threading
import time

import rtest as r
from rtest import t

RATE = 200              # lookups per second
MAX_FAILED = 3          # lookups in flight at the kill, at most
SLACK = 0.010           # s after the reaping for a worker to see EOF
TIMEOUT = 5             # resolve_timeout, s


class Load:
    """CONNECTs to n<i>.q.test at RATE per second, each in a thread of its
    own so a waiting lookup never holds up the next one."""

    def __init__(self, d, port):
        self.d = d
        self.port = port
        self.lock = threading.Lock()
        self.results = []       # (i, start, seconds, reply; -1: error)
        self.threads = []
        self.stop = threading.Event()
        self.driver = threading.Thread(target=self._drive, daemon=True)
        self.driver.start()
        t.at_exit(self.halt)

    def _one(self, i):
        t0 = time.monotonic()
        try:
            s, rep, _ = t.s5_connect(self.d.port, "n%d.q.test" % i,
                                     self.port, timeout=TIMEOUT + 5)
            s.close()
        except (OSError, t.Fail):
            rep = -1
        with self.lock:
            self.results.append((i, t0, time.monotonic() - t0, rep))

    def _drive(self):
        t0 = time.monotonic()
        i = 0
        while not self.stop.is_set():
            # Pacing the offered load, not waiting for a condition.
            self.stop.wait(max(0.0, t0 + i / RATE - time.monotonic()))
            if self.stop.is_set():
                break
            th = threading.Thread(target=self._one, args=(i,), daemon=True)
            th.start()
            with self.lock:
                self.threads.append(th)
            i += 1

    def issued(self):
        with self.lock:
            return len(self.threads)

    def done(self):
        with self.lock:
            return list(self.results)

    def halt(self):
        self.stop.set()
        self.driver.join(5)

    def finish(self):
        self.halt()
        t.wait_until(lambda: len(self.done()) == self.issued(), TIMEOUT + 10,
                     "every lookup to end")
        return sorted(self.done())


def main():
    echo = t.echo_server("127.0.0.7")
    srv = r.dns({"*.q.test": {"addrs": ["127.0.0.7"]}})
    # Room for every lookup that waits: under ASan the new resolver takes
    # a second or more to answer, and waiting sessions count as open.
    d = r.daemon("respawnq", srv, resolve_timeout=TIMEOUT, max_threads=2000)
    r.echo_ok(d, "warm.q.test", echo)
    old = d.resolver()

    t.step("%d lookups/s through a working resolver" % RATE)
    load = Load(d, echo.port)
    t.wait_until(lambda: len(load.done()) >= RATE // 2, 10,
                 "half a second of lookups")
    bad = [x for x in load.done() if x[3] != 0]
    t.check(not bad, "lookups failed before the kill: %r" % bad[:5])

    t.step("SIGKILL the resolver under load")
    killed = time.monotonic()
    os.kill(old, signal.SIGKILL)
    t.wait_until(lambda: t.pid_gone(old), 5, "the old resolver to die",
                 interval=0.001)
    gone = time.monotonic()
    t.wait_until(lambda: (d.resolver() not in (None, old)) and
                 t.seccomp_mode(d.resolver()) == 2 and d.resolver(),
                 10, "a respawned, confined resolver")
    back = time.monotonic()
    n = load.issued()
    t.wait_until(lambda: load.issued() >= n + RATE // 2, 10,
                 "half a second of lookups after the respawn")
    res = load.finish()

    failed = [x for x in res if x[3] != 0]
    dying = [x for x in res if killed <= x[1] < gone + SLACK]
    gap = [x for x in res if killed <= x[1] < back]
    gap_ok = [x for x in gap if x[3] == 0]
    worst = max((x[2] for x in gap_ok), default=0.0)
    t.step("measured: %d lookups, %d failed (replies %s), %d started "
           "during the %.0f ms respawn, %d of them answered, the slowest "
           "in %.0f ms" % (len(res), len(failed),
                           sorted({x[3] for x in failed}), len(gap),
                           (back - killed) * 1000, len(gap_ok),
                           worst * 1000))
    t.step("the resolver took %.1f ms to die; %d lookups started meanwhile"
           % ((gone - killed) * 1000, len(dying)))
    for x in failed:
        t.step("failed: n%d.q.test, reply %d, started %+.1f ms from the "
               "kill, took %.1f ms" % (x[0], x[3], (x[1] - killed) * 1000,
                                       x[2] * 1000))
    late = [x for x in failed if x[1] >= gone + SLACK]
    t.check(not late, "%d lookups that started after the resolver was "
            "gone failed: %r" % (len(late), late[:12]))
    t.check(len(failed) <= MAX_FAILED + len(dying),
            "%d lookups failed, want at most %d (those in flight at the "
            "kill)" % (len(failed), MAX_FAILED + len(dying)))
    t.check(len(gap) >= 3, "only %d lookups started while the resolver "
            "was away: the test did not exercise the gap" % len(gap))
    t.check(worst < TIMEOUT, "a waiting lookup took %.2f s" % worst)
    r.echo_ok(d, "after.q.test", echo)


t.run(main)
