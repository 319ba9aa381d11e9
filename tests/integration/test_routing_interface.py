#!/usr/bin/env python3
"""
`interface` links (SO_BINDTODEVICE through the master), in network
namespaces this test creates and deletes (names end in the test's pid).

    ns P (sluiced, curl)  --vethA--  ns A: origin "A" on 198.18.0.2
                          --vethB--  ns B: origin "B" on 198.18.0.2,
                                           a python SOCKS5 server on :1080

Both origins have the same address.  In P, vethA has 198.18.0.1/32,
vethB 198.18.0.3/32, and 198.18.0.0/24 is routed via vethA (metric 0)
and via vethB (metric 100): the routing table alone always picks vethA
(checked with `ip route get`), so only the interface binding can reach B.
Each origin answers "<its name> <peer address>".

- round_robin over links ifA (interface vethA) and ifB (vethB): 8 curl
  requests from inside P alternate A/B, 4 each; A saw 198.18.0.1, B saw
  198.18.0.3; the session log says via ifA / via ifB.
- every worker is still confined with no capabilities (check_confined:
  CapEff 0 and the rest), the socket came from the master; the master
  logged no "socket on interface" failure.
- a chain through an interface: socks5 link s5B (198.18.0.2:1080, B's
  SOCKS5 server) via ifB (which only allows port 1, so it is never picked
  itself): a request for 127.0.0.1:8000 reaches B's origin through B's
  SOCKS5 server ("B 127.0.0.1"), although the routing table points
  198.18.0.2 at A, where nothing listens on 1080.
- failover from a link on an interface that does not exist (ghost) to ifB:
  the session succeeds with "B", the master logs "link ghost: socket on
  interface ...", and SIGUSR1 counts ghost failed 1.
- vethA down: the round_robin daemon's sessions all still succeed via B
  (ifA's failures are retried on ifB), SIGUSR1 counts them, and after 3
  (max_fails default) ifA cools down.
- 20 CONNECTs to a closed port behind the interface links (round robin
  over ifA/ifB), and 20 to 127.0.0.1:9 through a link on interface lo:
  every reply is 0x05 and no worker dies (a refused connect closes the
  master-made socket at once).
- active health check through an interface link (ifA checks the origin
  at 198.18.0.2:8000 every 0.3 s, from worker 0 with a master-made
  socket): with vethA up both links serve; with vethA down "link ifA:
  health check failed 2 times (...), link down" and everything goes via
  B; with vethA up again (and its route back) "health check passed, link
  up" and both links serve again.
"""
import os
import pwd
import re
import select
import shutil
import subprocess
import sys
import time

import sltest as t

PID = os.getpid()
NS = {"P": "slrt-p-%d" % PID, "A": "slrt-a-%d" % PID,
      "B": "slrt-b-%d" % PID}
VETH = {"A": ("slA%dp" % PID, "slA%do" % PID),     # (proxy side, origin)
        "B": ("slB%dp" % PID, "slB%do" % PID)}
PROXY_IP = {"A": "198.18.0.1", "B": "198.18.0.3"}
ORIGIN_IP = "198.18.0.2"
ORIGIN_PORT = 8000
S5_PORT = 1080

ORIGIN_CODE = r"""
import signal, socket, sys
signal.alarm(100)                 # never outlive the test
name, port = sys.argv[1], int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(64)
print("ready", flush=True)
while True:
    c, a = s.accept()
    try:
        c.settimeout(5)
        buf = b""
        while b"\r\n\r\n" not in buf and len(buf) < 65536:
            d = c.recv(4096)
            if not d:
                break
            buf += d
        body = ("%s %s\n" % (name, a[0])).encode()
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n" % len(body) + body)
    except OSError:
        pass
    finally:
        c.close()
"""

SOCKS_CODE = r"""
import signal, sys
signal.alarm(100)
sys.path.insert(0, sys.argv[1])
from socks5_server import Socks5Server
srv = Socks5Server(host="0.0.0.0", port=int(sys.argv[2]))
print("ready", flush=True)
srv.thread.join()
"""


def ip(*args, ns=None, ok=False):
    cmd = ["ip"] + (["-n", ns] if ns else []) + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=15,
                       stdin=subprocess.DEVNULL)
    if r.returncode != 0 and not ok:
        raise t.Fail("%s: exit %d: %s" % (" ".join(cmd), r.returncode,
                                          r.stderr.strip()))
    return r


