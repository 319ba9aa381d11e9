#!/usr/bin/env python3
"""
The seccomp filter kills, and the master recovers (needs a
-Dtest_hooks=true build; exit 77 otherwise).

A CONNECT to sigsys.sluice-test.invalid makes the worker make a forbidden
system call.  Checks:
- the client gets no reply: the connection just closes;
- the master logs "worker N (pid P) killed by SIGSYS: seccomp violation
  (see the kernel audit log)" for a pid P that was one of the workers, and
  "respawning worker N";
- a new confined worker replaces it; the other worker is untouched;
- a session open on the other worker keeps relaying; curl still works.
"""
import os
import re
import socket

import sltest as t

HOOK = "sigsys.sluice-test.invalid"


def main():
    t.require_test_hooks()
    t.require_curl()
    origin = t.Origin(size=1 << 20)
    echo = t.echo_server()
    d = t.Sluiced(workers=2).start()
    before = d.workers()

    t.step("a live session, to see that it survives")
    live = t.s5_tunnel(d.port, "127.0.0.1", echo.port)
    t.echo_check(live, b"before\n")
    live_worker = d.worker_of_client(live)

    # Aim the hook at the other worker: retry until a connection lands
    # there (the hook connection is identified the same way as above).
    m = d.mark()
    s, victim = d.s5_open_avoiding(live_worker)
    t.check(victim is not None, "no connection reached the second worker")
    t.step("CONNECT %s on worker pid %d" % (HOOK, victim))
    s.sendall(t.s5_request(HOOK, 80))
    s.settimeout(5)
    try:
        got = t.recv_all(s, 5)
    finally:
        s.close()
    t.check_eq(got, b"", "bytes the client got from the dying worker")

    line = d.wait_log(r"^\S+ sluiced warn: worker (\d+) \(pid (\d+)\) killed "
                      r"by SIGSYS: seccomp violation \(see the kernel audit "
                      r"log\)$", 3, m, "the SIGSYS death line")
    idx, pid = line.group(1), int(line.group(2))
    t.check_eq(pid, victim, "pid of the worker killed by SIGSYS")
    d.wait_log(r"respawning worker %s in [\d.]+ s" % re.escape(idx), 3, m)

    def respawned():
        w = d.workers()
        return len(w) == 2 and victim not in w and live_worker in w and \
            all(t.seccomp_mode(p) == 2 for p in w)
    t.wait_until(respawned, 3, "a confined replacement for worker %s" % idx)
    t.check(t.pid_gone(victim), "the SIGSYS'd worker is still there")
    t.check_eq(len(re.findall(r"killed by", d.log_since(m))), 1,
               "children that died")

    t.step("the other worker's session still relays; curl works")
    t.echo_check(live, os.urandom(100000), "echo on the other worker")
    live.shutdown(socket.SHUT_WR)
    t.check_eq(t.recv_all(live, 5), b"", "after shutdown")
    live.close()
    for i in range(3):
        body = t.curl_fetch(d.port, origin.url())
        t.check_eq(t.sha256(body), origin.digest, "body after the SIGSYS")
    t.check(d.resolver() is not None, "the resolver is gone")


t.run(main)
