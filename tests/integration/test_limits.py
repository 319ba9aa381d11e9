#!/usr/bin/env python3
"""Limits (issue 13, item 3): per-client sessions and new sessions per
second, listener and root max_sessions, session and scope bandwidth, in
splice and copy mode, across 2 workers, with the refusal in SOCKS5
(0x02), SOCKS4 (0x5B) and HTTP (429/503), the log line naming the limit,
the "limit" front-end error reason, and a bad limit refused by -t.

Clients are real sockets from distinct loopback sources (127.0.0.x).
The first daemon loads the README's "Limits" example (tag limits) with
its ports and the test's bounds filled in.
"""
import json
import os
import re
import socket
import struct
import subprocess
import threading
import time

import sltest as t

PER_CLIENT = 6
RATE = 5
MB = 1000 * 1000

# The README's "Limits" example (<!-- example: limits -->), used only
# until the README has it.
README_EXAMPLE = """
{
  "limits": {
    "max_sessions": 1000,
    "bandwidth": { "up": 10000000, "down": 50000000 },
    "max_udp_flows": 2000
  },
  "listeners": [
    { "name": "socks", "kind": "socks5", "listen": "127.0.0.1:1080",
      "limits": {
        "max_sessions_per_client": 20,
        "session_bandwidth": { "up": 1000000, "down": 5000000 }
      } },
    { "name": "rate", "kind": "socks5", "listen": "127.0.0.1:1081",
      "limits": { "new_sessions_per_second_per_client": 50 } },
    { "name": "http", "kind": "http", "listen": "127.0.0.1:3128",
      "limits": { "max_sessions": 200, "max_sessions_per_client": 4 } },
    { "name": "metrics", "kind": "metrics", "listen": "127.0.0.1:9100" }
  ]
}
"""


def held(d, port, src, whoami):
    """A SOCKS5 session from src kept open: (rep, socket or None)."""
    s, rep, _ = t.s5_connect_from(src, port, "127.0.0.1", whoami.port)
    if rep != 0:
        s.close()
        return rep, None
    return rep, s


def pipelined(port, src, target_port, timeout=5):
    """Greeting and CONNECT in one write; the reply code, or None when
    the daemon closed without one."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(b"\x05\x01\x00" + t.s5_request("127.0.0.1", target_port))
        m = s.recv(2)
        if m != b"\x05\x00":
            return None
        rep, _ = t.s5_read_reply(s)
        return rep
    except (OSError, t.Fail):
        return None
    finally:
        s.close()


def socks4(port, src, target_port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(5)
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(b"\x04\x01" + struct.pack("!H", target_port) +
                  socket.inet_aton("127.0.0.1") + b"x\x00")
        return t.recv_exact(s, 8, "SOCKS4 reply")[1], s
    except BaseException:
        s.close()
        raise


def http_connect(port, src, target_port):
    """(status, socket): a CONNECT through an HTTP proxy listener."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.sendall(("CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n"
               % target_port).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        d = s.recv(4096)
        if not d:
            break
        head += d
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", head)
    t.check(m is not None, "no HTTP status line: %r" % head[:80])
    return int(m.group(1)), s


def limits_conf():
    """The README example with this test's ports and bounds."""
    try:
        conf = t.readme_example("limits")
    except t.Fail:
        t.step("README.md has no 'limits' example yet: the test's copy")
        conf = json.loads(README_EXAMPLE)
    # Bounds a test can reach; no bandwidth limit here (bw_daemon's).
    conf["limits"] = {"max_sessions": 40}
    names = {}
    for l in conf["listeners"]:
        l["listen"] = "127.0.0.1:%d" % t.free_port()
        names[l["name"]] = l
    names["socks"]["limits"] = {"max_sessions_per_client": PER_CLIENT}
    names["rate"]["limits"] = {"new_sessions_per_second_per_client": RATE}
    names["http"]["limits"] = {"max_sessions": 2,
                               "max_sessions_per_client": 1}
    # Behind a balancer: the client is who the PROXY header says.
    conf["listeners"].append({
        "name": "pp", "kind": "socks5",
        "listen": "127.0.0.1:%d" % t.free_port(),
        "proxy_protocol": True, "proxy_protocol_from": ["127.0.0.1"],
        "limits": {"max_sessions_per_client": 1}})
    return conf


