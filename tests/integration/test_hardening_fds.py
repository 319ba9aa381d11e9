#!/usr/bin/env python3
"""
Running out of descriptors is this host's shortage, not the link's fault
(issue 14, item 6).

One worker, one (default, direct) link with the default passive health:
3 failures in a row put it in a 10 s cool-down.  The worker's descriptor
limit is lowered (prlimit) to what it holds plus a few, and idle clients
that finished the SOCKS5 greeting take the rest, so the worker has no
descriptor left for an outgoing socket.  Then, more times than max_fails:

- one of the idle clients sends CONNECT: it must get 0x01 (general
  failure), and the worker closes it, which frees one descriptor;
- a new idle client takes that descriptor again.

The log must name the cause (EMFILE, "Too many open files") and must not
put the link in its cool-down.  Once the clients leave, a new CONNECT
must succeed at once: well within the 10 s a wrongly started cool-down
would last.
"""
import os
import resource
import shutil
import subprocess
import time

import sltest as t

SPARE = 6           # descriptors left to the worker above what it holds
ROUNDS = 5          # CONNECTs failing for want of a descriptor (> 3)


def fds(pid):
    return [int(x) for x in os.listdir("/proc/%d/fd" % pid)]


def lower_nofile(pid, n):
    """prlimit --pid PID --nofile=N:N.  Without CAP_SYS_RESOURCE (some
    containers drop it) only a process with the target's own uid and gid
    may do it, so then it is done from a child with the worker's ids."""
    try:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (n, n))
    except PermissionError:
        st = t.proc_status(pid)
        uid = int(st["Uid"].split()[0])
        gid = int(st["Gid"].split()[0])
        t.require_tool("prlimit")
        r = subprocess.run(
            [shutil.which("prlimit"), "--pid", str(pid),
             "--nofile=%d:%d" % (n, n)],
            user=uid, group=gid, extra_groups=[], capture_output=True,
            text=True, timeout=10)
        t.check(r.returncode == 0, "prlimit on worker %d as uid %d: %s"
                % (pid, uid, r.stderr))
    with open("/proc/%d/limits" % pid) as f:
        line = [x for x in f if x.startswith("Max open files")][0]
    t.check_eq(line.split()[3:5], [str(n), str(n)],
               "worker %d descriptor limit" % pid)


def main():
    echo = t.echo_server()
    # No splice: its pipe pool would change what the worker holds.
    d = t.Sluiced(workers=1, timeout=60, splice=False).start()
    w = d.workers()[0]

    idle_fds = len(fds(w))
    t.step("warm up: a CONNECT through the fresh worker works")
    s = t.s5_tunnel(d.port, "127.0.0.1", echo.port)
    t.echo_check(s, b"warm-up")
    s.close()
    t.wait_until(lambda: len(fds(w)) <= idle_fds, 5,
                 "worker %d back to its %d idle descriptors"
                 % (w, idle_fds))
    held = fds(w)
    limit = max(len(held) + SPARE, max(held) + 1)
    spare = limit - len(held)
    t.step("worker %d holds %d fds (highest %d): limit %d, %d spare"
           % (w, len(held), max(held), limit, spare))
    lower_nofile(w, limit)

    t.step("fill the %d spare descriptors with idle clients" % spare)
    idle = [t.s5_open(d.port, timeout=5) for _ in range(spare)]
    t.wait_until(lambda: len(fds(w)) == limit, 5,
                 "worker %d at its limit of %d descriptors" % (w, limit))

    mark = d.mark()
    for i in range(ROUNDS):
        c = idle.pop(0)
        c.sendall(t.s5_request("127.0.0.1", echo.port))
        rep, _ = t.s5_read_reply(c)
        t.check_eq(rep, 1, "round %d: reply to a CONNECT with no "
                   "descriptor left" % i)
        t.wait_closed(c, 5, "round %d: the worker closes the failed "
                      "client" % i)
        c.close()
        # Take the descriptor the failed client gave back.
        idle.append(t.s5_open(d.port, timeout=5))
        t.wait_until(lambda: len(fds(w)) == limit, 5,
                     "round %d: worker %d at its limit again" % (i, w))

    t.step("the log names the local cause, and no cool-down")
    # (The worker's accept also meets EMFILE and says so: not that line.)
    d.wait_log(r"session \d+: .* reply 0x01: connect .*: Too many open "
               r"files", 5, mark, "a session line naming EMFILE (Too many "
               "open files) as the cause of its failure")
    log = d.log_since(mark)
    t.check("skipped for" not in log and "failures in a row" not in log,
            "the link was put in its cool-down for a local shortage:\n%s"
            % log)

    t.step("release the clients: a new CONNECT succeeds at once")
    for c in idle:
        c.close()
    t.wait_until(lambda: len(fds(w)) <= len(held), 5,
                 "worker %d gives the clients' descriptors back" % w)
    t0 = time.monotonic()
    s, rep, _ = t.s5_connect(d.port, "127.0.0.1", echo.port, timeout=5)
    took = time.monotonic() - t0
    try:
        t.check_eq(rep, 0, "CONNECT right after the shortage (%.3f s)"
                   % took)
        t.echo_check(s, b"after the shortage")
    finally:
        s.close()
    # The worker may still be in its 1 s accept pause after EMFILE.
    t.check(took < 4.0, "CONNECT took %.3f s" % took)
    t.check(d.alive(), "sluiced died")
    log = d.log_since(mark)
    t.check("skipped for" not in log, "cool-down after all:\n%s" % log)


t.run(main)
