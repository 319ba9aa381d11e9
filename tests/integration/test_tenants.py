#!/usr/bin/env python3
"""
Tenants (README "Tenants"): the README's two-tenant example, run.

- Each tenant's workers run under their own uid (uid_base + 1 + index),
  the resolvers under resolver_user: three distinct uids; every child is
  confined.
- Each worker holds only its own tenant's listening sockets (the socket
  inodes in /proc/PID/fd against /proc/net/tcp) and maps only its own
  tenant's shared region (/proc/PID/maps names the memfd; no fd of it
  names the other tenant's).
- Traffic through both; `sluicectl --tenant` scopes status, links and
  sessions; a tenant's metrics carry tenant="NAME".
- A reload that changes only tenant alpha (a listener added) starts a new
  generation for alpha and leaves beta alone: same worker pids, same
  generation, and beta's long session streams on byte-exact.  A reload
  of beta alone (`reload --tenant beta`) replaces beta's processes even
  though its config did not change, and the long session, served on by
  its draining generation, still finishes byte-exact.
- `sluicectl --tenant beta kill --client 127.0.0.0/8` ends beta's session
  and leaves alpha's, from the same client address, streaming.
- A bad tenants config is refused with the JSON path (-t exit 1):
  overlapping listeners, a tenant without links, two tenants with one
  user, a listener on the root beside "tenants".
"""
import copy
import hashlib
import json
import os
import socket
import subprocess
import threading
import urllib.request

import sltest as t

sluicectl_path = os.environ.get("SLUICECTL", "sluicectl")


class TenantSluiced(t.Sluiced):
    """A Sluiced whose config is a tenants config (several pools)."""

    def __init__(self, conf, pools):
        super().__init__(name="sluiced", workers=1)
        conf = dict(conf)
        conf["chroot"] = self.chroot
        conf["shutdown_timeout"] = 10
        conf["nameservers"] = ["127.0.0.1:%d" % self.dns.port]
        conf["control"] = os.path.join(self.tmp, "ctl.sock")
        self.ctl = conf["control"]
        # pools: {tenant: workers}; a resolver each.
        self.pools = pools
        self.write_conf(conf)
        self.port = int(conf["tenants"][0]["listeners"][0]["listen"]
                        .rsplit(":", 1)[1])

    def wait_ready(self, timeout=15):
        want_w = sum(self.pools.values())

        def ready():
            self.check_alive()
            kids = self.children()
            w = [p for p, c in kids.items() if c == "sluice-worker"]
            r = [p for p, c in kids.items() if c == "sluice-resolver"]
            if len(w) != want_w or len(r) != len(self.pools) or \
                    len(kids) != len(w) + len(r):
                return False
            if not all(t.seccomp_mode(p) == 2 for p in kids):
                return False
            return all(t.listening(port) for port in self.ports())
        t.wait_until(ready, timeout, "every tenant's processes confined "
                     "and every port listening")

    def ports(self):
        return [int(l["listen"].rsplit(":", 1)[1])
                for tn in self.conf["tenants"] for l in tn["listeners"]]


