#!/usr/bin/env python3
"""
Supervision: SIGKILL one worker while each worker holds a live session.

- sessions are opened until each of the 2 workers holds one (which worker
  holds a session is found from /proc: the proxy-side socket's inode in
  /proc/net/tcp, looked up among /proc/<worker>/fd);
- worker X is SIGKILLed: the master logs "worker N (pid X) killed by
  SIGKILL" and "respawning worker N in ...", and a new confined worker
  (new pid, Seccomp 2) is running within 1 s, confined like the first
  one (ids, capabilities, chroot);
- the session on X is closed (its process is gone);
- the session on the OTHER worker keeps relaying, and its worker pid is
  unchanged;
- curl through sluice still works, and the respawned worker serves.
"""
import os
import pwd
import re
import signal
import socket
import time

import sltest as t


def main():
    t.require_curl()
    origin = t.Origin(size=1 << 20)
    echo = t.echo_server()
    d = t.Sluiced(workers=2).start()
    before = d.workers()
    t.check_eq(len(before), 2, "workers")

    t.step("opening sessions until each worker holds one")
    held = {}            # worker pid -> socket
    spare = []
    for i in range(60):
        s = t.s5_tunnel(d.port, "127.0.0.1", echo.port)
        t.echo_check(s, b"hello %d\n" % i)
        w = d.worker_of_client(s)
        if w in held:
            spare.append(s)
        else:
            held[w] = s
        if len(held) == 2:
            break
    t.check_eq(sorted(held), before,
               "workers holding a session after %d sessions" % (i + 1))
    for s in spare:
        s.close()

    victim, survivor = before[0], before[1]
    m = d.mark()
    idx = None
    t.step("SIGKILL worker pid %d (survivor pid %d)" % (victim, survivor))
    t0 = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    line = d.wait_log(r"^\S+ sluiced warn(?:ing)?: worker (\d+) \(pid %d\) "
                      r"killed by SIGKILL$" % victim, 3, m,
                      what="'worker N (pid %d) killed by SIGKILL'" % victim)
    idx = line.group(1)
    d.wait_log(r"respawning worker %s in [\d.]+ s" % re.escape(idx), 3, m)

    def respawned():
        w = d.workers()
        new = [p for p in w if p not in before]
        return new if len(w) == 2 and survivor in w and new else None
    new = t.wait_until(respawned, max(0.05, t0 + 1.0 - time.monotonic()),
                       "a new worker pid within 1 s of the kill")
    dt = time.monotonic() - t0
    t.step("new worker pid %d after %.3f s" % (new[0], dt))
    t.wait_until(lambda: t.seccomp_mode(new[0]) == 2, 5,
                 "the new worker confined (Seccomp 2)")
    t.check(t.pid_gone(victim), "the killed worker is still there")
    nobody = pwd.getpwnam("nobody")
    t.check_confined(new[0], d.chroot, nobody.pw_uid, nobody.pw_gid,
                     "respawned worker (pid %d)" % new[0])
    t.check_eq(t.proc_stat(new[0])[0], "sluice-worker", "respawned comm")

    t.step("the session on the killed worker is gone")
    t.wait_closed(held[victim], 5, "the killed worker's session to close")
    held[victim].close()

    t.step("the session on the surviving worker still relays")
    s = held[survivor]
    for i in range(5):
        t.echo_check(s, os.urandom(64 << 10), "echo on the surviving "
                     "session (#%d)" % i)
    t.check(survivor in d.workers(), "the surviving worker was replaced")

    t.step("curl still works; the new worker serves")
    m2 = d.mark()
    for i in range(40):
        body = t.curl_fetch(d.port, origin.url())
        t.check_eq(t.sha256(body), origin.digest, "body after the respawn")
        if any(s.worker == "worker %s" % idx for s in d.sessions(m2)):
            break
    t.check(any(s.worker == "worker %s" % idx and s.outcome == "done"
                for s in d.sessions(m2)),
            "respawned worker %s served none of %d requests" % (idx, i + 1))
    s.shutdown(socket.SHUT_WR)
    t.check_eq(t.recv_all(s, 5), b"", "surviving session after shutdown")
    s.close()
    t.check_eq(sorted(d.workers()), sorted([survivor] + new),
               "workers at the end")


t.run(main)
