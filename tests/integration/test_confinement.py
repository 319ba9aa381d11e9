#!/usr/bin/env python3
"""
Confinement of the children, read from /proc while sluiced runs:

every worker (comm "sluice-worker", exactly `workers` of them) and the
resolver (comm "sluice-resolver", exactly one), all direct children of the
master (comm "sluiced"):
- Seccomp: 2 (filter mode), NoNewPrivs: 1
- no uid or gid 0 among real/effective/saved/fs, no group 0, and the
  configured user: the workers `user` (nobody here), the resolver
  `resolver_user`, by default the dedicated _sluice-resolver, whose uid
  differs from the workers' (so no worker can signal or ptrace it)
- CapEff, CapPrm, CapInh and CapAmb all zero
- root directory (readlink /proc/PID/root) is the configured chroot, an
  empty root-owned 0755 directory sluiced created
The master dropped capabilities: its CapEff is a strict subset of the
test's own (full) set.

Without "user" and "resolver_user" the workers run as _sluice and the
resolver as _sluice-resolver (contrib/deps.sh creates both).  A
resolver_user with the workers' uid, or an unknown one, is refused by -t
and by -c alike: exit 1, one line on stderr naming the key.
"""
import json
import os
import pwd
import stat
import subprocess

import sltest as t


def sluice_user(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise t.Fail("no user %s: run the install step (contrib/deps.sh)"
                     % name)


def ids(pid):
    s = t.proc_status(pid)
    return int(s["Uid"].split()[0]), int(s["Gid"].split()[0])


def refused(conf, want):
    """-t and -c both exit 1 with exactly `want` after the file name."""
    d = t.Sluiced(name="refused", workers=1, dns=False, **conf)
    for opt in (["-t"], []):
        r = subprocess.run([t.sluiced_path()] + opt + ["-c", d.confpath],
                           capture_output=True, text=True, timeout=20,
                           stdin=subprocess.DEVNULL)
        line = "sluiced: %s: %s\n" % (d.confpath, want)
        t.check_eq((r.returncode, r.stdout, r.stderr), (1, "", line),
                   "sluiced %s-c on %s" % ("".join(x + " " for x in opt),
                                            json.dumps(d.conf)))


def check_users(nobody):
    t.step("a resolver_user with the workers' uid is refused")
    refused({"resolver_user": "nobody"},
            'resolver_user: "nobody" has the uid of user "nobody" (%d); '
            "the resolver needs a uid of its own" % nobody.pw_uid)
    refused({"user": "_sluice-resolver"},
            'resolver_user: "_sluice-resolver" has the uid of user '
            '"_sluice-resolver" (%d); the resolver needs a uid of its own'
            % sluice_user("_sluice-resolver").pw_uid)
    refused({"resolver_user": "no-such-resolver-sluice-it"},
            'resolver_user: unknown user "no-such-resolver-sluice-it"')

    t.step("defaults: workers as _sluice, the resolver as _sluice-resolver")
    w, r = sluice_user("_sluice"), sluice_user("_sluice-resolver")
    d = t.Sluiced(name="defaults", workers=1, user=None).start()
    t.check("user" not in d.conf and "resolver_user" not in d.conf,
            "the defaults daemon sets a user")
    t.check_eq(ids(d.workers()[0]), (w.pw_uid, w.pw_gid), "worker uid/gid")
    t.check_eq(ids(d.resolver()), (r.pw_uid, r.pw_gid), "resolver uid/gid")
    d.cleanup()


def main():
    d = t.Sluiced(workers=3)
    t.check(not os.path.exists(d.chroot), "chroot exists before start")
    d.start()
    nobody = pwd.getpwnam("nobody")
    resolver = sluice_user("_sluice-resolver")
    t.check(resolver.pw_uid != nobody.pw_uid,
            "_sluice-resolver has nobody's uid %d" % nobody.pw_uid)

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
        u = resolver if comm == "sluice-resolver" else nobody
        t.check_confined(pid, d.chroot, u.pw_uid, u.pw_gid, who)
        t.check_eq(t.proc_stat(pid)[2], d.pid, "%s parent" % who)
    r = ids(d.resolver())[0]
    for pid in d.workers():
        t.check(ids(pid)[0] != r, "worker %d shares the resolver's uid %d"
                % (pid, r))

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
    d.cleanup()

    check_users(nobody)


t.run(main)