def ctl(d, *args):
    r = subprocess.run([sluicectl_path, "-s", d.ctl, "--json"] + list(args),
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise t.Fail("sluicectl %s: %d %s" % (" ".join(args), r.returncode,
                                               r.stderr))
    return json.loads(r.stdout) if r.stdout.strip() else None


def ctl_fails(d, *args):
    r = subprocess.run([sluicectl_path, "-s", d.ctl] + list(args),
                       capture_output=True, text=True, timeout=30)
    t.check(r.returncode != 0, "sluicectl %s should fail" % " ".join(args))
    return r.stderr


def workers_by_tenant(d):
    """{tenant: [pid, ...]} from the status the master gives."""
    st = ctl(d, "status")
    out = {}
    for p in st["processes"]:
        if p["role"] == "worker" and p["state"] == "ready":
            out.setdefault(p["tenant"], []).append(p["pid"])
    return {k: sorted(v) for k, v in out.items()}


def uid_of(pid):
    return int(t.proc_status(pid)["Uid"].split()[0])


def listening_inodes(port):
    return {ino for fam in (4, 6) for lp, _, st, ino in t._tcp_table(fam)
            if lp == port and st == "0A"}


def check_isolation(d, conf, uid_base):
    wk = workers_by_tenant(d)
    names = [tn["name"] for tn in conf["tenants"]]
    t.check_eq(sorted(wk), sorted(names), "tenants with workers")
    for i, name in enumerate(names):
        want_uid = uid_base + 1 + i
        for pid in wk[name]:
            t.check_eq(uid_of(pid), want_uid, "uid of %s's worker %d"
                       % (name, pid))
            t.check_confined(pid, d.chroot, want_uid, want_uid,
                             "%s worker %d" % (name, pid))
    res = [p for p, c in d.children().items() if c == "sluice-resolver"]
    for pid in res:
        u = uid_of(pid)
        t.check(u not in (uid_base + 1, uid_base + 2),
                "resolver %d shares a worker's uid %d" % (pid, u))
    t.step("uids: alpha %d, beta %d, resolvers %s" % (
        uid_base + 1, uid_base + 2, sorted({uid_of(p) for p in res})))
    for i, name in enumerate(names):
        own = set()
        for l in conf["tenants"][i]["listeners"]:
            own |= listening_inodes(int(l["listen"].rsplit(":", 1)[1]))
        other = set()
        for j, tn in enumerate(conf["tenants"]):
            if j != i:
                for l in tn["listeners"]:
                    other |= listening_inodes(
                        int(l["listen"].rsplit(":", 1)[1]))
        for pid in wk[name]:
            held = t.socket_inodes(pid)
            t.check(held & own, "%s worker %d holds none of its "
                    "listening sockets" % (name, pid))
            t.check(not (held & other), "%s worker %d holds another "
                    "tenant's listening socket" % (name, pid))
            with open("/proc/%d/maps" % pid) as f:
                maps = f.read()
            t.check("memfd:sluice-counters-%s" % name in maps,
                    "%s worker %d maps its own region" % (name, pid))
            for o in names:
                if o == name:
                    continue
                t.check("sluice-counters-%s" % o not in maps,
                        "%s worker %d maps %s's region" % (name, pid, o))
                for fd in os.listdir("/proc/%d/fd" % pid):
                    try:
                        link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                    except OSError:
                        continue
                    t.check("sluice-counters-%s" % o not in link and
                            "sluice-config-%s" % o not in link,
                            "%s worker %d holds %s's memfd (%s)"
                            % (name, pid, o, link))
    t.step("each worker holds only its tenant's sockets and region")


class LongSession:
    """A SOCKS5 session to an echo server, streaming in a thread."""

    def __init__(self, port, echo_port):
        self.s = t.s5_tunnel(port, "127.0.0.1", echo_port)
        self.sent = hashlib.sha256()
        self.got = hashlib.sha256()
        self.stop = threading.Event()
        self.error = None
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        try:
            while not self.stop.is_set():
                data = os.urandom(4096)
                self.s.sendall(data)
                self.sent.update(data)
                self.got.update(t.recv_exact(self.s, len(data), "echo"))
                self.stop.wait(0.01)        # pacing, not a wait for state
        except Exception as e:              # noqa: reported by finish()
            self.error = repr(e)

    def finish(self, what):
        self.stop.set()
        self.th.join(10)
        t.check(self.error is None, "%s: %s" % (what, self.error))
        t.check_eq(self.got.hexdigest(), self.sent.hexdigest(),
                   "%s bytes" % what)
        self.s.close()


def refused(conf, want, d):
    path = os.path.join(d.tmp, "bad.json")
    with open(path, "w") as f:
        json.dump(conf, f)
    r = subprocess.run([t.sluiced_path(), "-t", "-c", path],
                       capture_output=True, text=True, timeout=10)
    t.check_eq(r.returncode, 1, "-t on a config with %s" % want)
    t.check(want in r.stderr, "-t error %r names %r" % (r.stderr, want))


def check_refusals(conf, d):
    bad = copy.deepcopy(conf)
    bad["tenants"][1]["listeners"][0]["listen"] = \
        bad["tenants"][0]["listeners"][0]["listen"]
    refused(bad, "tenants[1].listeners[0]", d)
    bad = copy.deepcopy(conf)
    del bad["tenants"][1]["balancer"]
    refused(bad, "tenants[1]", d)
    bad = copy.deepcopy(conf)
    bad["tenants"][0]["user"] = "nobody"
    bad["tenants"][1]["user"] = "nobody"
    refused(bad, "tenants[1].user", d)
    bad = copy.deepcopy(conf)
    bad["listeners"] = conf["tenants"][0]["listeners"]
    refused(bad, "listeners", d)
    t.step("bad tenants configs refused with their JSON paths")


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=5) as r:
        return r.read().decode()


