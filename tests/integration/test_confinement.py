#!/usr/bin/env python3
"""
Confinement of the children, read from /proc while sluiced runs:

every worker (comm "sluice-worker", exactly `workers` of them) and the
resolver (comm "sluice-resolver", exactly one), all direct children of the
master (comm "sluiced"):
- Seccomp: 2 (filter mode), NoNewPrivs: 1
- no uid or gid 0 among real/effective/saved/fs, no group 0, and the
  configured user (nobody)
- CapEff, CapPrm, CapInh and CapAmb all zero
- root directory (readlink /proc/PID/root) is the configured chroot, an
  empty root-owned 0755 directory sluiced created
The master dropped capabilities: its CapEff is a strict subset of the
test's own (full) set.
"""
import os
import pwd
import stat

import sltest as t


def main():
    d = t.Sluiced(workers=3)
    t.check(not os.path.exists(d.chroot), "chroot exists before start")
    d.start()
    nobody = pwd.getpwnam("nobody")

    st = os.lstat(d.chroot)
    t.check(stat.S_ISDIR(st.st_mode), "chroot is not a directory")
    t.check_eq(stat.S_IMODE(st.st_mode), 0o755, "chroot mode")
    t.check_eq((st.st_uid, st.st_gid), (0, 0), "chroot owner")
    t.check_eq(os.listdir(d.chroot), [], "chroot contents")

    t.check_eq(t.proc_stat(d.pid)[0], "sluiced", "master comm")
    kids = d.children()
    comms = sorted(kids.values())
    t.check_eq(comms, ["sluice-resolver"] + ["sluice-worker"] * 3,
               "comm names of the master's children")
    for pid, comm in sorted(kids.items()):
        who = "%s (pid %d)" % (comm, pid)
        t.step("checking %s" % who)
        t.check_confined(pid, d.chroot, nobody.pw_uid, nobody.pw_gid, who)
        t.check_eq(t.proc_stat(pid)[2], d.pid, "%s parent" % who)

    t.step("master capabilities")
    m = int(t.proc_status(d.pid)["CapEff"], 16)
    mine = t.my_cap_eff()
    t.check(m & ~mine == 0, "master CapEff %x has capabilities the test "
            "process (%x) lacks" % (m, mine))
    t.check(m != mine, "master CapEff %016x is the full set: it dropped "
            "nothing" % m)
    t.step("master CapEff %016x (test process %016x)" % (m, mine))

    # Still confined after serving a session (nothing re-granted lazily).
    echo = t.echo_server()
    s = t.s5_tunnel(d.port, "127.0.0.1", echo.port)
    t.echo_check(s, b"ping")
    s.close()
    for pid in d.workers():
        t.check_eq(t.proc_status(pid)["CapEff"], "0000000000000000",
                   "CapEff of worker %d after a session" % pid)


t.run(main)
