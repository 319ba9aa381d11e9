#!/usr/bin/env python3
"""
Black-box SOCKS and HTTP clients against one sluiced with authentication.

Every client that users point at a proxy, unchanged: curl (--socks5-hostname,
--socks4a, -x http:// with --proxy-user), ncat, proxychains4, PySocks (TCP
and UDP) and Node's `socks` package (CONNECT, BIND and UDP ASSOCIATE), all
with username and password except SOCKS4a, which cannot authenticate and is
served by a listener without users.  Each must move its bytes exactly.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import threading

import sltest as t

USER, PASS = "alice", "wonder.land-42"
NODE_PATH = "/usr/share/nodejs"


class UDPEcho:
    def __init__(self, host="127.0.0.1"):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.th = threading.Thread(target=self._loop, daemon=True)
        self.th.start()

    def _loop(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                d, a = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self.sock.sendto(d, a)

    def close(self):
        self.stop = True
        self.th.join(2)
        self.sock.close()


def run(cmd, what, stdin=b"", env=None, timeout=30):
    try:
        r = subprocess.run(cmd, input=stdin, capture_output=True,
                           timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise t.Fail("%s: no answer within %d s" % (what, timeout))
    if r.returncode != 0:
        raise t.Fail("%s: exit %d: %s" % (what, r.returncode,
                                          r.stderr.decode(errors="replace")))
    return r.stdout


def curl_clients(d, origin):
    auth = "%s:%s" % (USER, PASS)
    t.step("curl --socks5-hostname with credentials")
    body = t.curl_ok(["--socks5-hostname", "127.0.0.1:%d"
                      % d.port_of["auth"], "--proxy-user", auth,
                      origin.url(name="localhost")], "curl socks5h")
    t.check_eq(t.sha256(body), origin.digest, "socks5h body")
    t.step("curl --socks4a on the listener without users")
    body = t.curl_ok(["--socks4a", "127.0.0.1:%d" % d.port_of["open"],
                      origin.url(name="localhost")], "curl socks4a")
    t.check_eq(t.sha256(body), origin.digest, "socks4a body")
    t.step("curl -x http:// --proxy-user on the mixed port")
    body = t.curl_ok(["-x", "http://127.0.0.1:%d" % d.port_of["auth"],
                      "--proxy-user", auth, origin.url()], "curl http")
    t.check_eq(t.sha256(body), origin.digest, "http proxy body")


def ncat_client(d, echo):
    t.step("ncat --proxy-type socks5 --proxy-auth")
    data = os.urandom(64 << 10)
    out = run(["ncat", "--proxy", "127.0.0.1:%d" % d.port_of["auth"],
               "--proxy-type", "socks5", "--proxy-auth", "%s:%s"
               % (USER, PASS), "127.0.0.1", str(echo.port)], "ncat",
              stdin=data)
    t.check_eq(t.sha256(out), t.sha256(data), "ncat echo")


def proxychains_client(d, origin):
    t.step("proxychains4 curl")
    conf = os.path.join(t.mkdtemp(), "proxychains.conf")
    with open(conf, "w") as f:
        f.write("strict_chain\nquiet_mode\ntcp_read_time_out 15000\n"
                "tcp_connect_time_out 8000\n[ProxyList]\n"
                "socks5 127.0.0.1 %d %s %s\n"
                % (d.port_of["auth"], USER, PASS))
    body = run(["proxychains4", "-q", "-f", conf, "curl", "-sS", "--fail",
                "--noproxy", "*", origin.url()], "proxychains4 curl",
               env=t._clean_env())
    t.check_eq(t.sha256(body), origin.digest, "proxychains body")


def pysocks_clients(d, echo, uecho):
    socks = t.pysocks()
    t.step("PySocks TCP with username/password")
    s = socks.socksocket()
    s.set_proxy(socks.SOCKS5, "127.0.0.1", d.port_of["auth"], rdns=True,
                username=USER, password=PASS)
    s.settimeout(10)
    s.connect(("127.0.0.1", echo.port))
    t.echo_check(s, os.urandom(100000), "PySocks TCP echo")
    s.close()
    t.step("PySocks UDP with username/password")
    u = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
    u.set_proxy(socks.SOCKS5, "127.0.0.1", d.port_of["auth"],
                username=USER, password=PASS)
    u.settimeout(5)
    for size in (1, 1400, 0):
        data = os.urandom(size)
        u.sendto(data, ("127.0.0.1", uecho.port))
        got, frm = u.recvfrom(65535)
        t.check_eq(got, data, "PySocks UDP echo of %d bytes" % size)
    u.close()


def node(spec, what):
    env = dict(t._clean_env(), NODE_PATH=NODE_PATH)
    out = run(["node", os.path.join(os.path.dirname(__file__),
                                    "node_socks_client.js"),
               json.dumps(spec)], what, env=env)
    return [json.loads(l) for l in out.decode().splitlines() if l.strip()]


def node_clients(d, echo, uecho):
    proxy = {"host": "127.0.0.1", "port": d.port_of["auth"], "user": USER,
             "pass": PASS}
    data = os.urandom(4096)
    b64 = base64.b64encode(data).decode()
    t.step("Node socks CONNECT")
    r = node({"mode": "connect", "proxy": proxy, "payload": b64,
              "target": {"host": "127.0.0.1", "port": echo.port}},
             "node connect")
    t.check_eq(base64.b64decode(r[-1]["echo"]), data, "node CONNECT echo")
    t.step("Node socks UDP ASSOCIATE")
    r = node({"mode": "associate", "proxy": proxy, "payload": b64,
              "target": {"host": "127.0.0.1", "port": uecho.port}},
             "node associate")
    t.check_eq(base64.b64decode(r[-1]["udp"]), data, "node UDP echo")
    t.step("Node socks BIND")
    env = dict(t._clean_env(), NODE_PATH=NODE_PATH)
    p = subprocess.Popen(["node", os.path.join(os.path.dirname(__file__),
                                               "node_socks_client.js"),
                          json.dumps({"mode": "bind", "proxy": proxy,
                                      "target": {"host": "127.0.0.1",
                                                 "port": 0}})],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env)
    try:
        first = json.loads(p.stdout.readline())
        host, port = first["bound"]["host"], first["bound"]["port"]
        peer = socket.create_connection((host, port), timeout=10)
        peer.sendall(data)
        peer.close()
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    t.check(p.returncode == 0, "node bind: %s" % err.decode(errors="replace"))
    got = json.loads(out.decode().splitlines()[-1])["peer"]
    t.check_eq(base64.b64decode(got), data, "bytes from the BIND peer")


def main():
    t.require_curl()
    for tool in ("ncat", "proxychains4", "node"):
        if shutil.which(tool) is None:
            raise t.Fail("%s is not installed (contrib/deps.sh)" % tool)
    if not os.path.isdir(os.path.join(NODE_PATH, "socks")):
        raise t.Fail("node-socks is not installed (contrib/deps.sh)")
    origin = t.Origin(size=2 << 20)
    echo = t.echo_server()
    uecho = UDPEcho()
    d = t.Sluiced(listeners=t.with_free_ports([
        {"name": "auth", "kind": "mixed", "listen": "127.0.0.1:0",
         "users": [{"username": USER, "password": PASS},
                   {"username": "bob", "password": "builder"}]},
        {"name": "open", "kind": "socks5", "listen": "127.0.0.1:0"},
    ])).start()
    pids = sorted(d.workers())
    curl_clients(d, origin)
    ncat_client(d, echo)
    pysocks_clients(d, echo, uecho)
    node_clients(d, echo, uecho)
    proxychains_client(d, origin)
    t.check_eq(sorted(d.workers()), pids, "worker pids")
    uecho.close()


if __name__ == "__main__":
    t.run(main)