def setup_namespaces():
    if shutil.which("ip") is None:
        raise t.Skip("the ip command (iproute2) is not installed")
    r = ip("netns", "add", NS["P"], ok=True)
    if r.returncode != 0:
        raise t.Skip("cannot create a network namespace: %s"
                     % r.stderr.strip())
    t.at_exit(lambda: ip("netns", "del", NS["P"], ok=True))
    for k in ("A", "B"):
        ip("netns", "add", NS[k])
        t.at_exit(lambda n=NS[k]: ip("netns", "del", n, ok=True))
    for k in ("A", "B"):
        p, o = VETH[k]
        r = ip("link", "add", p, "type", "veth", "peer", "name", o, ok=True)
        if r.returncode != 0:
            raise t.Skip("cannot create a veth pair: %s" % r.stderr.strip())
        # Gone with its namespace; this is for a failure in between.
        t.at_exit(lambda p=p: ip("link", "del", p, ok=True))
        ip("link", "set", p, "netns", NS["P"])
        ip("link", "set", o, "netns", NS[k])
    ip("link", "set", "lo", "up", ns=NS["P"])
    for k, metric in (("A", "0"), ("B", "100")):
        p, o = VETH[k]
        ip("addr", "add", PROXY_IP[k] + "/32", "dev", p, ns=NS["P"])
        ip("link", "set", p, "up", ns=NS["P"])
        ip("link", "set", "lo", "up", ns=NS[k])
        ip("addr", "add", ORIGIN_IP + "/24", "dev", o, ns=NS[k])
        ip("link", "set", o, "up", ns=NS[k])
    for k, metric in (("A", "0"), ("B", "100")):
        ip("route", "add", "198.18.0.0/24", "dev", VETH[k][0], "src",
           PROXY_IP[k], "metric", metric, ns=NS["P"])
    r = ip("route", "get", ORIGIN_IP, ns=NS["P"])
    t.check(" dev %s " % VETH["A"][0] in r.stdout,
            "precondition: in P the routing table should send %s via %s: "
            "%r" % (ORIGIN_IP, VETH["A"][0], r.stdout))


def spawn_in(ns, args, what):
    """Start a helper process inside ns; wait for its "ready" line."""
    p = subprocess.Popen(["ip", "netns", "exec", ns] + args,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)

    def stop():
        if p.poll() is None:
            p.kill()
        p.wait(5)
    t.at_exit(stop)
    deadline = time.monotonic() + 10
    buf = b""
    while b"ready\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise t.Fail("%s did not become ready: %r" % (what, buf))
        r, _, _ = select.select([p.stdout], [], [], left)
        if r:
            d = os.read(p.stdout.fileno(), 4096)
            if not d:
                raise t.Fail("%s exited: %r" % (what, buf))
            buf += d
    return p


def listening_in(pid, port):
    """Port is listening in the network namespace of process pid."""
    for name in ("tcp", "tcp6"):
        try:
            with open("/proc/%d/net/%s" % (pid, name)) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            p = row.split()
            if len(p) > 3 and p[3] == "0A" and \
                    int(p[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


class NetnsSluiced(t.Sluiced):
    """A sluiced started inside a network namespace (ip netns exec, which
    execs it in place: the Popen's pid is the master)."""

    def __init__(self, ns, port, **kw):
        self.ns = ns
        # Nothing is looked up by name; a nameserver there that nobody
        # answers keeps it that way.
        super().__init__(dns=False, port=port,
                         nameservers=["127.0.0.1:53"], **kw)

    def start(self, timeout=15):
        self._logf = open(self.logpath, "wb")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, t.sluiced_path(), "-c",
             self.confpath], stdin=subprocess.DEVNULL, stdout=self._logf,
            stderr=subprocess.STDOUT, close_fds=True)
        self.pid = self.proc.pid
        t.step("%s: started pid %d in netns %s on port %d"
               % (self.name, self.pid, self.ns, self.port))
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=15):
        def ready():
            self.check_alive()
            kids = self.children()
            w = [p for p, c in kids.items() if c == "sluice-worker"]
            r = [p for p, c in kids.items() if c == "sluice-resolver"]
            if len(w) != self.nworkers or len(r) != 1:
                return False
            if not all(t.seccomp_mode(p) == 2 for p in kids):
                return False
            return listening_in(self.pid, self.port)
        t.wait_until(ready, timeout, "%s: workers, resolver and port %d "
                     "listening in %s" % (self.name, self.port, self.ns))


