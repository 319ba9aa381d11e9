#!/usr/bin/env python3
"""
Each worker can write only its own part of the shared region (needs a
-Dtest_hooks=true build; exit 77 otherwise).  worker/test_hooks.c makes
the worker that serves a CONNECT to one of these names do what a hostile
worker would:

- shm-own: write its own part.  Nothing happens; the worker lives and
  the client gets the ordinary reply for an unresolvable name (0x04).
- shm-peer: set the other worker's open sessions to 2^40, which would
  make every worker refuse every client (max_threads).  The write
  faults: the worker dies before its next log line ("wrote" never
  appears), the master logs its death and respawns it, the other
  worker's session keeps relaying, sessions open stays small (SIGUSR1)
  and curl still works.
- shm-master: write the master's part (the generation counter): the
  same.
- shm-mprotect: ask the kernel to make the other worker's part writable:
  refused ("Permission denied", the part came as a read-only fd), and
  the write after it faults.

Every hook connection is aimed at the worker that does not hold the live
session, so the session shows that the other worker is untouched.
/proc/PID/maps of each worker shows its own part and the shared part
mapped rw-s, every other part r--s.
"""
import os
import re
import socket

import sltest as t

NAMES = ("shm-peer", "shm-master", "shm-mprotect")
DEATH = r"^\S+ sluiced warn: worker (\d+) \(pid (\d+)\) (killed by|exited " \
        r"with status [1-9])"


def part_modes(pid):
    """{memfd name: permissions} of the region's parts pid maps."""
    modes = {}
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            m = re.search(r"^\S+ (\S+) .*memfd:(sluice-counters-\S+)", line)
            if m:
                modes[m.group(2)] = m.group(1)
    return modes


def aim(d, avoid):
    """A greeted SOCKS5 connection held by a worker other than avoid."""
    s, w = d.s5_open_avoiding(avoid)
    if s is None:
        raise t.Fail("no connection reached the second worker")
    return s, w


def check_maps(d):
    t.step("each worker maps its own part and the shared one writable")
    ws = d.workers()
    for pid in ws:
        modes = part_modes(pid)
        own = [n for n, p in modes.items() if p.startswith("rw")]
        t.check_eq(len(modes), 2 + 2 + 1, "parts worker %d maps (master, "
                   "resolver, shared, 2 workers): %r" % (pid, modes))
        t.check_eq(len(own), 2, "parts worker %d maps writable: %r"
                   % (pid, own))
        t.check(any(n.endswith("-shared") for n in own),
                "the shared part is not writable in %d" % pid)
        t.check(all(p.startswith("r--") or p.startswith("rw")
                    for p in modes.values()), "odd modes %r" % modes)
    w0 = [n for n, p in part_modes(ws[0]).items() if p.startswith("rw") and
          "-worker" in n]
    w1 = [n for n, p in part_modes(ws[1]).items() if p.startswith("rw") and
          "-worker" in n]
    t.check(w0 != w1, "both workers write the same part: %r" % w0)


def own_write(d, live_worker):
    t.step("a worker writes its own part: nothing happens")
    m = d.mark()
    s, w = aim(d, live_worker)
    s.sendall(t.s5_request("shm-own.sluice-test.invalid", 80))
    rep = t.recv_all(s, 5)
    s.close()
    t.check(len(rep) >= 2 and rep[1] == 0x04, "reply to shm-own: %r"
            % rep[:4])
    t.check(w in d.workers(), "the worker died writing its own part")
    t.check(not re.search(DEATH, d.log_since(m), re.M), "a child died")


def forbidden_write(d, name, live_worker):
    t.step("%s: the write faults, the worker is replaced" % name)
    m = d.mark()
    s, victim = aim(d, live_worker)
    s.sendall(t.s5_request("%s.sluice-test.invalid" % name, 80))
    got = t.recv_all(s, 5)
    s.close()
    t.check_eq(got, b"", "bytes the client got from the dying worker")
    line = d.wait_log(DEATH, 5, m, "the death of the worker that wrote")
    t.check_eq(int(line.group(2)), victim, "pid of the worker that died")
    log = d.log_since(m)
    t.check("test hook: " in log, "the hook did not run: %s" % log)
    t.check(not re.search(r"test hook: wrote", log),
            "a forbidden write went through:\n%s" % log)
    if name == "shm-mprotect":
        t.check(re.search(r"test hook: mprotect of worker \d+'s part: "
                          r"Permission denied", log),
                "mprotect was not refused:\n%s" % log)
    d.wait_log(r"respawning worker %s in [\d.]+ s"
               % re.escape(line.group(1)), 5, m)
    t.wait_until(lambda: len(d.workers()) == 2 and
                 victim not in d.workers() and live_worker in d.workers(),
                 5, "a replacement for worker %s" % line.group(1))


def main():
    t.require_test_hooks()
    t.require_curl()
    origin = t.Origin(size=1 << 16)
    echo = t.echo_server()
    d = t.Sluiced(workers=2).start()
    check_maps(d)

    live = t.s5_tunnel(d.port, "127.0.0.1", echo.port)
    t.echo_check(live, b"before\n")
    live_worker = d.worker_of_client(live)

    own_write(d, live_worker)
    for name in NAMES:
        forbidden_write(d, name, live_worker)

    t.step("the other worker's session relays; nobody is locked out")
    t.echo_check(live, os.urandom(100000), "echo on the other worker")
    so, _ = d.counters()
    t.check(so < 100, "sessions open after the writes: %d" % so)
    for i in range(4):
        body = t.curl_fetch(d.port, origin.url())
        t.check_eq(t.sha256(body), origin.digest, "body after the writes")
    live.shutdown(socket.SHUT_WR)
    t.check_eq(t.recv_all(live, 5), b"", "after shutdown")
    live.close()
    check_maps(d)


t.run(main)
