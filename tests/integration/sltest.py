"""
Shared harness for sluice's integration tests.

Every test script does

    import sltest as t
    def main(): ...
    t.run(main)

and gets: the exit-code protocol meson expects (0 pass, 1 fail, 77 skip),
a watchdog, cleanup of everything it started (daemons by their pid,
servers, temporary directories) and, on failure, the daemons' logs.

Only the Python standard library is used.  All traffic stays on
127.0.0.1 / ::1: every daemon gets a local fake DNS server (it answers
NXDOMAIN to everything), so even a lookup of "nonexistent.invalid" never
leaves the machine.  Every wait is a poll on a condition with a deadline
(wait_until); nothing sleeps and hopes.

Running one test by hand (as root, from this directory):

    SLUICED=/tmp/build-it/sluiced python3 test_respawn.py

SLUICE_IT_KEEP=1 keeps the temporary directories (configs, daemon logs);
SLUICE_IT_SEED=N replays test_bad_input's random blobs.
"""

import hashlib
import http.server
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SKIP = 77
WATCHDOG_S = 100            # meson's timeout is 120 s: clean up before it

_T0 = time.monotonic()
_cleanups = []              # callables, run last-in first-out
_daemons = []               # every Sluiced, for the logs on failure
_used_ports = set()


class Fail(Exception):
    """A test assertion failed."""


class Skip(Exception):
    """The test cannot run here (exit 77)."""


# --------------------------------------------------------------------------
# basics

def step(msg):
    print("[%6.2f] %s" % (time.monotonic() - _T0, msg), flush=True)


def check(cond, msg):
    if not cond:
        raise Fail(msg)
    return cond


def check_eq(got, want, what):
    if got != want:
        raise Fail("%s: got %r, want %r" % (what, got, want))


def wait_until(pred, timeout, what, interval=0.02):
    """Poll pred() until it returns something true; return that value.

    Raises Fail("timed out after N s waiting for <what>") at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise Fail("timed out after %.1f s waiting for %s"
                       % (timeout, what))
        time.sleep(interval)


def at_exit(fn):
    _cleanups.append(fn)
    return fn


def mkdtemp():
    d = tempfile.mkdtemp(prefix="sluice-it-")
    # Like /var: the confined children must be able to use the path
    # below their chroot even if a later version chroots after setuid.
    os.chmod(d, 0o755)
    if not os.environ.get("SLUICE_IT_KEEP"):
        at_exit(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def free_port(host="127.0.0.1"):
    """A port that was free a moment ago, never the same one twice.

    sluiced binds with SO_REUSEPORT, so two daemons handed the same port
    would silently share connections: never hand a port out twice.
    """
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(64):
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            s.bind((host, 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        if port not in _used_ports:
            _used_ports.add(port)
            return port
    raise Fail("no free port found")


def have_ipv6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        s.bind(("::1", 0))
        s.listen(1)
        c = socket.create_connection(("::1", s.getsockname()[1]), timeout=2)
        c.close()
        return True
    except OSError:
        return False
    finally:
        s.close()


def sluiced_path():
    p = os.environ.get("SLUICED")
    if not p:
        raise Fail("SLUICED is not set (run through meson test, or set "
                   "SLUICED=/path/to/sluiced)")
    if not os.access(p, os.X_OK):
        raise Fail("SLUICED=%s is not an executable" % p)
    return p


def version_output():
    r = subprocess.run([sluiced_path(), "-V"], capture_output=True,
                       timeout=10, text=True)
    return r


def has_test_hooks():
    return "test hooks enabled" in version_output().stdout


def require_root():
    if os.geteuid() != 0:
        raise Skip("needs root (sluiced chroots and changes uid)")


def require_test_hooks():
    if not has_test_hooks():
        raise Skip("sluiced was built without -Dtest_hooks=true")


def source_dir():
    """Top of the source tree: $SLUICE_SRCDIR (meson sets it), else
    relative to this file (tests/integration/sltest.py)."""
    if os.environ.get("SLUICE_SRCDIR"):
        return os.environ["SLUICE_SRCDIR"]
    return os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))


# --------------------------------------------------------------------------
# /proc

def proc_stat(pid):
    """(comm, state, ppid) or None if the process is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    lp, rp = data.find("("), data.rfind(")")
    fields = data[rp + 2:].split()
    return data[lp + 1:rp], fields[0], int(fields[1])


