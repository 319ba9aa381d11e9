"""
Helpers for test_tunnel.py: two network namespaces joined by a veth pair,
a firewall in the inside one, sluiced started in either, and the origin
servers the inside namespace holds.

The test's main thread moves into the outside namespace (setns through
ctypes: Python 3.11 has no os.setns), so every process it spawns, every
client socket it makes and sltest's /proc/net readings are outside; the
inside servers are made in a `netns(INSIDE)` block (a socket keeps the
namespace it was made in), and inside processes run under `ip netns exec`.
"""
import ctypes
import hashlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import threading

import sltest as t

PID = os.getpid()
NS_OUT, NS_IN = "sltun-o-%d" % PID, "sltun-i-%d" % PID
VETH_OUT, VETH_IN = "stuo%d" % PID, "stui%d" % PID
OUT_IP, IN_IP, IN_IP2 = "10.77.0.1", "10.77.0.2", "10.77.0.3"
ORIGIN_IP = "10.20.0.1"         # on the inside's lo: README's 10.20.0.0/16
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise t.Fail("setns %s: %s" % (path, os.strerror(e)))
    finally:
        os.close(fd)


class netns:
    """with netns(name): this thread is in that namespace meanwhile."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        _setns("/run/netns/%s" % self.name)

    def __exit__(self, *exc):
        try:
            if _libc.setns(self.back, CLONE_NEWNET) != 0:
                raise t.Fail("setns back: %s"
                             % os.strerror(ctypes.get_errno()))
        finally:
            os.close(self.back)


def sh(*cmd, ok=False, input=None):
    r = subprocess.run(list(cmd), capture_output=True, text=True,
                       timeout=20, input=input,
                       stdin=None if input is not None else
                       subprocess.DEVNULL)
    if r.returncode != 0 and not ok:
        raise t.Fail("%s: exit %d: %s" % (" ".join(cmd), r.returncode,
                                          r.stderr.strip()))
    return r


def in_ns(ns, *cmd, **kw):
    return sh("ip", "netns", "exec", ns, *cmd, **kw)


# Inside: drop every new TCP connection that comes in from outside, so
# the only way in is the tunnel the agents dial out (its replies are
# established, not new).
NFT_RULES = """
table inet sltunnel {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "%s" meta l4proto tcp ct state new counter drop
  }
}
""" % VETH_IN


def topology():
    """outside (10.77.0.1) --veth-- inside (10.77.0.2, .3; 10.20.0.1 on
    lo), nft drop rule inside; the main thread moves outside."""
    for tool in ("ip", "nft", "curl", "openssl"):
        t.require_tool(tool)
    r = sh("ip", "netns", "add", NS_OUT, ok=True)
    if r.returncode != 0:
        raise t.Skip("cannot create a network namespace: %s"
                     % r.stderr.strip())
    t.at_exit(lambda: sh("ip", "netns", "del", NS_OUT, ok=True))
    sh("ip", "netns", "add", NS_IN)
    t.at_exit(lambda: sh("ip", "netns", "del", NS_IN, ok=True))
    sh("ip", "link", "add", VETH_OUT, "netns", NS_OUT, "type", "veth",
       "peer", "name", VETH_IN, "netns", NS_IN)
    for ns in (NS_OUT, NS_IN):
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "-n", NS_OUT, "addr", "add", OUT_IP + "/24", "dev", VETH_OUT)
    sh("ip", "-n", NS_IN, "addr", "add", IN_IP + "/24", "dev", VETH_IN)
    sh("ip", "-n", NS_IN, "addr", "add", IN_IP2 + "/24", "dev", VETH_IN)
    sh("ip", "-n", NS_IN, "addr", "add", ORIGIN_IP + "/32", "dev", "lo")
    sh("ip", "-n", NS_OUT, "link", "set", VETH_OUT, "up")
    sh("ip", "-n", NS_IN, "link", "set", VETH_IN, "up")
    # A route to the origin, so that a direct connect from outside is
    # dropped by the firewall, not refused for want of a route.
    sh("ip", "-n", NS_OUT, "route", "add", ORIGIN_IP + "/32", "via", IN_IP)
    in_ns(NS_IN, "nft", "-f", "-", input=NFT_RULES)
    # LIFO: back to the first namespace before the namespaces go.
    back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)

    def go_back():
        _libc.setns(back, CLONE_NEWNET)
        os.close(back)
    t.at_exit(go_back)
    _setns("/run/netns/%s" % NS_OUT)


def nft_drops():
    """Packets the inside firewall rule dropped so far."""
    out = in_ns(NS_IN, "nft", "list", "table", "inet", "sltunnel").stdout
    m = re.search(r"counter packets (\d+)", out)
    return int(m.group(1)) if m else -1


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


class TunSluiced(t.Sluiced):
    """A sluiced in namespace ns (None: the test's own, outside) with a
    control socket of its own; ready once its workers, resolver and
    tunnel process are confined and its first port listens."""

    def __init__(self, ns=None, **kw):
        self.ns = ns
        super().__init__(**kw)
        self.ctl = os.path.join(self.tmp, "control.sock")
        self.conf["control"] = self.ctl
        self.write_conf(self.conf)

    def start(self, timeout=15):
        self._logf = open(self.logpath, "wb")
        pre = ["ip", "netns", "exec", self.ns] if self.ns else []
        self.proc = subprocess.Popen(
            pre + [t.sluiced_path(), "-c", self.confpath],
            stdin=subprocess.DEVNULL, stdout=self._logf,
            stderr=subprocess.STDOUT, close_fds=True)
        self.pid = self.proc.pid        # ip netns exec execs in place
        t.step("%s: started pid %d in %s" % (self.name, self.pid,
                                            self.ns or NS_OUT))
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=15):
        def ready():
            self.check_alive()
            kids = self.children()
            names = sorted(kids.values())
            if self.nworkers is None:       # the default: any number
                names = sorted(set(names))
                want = ["sluice-resolver", "sluice-tunnel",
                        "sluice-worker"]
            else:
                want = sorted(["sluice-worker"] * self.nworkers +
                              ["sluice-resolver", "sluice-tunnel"])
            if names != want:
                return False
            if not all(t.seccomp_mode(p) == 2 for p in kids):
                return False
            return listening_in(self.pid, self.port)
        t.wait_until(ready, timeout, "%s: workers, resolver, tunnel "
                     "process confined and port %d listening"
                     % (self.name, self.port))

    def reload(self, conf, mark, timeout=15):
        """New config, SIGHUP, wait until the new generation serves."""
        self.write_conf(conf)
        self.signal(signal.SIGHUP)
        self.wait_log(r"reload: .*generation \d+ serves", timeout, mark)

    def tunnel_pid(self):
        p = [p for p, c in self.children().items() if c == "sluice-tunnel"]
        return p[0] if p else None

    def ctl_json(self, *args):
        ctl = os.environ.get("SLUICECTL") or os.path.join(
            os.path.dirname(t.sluiced_path()), "sluicectl")
        r = subprocess.run([ctl, "-s", self.ctl, "--json"] + list(args),
                           capture_output=True, text=True, timeout=15)
        if r.returncode != 0:
            raise t.Fail("sluicectl %s on %s: exit %d: %s" % (
                " ".join(args), self.name, r.returncode, r.stderr.strip()))
        return json.loads(r.stdout) if r.stdout.strip() else None

    def kill9(self):
        """SIGKILL the master; its children follow (PDEATHSIG)."""
        kids = list(self.children())
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait(5)
        t.wait_until(lambda: all(t.pid_gone(p) for p in kids), 5,
                     "%s's children gone after its master" % self.name)


# --------------------------------------------------------------------------
# inside servers (made in the inside namespace, served by threads)

def _http_reply(c, body, chunk=1 << 16, progress=None):
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream"
              b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
              % len(body))
    view = memoryview(body)
    for i in range(0, len(body), chunk):
        c.sendall(view[i:i + chunk])
        if progress is not None:
            progress[0] += len(view[i:i + chunk])


def _read_request(c):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = c.recv(4096)
        if not d:
            return None
        buf += d
        if len(buf) > 65536:
            return None
    line = buf.split(b"\r\n", 1)[0].split()
    return line[1].decode() if len(line) > 1 else None


class Bodies:
    """The bodies the origins serve: /blob (8 MiB), /mid (512 KiB),
    /huge (32 MiB, for the reader that never reads: progress counts what
    the origin got rid of), each with its sha256."""

    def __init__(self):
        self.by_path = {"/blob": os.urandom(8 << 20),
                        "/mid": os.urandom(512 << 10)}
        self.by_path["/huge"] = self.by_path["/blob"] * 4
        self.digest = {p: hashlib.sha256(b).hexdigest()
                       for p, b in self.by_path.items()}
        self.huge_sent = [0]
        self.huge_done = threading.Event()


def http_origin(bodies, host, port, tls=None):
    """HTTP(S) origin on host:port serving bodies."""
    def handler(c, a, srv):
        if tls is not None:
            c = tls.wrap_socket(c, server_side=True)
        c.settimeout(60)
        path = _read_request(c)
        body = bodies.by_path.get(path)
        if body is None:
            c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                      b"Connection: close\r\n\r\n")
            return
        if path == "/huge":
            try:
                _http_reply(c, body, progress=bodies.huge_sent)
            finally:
                bodies.huge_done.set()
            return
        _http_reply(c, body)
        if tls is not None:
            c.unwrap()
    return t.TCPServer(handler, host, port)


def tls_context(tmp):
    """A server context with a self-signed certificate for
    app.example.com made here."""
    key, crt = os.path.join(tmp, "app.key"), os.path.join(tmp, "app.crt")
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
       "/CN=app.example.com", "-addext", "subjectAltName=DNS:app.example.com",
       "-keyout", key, "-out", crt)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    return ctx, crt


def secret_file(tmp, name, value=None):
    """An absolute path holding a fresh secret (64 hex digits)."""
    p = os.path.join(tmp, name + ".secret")
    with open(p, "w") as f:
        f.write(value or os.urandom(32).hex())
    os.chmod(p, 0o600)
    return p


def socket_in(ns, *args):
    """A socket made in namespace ns."""
    with netns(ns):
        return socket.socket(*args)


class TomlSluiced(TunSluiced):
    """A server sluiced run with tcprouter's router.toml (toml): nothing
    of sluice's own (no user, chroot, control, workers: tcprouter's keys
    only); ready once port listens."""

    def __init__(self, toml, port, **kw):
        super().__init__(port=port, **kw)
        self.nworkers = None
        self.confpath = os.path.join(self.tmp, "router.toml")
        with open(self.confpath, "w") as f:
            f.write(toml)
