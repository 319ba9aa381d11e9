#!/usr/bin/env python3
"""
Fault injection: descriptor exhaustion with 600 idle clients (issue 14).

sluiced is started under `prlimit --nofile=256:256`, so each of its two
workers may hold at most 256 descriptors; max_threads is raised to 2000
(max_handshakes 1000) so that the admission limits do not close the idle
clients first: the descriptor limit is the one that bites.  Then:

- 600 TCP connections are opened to the listener and send nothing: more
  than the two workers together can hold, so accept() meets EMFILE;
- while they sit there, the workers must not spin: their user + system
  CPU time (/proc/PID/stat utime + stime) over 2 s stays under 0.3 s
  (a worker retrying accept() on EMFILE in a loop would burn ~2 s);
- the master and both workers are still the same processes;
- once the clients close, a normal SOCKS5 session works again within a
  few seconds (the worker's accept pause after EMFILE is 1 s).
"""
import os
import resource
import shutil
import socket
import subprocess
import time

import sltest as t

NIDLE = 600
NOFILE = 256
SPIN_WINDOW_S = 2.0
SPIN_MAX_S = 0.3
RECOVER_S = 5.0


class LimitedSluiced(t.Sluiced):
    """A Sluiced started through prlimit: its descriptor limit (and so
    every child's, inherited across fork and exec) is NOFILE.  prlimit
    execs sluiced, so the pid is the master's."""

    def start(self, timeout=15):
        self._logf = open(self.logpath, "wb")
        self.proc = subprocess.Popen(
            [shutil.which("prlimit"), "--nofile=%d:%d" % (NOFILE, NOFILE),
             t.sluiced_path(), "-c", self.confpath],
            stdin=subprocess.DEVNULL, stdout=self._logf,
            stderr=subprocess.STDOUT, close_fds=True)
        self.pid = self.proc.pid
        t.step("%s: started pid %d on port %d under prlimit --nofile=%d"
               % (self.name, self.pid, self.port, NOFILE))
        self.wait_ready(timeout)
        return self


def cpu_ticks(pid):
    """utime + stime of pid in clock ticks (0 if it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    fields = data[data.rfind(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def nofile_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        line = [x for x in f if x.startswith("Max open files")][0]
    return [int(x) for x in line.split()[3:5]]


def nfds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except (FileNotFoundError, ProcessLookupError):
        return 0


def open_idle(port, n):
    """n non-blocking connects to port; they send nothing.  Those past
    the workers' descriptors wait in the listen queue (or retry SYN)."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    return socks


def main():
    t.require_tool("prlimit")
    # The test itself holds 600+ sockets.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = NIDLE + 256
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            raise t.Skip("RLIMIT_NOFILE hard limit %d < %d" % (hard, want))
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    echo = t.echo_server()
    d = LimitedSluiced(name="fault-fds", workers=2, max_threads=2000,
                       timeout=30).start()
    workers = d.workers()
    t.check_eq(len(workers), 2, "workers")
    for pid in [d.pid] + workers:
        t.check_eq(nofile_limit(pid), [NOFILE, NOFILE],
                   "pid %d descriptor limit" % pid)

    t.step("a session works before the flood")
    s = t.s5_tunnel(d.port, "127.0.0.1", echo.port)
    t.echo_check(s, os.urandom(64), "echo before the flood")
    s.close()

    mark = d.mark()
    t.step("%d idle connections that send nothing" % NIDLE)
    idle = open_idle(d.port, NIDLE)
    t.at_exit(lambda: [c.close() for c in idle])

    def full():
        return all(nfds(w) >= NOFILE - 8 for w in workers)
    t.wait_until(full, 10, "both workers near their %d descriptors "
                 "(now %r)" % (NOFILE, [nfds(w) for w in workers]))
    held = [nfds(w) for w in workers]
    t.step("workers hold %r descriptors" % held)

    t.step("no CPU spin over %.1f s" % SPIN_WINDOW_S)
    hz = os.sysconf("SC_CLK_TCK")
    before = sum(cpu_ticks(w) for w in workers)
    time.sleep(SPIN_WINDOW_S)
    used = (sum(cpu_ticks(w) for w in workers) - before) / hz
    t.step("workers used %.2f s of CPU in %.1f s" % (used, SPIN_WINDOW_S))
    t.check(used < SPIN_MAX_S, "workers used %.2f s of CPU in %.1f s with "
            "no descriptor left (spinning on EMFILE?)"
            % (used, SPIN_WINDOW_S))
    t.check(d.alive(), "sluiced died under descriptor exhaustion")
    t.check_eq(d.workers(), workers, "workers after the flood")
    log = d.log_since(mark)
    t.check("Too many open files" in log or "EMFILE" in log,
            "the log does not name the shortage (EMFILE)")

    t.step("close the idle clients: a normal session works again")
    for c in idle:
        c.close()
    idle.clear()
    t0 = time.monotonic()

    def session_ok():
        try:
            s = t.s5_tunnel(d.port, "127.0.0.1", echo.port, timeout=2)
        except (t.Fail, OSError):
            return False
        try:
            payload = os.urandom(64)
            t.echo_check(s, payload, "echo after the flood")
        except (t.Fail, OSError):
            return False
        finally:
            s.close()
        return True
    t.wait_until(session_ok, RECOVER_S, "a working session after the "
                 "idle clients closed", interval=0.1)
    took = time.monotonic() - t0
    t.step("recovered in %.2f s" % took)
    # Every worker serves again, not just one of them.
    t.wait_until(lambda: all(nfds(w) < NOFILE // 2 for w in workers), 10,
                 "the workers give the clients' descriptors back")
    for i in range(20):
        t.check(session_ok(), "session %d after the recovery" % i)
    t.check_eq(d.workers(), workers, "workers at the end")
    t.check(d.alive(), "sluiced died")


t.run(main)
