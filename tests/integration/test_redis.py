#!/usr/bin/env python3
"""
tcprouter's services from Redis (issue 9): a real redis-server on a free
port with keyspace notifications on, sluiced with a `host` listener and a
"dbbackend", records written with redis-cli in both of tcprouter's
shapes (plain JSON with tlsport/httpport, and valkeyrie's wrapper with a
base64 record naming its sni) and a wildcard; curl with a Host header
reaches the backend the record names (each backend answers with its own
name).  Then:

- a key added at run time is routed within 2 s although refresh is 30 s
  (so the keyspace notification, not the poll, brought it);
- malformed records (Value not base64, addr 0.0.0.0, a 300-byte name)
  are each named in one log line, and nothing dies;
- Redis killed: the registry logs it, existing routes keep working;
  Redis started again on the same port: a new key is picked up;
- the registry process is confined like every child (Seccomp 2,
  NoNewPrivs 1, uid nobody, no capabilities, chroot) and holds no socket
  but its master channel and its Redis connections.
"""
import base64
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import time

import sltest as t

SERVICES_RE = r"registry info: (\d+) services from redis \((\d+) skipped\)"


class Redis:
    """redis-server on 127.0.0.1:port, no persistence, notifications on."""

    def __init__(self, port):
        self.port = port
        self.proc = None
        t.at_exit(self.stop)

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no",
             "--notify-keyspace-events", "KEA"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        t.wait_until(lambda: self.cli("PING") == "PONG", 10,
                     "redis-server on port %d" % self.port)
        t.step("redis-server pid %d on port %d" % (self.proc.pid, self.port))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "-p", str(self.port)] + list(args),
                           capture_output=True, timeout=10,
                           stdin=subprocess.DEVNULL)
        return r.stdout.decode(errors="replace").strip()

    def set(self, key, value):
        t.check_eq(self.cli("SET", key, value), "OK", "redis SET %s" % key)


def backend(name):
    """HTTP server that answers every request with its own name."""
    def handler(c, a, srv):
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = c.recv(4096)
            if not d:
                return
            buf += d
        body = name.encode()
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n" % len(body) + body)
    return t.TCPServer(handler)


def valkeyrie(key, record):
    """What tcprouter's Go code stores: JSON around a base64 record."""
    v = base64.b64encode(json.dumps(record).encode()).decode()
    return json.dumps({"Key": key, "Value": v, "LastIndex": 75292246})


def get(port, host):
    """GET / through the host listener with this Host: the body."""
    r = t.curl(["-H", "Host: " + host, "http://127.0.0.1:%d/" % port],
               timeout=20)
    if r.returncode != 0:
        return None
    return r.stdout.decode(errors="replace")


def check_route(port, host, want):
    t.check_eq(get(port, host), want, "backend answering Host %s" % host)


def wait_route(port, host, want, timeout):
    """Seconds until Host host reaches backend want (Fail at timeout)."""
    t0 = time.monotonic()
    t.wait_until(lambda: get(port, host) == want, timeout,
                 "Host %s to reach backend %s" % (host, want), interval=0.05)
    return time.monotonic() - t0


def registry_pid(d):
    g = [p for p, c in d.children().items() if c == "sluice-registry"]
    t.check_eq(len(g), 1, "registry processes")
    return g[0]


def check_registry_sockets(pid, redis_port):
    """Its sockets: the master channel (unix) and TCP to Redis only."""
    tcp = {}
    for fam in (4, 6):
        for lp, rp, st, ino in t._tcp_table(fam):
            tcp[ino] = (lp, rp, st)
    for ino in t.socket_inodes(pid):
        if ino in tcp:
            lp, rp, st = tcp[ino]
            t.check(rp == redis_port and st != "0A",
                    "registry holds a TCP socket %r that is not a "
                    "connection to redis port %d" % (tcp[ino], redis_port))


def fill(r, ports):
    r.set("/tcprouter/services/alpha.test", json.dumps(
        {"addr": "127.0.0.1", "httpport": ports["alpha"], "tlsport": 443}))
    r.set("/tcprouter/service/beta", valkeyrie(
        "/tcprouter/service/beta",
        {"addr": "127.0.0.1:%d" % ports["beta"], "sni": "beta.test",
         "name": "beta"}))
    r.set("tcprouter/services/*.wild.test", json.dumps(
        {"addr": "127.0.0.1", "httpport": ports["gamma"]}))