def proc_status(pid):
    """/proc/PID/status as a dict of str -> str, or None if gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    st = {}
    for line in text.splitlines():
        k, _, v = line.partition(":")
        st[k.strip()] = v.strip()
    return st


def pid_gone(pid):
    """Gone, or a zombie nobody has reaped yet (it runs nothing)."""
    s = proc_stat(pid)
    return s is None or s[1] in ("Z", "X")


def children_of(ppid):
    """{pid: comm} of the live (non-zombie) children of ppid."""
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        s = proc_stat(int(name))
        if s is not None and s[2] == ppid and s[1] not in ("Z", "X"):
            kids[int(name)] = s[0]
    return kids


def seccomp_mode(pid):
    st = proc_status(pid)
    if st is None:
        return None
    try:
        return int(st.get("Seccomp", "-1"))
    except ValueError:
        return None


def _tcp_table(fam):
    rows = []
    path = "/proc/net/tcp" if fam == 4 else "/proc/net/tcp6"
    try:
        with open(path) as f:
            lines = f.read().splitlines()[1:]
    except FileNotFoundError:
        return rows
    for line in lines:
        p = line.split()
        if len(p) < 10:
            continue
        lport = int(p[1].rsplit(":", 1)[1], 16)
        rport = int(p[2].rsplit(":", 1)[1], 16)
        rows.append((lport, rport, p[3], int(p[9])))
    return rows


def listening(port):
    """Something listens on TCP port `port` (IPv4 or IPv6)."""
    return any(lp == port and st == "0A"
               for fam in (4, 6) for lp, _, st, _ in _tcp_table(fam))


def socket_inodes(pid):
    """Inodes of the sockets process pid holds open."""
    out = set()
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except (FileNotFoundError, ProcessLookupError):
        return out
    for fd in fds:
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]$", link)
        if m:
            out.add(int(m.group(1)))
    return out


def proxy_side_inode(proxy_port, client_port):
    """Inode of the proxy's socket for the client connection whose local
    port is client_port, or None."""
    for fam in (4, 6):
        for lp, rp, st, ino in _tcp_table(fam):
            if lp == proxy_port and rp == client_port and ino != 0:
                return ino
    return None


def check_confined(pid, chroot, uid, gid, who=None):
    """Fail unless pid is confined the way every sluice child must be:
    Seccomp 2, NoNewPrivs 1, the given uid/gid in all four slots (never
    0), no group 0, no capabilities, root directory = chroot."""
    who = who or "pid %d" % pid
    s = proc_status(pid)
    check(s is not None, "%s vanished" % who)
    check_eq(s.get("Seccomp"), "2", "%s Seccomp" % who)
    check_eq(s.get("NoNewPrivs"), "1", "%s NoNewPrivs" % who)
    uids = [int(x) for x in s["Uid"].split()]
    gids = [int(x) for x in s["Gid"].split()]
    groups = [int(x) for x in s["Groups"].split()]
    check(0 not in uids, "%s has uid 0: Uid %r" % (who, uids))
    check(0 not in gids, "%s has gid 0: Gid %r" % (who, gids))
    check(0 not in groups, "%s has group 0: Groups %r" % (who, groups))
    check_eq(uids, [uid] * 4, "%s Uid (real, effective, saved, fs)" % who)
    check_eq(gids, [gid] * 4, "%s Gid (real, effective, saved, fs)" % who)
    for cap in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
        check_eq(int(s[cap], 16), 0, "%s %s" % (who, cap))
    check_eq(os.readlink("/proc/%d/root" % pid), os.path.realpath(chroot),
             "%s root directory" % who)


def my_cap_eff():
    return int(proc_status(os.getpid())["CapEff"], 16)


# --------------------------------------------------------------------------
# the daemon

# The target is greedy: a hostile domain name may contain spaces (and
# " via "); what follows it has a fixed shape.
SESSION_RE = re.compile(
    r"^\S+ (worker \d+) info: session (\d+): (\S+) (?:user (\S+) )?"
    r"(\S+) -> (.*) via (\S+): "
    r"up (\d+) down (\d+) bytes, ([\d.]+) s, (.*)$", re.M)


class Session:
    def __init__(self, m):
        (self.worker, sid, self.front, self.user, self.client, self.target,
         self.link, up, down, secs, self.outcome) = m.groups()
        self.id = int(sid)
        self.up = int(up)
        self.down = int(down)
        self.secs = float(secs)
        self.line = m.group(0)

    def __repr__(self):
        return "<%s>" % self.line


class Sluiced:
    """One sluiced, configured in a fresh temporary directory.

    conf entries override the defaults below; a value of None removes the
    key.  start() waits until it is ready.
    """

    def __init__(self, name="sluiced", workers=2, dns=True, **conf):
        self.name = name
        self.tmp = mkdtemp()
        self.chroot = os.path.join(self.tmp, "empty")
        self.logpath = os.path.join(self.tmp, "sluiced.log")
        self.confpath = os.path.join(self.tmp, "sluiced.json")
        self.nworkers = workers
        self.proc = None
        self.known_pids = set()
        if dns is True:
            self.dns = FakeDNS()
        else:
            self.dns = dns or None
        c = {
            "domain": "127.0.0.1",
            "port": None,
            "workers": workers,
            "user": "nobody",
            "chroot": self.chroot,
            "timeout": 5,
            "shutdown_timeout": 5,
            "log_level": "info",
        }
        if self.dns is not None:
            c["nameservers"] = ["127.0.0.1:%d" % self.dns.port]
        c.update(conf)
        if "listen" in conf:
            c.pop("domain", None)
            c.pop("port", None)
            self.port = int(conf["listen"][0].rsplit(":", 1)[1])
        elif "listeners" in conf:
            c.pop("domain", None)
            c.pop("port", None)
            # port_of["name"]: each listener's port; self.port the first's
            self.port_of = {
                l.get("name", "listen%d" % i):
                int(l["listen"].rsplit(":", 1)[1])
                for i, l in enumerate(conf["listeners"])}
            self.port = int(conf["listeners"][0]["listen"].rsplit(":", 1)[1])
        else:
            if c.get("port") is None:
                c["port"] = free_port()
            self.port = c["port"]
        self.conf = {k: v for k, v in c.items() if v is not None}
        with open(self.confpath, "w") as f:
            json.dump(self.conf, f, indent=2)
        _daemons.append(self)
        at_exit(self.cleanup)

    # -- life cycle

    def write_conf(self, conf):
        """Replace the config file (for a reload); self.conf follows."""
        self.conf = {k: v for k, v in conf.items() if v is not None}
        tmp = self.confpath + ".new"
        with open(tmp, "w") as f:
            json.dump(self.conf, f, indent=2)
        os.rename(tmp, self.confpath)

    def start(self, timeout=15):
        self._logf = open(self.logpath, "wb")
        self.proc = subprocess.Popen(
            [sluiced_path(), "-c", self.confpath], stdin=subprocess.DEVNULL,
            stdout=self._logf, stderr=subprocess.STDOUT, close_fds=True)
        self.pid = self.proc.pid
        step("%s: started pid %d on port %d"
             % (self.name, self.pid, self.port))
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=15):
        def ready():
            self.check_alive()
            kids = self.children()
            self.known_pids.update(kids)
            w = [p for p, c in kids.items() if c == "sluice-worker"]
            r = [p for p, c in kids.items() if c == "sluice-resolver"]
            # A dbbackend adds the Redis registry (issue 9).
            g = [p for p, c in kids.items() if c == "sluice-registry"]
            want_g = 1 if "dbbackend" in self.conf else 0
            if len(w) != self.nworkers or len(r) != 1 or \
                    len(g) != want_g or \
                    len(kids) != len(w) + len(r) + len(g):
                return False
            if not all(seccomp_mode(p) == 2 for p in kids):
                return False
            return listening(self.port)
        wait_until(ready, timeout, "%s: %d workers and a resolver confined "
                   "(Seccomp 2) and port %d listening"
                   % (self.name, self.nworkers, self.port))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        if self.proc is None:
            raise Fail("%s was never started" % self.name)
        rc = self.proc.poll()
        if rc is not None:
            raise Fail("%s (pid %d) exited unexpectedly with status %d"
                       % (self.name, self.pid, rc))

    def signal(self, sig):
        self.check_alive()
        os.kill(self.pid, sig)

    def wait_exit(self, timeout):
        """Wait for the master to exit; its status (negative: signal)."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail("%s (pid %d) did not exit within %.1f s"
                       % (self.name, self.pid, timeout))

    def cleanup(self):
        """Stop whatever is left, by pid: the master, then stray children."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                # Sessions a failed test left open would hold it up to
                # shutdown_timeout: do not wait for that.
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            # Children die with the master (PDEATHSIG); make sure of it.
            for pid in self.known_pids:
                s = proc_stat(pid)
                if s is not None and s[1] not in ("Z", "X") and \
                        s[0].startswith("sluice"):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            if getattr(self, "_logf", None):
                self._logf.close()
                self._logf = None
            self._final_log = self.log()    # the directory goes next
        if self.dns is not None:
            self.dns.close()

    # -- processes

    def children(self):
        kids = children_of(self.pid)
        self.known_pids.update(kids)
        return kids

    def workers(self):
        return sorted(p for p, c in self.children().items()
                      if c == "sluice-worker")

    def resolver(self):
        r = [p for p, c in self.children().items() if c == "sluice-resolver"]
        return r[0] if r else None

    def s5_open_avoiding(self, avoid, tries=60):
        """(socket, worker pid): a greeted SOCKS5 connection held by a
        worker other than pid avoid; None, None when none landed there."""
        for _ in range(tries):
            s = s5_open(self.port)
            w = self.worker_of_client(s)
            if w != avoid:
                return s, w
            s.close()
        return None, None

    def worker_of_client(self, sock):
        """pid of the worker holding the proxy side of client socket sock."""
        cport = sock.getsockname()[1]
        ino = wait_until(lambda: proxy_side_inode(self.port, cport), 5,
                         "the proxy side of client port %d in /proc/net/tcp"
                         % cport)
        def holder():
            for pid in self.workers():
                if ino in socket_inodes(pid):
                    return pid
            return None
        return wait_until(holder, 5, "the worker holding socket inode %d"
                          % ino)

    # -- log

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return getattr(self, "_final_log", "")

    def mark(self):
        return len(self.log())

    def log_since(self, mark=0):
        return self.log()[mark:]

    def find_log(self, regex, mark=0):
        return re.search(regex, self.log_since(mark), re.M)

    def wait_log(self, regex, timeout=5, mark=0, what=None):
        return wait_until(lambda: self.find_log(regex, mark), timeout,
                          what or "%s log line matching %r"
                          % (self.name, regex))

    def sessions(self, mark=0):
        return [Session(m) for m in SESSION_RE.finditer(self.log_since(mark))]

    def wait_sessions(self, pred, n, timeout=5, mark=0, what="sessions"):
        """Wait until at least n logged sessions satisfy pred; return them."""
        def got():
            s = [x for x in self.sessions(mark) if pred(x)]
            return s if len(s) >= n else None
        return wait_until(got, timeout, "%d %s in the %s log"
                          % (n, what, self.name))

    def counters(self, mark=None, timeout=5):
        """SIGUSR1, then parse the lines it logs: (sessions_open, links)
        where links maps a link name to a dict of its counters."""
        if mark is None:
            mark = self.mark()
        self.signal(signal.SIGUSR1)
        names = [l.get("name", "link%d" % i) for i, l in
                 enumerate(self.conf.get("balancer", {}).get("links", []))]
        if not names:
            names = ["direct"]
        pat = {n: r"^\S+ sluiced info: link %s: active (\d+), total (\d+), "
               r"failed (\d+), up (\d+) bytes, down (\d+) bytes$"
               % re.escape(n) for n in names}
        so = self.wait_log(r"^\S+ sluiced info: sessions open: (\d+)$",
                           timeout, mark, "the SIGUSR1 'sessions open' line")
        links = {}
        for n in names:
            m = self.wait_log(pat[n], timeout, mark,
                              "the SIGUSR1 counters line of link %s" % n)
            links[n] = dict(zip(("active", "total", "failed", "up", "down"),
                                map(int, m.groups())))
        return int(so.group(1)), links


def pysocks():
    """PySocks (Debian's python3-socks), also under a python3 that is not
    Debian's (the pyenv one on PATH here): its dist-packages are added."""
    try:
        import socks
    except ImportError:
        import sys
        sys.path.append("/usr/lib/python3/dist-packages")
        try:
            import socks
        except ImportError:
            raise Fail("PySocks missing: apt-get install python3-socks")
    return socks


def readme_example(tag):
    """The JSON example in README.md marked <!-- example: TAG -->.

    The marker stands on the line before the ```json fence, so the README
    shows the operator exactly what the test loads.
    """
    text = open(os.path.join(source_dir(), "README.md"),
                encoding="utf-8").read()
    m = re.search(r"<!-- example: %s -->\s*```json\n(.*?)```"
                  % re.escape(tag), text, re.S)
    if m is None:
        raise Fail("README.md has no example marked %r" % tag)
    return json.loads(m.group(1))


def with_free_ports(listeners):
    """A listeners array with each port replaced by a free one."""
    out = []
    for l in listeners:
        l = dict(l)
        host = l["listen"].rsplit(":", 1)[0]
        bare = host.strip("[]")
        l["listen"] = "%s:%d" % (host, free_port(bare))
        out.append(l)
    return out


def control(path, cmd, args=None, timeout=30):
    """One request on sluiced's control socket (README "Control
    protocol"): the decoded answer, {"ok": ..., "result"|"error": ...}."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        req = {"cmd": cmd}
        if args is not None:
            req["args"] = args
        body = json.dumps(req).encode()
        s.sendall(struct.pack(">I", len(body)) + body)
        n = struct.unpack(">I", recv_exact(s, 4, "answer length"))[0]
        return json.loads(recv_exact(s, n, "answer").decode())
    finally:
        s.close()


def control_ok(path, cmd, args=None, timeout=30):
    """control(), failing the test unless the answer is ok; its result."""
    r = control(path, cmd, args, timeout)
    if not r.get("ok"):
        raise Fail("control %s %r: %r" % (cmd, args, r))
    return r["result"]


def dump_logs():
    for d in _daemons:
        text = d.log()
        print("----- %s log (%s, %d bytes) -----" % (d.name, d.logpath,
                                                   len(text)))
        if len(text) > 60000:
            text = "[... %d bytes cut ...]\n" % (len(text) - 60000) + \
                text[-60000:]
        print(text, end="" if text.endswith("\n") else "\n")
    if _daemons:
        print("----- end of logs -----", flush=True)


# --------------------------------------------------------------------------
# local servers

class FakeDNS:
    """UDP DNS server on 127.0.0.1 that answers NXDOMAIN to everything."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        _used_ports.add(self.port)
        self.queries = []
        self._stop = False
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    @staticmethod
    def _qname_end(q):
        i = 12
        while i < len(q):
            n = q[i]
            if n == 0:
                return i + 1
            if n & 0xC0:
                return i + 2
            i += 1 + n
        return None

    def _loop(self):
        while not self._stop:
            try:
                q, addr = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(q) < 12:
                continue
            end = self._qname_end(q)
            if end is None or end + 4 > len(q):
                continue
            qd = q[12:end + 4]
            labels, i = [], 12
            while i < end - 1 and q[i]:
                labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
                i += 1 + q[i]
            # Names compare without case: the resolver asks in random
            # case (DNS 0x20); the answer below echoes it as sent.
            self.queries.append(".".join(labels).lower())
            flags = struct.unpack("!H", q[2:4])[0]
            # QR, opcode and RD copied, RA, RCODE 3 (NXDOMAIN)
            rflags = 0x8000 | (flags & 0x7900) | 0x0080 | 3
            resp = q[:2] + struct.pack("!HHHHH", rflags, 1, 0, 0, 0) + qd
            try:
                self.sock.sendto(resp, addr)
            except OSError:
                pass

    def close(self):
        self._stop = True
        try:
            self.sock.close()
        except OSError:
            pass


class TCPServer:
    """Threaded TCP server; handler(conn, addr, server) runs per connection.

    Records the peer addresses it accepted and any handler exception.
    """

    def __init__(self, handler, host="127.0.0.1", port=0):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.handler = handler
        self.lsock = socket.socket(fam, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, port))
        self.lsock.listen(128)
        self.host = host
        self.port = self.lsock.getsockname()[1]
        _used_ports.add(self.port)
        self.peers = []
        self.errors = []
        self.conns = []
        self.lock = threading.Lock()
        self.state = {}
        self._stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        at_exit(self.close)

    def _accept(self):
        while not self._stop:
            try:
                c, a = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                self.peers.append(a)
                self.conns.append(c)
            threading.Thread(target=self._run, args=(c, a),
                             daemon=True).start()

    def _run(self, c, a):
        try:
            c.settimeout(30)
            self.handler(c, a, self)
        except Exception as e:          # recorded for the test to check
            with self.lock:
                self.errors.append("%s: %r" % (a, e))
        finally:
            try:
                c.close()
            except OSError:
                pass

    def close(self):
        self._stop = True
        try:
            self.lsock.close()
        except OSError:
            pass
        with self.lock:
            for c in self.conns:
                try:
                    c.close()
                except OSError:
                    pass