def per_client(d, whoami):
    port = d.port_of["socks"]
    t.step("per-client cap: %d + 3 sessions from 127.0.0.1, 2 workers"
           % PER_CLIENT)
    mark = d.mark()
    socks, reps = [], []
    for i in range(PER_CLIENT + 3):
        rep, s = held(d, port, "127.0.0.1", whoami)
        reps.append(rep)
        if s is not None:
            socks.append(s)
    t.check_eq(reps, [0] * PER_CLIENT + [2] * 3, "replies")
    pids = {d.worker_of_client(s) for s in socks}
    t.step("served by %d worker(s)" % len(pids))
    t.step("SOCKS4 over the cap: 0x5B")
    rep4, s4 = socks4(port, "127.0.0.1", whoami.port)
    s4.close()
    t.check_eq(rep4, 0x5B, "SOCKS4 reply")
    t.step("another client, 127.0.0.2, is served")
    rep, s = held(d, port, "127.0.0.2", whoami)
    t.check_eq(rep, 0, "127.0.0.2's reply")
    s.close()
    d.wait_log(r"limit max_sessions_per_client \(%d\) of listener socks "
               r"reached: refusing 127\.0\.0\.1" % PER_CLIENT, mark=mark)
    t.step("one closed: the client gets one more, not two")
    socks.pop().close()

    def one_more():
        rep, s = held(d, port, "127.0.0.1", whoami)
        if s is not None:
            socks.append(s)
        return rep == 0
    t.wait_until(one_more, 5, "a session slot back after a close")
    rep, s = held(d, port, "127.0.0.1", whoami)
    t.check_eq(rep, 2, "over the cap again")
    for s in socks:
        s.close()


def proxied(d, whoami):
    port = d.port_of["pp"]
    t.step("PROXY protocol: per-client 1 counts the real clients")

    def via(src):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(("PROXY TCP4 %s 127.0.0.1 4000 %d\r\n" % (src, port))
                  .encode() + b"\x05\x01\x00" +
                  t.s5_request("127.0.0.1", whoami.port))
        t.check_eq(t.recv_exact(s, 2, "method reply"), b"\x05\x00",
                   "method reply")
        return t.s5_read_reply(s)[0], s
    rep1, a = via("10.0.0.1")
    rep2, b = via("10.0.0.1")
    rep3, c = via("10.0.0.2")
    for x in (a, b, c):
        x.close()
    t.check_eq([rep1, rep2, rep3], [0, 2, 0],
               "10.0.0.1 twice, then 10.0.0.2, all from 127.0.0.1")


def rate(d, whoami):
    port = d.port_of["rate"]
    t.step("rate: 20 sessions at once from 127.0.0.1, %d/s allowed" % RATE)
    t0 = time.monotonic()
    reps = [pipelined(port, "127.0.0.1", whoami.port) for _ in range(20)]
    el = time.monotonic() - t0
    ok = reps.count(0)
    t.step("%d served, %d refused (0x02) in %.2f s" % (ok, reps.count(2),
                                                       el))
    t.check(RATE <= ok <= RATE + int(el * RATE) + 1,
            "served %d of 20 in %.2f s; want %d + %.1f" % (ok, el, RATE,
                                                           el * RATE))
    t.check_eq(reps.count(0) + reps.count(2), 20, "every reply 0 or 2")
    t.check_eq(pipelined(port, "127.0.0.2", whoami.port), 0,
               "127.0.0.2 served meanwhile")


def hammer(d, whoami, n=3000):
    port = d.port_of["rate"]
    t.step("hammer: %d connections from 127.0.0.3, 127.0.0.4 meanwhile"
           % n)
    mark = d.mark()
    res = {"ok": 0, "refused": 0, "other": 0}
    t0 = time.monotonic()

    def run():
        for _ in range(n):
            rep = pipelined(port, "127.0.0.3", whoami.port, timeout=10)
            key = "ok" if rep == 0 else "refused" if rep == 2 else "other"
            res[key] += 1
    th = threading.Thread(target=run, daemon=True)
    th.start()
    other = 0
    while th.is_alive() and other < 4:
        t.check_eq(pipelined(port, "127.0.0.4", whoami.port), 0,
                   "127.0.0.4 during the hammer")
        other += 1
        time.sleep(0.25)
    th.join(80)
    t.check(not th.is_alive(), "the hammer did not finish")
    el = time.monotonic() - t0
    t.step("%d connections in %.2f s (%.0f/s): %r, the other client %d "
           "times" % (n, el, n / el, res, other))
    t.check(other >= 1, "the other client was never tried")
    t.check(res["ok"] <= RATE + el * RATE + 2,
            "the hammer got %d sessions in %.1f s" % (res["ok"], el))
    lines = len(re.findall(r"limit new_sessions_per_second_per_client "
                           r"\(%d\) of listener rate reached" % RATE,
                           d.log_since(mark)))
    t.check(lines <= 2 * (el + 2),
            "%d refusal lines in %.1f s from 2 workers" % (lines, el))
    m = d.wait_log(r"limit new_sessions_per_second_per_client \(%d\) of "
                   r"listener rate reached: (\d+) more refused in the last "
                   r"second" % RATE, mark=mark)
    t.step("%d log lines; one says %s more" % (lines, m.group(1)))


