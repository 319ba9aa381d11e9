#!/usr/bin/env python3
"""
sluiced as a container's entrypoint (contrib/Containerfile), without a
container engine: the test makes the PID namespace itself with
`unshare --pid --fork --mount-proc` and starts sluiced the way the image
does, with no -c and the configuration in $SLUICE_CONFIG.

1. sluiced is PID 1 in its namespace (NSpid in /proc/PID/status ends in
   1), serves, and writes its log to stderr (stdout stays empty).
2. An orphan it never started (a shell entered into the namespace with
   nsenter starts `sleep` in the background and exits) is re-parented to
   sluiced and, once it exits, reaped: no zombie child is left.
3. The HEALTHCHECK: `sluicectl -s SOCK status` exits 0.  While the
   control socket has not landed the check reports "CONTROL PENDING" and
   the test fails at the end (after the other checks ran).
4. SIGTERM with a session open: the session still relays during the
   drain, is cut at shutdown_timeout (1 s), and sluiced exits 0, so the
   container stops with status 0.
"""
import os
import signal
import subprocess
import time

import sltest as t


class Contained(t.Sluiced):
    """A Sluiced that is PID 1 of a new PID namespace; self.pid is its
    pid as seen here, self.proc the unshare process (whose exit status is
    sluiced's)."""

    def start(self, timeout=15):
        t.require_tool("unshare")
        self.outpath = os.path.join(self.tmp, "stdout.log")
        self._logf = open(self.logpath, "wb")
        self._outf = open(self.outpath, "wb")
        env = dict(os.environ, SLUICE_CONFIG=self.confpath)
        env.pop("NOTIFY_SOCKET", None)
        self.proc = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc",
             t.sluiced_path()], env=env, stdin=subprocess.DEVNULL,
            stdout=self._outf, stderr=self._logf, close_fds=True)
        self.pid = self.proc.pid
        def inner():
            self.check_alive()
            kids = t.children_of(self.proc.pid)
            return next(iter(kids), None)
        self.pid = t.wait_until(inner, 5, "sluiced under unshare")
        t.at_exit(self._outf.close)
        t.step("%s: pid %d (unshare %d) on port %d"
               % (self.name, self.pid, self.proc.pid, self.port))
        self.wait_ready(timeout)
        return self

    def stdout(self):
        with open(self.outpath, "rb") as f:
            return f.read().decode("utf-8", "replace")


def all_children(ppid):
    """{pid: (comm, state)} of every child of ppid, zombies included."""
    kids = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            s = t.proc_stat(int(name))
            if s is not None and s[2] == ppid:
                kids[int(name)] = (s[0], s[1])
    return kids


def check_pid1(d):
    st = t.proc_status(d.pid)
    nspid = st.get("NSpid", "").split()
    t.check(len(nspid) >= 2, "sluiced (pid %d) is not in a child PID "
            "namespace: NSpid %r" % (d.pid, nspid))
    t.check_eq(nspid[-1], "1", "sluiced's pid in its own namespace")
    t.check_eq(t.proc_stat(d.pid)[0], "sluiced", "PID 1's name")
    t.step("sluiced is PID 1 inside (NSpid %s)" % " ".join(nspid))


def check_stderr(d):
    t.check(d.find_log(r"sluiced info: sluiced \S+ started"),
            "no 'started' line on stderr")
    out = d.stdout()
    t.check(out == "", "sluiced wrote to stdout: %r" % out[:200])
    t.step("the log goes to stderr, stdout is empty")


def check_reaps_orphan(d):
    t.require_tool("nsenter")
    r = subprocess.run(
        ["nsenter", "--target", str(d.pid), "--pid", "--mount", "--",
         "sh", "-c", "sleep 1 </dev/null >/dev/null 2>&1 & exit 0"],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
    # (sleep's output goes to /dev/null: a pipe it held would make run()
    # wait for it to exit.)
    t.check_eq(r.returncode, 0, "nsenter status (stderr %r)" % r.stderr)
    def orphan():
        for pid, (comm, _) in all_children(d.pid).items():
            if comm == "sleep":
                return pid
        return None
    pid = t.wait_until(orphan, 3, "the orphaned sleep to be re-parented "
                       "to sluiced")
    t.step("orphan sleep (pid %d) is a child of sluiced" % pid)
    t.wait_until(lambda: t.proc_stat(pid) is None, 5,
                 "sluiced to reap the orphan (pid %d, state %r)"
                 % (pid, (t.proc_stat(pid) or ("", "gone"))[1]))
    zombies = {p: c for p, c in all_children(d.pid).items() if c[1] == "Z"}
    t.check(not zombies, "zombie children of sluiced: %r" % zombies)
    t.step("the orphan was reaped; no zombie children")


def check_healthcheck(d, sock):
    """None when `sluicectl status` works, else what is pending."""
    ctl = os.environ.get("SLUICECTL")
    if not ctl:
        raise t.Fail("SLUICECTL is not set (run through meson test)")
    r = subprocess.run([ctl, "-s", sock, "status"], capture_output=True,
                       timeout=10, stdin=subprocess.DEVNULL)
    err = r.stderr.decode(errors="replace").strip()
    if r.returncode == 0:
        t.step("HEALTHCHECK sluicectl status: exit 0")
        return None
    if r.returncode == 2 and not os.path.exists(sock):
        t.step("HEALTHCHECK: CONTROL PENDING (exit 2: %s)" % err)
        return ("CONTROL PENDING: `sluicectl -s %s status` exits 2 (%s): "
                "the control socket has not landed; this check must pass "
                "once it does" % (sock, err))
    raise t.Fail("HEALTHCHECK `sluicectl -s %s status` exited %d: %s"
                 % (sock, r.returncode, err))


def check_drain(d, echo):
    s = t.s5_tunnel(d.port, "127.0.0.1", echo.port)
    t.echo_check(s, b"before SIGTERM\n")
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    t.echo_check(s, b"during the drain\n", "echo after SIGTERM")
    rc = d.wait_exit(1 + 4)
    dt = time.monotonic() - t0
    t.step("PID 1 exited %d, %.3f s after SIGTERM" % (rc, dt))
    t.check_eq(rc, 0, "exit status of the namespace's PID 1")
    t.check(dt >= 0.8, "exited after %.3f s, before shutdown_timeout (1 s) "
            "with a session open" % dt)
    t.wait_closed(s, 3, "the open session to be closed")
    s.close()
    t.check(d.find_log(r"shutdown_timeout \(1 s\) reached") or
            d.sessions(), "no trace of the cut session in the log")


def main():
    t.require_tool("unshare")
    echo = t.echo_server()
    tmp = t.mkdtemp()
    # The Containerfile makes /run/sluice; here a directory stands for it.
    rundir = os.path.join(tmp, "run")
    os.mkdir(rundir, 0o755)
    sock = os.path.join(rundir, "sluiced.sock")
    d = Contained(name="pid1", workers=2, shutdown_timeout=1, control=sock)
    d.start()
    check_pid1(d)
    check_stderr(d)
    check_reaps_orphan(d)
    pending = check_healthcheck(d, sock)
    check_drain(d, echo)
    if pending:
        raise t.Fail(pending)


t.run(main)
