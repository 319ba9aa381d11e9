#!/usr/bin/env python3
"""
No client waits on a dead worker (issue 14, item 10).

Worker 0 is killed each time it comes back, so its respawn backs off
(0.05 s, 0.1 s, ... doubling).  Once the master says it will wait at
least 0.8 s, 200 new clients connect one after another: every one gets its SOCKS5
greeting answered within 0.3 s, by worker 1, because the master steers
the listener's reuseport group away from the dead worker's socket
(master/steer.c).  Without steering some of them would sit in the
dead worker's accept queue until the respawn.  Once worker 0 is back it
serves again (the steering is lifted).
"""
import os
import re
import signal
import socket
import time

import sltest as t

CLIENTS = 200


def worker_pid(ctl, name):
    for p in t.control_ok(ctl, "status")["processes"]:
        if p["name"] == name and p["pid"] and p["state"] == "ready":
            return p["pid"]
    return None


def greet(port, deadline):
    s = socket.create_connection(("127.0.0.1", port), timeout=deadline)
    s.settimeout(deadline)
    try:
        s.sendall(b"\x05\x01\x00")
        return s.recv(2) == b"\x05\x00"
    except socket.timeout:
        return False
    finally:
        s.close()


def main():
    ctl = os.path.join(t.mkdtemp(), "ctl.sock")
    d = t.Sluiced(workers=2, control=ctl).start()
    delay = 0.0
    for i in range(8):
        pid = t.wait_until(lambda: worker_pid(ctl, "worker 0"), 10,
                           "worker 0 ready (round %d)" % i)
        m = d.mark()
        os.kill(pid, signal.SIGKILL)
        got = d.wait_log(r"respawning worker 0 in ([0-9.]+) s", mark=m)
        delay = float(got.group(1))
        if delay >= 0.8:
            break
    t.check(delay >= 0.8, "backoff reached %.2f s" % delay)
    t0 = time.monotonic()
    ok = sum(greet(d.port, 0.3) for _ in range(CLIENTS))
    took = time.monotonic() - t0
    t.step("%d of %d greetings answered in %.2f s while worker 0 waits "
           "%.2f s to respawn" % (ok, CLIENTS, took, delay))
    t.check(took < delay, "the clients were done before the respawn")
    t.check_eq(ok, CLIENTS, "greetings answered within 0.3 s each")
    t.wait_until(lambda: worker_pid(ctl, "worker 0"), 40,
                 "worker 0 back")
    ok = sum(greet(d.port, 2) for _ in range(20))
    t.check_eq(ok, 20, "greetings once worker 0 is back")


t.run(main)