REPLIES_CODE = r"""
import socket, sys
port, host, dport, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4])
out = []
for i in range(n):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"\x05\x01\x00\x05\x01\x00\x01" + socket.inet_aton(host)
                  + dport.to_bytes(2, "big"))
        r = b""
        while len(r) < 12:
            d = s.recv(12 - len(r))
            if not d:
                break
            r += d
        out.append("%02x" % r[3] if len(r) >= 4 else "closed")
        s.close()
    except OSError as e:
        out.append(type(e).__name__)
print(" ".join(out))
"""


def replies(d, host, port, n):
    """n raw SOCKS5 CONNECTs to host:port through d, from inside its
    namespace, one after the other; the reply codes as hex strings."""
    r = subprocess.run(["ip", "netns", "exec", d.ns, sys.executable, "-c",
                        REPLIES_CODE, str(d.port), host, str(port), str(n)],
                       capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise t.Fail("raw SOCKS5 client failed: %s" % r.stderr.strip())
    return r.stdout.split()


def fetch(d, url):
    """curl through d, from inside its namespace; the body as text."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    cmd = ["ip", "netns", "exec", d.ns, "curl", "-sS", "--fail",
           "--max-time", "15", "--socks5", "127.0.0.1:%d" % d.port, url]
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=25, env=env,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise t.Fail("curl did not finish: %s" % " ".join(cmd))
    if r.returncode != 0:
        raise t.Fail("%s: curl %s exited %d: %s" % (
            d.name, url, r.returncode, r.stderr.decode(errors="replace")))
    return r.stdout.decode(errors="replace").strip()


def main():
    t.require_tool("curl")
    setup_namespaces()
    here = os.path.dirname(os.path.abspath(__file__))
    for k in ("A", "B"):
        spawn_in(NS[k], [sys.executable, "-c", ORIGIN_CODE, k,
                         str(ORIGIN_PORT)], "origin " + k)
    spawn_in(NS["B"], [sys.executable, "-c", SOCKS_CODE, here,
                       str(S5_PORT)], "SOCKS5 server in B")
    va, vb = VETH["A"][0], VETH["B"][0]
    rr = NetnsSluiced(NS["P"], 1080, name="rr", workers=2, balancer={
        "strategy": "round_robin",
        "links": [{"name": "ifA", "interface": va},
                  {"name": "ifB", "interface": vb}]})
    chain = NetnsSluiced(NS["P"], 1081, name="chain", workers=1, balancer={
        "links": [{"name": "s5B", "protocol": "socks5", "domain": ORIGIN_IP,
                   "port": S5_PORT, "via": "ifB"},
                  {"name": "ifB", "interface": vb,
                   "matchers": [{"policy": "allow", "ports": [1]}]}]})
    ghost_if = "nodev%d" % PID
    ghost = NetnsSluiced(NS["P"], 1082, name="ghost", workers=1, balancer={
        "strategy": "failover",
        "links": [{"name": "ghost", "interface": ghost_if},
                  {"name": "ifB", "interface": vb}]})
    hc = NetnsSluiced(NS["P"], 1083, name="health", workers=2, balancer={
        "strategy": "round_robin",
        "links": [{"name": "ifA", "interface": va, "check": {
                       "target": "%s:%d" % (ORIGIN_IP, ORIGIN_PORT),
                       "interval": 0.3, "timeout": 0.3}},
                  {"name": "ifB", "interface": vb}]})
    loif = NetnsSluiced(NS["P"], 1084, name="lo-interface", workers=1,
                        balancer={"links": [{"name": "lo",
                                             "interface": "lo"}]})
    for d in (rr, chain, ghost, hc, loif):
        d.start()
    url = "http://%s:%d/" % (ORIGIN_IP, ORIGIN_PORT)

    t.step("round robin over two interfaces to the same address")
    got = [fetch(rr, url) for _ in range(8)]
    t.step("  answers: %r" % got)
    want = {"A": "A %s" % PROXY_IP["A"], "B": "B %s" % PROXY_IP["B"]}
    t.check(set(got) <= set(want.values()), "unexpected answers %r" % got)
    names = [g.split()[0] for g in got]
    t.check_eq(sorted(names), list("AAAABBBB"), "origins reached in 8 "
               "requests (%s)" % "".join(names))
    t.check(all(x != y for x, y in zip(names, names[1:])),
            "round robin did not alternate: %s" % "".join(names))
    rr.wait_sessions(lambda s: s.link == "ifA" and s.outcome == "done", 4,
                     what="4 sessions via ifA")
    rr.wait_sessions(lambda s: s.link == "ifB" and s.outcome == "done", 4,
                     what="4 sessions via ifB")

    t.step("workers hold no capability")
    nobody = pwd.getpwnam("nobody")
    for d in (rr, chain, ghost, hc, loif):
        for pid in d.workers():
            t.check_confined(pid, d.chroot, nobody.pw_uid, nobody.pw_gid,
                             "%s worker %d" % (d.name, pid))
    t.check(not rr.find_log(r"socket on interface"),
            "the master could not make an interface socket")

    t.step("socks5 via an interface link")
    body = fetch(chain, "http://127.0.0.1:%d/" % ORIGIN_PORT)
    t.check_eq(body, "B 127.0.0.1", "answer through B's SOCKS5 server")
    chain.wait_sessions(lambda s: s.link == "s5B" and s.outcome == "done",
                        1, what="a session via s5B")

    t.step("a link on an interface that does not exist: retried")
    body = fetch(ghost, url)
    t.check_eq(body, want["B"], "answer after ghost failed")
    ghost.wait_log(r"link ghost: socket on interface %s" % ghost_if,
                   what="the master's 'socket on interface' warning")
    _, c = ghost.counters()
    t.check_eq(c["ghost"]["failed"], 1, "ghost failed")
    t.check_eq(c["ifB"]["total"], 1, "ifB total")

    t.step("a closed port behind interface links: 0x05, workers survive")
    for d, host in ((rr, ORIGIN_IP), (loif, "127.0.0.1")):
        got = replies(d, host, 9, 20)
        t.check(not d.find_log(r"killed by|exited with status|respawning"),
                "%s: a worker died serving connections refused behind an "
                "interface link: %s" % (d.name, "; ".join(re.findall(
                    r".*(?:killed by|exited with status).*", d.log()))))
        t.check_eq(got, ["05"] * 20, "%s: replies for 20 CONNECTs to %s:9 "
                   "(closed)" % (d.name, host))

    t.step("a health-checked link on an interface: up while vethA is")
    got = [fetch(hc, url).split()[0] for _ in range(4)]
    t.check_eq(sorted(got), list("AABB"), "health daemon's answers (%s)"
               % "".join(got))
    t.check(not hc.find_log(r"health check failed"), "ifA's check failed "
            "with vethA up")

    t.step("vethA down: sessions go on via B")
    mark = hc.mark()
    ip("link", "set", va, "down", ns=NS["P"])
    _, c0 = rr.counters()
    got = [fetch(rr, url) for _ in range(6)]
    t.check_eq(got, [want["B"]] * 6, "answers with vethA down")
    _, c = rr.counters()
    fails = c["ifA"]["failed"] - c0["ifA"]["failed"]
    t.check(fails >= 1, "no failure counted on ifA with its device down")
    t.check(fails <= 3, "ifA failed %d times, but max_fails is 3" % fails)
    rr.wait_log(r"link ifA: 3 connect failures in a row", what="ifA's "
                "cool-down")
    hc.wait_log(r"link ifA: health check failed 2 times \([^)]*\), link "
                r"down$", 5, mark=mark, what="ifA's check failing")
    got = [fetch(hc, url) for _ in range(4)]
    t.check_eq(got, [want["B"]] * 4, "health daemon's answers with ifA "
               "down")

    t.step("vethA up again: the check brings ifA back")
    mark = hc.mark()
    ip("link", "set", va, "up", ns=NS["P"])
    # Taking the device down dropped its route.
    ip("route", "replace", "198.18.0.0/24", "dev", va, "src",
       PROXY_IP["A"], "metric", "0", ns=NS["P"])
    hc.wait_log(r"link ifA: health check passed, link up$", 5, mark=mark,
                what="ifA's check passing again")
    got = [fetch(hc, url).split()[0] for _ in range(4)]
    t.check_eq(sorted(got), list("AABB"), "health daemon's answers after "
               "vethA came back (%s)" % "".join(got))
    for d in (rr, chain, ghost, hc, loif):
        t.check(not d.find_log(r"killed by|exited with status|respawning"),
                "%s: a child died during the test" % d.name)


t.run(main)