def _echo(c, a, srv):
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.shutdown(socket.SHUT_WR)


def echo_server(host="127.0.0.1"):
    return TCPServer(_echo, host)


class Origin:
    """HTTP origin server in a thread.

    GET /blob     -> the random body (size bytes), Content-Length set
    GET /small    -> b"small\\n"
    PUT|POST /upload -> hex sha256 of the request body
    """

    def __init__(self, size=8 << 20, host="127.0.0.1"):
        self.body = os.urandom(size)
        self.digest = sha256(self.body)
        self.requests = []
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, code, body):
                self.send_response(code)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def do_GET(self):
                origin.requests.append(("GET", self.path, self.client_address))
                if self.path == "/blob":
                    self._send(200, origin.body)
                elif self.path == "/small":
                    self._send(200, b"small\n")
                else:
                    self._send(404, b"not found\n")

            def _upload(self):
                origin.requests.append((self.command, self.path,
                                        self.client_address))
                n = int(self.headers.get("Content-Length", "-1"))
                if self.path != "/upload" or n < 0:
                    self._send(400, b"need /upload with Content-Length\n")
                    return
                h, left = hashlib.sha256(), n
                while left > 0:
                    d = self.rfile.read(min(left, 1 << 16))
                    if not d:
                        break
                    h.update(d)
                    left -= len(d)
                self._send(200, ("%s %d\n" % (h.hexdigest(), n - left))
                           .encode())

            do_PUT = _upload
            do_POST = _upload

        fam = socket.AF_INET6 if ":" in host else socket.AF_INET

        class Server(http.server.ThreadingHTTPServer):
            address_family = fam
            daemon_threads = True

        self.httpd = Server((host, 0), Handler)
        self.host = host
        self.port = self.httpd.server_address[1]
        _used_ports.add(self.port)
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()
        at_exit(self.close)

    def url(self, path="/blob", name=None):
        h = name or (("[%s]" % self.host) if ":" in self.host else self.host)
        return "http://%s:%d%s" % (h, self.port, path)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------