def fill_bad(r):
    r.set("/tcprouter/services/bad64.test",
          json.dumps({"Key": "x", "Value": "not base64!"}))
    r.set("/tcprouter/services/zero.test",
          json.dumps({"addr": "0.0.0.0", "httpport": 80}))
    r.set("/tcprouter/services/" + "a" * 300,
          json.dumps({"addr": "127.0.0.1", "httpport": 80}))


def main():
    for tool in ("redis-server", "redis-cli"):
        if shutil.which(tool) is None:
            raise t.Skip("%s is not installed (apt-get install "
                         "redis-server redis-tools)" % tool)
    t.require_curl()
    names = ("alpha", "beta", "gamma", "delta")
    srv = {n: backend(n) for n in names}
    ports = {n: s.port for n, s in srv.items()}
    r = Redis(t.free_port())
    r.start()
    fill(r, ports)
    fill_bad(r)

    conf = t.readme_example("redis")
    listen = t.with_free_ports(conf["listeners"])
    d = t.Sluiced(listeners=listen, dbbackend=dict(conf["dbbackend"],
                                                   port=r.port))
    d.start()
    port = d.port
    m = d.wait_log(SERVICES_RE, 10, what="the registry's first table")
    t.check_eq((m.group(1), m.group(2)), ("3", "3"),
               "services and skipped records in the first table")

    t.step("routing by Host to records of both shapes and a wildcard")
    check_route(port, "alpha.test", "alpha")
    check_route(port, "beta.test", "beta")
    check_route(port, "x.wild.test", "gamma")
    check_route(port, "ALPHA.test", "alpha")

    t.step("malformed records: one line each, naming the key")
    for key, why in (("/tcprouter/services/bad64.test", "base64"),
                     ("/tcprouter/services/zero.test", "0.0.0.0"),
                     ("/tcprouter/services/" + "a" * 150, "253")):
        d.wait_log(r'registry warn: skipped key "%s[^"]*": .*%s'
                   % (re.escape(key), re.escape(why)), 5)
    kids = d.children()

    t.step("a new key is routed at once: keyspace notifications")
    mark = d.mark()
    r.set("/tcprouter/services/delta.test", json.dumps(
        {"addr": "127.0.0.1", "httpport": ports["delta"]}))
    took = wait_route(port, "delta.test", "delta", 10)
    t.step("delta.test routed after %.2f s (refresh is 30 s)" % took)
    t.check(took < 2.0, "new key took %.2f s: notifications not seen"
            % took)
    m = d.wait_log(SERVICES_RE, 5, mark)
    t.check_eq(m.group(1), "4", "services after adding delta.test")
    t.check(not d.find_log(r"skipped key", mark),
            "unchanged bad records logged again")
    t.check_eq(d.children(), kids, "children after malformed records")

    t.step("the registry is confined")
    pid = registry_pid(d)
    reg = pwd.getpwnam("_sluice-registry")
    t.check_confined(pid, d.chroot, reg.pw_uid, reg.pw_gid,
                     "sluice-registry (pid %d)" % pid)
    for w in d.workers():
        t.check(t.proc_status(w)["Uid"].split()[0] != str(reg.pw_uid),
                "a worker shares the registry's uid")
    t.check_eq(t.proc_stat(pid)[2], d.pid, "registry parent")
    check_registry_sockets(pid, r.port)

    t.step("redis stopped: routes stay")
    mark = d.mark()
    r.proc.send_signal(signal.SIGKILL)
    r.proc.wait(5)
    d.wait_log(r"registry warn: redis 127\.0\.0\.1:%d unreachable: "
               % r.port, 10, mark)
    check_route(port, "alpha.test", "alpha")
    check_route(port, "delta.test", "delta")
    t.check(t.proc_stat(pid) is not None and not t.pid_gone(pid),
            "registry died with redis")

    t.step("redis back on the same port: a new key is picked up")
    r.start()
    fill(r, ports)
    r.set("/tcprouter/services/epsilon.test", valkeyrie(
        "/tcprouter/services/epsilon.test",
        {"addr": "127.0.0.1", "httpport": ports["delta"]}))
    d.wait_log(r"registry info: connected to redis", 40, mark)
    wait_route(port, "epsilon.test", "delta", 10)
    check_route(port, "alpha.test", "alpha")
    t.check_eq(registry_pid(d), pid, "registry pid after the outage")
    t.check(not d.find_log(r"killed by|exited with", 0),
            "a child died during the test")


t.run(main)