def main():
    t.require_root()
    example = t.readme_example("tenants")
    conf = copy.deepcopy(example)
    for tn in conf["tenants"]:
        tn["listeners"] = t.with_free_ports(tn["listeners"])
    uid_base = conf["uid_base"]
    pools = {tn["name"]: tn.get("workers", 1) for tn in conf["tenants"]}
    d = TenantSluiced(conf, pools)
    check_refusals(d.conf, d)
    d.start()
    conf = d.conf
    check_isolation(d, conf, uid_base)
    echo = t.echo_server()
    a_port = int(conf["tenants"][0]["listeners"][0]["listen"]
                 .rsplit(":", 1)[1])
    b_port = int(conf["tenants"][1]["listeners"][0]["listen"]
                 .rsplit(":", 1)[1])
    m_port = int(conf["tenants"][1]["listeners"][1]["listen"]
                 .rsplit(":", 1)[1])
    for port in (a_port, b_port):
        s = t.s5_tunnel(port, "127.0.0.1", echo.port)
        s.sendall(b"ping")
        t.check_eq(t.recv_exact(s, 4), b"ping", "echo via port %d" % port)
        s.close()
    long_b = LongSession(b_port, echo.port)
    hold_a = t.s5_tunnel(a_port, "127.0.0.1", echo.port)

    # Scoped commands.
    st = ctl(d, "--tenant", "beta", "status")
    t.check_eq([x["name"] for x in st["tenants"]], ["beta"],
               "status --tenant beta: tenants")
    t.check(all(p["tenant"] == "beta" for p in st["processes"]),
            "status --tenant beta lists only beta's processes")
    links = ctl(d, "--tenant", "alpha", "links")["links"]
    t.check_eq([(x["tenant"], x["name"]) for x in links],
               [("alpha", "direct")], "links --tenant alpha")
    rows = t.wait_until(
        lambda: ctl(d, "--tenant", "beta", "sessions") or None,
        5, "beta's long session listed")
    t.check(all(r["tenant"] == "beta" for r in rows),
            "sessions --tenant beta: only beta's rows")
    all_rows = ctl(d, "sessions")
    t.check_eq(sorted({r["tenant"] for r in all_rows}), ["alpha", "beta"],
               "sessions without --tenant: both tenants")
    err = ctl_fails(d, "--tenant", "gamma", "status")
    t.check("no tenant" in err, "unknown tenant refused: %r" % err)
    err = ctl_fails(d, "--tenant", "beta", "loglevel", "debug")
    t.check("every tenant" in err, "loglevel --tenant refused: %r" % err)
    text = scrape(m_port)
    t.check('sluice_link_sessions_open{tenant="beta",link="out"} 1' in
            text, "beta's metrics carry tenant=\"beta\" and count its "
            "session: %s" % [x for x in text.splitlines()
                             if x.startswith("sluice_link_sessions_open")])
    t.check("alpha" not in text, "beta's metrics say nothing of alpha")
    t.step("sluicectl --tenant and metrics are scoped")

    # Reload that changes alpha only.
    before = workers_by_tenant(d)
    gen_b = {x["name"]: x["generation"]
             for x in ctl(d, "status")["tenants"]}
    new = copy.deepcopy(d.conf)
    extra = t.with_free_ports([{"name": "socks2", "kind": "socks5",
                                "listen": "127.0.0.1:0"}])[0]
    new["tenants"][0]["listeners"].append(extra)
    d.write_conf(new)
    ctl(d, "reload")
    after = workers_by_tenant(d)
    gens = {x["name"]: x["generation"] for x in ctl(d, "status")["tenants"]}
    t.check(gens["alpha"] > gen_b["alpha"], "alpha has a new generation")
    t.check_eq(gens["beta"], gen_b["beta"], "beta's generation")
    t.check_eq(after["beta"], before["beta"], "beta's worker pids")
    t.check(not set(after["alpha"]) & set(before["alpha"]),
            "alpha's workers replaced")
    port2 = int(extra["listen"].rsplit(":", 1)[1])
    s = t.s5_tunnel(port2, "127.0.0.1", echo.port)
    s.sendall(b"pong")
    t.check_eq(t.recv_exact(s, 4), b"pong", "alpha's new listener")
    s.close()
    hold_a.sendall(b"held")
    t.check_eq(t.recv_exact(hold_a, 4), b"held",
               "alpha's session across its reload")
    hold_a.close()
    t.check(long_b.error is None, "beta's long session: %s" % long_b.error)
    t.step("reload of alpha: beta untouched (pids %s, generation %d)"
           % (after["beta"], gens["beta"]))

    # beta alone, unchanged: new processes all the same.
    ctl(d, "--tenant", "beta", "reload")
    again = workers_by_tenant(d)
    t.check(not set(again["beta"]) & set(after["beta"]),
            "reload --tenant beta replaces beta's workers")
    t.check_eq(again["alpha"], after["alpha"], "alpha's workers")
    long_b.finish("beta's long session across reload --tenant beta")
    t.step("reload --tenant beta: beta restarted, alpha untouched, the "
           "long session byte-exact")

    # kill, scoped: beta's sessions from 127.0.0.0/8 go, alpha's stay.
    keep_a = t.s5_tunnel(a_port, "127.0.0.1", echo.port)
    gone_b = t.s5_tunnel(b_port, "127.0.0.1", echo.port)
    t.wait_until(lambda: len(ctl(d, "--tenant", "beta", "sessions")) == 1,
                 5, "beta's one session listed")
    r = ctl(d, "--tenant", "beta", "kill", "--client", "127.0.0.0/8")
    t.check_eq(r["killed"], 1, "sessions killed with --tenant beta")
    gone_b.settimeout(5)
    t.check_eq(gone_b.recv(1), b"", "beta's session closed by the kill")
    keep_a.sendall(b"kept")
    t.check_eq(t.recv_exact(keep_a, 4), b"kept",
               "alpha's session after beta's kill")
    keep_a.close()
    gone_b.close()
    t.step("kill --tenant beta --client: only beta's session ended")
    echo.close()


t.run(main)
