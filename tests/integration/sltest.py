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

import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import traceback

# The harness is three files (sltest_base.py: failing, waiting, cleanups,
# ports; sltest_net.py: servers and clients; this one: the daemon and the
# test runner); tests import this one only.
from sltest_base import *  # noqa: F401,F403
from sltest_base import (SKIP, WATCHDOG_S, _cleanups,  # noqa: F401
                         _daemons, _used_ports)
from sltest_net import *  # noqa: F401,F403
from sltest_net import _clean_env, _echo  # noqa: F401


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
