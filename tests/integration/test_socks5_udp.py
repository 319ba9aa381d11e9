#!/usr/bin/env python3
"""
SOCKS5 UDP ASSOCIATE, on the README's example (tag socks5-udp).

- PySocks (a real SOCKS5 UDP client) to a UDP echo server on 127.0.0.1,
  on ::1 (when the host has IPv6) and by name (the fake DNS answers
  echo.udp.test): payloads come back byte-exact, 0 and 1400 bytes
  included, with a header naming the echo server;
- the same with username/password on the "office" listener, when the
  server speaks RFC 1929 (else that part is reported and skipped);
- a destination port the example's matchers forbid is not forwarded;
- through a socks5 link whose upstream is a second sluiced: A asks B for
  its own UDP ASSOCIATE and the datagrams go client -> A -> B -> echo;
- with a hand-made client: a stranger's datagram (another port, another
  IP) and a FRAG != 0 datagram are not forwarded and are counted;
  closing the TCP connection ends the association (the session line
  appears, the relay port answers with ICMP port unreachable);
- udp_timeout: an association with no datagram ends by itself.
"""
import ipaddress
import socket
import struct
import threading

import sltest as t

NAME = "echo.udp.test"


class UDPEcho:
    """Echoes every datagram; records (payload, peer)."""

    def __init__(self, host):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.got = []
        self.lock = threading.Lock()
        self.sock.settimeout(0.2)
        self._stop = False
        threading.Thread(target=self._loop, daemon=True).start()
        t.at_exit(self.close)

    def _loop(self):
        while not self._stop:
            try:
                d, a = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.got.append((d, a))
            try:
                self.sock.sendto(d, a)
            except OSError:
                pass

    def payloads(self):
        with self.lock:
            return [d for d, _ in self.got]

    def close(self):
        self._stop = True
        self.sock.close()


def pysocks_udp(port, user=None, password=None):
    socks = t.pysocks()
    s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
    s.set_proxy(socks.SOCKS5, "127.0.0.1", port, username=user,
                password=password)
    s.settimeout(5)
    t.at_exit(s.close)
    return s


def echo_round(s, host, port, payloads, what):
    for p in payloads:
        s.sendto(p, (host, port))
        try:
            got, frm = s.recvfrom(65535)
        except socket.timeout:
            raise t.Fail("%s: no echo of a %d-byte datagram" % (what, len(p)))
        t.check(got == p, "%s: %d-byte echo differs (got %d bytes)"
                % (what, len(p), len(got)))
        t.check_eq(frm[1], port, "%s: sender port in the header" % what)


PAYLOADS = [b"hello", b"", bytes(range(256)) * 5 + b"\x00" * 120,
            bytes((i * 131) & 0xff for i in range(1400))]


def hdr(host, port, frag=0):
    return b"\x00\x00" + bytes([frag]) + t.s5_addr(host) + \
        struct.pack("!H", port)


class RawClient:
    """UDP ASSOCIATE by hand: TCP control, the relay, our UDP socket."""

    def __init__(self, proxy_port):
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(5)
        t.at_exit(self.udp.close)
        me = self.udp.getsockname()
        self.ctl, rep, self.relay = t.s5_connect(proxy_port, me[0], me[1],
                                                  cmd=3)
        t.at_exit(self.ctl.close)
        t.check_eq(rep, 0, "UDP ASSOCIATE reply")
        t.check_eq(self.relay[0], "127.0.0.1", "relay address")
        self.ctl_port = self.ctl.getsockname()[1]

    def send(self, raw, sock=None):
        (sock or self.udp).sendto(raw, tuple(self.relay))

    def echo(self, host, port, payload, what):
        self.send(hdr(host, port) + payload)
        try:
            d, frm = self.udp.recvfrom(65535)
        except socket.timeout:
            raise t.Fail("%s: no echo" % what)
        t.check_eq(frm, tuple(self.relay), "%s: reply from the relay" % what)
        want = hdr(host, port) + payload
        t.check_eq(d, want, "%s: header and payload" % what)


