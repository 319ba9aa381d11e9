#!/usr/bin/env python3
"""
The master keeps only the capabilities its config needs at run time, and
refuses a chroot directory whose parents are not safe (issue 14, items 3
and 5).

- default config (no link bound to an interface): the master's CapEff,
  CapPrm and CapBnd (decoded from /proc/PID/status) hold none of
  CAP_NET_ADMIN, CAP_NET_BIND_SERVICE, CAP_NET_RAW, but still CAP_KILL,
  CAP_SETUID, CAP_SETGID, CAP_SYS_CHROOT; the start-up line says
  "keeping no network capabilities".
- a direct link on interface lo: CAP_NET_RAW kept (all three sets) and the
  start-up line says "keeping CAP_NET_RAW: link lo0 binds to interface
  lo"; no CAP_NET_ADMIN or CAP_NET_BIND_SERVICE.  A CONNECT through that
  link works (the master makes the interface-bound socket at run time
  with what it kept).
- such a link with source 127.0.0.1 and a source_port below 1024 (bound
  by the master at run time): CAP_NET_BIND_SERVICE kept too, and named;
  a CONNECT through it reaches the origin from that address and port.
- a chroot directory (root, 0755) under a 0777 parent: `sluiced -c`
  exits 1 and names the parent; the same parent with the sticky bit
  (1777, as /tmp) is accepted.
"""
import os
import random
import re
import socket
import subprocess

import sltest as t

CAP = {"CAP_NET_BIND_SERVICE": 10, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13,
       "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7,
       "CAP_SYS_CHROOT": 18}
NET = ("CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW")
BASE = ("CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SYS_CHROOT")
START_RE = r"sluiced \S+ started: .* master keeps (.*)$"


def cap_sets(pid):
    """{"CapEff": set of names, ...} for the caps named in CAP."""
    st = t.proc_status(pid)
    t.check(st is not None, "master %d gone" % pid)
    out = {}
    for k in ("CapEff", "CapPrm", "CapBnd"):
        mask = int(st[k], 16)
        out[k] = {n for n, bit in CAP.items() if mask & (1 << bit)}
    return out


def check_caps(d, want_net):
    sets = cap_sets(d.pid)
    for k, have in sets.items():
        for n in BASE:
            t.check(n in have, "%s: master %s lacks %s" % (d.name, k, n))
        for n in NET:
            t.check_eq(n in have, n in want_net,
                       "%s: %s in the master's %s" % (d.name, n, k))
    line = d.wait_log(START_RE).group(1)
    t.step("%s: start-up line: master keeps %s" % (d.name, line))
    return line


def test_default():
    d = t.Sluiced(name="default", workers=1).start()
    line = check_caps(d, ())
    t.check("; keeping no network capabilities" in line,
            "default: start-up line does not say no network caps: %r"
            % line)
    for n in NET:
        t.check(n not in line and n.lower() not in line,
                "default: %s named in %r" % (n, line))


def test_interface_link():
    d = t.Sluiced(name="lo-link", workers=1,
                  balancer={"links": [{"name": "lo0",
                                       "interface": "lo"}]}).start()
    line = check_caps(d, ("CAP_NET_RAW",))
    t.check("keeping CAP_NET_RAW: link lo0 binds to interface lo" in line,
            "lo-link: start-up line: %r" % line)
    t.check("CAP_NET_BIND_SERVICE" not in line and
            "cap_net_bind_service" not in line, "lo-link: %r" % line)
    srv = t.echo_server()
    s = t.s5_tunnel(d.port, "127.0.0.1", srv.port)
    t.echo_check(s, b"through the master's interface socket")
    s.close()
    t.check(not d.find_log(r"socket on interface"),
            "lo-link: the master failed to make an interface socket")


def free_low_port():
    """A port below 1024 that 127.0.0.1 can bind now (no TIME_WAIT)."""
    for _ in range(100):
        port = random.randint(600, 1023)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            pass
        finally:
            s.close()
    raise t.Fail("no free port below 1024")


def test_low_source_port():
    port = free_low_port()
    d = t.Sluiced(name="low-port", workers=1,
                  balancer={"links": [{"name": "lo1", "interface": "lo",
                                       "source": "127.0.0.1",
                                       "source_port": port}]}).start()
    line = check_caps(d, ("CAP_NET_RAW", "CAP_NET_BIND_SERVICE"))
    t.check("keeping CAP_NET_BIND_SERVICE: link lo1 binds source port "
            "%d on interface lo" % port in line, "low-port: %r" % line)
    srv = t.echo_server()
    s = t.s5_tunnel(d.port, "127.0.0.1", srv.port)
    t.echo_check(s, b"from a port below 1024")
    s.close()
    t.check(("127.0.0.1", port) in srv.peers,
            "low-port: origin saw %r, not 127.0.0.1:%d" % (srv.peers, port))


def test_chroot_parent():
    base = t.mkdtemp()
    parent = os.path.join(base, "open")
    os.mkdir(parent)
    os.chmod(parent, 0o777)
    root = os.path.join(parent, "empty")
    os.mkdir(root)
    os.chmod(root, 0o755)
    d = t.Sluiced(name="bad-chroot", workers=1, chroot=root)
    try:
        # Refused at start-up: it exits at once, before binding.
        r = subprocess.run([t.sluiced_path(), "-c", d.confpath],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=10)
    except subprocess.TimeoutExpired:
        raise t.Fail("sluiced -c started with a chroot under a 0777 "
                     "parent (killed after 10 s)")
    err = r.stderr.decode("utf-8", "replace")
    t.step("0777 parent: exit %d, %r" % (r.returncode, err.strip()))
    t.check_eq(r.returncode, 1, "sluiced -c with a chroot under a 0777 "
               "parent: exit status")
    t.check(re.search(r"chroot: %s: mode 0777 is group or world writable"
                      % re.escape(parent), err),
            "the error does not name the parent %s: %r" % (parent, err))
    # Sticky, as /tmp: only root may rename the root-owned entry in it.
    os.chmod(parent, 0o1777)
    d = t.Sluiced(name="sticky-chroot", workers=1, chroot=root).start()
    t.check(d.alive(), "sticky parent refused")


def main():
    test_chroot_parent()
    test_default()
    test_interface_link()
    test_low_source_port()


if __name__ == "__main__":
    t.run(main)