# clients

def recv_exact(s, n, what="data"):
    buf = b""
    while len(buf) < n:
        try:
            d = s.recv(n - len(buf))
        except socket.timeout:
            raise Fail("timed out reading %s: got %d of %d bytes: %r"
                       % (what, len(buf), n, buf[:64]))
        if not d:
            raise Fail("connection closed while reading %s: got %d of %d "
                       "bytes: %r" % (what, len(buf), n, buf[:64]))
        buf += d
    return buf


def recv_all(s, timeout=10, limit=64 << 20):
    """Read until EOF; Fail on timeout.  A reset counts as EOF."""
    s.settimeout(timeout)
    deadline = time.monotonic() + timeout
    chunks, n = [], 0
    while n < limit:
        if time.monotonic() > deadline:
            raise Fail("no EOF within %.1f s (got %d bytes)" % (timeout, n))
        try:
            d = s.recv(1 << 16)
        except socket.timeout:
            raise Fail("no EOF within %.1f s (got %d bytes)" % (timeout, n))
        except ConnectionResetError:
            break
        if not d:
            break
        chunks.append(d)
        n += len(d)
    return b"".join(chunks)


def wait_closed(s, timeout, what):
    """Wait until the peer closes s (EOF or reset); ignore data."""
    s.settimeout(0.1)
    def closed():
        try:
            d = s.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        return d == b""
    wait_until(closed, timeout, what, interval=0)