def auth_supported(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(b"\x05\x01\x02")
        return t.recv_exact(s, 2, "method reply") == b"\x05\x02"
    except t.Fail:
        return False
    finally:
        s.close()


def pysocks_part(d, e4, e6):
    port = d.port_of["socks"]
    t.step("PySocks: IPv4 target, payloads of 5, 0, 1400 bytes")
    s = pysocks_udp(port)
    echo_round(s, "127.0.0.1", e4.port, PAYLOADS, "127.0.0.1")
    if e6 is not None:
        t.step("PySocks: IPv6 target over the same association")
        echo_round(s, "::1", e6.port, PAYLOADS, "::1")
    t.step("PySocks: a name (the fake DNS answers %s)" % NAME)
    echo_round(s, NAME, e4.port, PAYLOADS[:2], NAME)

    t.step("a forbidden port (the example forbids 137) is not forwarded")
    forbidden = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t.at_exit(forbidden.close)
    try:
        forbidden.bind(("127.0.0.1", 137))
    except OSError:
        forbidden = None
    s.sendto(b"forbidden-137", ("127.0.0.1", 137))
    echo_round(s, "127.0.0.1", e4.port, [b"after-forbidden"], "after 137")
    if forbidden is not None:
        forbidden.settimeout(0.3)
        try:
            forbidden.recvfrom(100)
            raise t.Fail("a datagram to forbidden port 137 was forwarded")
        except socket.timeout:
            pass
    s.close()

    t.step("username/password on the office listener")
    office = d.port_of["office"]
    if not auth_supported(office):
        t.step("NOTE: the server does not offer RFC 1929 yet: the UDP "
               "part with authentication is skipped")
        return
    s = pysocks_udp(office, "alice", "wonderland")
    echo_round(s, "127.0.0.1", e4.port, PAYLOADS, "with auth")
    s.close()


def raw_part(d, e4):
    port = d.port_of["socks"]
    t.step("hand-made client: stranger and FRAG datagrams are dropped")
    c = RawClient(port)
    c.echo("127.0.0.1", e4.port, b"first", "first datagram")
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind(("127.0.0.1", 0))
    t.at_exit(stranger.close)
    c.send(hdr("127.0.0.1", e4.port) + b"stranger-port", stranger)
    far = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        far.bind(("127.0.0.2", 0))
        c.send(hdr("127.0.0.1", e4.port) + b"stranger-ip", far)
    except OSError:
        pass
    far.close()
    c.send(hdr("127.0.0.1", e4.port, frag=1) + b"fragment")
    c.send(b"\x00\x00\x00\x09garbage")
    c.echo("127.0.0.1", e4.port, b"second", "after the drops")
    got = e4.payloads()
    for bad in (b"stranger-port", b"stranger-ip", b"fragment"):
        t.check(bad not in got, "%r was forwarded" % bad)

    t.step("closing the TCP connection ends the association")
    m = d.mark()
    c.ctl.close()
    sess = d.wait_sessions(lambda x: x.outcome.startswith("done: udp up 2 "
                                                          "datagrams"),
                           1, mark=m, what="the association's session line")
    line = sess[0].line
    t.check("dropped 4" in line and "stranger" in line and
            "fragment 1" in line and "malformed 1" in line,
            "drops counted in %r" % line)
    t.check_eq(sess[0].link, "direct", "link in the session line")
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t.at_exit(probe.close)
    probe.connect(tuple(c.relay))
    probe.settimeout(0.2)

    def refused():
        try:
            probe.send(hdr("127.0.0.1", e4.port) + b"late")
            probe.recv(100)
        except ConnectionRefusedError:
            return True
        except socket.timeout:
            return False
        return False
    t.wait_until(refused, 5, "the relay port to be closed (ICMP refused)")
    t.check(b"late" not in e4.payloads(), "a datagram after the end went out")


def idle_part(e4):
    t.step("udp_timeout: an idle association ends by itself")
    ls = t.with_free_ports([{"name": "quick", "kind": "socks5",
                             "listen": "127.0.0.1:1", "udp_timeout": 1}])
    d = t.Sluiced(name="idle", workers=1, listeners=ls).start()
    c = RawClient(d.port)
    c.echo("127.0.0.1", e4.port, b"once", "before idling")
    sess = d.wait_sessions(lambda x: x.outcome.startswith("idle timeout"),
                           1, timeout=6, what="the idle timeout line")
    t.check(1.0 <= sess[0].secs < 4.0, "idle after %.3f s" % sess[0].secs)
    t.wait_closed(c.ctl, 5, "the TCP connection to close")


def upstream_part(e4, e6):
    t.step("through a socks5 link to a second sluiced")
    b = t.Sluiced(name="B", workers=1,
                  dns=t.MapDNS({NAME: ["127.0.0.1"]})).start()
    a = t.Sluiced(name="A", workers=1, balancer={
        "links": [{"name": "up", "protocol": "socks5",
                   "domain": "127.0.0.1", "port": b.port}]}).start()
    s = pysocks_udp(a.port)
    echo_round(s, "127.0.0.1", e4.port, PAYLOADS, "A -> B -> 127.0.0.1")
    if e6 is not None:
        echo_round(s, "::1", e6.port, PAYLOADS[:2], "A -> B -> ::1")
    echo_round(s, NAME, e4.port, PAYLOADS[:2], "A -> B -> name")
    ma, mb = a.mark(), b.mark()
    s.close()
    sa = a.wait_sessions(lambda x: x.outcome.startswith("done: udp up"), 1,
                         mark=ma, what="A's association line")
    t.check_eq(sa[0].link, "up", "A's link")
    # B's association is A's control connection: it ends with A's.
    sb = b.wait_sessions(lambda x: x.outcome.startswith("done: udp up"), 1,
                         mark=mb, what="B's association line")
    t.check_eq(sb[0].link, "direct", "B's link")
    n = len(PAYLOADS) + (2 if e6 is not None else 0) + 2
    t.check("udp up %d datagrams" % n in sb[0].line,
            "B relayed %d datagrams: %r" % (n, sb[0].line))


def main():
    t.require_root()
    e4 = UDPEcho("127.0.0.1")
    e6 = UDPEcho("::1") if t.have_ipv6() else None
    if e6 is None:
        t.step("no IPv6 on this host: the ::1 parts are skipped")
    conf = t.readme_example("socks5-udp")
    conf["listeners"] = t.with_free_ports(conf["listeners"])
    d = t.Sluiced(name="udp", workers=1,
                  dns=t.MapDNS({NAME: ["127.0.0.1"]}), **conf).start()
    pysocks_part(d, e4, e6)
    raw_part(d, e4)
    upstream_part(e4, e6)
    idle_part(e4)


t.run(main)