def listener_cap(d, whoami):
    port = d.port_of["http"]
    t.step("HTTP: per-client 1 (429), listener max_sessions 2 (503)")
    st, a = http_connect(port, "127.0.0.1", whoami.port)
    t.check_eq(st, 200, "first CONNECT")
    st, s = http_connect(port, "127.0.0.1", whoami.port)
    s.close()
    t.check_eq(st, 429, "second CONNECT from the same client")
    st, b = http_connect(port, "127.0.0.2", whoami.port)
    t.check_eq(st, 200, "127.0.0.2's CONNECT")
    st, s = http_connect(port, "127.0.0.3", whoami.port)
    s.close()
    t.check_eq(st, 503, "a third client over max_sessions")
    a.close()
    b.close()


def root_cap(d, whoami):
    t.step("root max_sessions 40 over both SOCKS5 listeners")
    socks = []
    for i in range(40):
        src = "127.0.1.%d" % (i + 1)
        port = d.port_of["socks" if i % 2 else "rate"]
        rep, s = held(d, port, src, whoami)
        t.check_eq(rep, 0, "session %d" % i)
        socks.append(s)
    mark = d.mark()
    rep, s = held(d, d.port_of["socks"], "127.0.2.1", whoami)
    t.check_eq(rep, 2, "the 41st session")
    d.wait_log(r"limit max_sessions \(40\) of tenant \S+ reached",
               mark=mark)
    socks.pop().close()
    t.wait_until(lambda: held(d, d.port_of["socks"], "127.0.2.2",
                              whoami)[0] == 0, 5, "a slot after a close")
    for s in socks:
        s.close()


def sender(size):
    def send(c, a, srv):
        block = b"x" * 65536
        left = size
        while left > 0:
            n = min(left, len(block))
            c.sendall(block[:n])
            left -= n
        c.shutdown(socket.SHUT_WR)
        while c.recv(4096):
            pass
    return t.TCPServer(send)


def fetch(port, srv, src="127.0.0.1"):
    """Seconds from CONNECT's reply to EOF, and the bytes."""
    s, rep, _ = t.s5_connect_from(src, port, "127.0.0.1", srv.port)
    try:
        t.check_eq(rep, 0, "CONNECT to the sender")
        t0 = time.monotonic()
        got = len(t.recv_all(s, timeout=60))
        return time.monotonic() - t0, got
    finally:
        s.close()


def bandwidth(d, mode):
    size, bw = 4 * MB, 1 * MB
    srv = sender(size)
    want = (size - bw / 10) / bw    # the burst is a tenth of a second
    t.step("%s: 4 MB through session_bandwidth.down 1 MB/s" % mode)
    el, got = fetch(d.port_of["bw"], srv)
    t.check_eq(got, size, "bytes")
    t.step("%s: %.2f s (expected %.2f s)" % (mode, el, want))
    t.check(abs(el - want) <= 0.1 * want,
            "%s: %.2f s, want %.2f s +- 10 %%" % (mode, el, want))
    srv.close()


def scope_bandwidth(d, mode):
    size, bw = 3 * MB, 2 * MB
    srv = sender(size)
    want = (2 * size - bw / 10) / bw
    t.step("%s: 2 sessions of 3 MB through bandwidth.down 2 MB/s of the "
           "listener" % mode)
    out = {}

    def one(i):
        out[i] = fetch(d.port_of["scope"], srv, "127.0.0.%d" % (i + 1))
    t0 = time.monotonic()
    th = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for x in th:
        x.start()
    for x in th:
        x.join(60)
    el = time.monotonic() - t0
    t.check_eq(sorted(out), [0, 1], "both sessions finished")
    t.check_eq([out[0][1], out[1][1]], [size, size], "bytes")
    t.step("%s: %.2f s for both (expected %.2f s), each %.2f / %.2f s"
           % (mode, el, want, out[0][0], out[1][0]))
    t.check(abs(el - want) <= 0.1 * want,
            "%s: %.2f s, want %.2f s +- 10 %%" % (mode, el, want))
    # Shared, not raced for: neither finishes long before the other.
    t.check(min(out[0][0], out[1][0]) >= 0.8 * el,
            "%s: one session starved the other (%.2f / %.2f s)"
            % (mode, out[0][0], out[1][0]))
    srv.close()


def bw_daemon(splice):
    listeners = [
        {"name": "bw", "kind": "socks5",
         "listen": "127.0.0.1:%d" % t.free_port(),
         "limits": {"session_bandwidth": {"down": 1 * MB}}},
        {"name": "scope", "kind": "socks5",
         "listen": "127.0.0.1:%d" % t.free_port(),
         "limits": {"bandwidth": {"down": 2 * MB}}},
    ]
    return t.Sluiced(name="bw-" + ("splice" if splice else "copy"),
                     listeners=listeners, splice=splice).start()


