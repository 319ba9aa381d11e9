#!/usr/bin/env python3
"""
`udp_forward` listeners: UDP flows to a fixed target (issue 11).

- The README's "udp-forward" example, its target swapped for a local UDP
  echo: 1, 1400 and 8000-byte datagrams come back byte-exact, from the
  listener's address; two clients (two source ports) each get their own.
- IPv6 listener to an IPv4 target.
- A flow ends after udp_idle_timeout with a log line counting both ways.
- A target that refuses (ICMP port unreachable) gives a log line, and
  the daemon goes on.
- A flood from 10,000 source ports stays within max_flows: the flows
  logged never exceed it, the drops are logged naming the limit, and a
  client afterwards is served once the flows expire.
- A worker SIGKILLed while it holds a flow: its respawn serves new
  datagrams on the same UDP socket (the master keeps its copy).
- Through a socks5 link whose upstream is a second sluiced: the flow
  leaves by UDP ASSOCIATE, the echo comes back byte-exact, A's flow line
  names the link and B relayed the datagrams.
"""
import os
import re
import signal
import socket
import threading

import sltest as t


class UDPEcho:
    """Echo server: returns each datagram to its sender."""

    def __init__(self, host="127.0.0.1"):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.peers = set()
        self._stop = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        t.at_exit(self.close)

    def _loop(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                d, a = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self.peers.add(a)
            self.sock.sendto(d, a)

    def close(self):
        self._stop = True
        self.sock.close()


def roundtrip(port, payload, host="127.0.0.1", timeout=5):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(payload, (host, port))
        d, a = s.recvfrom(65535)
        return d, a
    finally:
        s.close()


FLOW_RE = re.compile(r"flow \d+: udp_forward (\S+) -> (\S+) via (\S+): "
                     r"up (\d+)/(\d+) down (\d+)/(\d+)")


def readme_udp(echo, echo6):
    conf = t.readme_example("udp-forward")
    ls = [l for l in conf["listeners"] if t.have_ipv6() or
          "::1" not in l["listen"]]
    ls = t.with_free_ports(ls)
    for l in ls:
        l["target"] = "127.0.0.1:%d" % echo.port
        l["udp_idle_timeout"] = 1     # the README says 30: end sooner
    # The daemon's readiness check wants a TCP listener first.
    ls.insert(0, t.with_free_ports([{"name": "tcp", "kind": "socks5",
                                     "listen": "127.0.0.1:0"}])[0])
    d = t.Sluiced(listeners=ls).start()
    port = d.port_of["dns"]
    t.step("1, 1400 and 8000-byte datagrams come back byte-exact")
    for n in (1, 1400, 8000):
        payload = bytes((i * 7 + n) & 0xff for i in range(n))
        got, src = roundtrip(port, payload)
        t.check_eq(got, payload, "echo of %d bytes" % n)
        t.check_eq(src, ("127.0.0.1", port), "reply source")
    t.step("two clients, each its own flow and its own replies")
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for s in (a, b):
        s.settimeout(5)
    a.sendto(b"from a", ("127.0.0.1", port))
    b.sendto(b"from b", ("127.0.0.1", port))
    t.check_eq(a.recvfrom(100)[0], b"from a", "a's reply")
    t.check_eq(b.recvfrom(100)[0], b"from b", "b's reply")
    a.close()
    b.close()
    if "dns6" in d.port_of:
        t.step("[::1] listener -> IPv4 target")
        got, _ = roundtrip(d.port_of["dns6"], b"bridged", host="::1")
        t.check_eq(got, b"bridged", "echo through the v6 listener")
    t.step("flows end after udp_idle_timeout with a log line")
    m = t.wait_until(lambda: FLOW_RE.search(d.log()), 10,
                     "a flow's end logged")
    t.check(int(m.group(4)) >= 1 and int(m.group(6)) >= 1,
            "the flow line counts both ways: %s" % m.group(0))
    d.check_alive()
    d.cleanup()


def limits(echo):
    closed = t.free_port()
    ls = t.with_free_ports([
        {"name": "tcp", "kind": "socks5", "listen": "127.0.0.1:0"},
        {"name": "flood", "kind": "udp_forward", "listen": "127.0.0.1:0",
         "target": "127.0.0.1:%d" % echo.port, "max_flows": 100,
         "max_flows_per_client": 100, "udp_idle_timeout": 2},
        {"name": "refused", "kind": "udp_forward", "listen": "127.0.0.1:0",
         "target": "127.0.0.1:%d" % closed},
    ])
    d = t.Sluiced(listeners=ls).start()
    p = d.port_of

    t.step("a target that refuses: ICMP error logged, daemon fine")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(3):
        s.sendto(b"anyone?", ("127.0.0.1", p["refused"]))
    s.close()
    d.wait_log(r"flow \d+: target 127\.0\.0\.1:%d: Connection refused"
               % closed, what="the ICMP error's log line")

    t.step("10,000 source ports: at most max_flows flows")
    m = d.mark()
    for i in range(10000):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"flood", ("127.0.0.1", p["flood"]))
        s.close()
    d.wait_log(r"listener flood: dropping datagrams from \S+: max_flows",
               mark=m, what="drops over max_flows logged")

    t.step("after the flood expires, a new client is served")
    got = t.wait_until(lambda: _try(p["flood"]), 15,
                       "a reply once the flood's flows expired")
    t.check_eq(got, b"after", "reply after the flood")
    flows = t.wait_until(
        lambda: (lambda f: f if len(f) >= 100 else None)(
            FLOW_RE.findall(d.log_since(m))), 10,
        "the flood's 100 flows ending")
    t.check(len(flows) <= 101, "%d flows made from 10,000 ports "
            "(max_flows 100, plus the client after)" % len(flows))
    d.check_alive()
    d.cleanup()