def s5_addr(host):
    """ATYP + DST.ADDR for host (IPv4/IPv6 literal or name)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        b = host.encode()
        return bytes([3, len(b)]) + b
    if ip.version == 4:
        return b"\x01" + ip.packed
    return b"\x04" + ip.packed


def s5_request(host, port, cmd=1):
    return bytes([5, cmd, 0]) + s5_addr(host) + struct.pack("!H", port)


def s5_read_reply(s):
    """(rep, (bnd_addr, bnd_port)) from a SOCKS5 reply on s."""
    hdr = recv_exact(s, 4, "SOCKS5 reply header")
    if hdr[0] != 5:
        raise Fail("SOCKS5 reply version %d, not 5: %r" % (hdr[0], hdr))
    atyp = hdr[3]
    if atyp == 1:
        addr = str(ipaddress.IPv4Address(recv_exact(s, 4, "BND.ADDR")))
    elif atyp == 4:
        addr = str(ipaddress.IPv6Address(recv_exact(s, 16, "BND.ADDR")))
    elif atyp == 3:
        n = recv_exact(s, 1, "BND.ADDR length")[0]
        addr = recv_exact(s, n, "BND.ADDR").decode("ascii", "replace")
    else:
        raise Fail("SOCKS5 reply with address type %d: %r" % (atyp, hdr))
    port = struct.unpack("!H", recv_exact(s, 2, "BND.PORT"))[0]
    return hdr[1], (addr, port)


def s5_open(proxy_port, proxy_host="127.0.0.1", timeout=10):
    """Connect to the proxy and do the no-auth greeting."""
    s = socket.create_connection((proxy_host, proxy_port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b"\x05\x01\x00")
    m = recv_exact(s, 2, "SOCKS5 method reply")
    if m != b"\x05\x00":
        s.close()
        raise Fail("method reply %r, want 05 00" % m)
    return s


def s5_connect(proxy_port, host, port, cmd=1, proxy_host="127.0.0.1",
               timeout=10):
    """(socket, rep, bound): a SOCKS5 request through the proxy.  The
    socket is open whatever rep is; the caller closes it."""
    s = s5_open(proxy_port, proxy_host, timeout)
    try:
        s.sendall(s5_request(host, port, cmd))
        rep, bnd = s5_read_reply(s)
    except BaseException:
        s.close()
        raise
    return s, rep, bnd


def s5_tunnel(proxy_port, host, port, **kw):
    """A relayed connection; Fail unless the reply is success."""
    s, rep, bnd = s5_connect(proxy_port, host, port, **kw)
    if rep != 0:
        s.close()
        raise Fail("CONNECT %s:%d through port %d: reply 0x%02x, want 0x00"
                   % (host, port, proxy_port, rep))
    return s


def echo_check(s, payload, what="echo"):
    s.sendall(payload)
    got = recv_exact(s, len(payload), what)
    check(got == payload, "%s: echoed bytes differ" % what)


def _clean_env():
    env = {k: v for k, v in os.environ.items()
           if "proxy" not in k.lower()}    # NO_PROXY would bypass sluice
    env["LC_ALL"] = "C"
    return env


def curl(args, timeout=40):
    """Run curl with args; return the CompletedProcess (stdout bytes)."""
    cmd = ["curl", "-sS", "--fail", "--max-time", str(timeout - 5),
           "--connect-timeout", "10", "-H", "Expect:"] + list(args)
    try:
        return subprocess.run(cmd, capture_output=True, timeout=timeout,
                              env=_clean_env(), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise Fail("curl did not finish within %d s: %s" % (timeout,
                                                             " ".join(cmd)))


def require_curl():
    if shutil.which("curl") is None:
        raise Fail("curl is not installed (apt-get install curl)")


def curl_ok(args, what, timeout=40):
    r = curl(args, timeout)
    if r.returncode != 0:
        err = r.stderr.decode(errors="replace").strip()
        raise Fail("%s: curl exited %d: %s" % (what, r.returncode, err))
    return r.stdout


def curl_fetch(proxy_port, url, hostname=False, what=None,
               proxy_host="127.0.0.1"):
    """GET url through sluice; returns the body."""
    p = "[%s]" % proxy_host if ":" in proxy_host else proxy_host
    opt = "--socks5-hostname" if hostname else "--socks5"
    return curl_ok([opt, "%s:%d" % (p, proxy_port), url],
                   what or "GET %s via %s" % (url, opt))


# --------------------------------------------------------------------------
# runner

def _watchdog(signum, frame):
    raise Fail("watchdog: the test ran for more than %d s" % WATCHDOG_S)


def _terminated(signum, frame):
    raise Fail("terminated by signal %d (meson timeout?)" % signum)


def run(main, needs_root=True):
    """Run main() with the exit-code protocol, cleanup and diagnostics."""
    signal.signal(signal.SIGALRM, _watchdog)
    signal.signal(signal.SIGTERM, _terminated)
    signal.alarm(WATCHDOG_S)
    rc = 1
    try:
        if needs_root:
            require_root()
        sluiced_path()
        main()
        rc = 0
    except Skip as e:
        print("SKIP: %s" % e, flush=True)
        rc = SKIP
    except Fail as e:
        print("FAIL: %s" % e, flush=True)
    except BaseException:
        print("FAIL: unexpected exception", flush=True)
        traceback.print_exc(file=sys.stdout)
    finally:
        signal.alarm(0)
        for fn in reversed(_cleanups):
            try:
                fn()
            except Exception:
                print("cleanup error:", flush=True)
                traceback.print_exc(file=sys.stdout)
                if rc == 0:
                    rc = 1
        _cleanups.clear()
    if rc == 1:
        dump_logs()
    if rc == 0:
        step("PASS")
    sys.stdout.flush()
    sys.exit(rc)


# --------------------------------------------------------------------------
# routing (test_routing_*.py)

class MapDNS(FakeDNS):
    """Fake DNS that knows some names: answers their A and AAAA records
    (TTL 5), NOERROR with no answer for a known name lacking the asked
    type, NXDOMAIN for anything else.

    names maps a lower-case name, or "*.suffix" for every name below
    suffix, to a list of IPv4/IPv6 literals.  Only answer 127.0.0.0/8 or
    ::1 (or addresses inside network namespaces a test creates).
    """

    def __init__(self, names):
        self.names = {k.lower().rstrip("."): list(v)
                      for k, v in names.items()}
        super().__init__()

    def lookup(self, name):
        name = name.lower().rstrip(".")
        if name in self.names:
            return self.names[name]
        for k, v in self.names.items():
            if k.startswith("*.") and name.endswith(k[1:]):
                return v
        return None

    def _answer(self, q):
        end = self._qname_end(q)
        if end is None or end + 4 > len(q):
            return None
        labels, i = [], 12
        while i < end - 1 and q[i] and not q[i] & 0xC0:
            labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
            i += 1 + q[i]
        name = ".".join(labels)
        self.queries.append(name.lower())      # asked in 0x20 case
        qtype, qclass = struct.unpack("!HH", q[end:end + 4])
        addrs = self.lookup(name)
        flags = struct.unpack("!H", q[2:4])[0]
        rflags = 0x8000 | (flags & 0x7900) | 0x0400 | 0x0080
        answers = []
        if addrs is None:
            rflags |= 3
        elif qclass == 1 and qtype in (1, 28):
            for a in addrs:
                ip = ipaddress.ip_address(a)
                if (ip.version == 4) != (qtype == 1):
                    continue
                answers.append(struct.pack("!HHHIH", 0xC00C, qtype, 1, 5,
                                           len(ip.packed)) + ip.packed)
        return (q[:2] + struct.pack("!HHHHH", rflags, 1, len(answers), 0, 0)
                + q[12:end + 4] + b"".join(answers))

    def _loop(self):
        while not self._stop:
            try:
                q, addr = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(q) < 12:
                continue
            resp = self._answer(q)
            if resp is None:
                continue
            try:
                self.sock.sendto(resp, addr)
            except OSError:
                pass


class NameSocks5:
    """No-auth SOCKS5 server (CONNECT only) on 127.0.0.1 that resolves
    target names from its own map (name -> loopback IP literal;
    "localhost" is 127.0.0.1).  Records every request (host as sent,
    port), the peer address of every client, and relays.  Loopback
    targets only; anything else gets reply 0x02, an unknown name 0x04,
    a refused connect 0x05.
    """

    def __init__(self, names=None):
        self.names = {k.lower(): v for k, v in (names or {}).items()}
        self.names.setdefault("localhost", "127.0.0.1")
        self.requests = []
        self.peers = []
        self.errors = []
        self.lock = threading.Lock()
        self.srv = TCPServer(self._serve)
        self.port = self.srv.port

    def _serve(self, c, a, srv):
        from socks5_server import _pump
        with self.lock:
            self.peers.append(a)
        ver, n = recv_exact(c, 2, "greeting")
        methods = recv_exact(c, n, "methods")
        if ver != 5 or 0 not in methods:
            c.sendall(b"\x05\xff")
            return
        c.sendall(b"\x05\x00")
        ver, cmd, _, atyp = recv_exact(c, 4, "request")
        if atyp == 1:
            host = str(ipaddress.IPv4Address(recv_exact(c, 4, "addr")))
        elif atyp == 4:
            host = str(ipaddress.IPv6Address(recv_exact(c, 16, "addr")))
        elif atyp == 3:
            host = recv_exact(c, recv_exact(c, 1, "len")[0],
                              "name").decode("ascii", "replace")
        else:
            c.sendall(b"\x05\x08\x00\x01" + bytes(6))
            return
        port = struct.unpack("!H", recv_exact(c, 2, "port"))[0]
        with self.lock:
            self.requests.append((host, port))
        if cmd != 1:
            c.sendall(b"\x05\x07\x00\x01" + bytes(6))
            return
        ip = host
        if atyp == 3:
            ip = self.names.get(host.lower())
            if ip is None:
                c.sendall(b"\x05\x04\x00\x01" + bytes(6))
                return
        if not ipaddress.ip_address(ip).is_loopback:
            c.sendall(b"\x05\x02\x00\x01" + bytes(6))
            return
        try:
            u = socket.create_connection((ip, port), timeout=10)
        except OSError:
            c.sendall(b"\x05\x05\x00\x01" + bytes(6))
            return
        with srv.lock:
            srv.conns.append(u)
        b = ipaddress.ip_address(u.getsockname()[0])
        c.sendall(bytes([5, 0, 0, 1 if b.version == 4 else 4]) + b.packed +
                  struct.pack("!H", u.getsockname()[1]))
        c.settimeout(None)
        u.settimeout(None)
        counter = {"up": 0, "down": 0}
        t = threading.Thread(target=_pump, args=(c, u, counter, "up",
                                                 self.lock), daemon=True)
        t.start()
        _pump(u, c, counter, "down", self.lock)
        t.join(30)
        u.close()

    def close(self):
        self.srv.close()


def _whoami(c, a, srv):
    """Say the peer's address ("ip port\\n"), then wait for the client to
    close (so a held session stays open on both sides)."""
    c.sendall(("%s %d\n" % (a[0], a[1])).encode())
    while c.recv(4096):
        pass


def whoami_server(host="127.0.0.1"):
    """TCP server that tells every client its address as seen here."""
    return TCPServer(_whoami, host)


def s5_connect_from(source, proxy_port, host, port, proxy_host="127.0.0.1",
                    timeout=10):
    """s5_connect from a chosen client address (e.g. 127.0.0.5)."""
    s = socket.socket(socket.AF_INET6 if ":" in source else socket.AF_INET,
                      socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.bind((source, 0))
        s.connect((proxy_host, proxy_port))
        s.sendall(b"\x05\x01\x00")
        m = recv_exact(s, 2, "SOCKS5 method reply")
        if m != b"\x05\x00":
            raise Fail("method reply %r, want 05 00" % m)
        s.sendall(s5_request(host, port))
        rep, bnd = s5_read_reply(s)
    except BaseException:
        s.close()
        raise
    return s, rep, bnd


def s5_whoami(proxy_port, server, host="127.0.0.1", keep=False, source=None):
    """CONNECT through the proxy to a whoami_server (by host, a literal or
    a name); return the client address it saw ("ip") -- and the open
    socket too when keep is set (the session stays up until it is
    closed)."""
    if source is None:
        s, rep, _ = s5_connect(proxy_port, host, server.port)
    else:
        s, rep, _ = s5_connect_from(source, proxy_port, host, server.port)
    try:
        if rep != 0:
            raise Fail("CONNECT %s:%d through port %d: reply 0x%02x, want 0"
                       % (host, server.port, proxy_port, rep))
        line = b""
        while not line.endswith(b"\n"):
            d = s.recv(256)
            if not d:
                raise Fail("whoami server closed before saying who we are")
            line += d
            check(len(line) < 256, "whoami line too long: %r" % line)
    except BaseException:
        s.close()
        raise
    ip = line.decode().split()[0]
    if keep:
        return ip, s
    s.close()
    return ip


def require_tool(name):
    """Skip (77) unless the program name is installed."""
    if shutil.which(name) is None:
        raise Skip("%s is not installed" % name)


# PythTRT's README example, byte for byte (also in tests/check_config.c).
PYTHTRT_EXAMPLE = r'''{
  "balancer": {
    "links": [
      {
        "protocol": "socks5",
        "domain": "127.0.0.1",
        "port": 1081,
        "matchers": [
          {
            "domains_re": [
              "\\.intranet.com$"
            ],
            "policy": "forbid"
          }
        ]
      },
      {
        "matchers": [
          {
            "domains_re": [
              "\\.intranet.com$"
            ],
            "policy": "allow"
          }
        ]
      }
    ],
    "matchers": [
      {
        "policy": "allow",
        "ports": [
          80,
          443,
          8080
        ]
      }
    ]
  }
}
'''