def metrics_limit(d):
    port = d.port_of["metrics"]
    t.step("the metrics count refusals under reason=\"limit\"")
    r = t.curl_ok(["http://127.0.0.1:%d/metrics" % port], "metrics")
    m = re.search(rb'^sluice_frontend_errors_total\{[^}]*listener="socks"'
                  rb'[^}]*reason="limit"[^}]*\} (\d+)$', r, re.M)
    t.check(m is not None and int(m.group(1)) >= 3,
            "no limit errors for listener socks: %r" % (m and m.group(0)))


class UDPEcho:
    """Echoes every datagram on 127.0.0.1 (a thread; close() stops it)."""

    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(0.2)
        self.port = self.s.getsockname()[1]
        self.stop = False
        self.th = threading.Thread(target=self._loop, daemon=True)
        self.th.start()
        t.at_exit(self.close)

    def _loop(self):
        while not self.stop:
            try:
                d, a = self.s.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self.s.sendto(d, a)

    def close(self):
        self.stop = True
        self.th.join(2)
        self.s.close()


def udp_try(port, sock=None, payload=b"ping", timeout=0.5):
    """Send one datagram to a udp_forward listener; the echo or None."""
    s = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.sendto(payload, ("127.0.0.1", port))
    try:
        d, _ = s.recvfrom(65536)
        return d
    except socket.timeout:
        return None
    finally:
        if sock is None:
            s.close()


def udp_flows():
    echo = UDPEcho()
    d = t.Sluiced(name="udp", limits={"max_udp_flows": 3}, listeners=[
        {"name": "s5", "kind": "socks5",
         "listen": "127.0.0.1:%d" % t.free_port(),
         "limits": {"max_udp_flows": 2}},
        {"name": "u", "kind": "udp_forward",
         "listen": "127.0.0.1:%d" % t.free_port(),
         "target": "127.0.0.1:%d" % echo.port, "udp_idle_timeout": 1,
         "limits": {"max_udp_flows": 2}}]).start()
    t.step("max_udp_flows 2 on udp_forward: a third flow is dropped")
    mark = d.mark()
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
             for _ in range(3)]
    for i in range(2):
        t.check_eq(udp_try(d.port_of["u"], socks[i], timeout=5), b"ping",
                   "flow %d's echo" % i)
    t.check_eq(udp_try(d.port_of["u"], socks[2]), None, "a third flow")
    d.wait_log(r"limit max_udp_flows \(2\) of listener u reached",
               mark=mark)
    t.step("SOCKS5 UDP ASSOCIATE: the config's max_udp_flows 3 is full "
           "after one")
    a, rep, _ = t.s5_connect(d.port_of["s5"], "0.0.0.0", 0, cmd=3)
    t.check_eq(rep, 0, "the first association")
    b, rep, _ = t.s5_connect(d.port_of["s5"], "0.0.0.0", 0, cmd=3)
    b.close()
    t.check_eq(rep, 2, "an association over the config's max_udp_flows")
    d.wait_log(r"limit max_udp_flows \(3\) of tenant \S+ reached",
               mark=mark)
    a.close()
    t.step("the flows idle out: a new one is served")
    t.wait_until(lambda: udp_try(d.port_of["u"], socks[2]) == b"ping", 10,
                 "a flow once the others ended")
    for x in socks:
        x.close()


def bad_config():
    t.step("a bad limit: sluiced -t exits 1 with the path")
    d = t.mkdtemp()
    p = os.path.join(d, "bad.json")
    with open(p, "w") as f:
        json.dump({"listeners": [{"kind": "socks5",
                                  "listen": "127.0.0.1:1080",
                                  "limits": {"max_sessions": 0}}]}, f)
    r = subprocess.run([t.sluiced_path(), "-t", "-c", p],
                       capture_output=True, text=True, timeout=20)
    want = ("sluiced: %s: listeners[0].limits.max_sessions: 0 is out of "
            "range (1-4294967295)\n" % p)
    t.check(r.returncode == 1 and r.stderr == want,
            "exit %d, stderr %r; want 1, %r" % (r.returncode, r.stderr,
                                                want))


def main():
    t.require_curl()
    bad_config()
    whoami = t.whoami_server()
    d = t.Sluiced(**limits_conf()).start()
    per_client(d, whoami)
    proxied(d, whoami)
    rate(d, whoami)
    listener_cap(d, whoami)
    hammer(d, whoami)
    root_cap(d, whoami)
    metrics_limit(d)
    udp_flows()
    for splice in (True, False):
        b = bw_daemon(splice)
        mode = "splice" if splice else "copy"
        bandwidth(b, mode)
        scope_bandwidth(b, mode)
    whoami.close()


t.run(main)