def respawn(echo):
    t.step("a worker is SIGKILLed: its respawn takes the same UDP socket")
    ls = t.with_free_ports([
        {"name": "tcp", "kind": "socks5", "listen": "127.0.0.1:0"},
        {"name": "u", "kind": "udp_forward", "listen": "127.0.0.1:0",
         "target": "127.0.0.1:%d" % echo.port}])
    d = t.Sluiced(listeners=ls, workers=1).start()
    port = d.port_of["u"]
    got, _ = roundtrip(port, b"before")
    t.check_eq(got, b"before", "echo before the kill")
    victim = d.workers()[0]
    m = d.mark()
    os.kill(victim, signal.SIGKILL)
    d.wait_log(r"worker 0 \(pid %d\) killed by SIGKILL" % victim, mark=m,
               what="the master saw the worker die")
    t.wait_until(lambda: d.workers() and d.workers()[0] != victim and
                 t.seccomp_mode(d.workers()[0]) == 2, 15,
                 "a new confined worker")
    got = t.wait_until(lambda: _try(port, b"after respawn"), 10,
                       "an echo from the respawned worker")
    t.check_eq(got, b"after respawn", "echo after the respawn")
    d.check_alive()
    d.cleanup()


def upstream(echo):
    t.step("udp_forward over a socks5 link (a second sluiced upstream)")
    b = t.Sluiced(name="B", workers=1).start()
    ls = t.with_free_ports([
        {"name": "tcp", "kind": "socks5", "listen": "127.0.0.1:0"},
        {"name": "u", "kind": "udp_forward", "listen": "127.0.0.1:0",
         "target": "127.0.0.1:%d" % echo.port, "udp_idle_timeout": 1}])
    a = t.Sluiced(name="A", workers=1, listeners=ls, balancer={
        "links": [{"name": "up", "protocol": "socks5",
                   "domain": "127.0.0.1", "port": b.port}]}).start()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    for n in (1, 1400, 8000):
        payload = os.urandom(n)
        s.sendto(payload, ("127.0.0.1", a.port_of["u"]))
        got, src = s.recvfrom(65535)
        t.check_eq(got, payload, "echo of %d bytes via the upstream" % n)
    s.close()
    m = t.wait_until(lambda: FLOW_RE.search(a.log()), 10, "A's flow line")
    t.check_eq(m.group(3), "up", "the flow's link")
    t.check_eq((m.group(4), m.group(6)), ("3", "3"), "datagrams each way")
    b.wait_log(r"session \d+: socks5 .*via direct", what="B's session")
    a.check_alive()
    b.check_alive()
    a.cleanup()
    b.cleanup()


def _try(port, payload=b"after"):
    try:
        return roundtrip(port, payload, timeout=0.5)[0]
    except socket.timeout:
        return None


def main():
    echo = UDPEcho()
    echo6 = UDPEcho("::1") if t.have_ipv6() else None
    readme_udp(echo, echo6)
    limits(echo)
    respawn(echo)
    upstream(echo)


if __name__ == "__main__":
    t.run(main)
