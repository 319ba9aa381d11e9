#!/usr/bin/env python3
"""
SOCKS4 and SOCKS4a through the README example (tag socks4: a `socks5`
listener and a `mixed` listener), plus one listener with `users`.

- curl --socks4 (an IPv4 literal) and --socks4a (a name the local fake
  DNS maps to 127.0.0.1) download a random blob byte-exact (sha256)
  through both listeners; the session lines name the front-end socks4,
  the target as the client gave it, and the outcome "done";
- a raw CONNECT to an echo server gets 00 5A with the real bound IPv4
  address, and the bytes sent right behind the request are relayed;
- a request sent one byte at a time is served;
- a refused port and an unresolvable name get 00 5B and a session line
  "failed, reply 0x5b"; BIND gets 5B too;
- the listener with users refuses SOCKS4 (5B, detail "SOCKS4 on a
  listener with users") and its target sees no connection;
- hostile inputs (garbage after 0x04, DSTIP 0.0.0.0, an over-long user
  id, a never-terminated or empty 4a host, NUL-free garbage, a request
  dribbled past the handshake timeout) get 00 5B or a close, nothing
  reaches the echo server, and the worker and resolver pids stay the
  same.
"""
import os
import random
import socket
import struct
import time

import sltest as t

BODY = 2 << 20
NAME = "origin.socks4.test"
HANDSHAKE_S = 2
REJECT = b"\x00\x5b" + b"\x00" * 6


def s4_request(port, ip="127.0.0.1", user=b"", host=None, cmd=1):
    """A SOCKS4 request; with host, SOCKS4a (DSTIP 0.0.0.1)."""
    dst = socket.inet_aton(ip if host is None else "0.0.0.1")
    req = bytes([4, cmd]) + struct.pack("!H", port) + dst + user + b"\x00"
    if host is not None:
        req += host + b"\x00"
    return req


def s4_exchange(port, data, what, timeout=10):
    """Send data, then read the 8-byte reply (or what came before EOF)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        s.sendall(data)
        got = b""
        while len(got) < 8:
            try:
                d = s.recv(8 - len(got))
            except ConnectionResetError:
                break
            except socket.timeout:
                raise t.Fail("%s: no reply within %d s (got %r)"
                             % (what, timeout, got))
            if not d:
                break
            got += d
        return s, got
    except BaseException:
        s.close()
        raise


def expect_reject(d, port, data, what, detail):
    """5B then a close; the session line says why.  The log line's
    detail must match the regex detail."""
    m = d.mark()
    s, got = s4_exchange(port, data, what)
    try:
        t.check_eq(got, REJECT, "%s: reply" % what)
        t.wait_closed(s, 5, "%s: close after 5B" % what)
    finally:
        s.close()
    d.wait_log(r"session \d+: socks4 \S+ -> .* failed, reply 0x5b: %s$"
               % detail, mark=m, what="%s: session line with %r"
               % (what, detail))


def poke(port, data, what, timeout=10):
    """Hostile bytes: send, half-close, read to the end.  Whatever came
    back must be nothing or exactly one 5B reply."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass                # sluice may close before reading it all
        try:
            got = t.recv_all(s, timeout)
        except t.Fail as e:
            raise t.Fail("%s: %s" % (what, e))
    finally:
        s.close()
    t.check(got in (b"", REJECT), "%s: got %r, want 5B or a close"
            % (what, got[:32]))
    return got


def downloads(d, origin, lname, port):
    t.step("%s listener (port %d): curl --socks4 and --socks4a"
           % (lname, port))
    m = d.mark()
    proxy = "127.0.0.1:%d" % port
    body = t.curl_ok(["--socks4", proxy, origin.url()],
                     "curl --socks4 via %s" % lname)
    t.check_eq(t.sha256(body), origin.digest, "--socks4 body via %s" % lname)
    body = t.curl_ok(["--socks4a", proxy, origin.url(name=NAME)],
                     "curl --socks4a via %s" % lname)
    t.check_eq(t.sha256(body), origin.digest,
               "--socks4a body via %s" % lname)
    for tgt in ("127.0.0.1:%d" % origin.port, "%s:%d" % (NAME, origin.port)):
        ss = d.wait_sessions(lambda s: s.target == tgt and
                             s.outcome == "done", 1, mark=m,
                             what="'done' sessions to %s" % tgt)
        t.check_eq(ss[0].front, "socks4", "front-end of %r" % ss[0])
        t.check(BODY <= ss[0].down < BODY + 4096,
                "down count of %r" % ss[0])


def raw_connect(d, echo, port):
    t.step("raw CONNECT to the echo server: 00 5A, bound address, "
           "pipelined bytes")
    n = len(echo.peers)
    first = b"sent with the request\n"
    s, got = s4_exchange(port, s4_request(echo.port, user=b"bob") + first,
                         "CONNECT echo")
    try:
        t.check_eq(got[:2], b"\x00\x5a", "reply VN and CD")
        bport = struct.unpack("!H", got[2:4])[0]
        t.check_eq(socket.inet_ntoa(got[4:8]), "127.0.0.1", "reply DSTIP")
        t.wait_until(lambda: len(echo.peers) > n, 5, "the echo's accept")
        t.check_eq(bport, echo.peers[-1][1],
                   "reply DSTPORT vs the port the target saw")
        t.check_eq(t.recv_exact(s, len(first), "pipelined echo"), first,
                   "bytes sent behind the request")
        t.echo_check(s, os.urandom(100000), "echo through SOCKS4")
    finally:
        s.close()

    t.step("SOCKS4a request written one byte at a time")
    req = s4_request(echo.port, user=b"u" * 40, host=b"localhost")
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        for b in req:
            s.sendall(bytes([b]))
            time.sleep(0.005)   # pacing, so each byte is its own read
        t.check_eq(t.recv_exact(s, 8, "reply")[:2], b"\x00\x5a",
                   "reply to a byte-by-byte request")
        t.echo_check(s, b"slow but whole\n")
    finally:
        s.close()


def failures(d, port, closed_port):
    t.step("refused port, unresolvable name, BIND -> 5B")
    expect_reject(d, port, s4_request(closed_port), "refused port",
                  r"connect 127\.0\.0\.1:%d: .*" % closed_port)
    expect_reject(d, port, s4_request(closed_port, host=NAME.encode()),
                  "4a refused port", r".*")
    expect_reject(d, port, s4_request(80, host=b"nonexistent.invalid"),
                  "unresolvable name", r".*")
    expect_reject(d, port, s4_request(closed_port, cmd=2), "BIND",
                  r"BIND 0x02 unsupported")
    expect_reject(d, port, s4_request(closed_port, cmd=0x7f), "command 7f",
                  r"command 0x7f unsupported")
    refused = [s for s in d.sessions() if s.front == "socks4" and
               s.outcome.startswith("failed, reply 0x5b: ")]
    t.check(len(refused) >= 5, "session lines 'failed, reply 0x5b': %r"
            % refused)


def hostile_cases(echo_port, rng):
    p = struct.pack("!H", echo_port)
    nonul = bytes(rng.randrange(1, 256) for _ in range(600))
    return [
        ("0x04 alone", b"\x04"),
        ("header only", b"\x04\x01" + p + b"\x7f\x00\x00\x01"),
        ("DSTIP 0.0.0.0", b"\x04\x01" + p + b"\x00\x00\x00\x00u\x00h\x00"),
        ("garbage after 0x04", b"\x04" + nonul),
        ("garbage after a 4a header", b"\x04\x01" + p + b"\x00\x00\x00\x07"
         + nonul),
        ("user id of 256 bytes", b"\x04\x01" + p + b"\x7f\x00\x00\x01" +
         b"u" * 256 + b"\x00"),
        ("user id of 64 KiB", b"\x04\x01" + p + b"\x7f\x00\x00\x01" +
         b"u" * 65536),
        ("empty 4a host", s4_request(echo_port, host=b"")),
        ("4a host of 256 bytes", s4_request(echo_port, host=b"h" * 256)),
        ("never-terminated 4a host", b"\x04\x01" + p + b"\x00\x00\x00\x01"
         b"\x00" + b"h" * 100),
        ("4a host of 64 KiB", b"\x04\x01" + p + b"\x00\x00\x00\x01\x00" +
         b"h" * 65536),
        ("control bytes in a 4a host (BIND)",
         s4_request(echo_port, host=b"\x1b[31m\n\r", cmd=2)),
        ("format string 4a host (BIND)",
         s4_request(echo_port, host=b"%n%s%n%s", cmd=2)),
    ] + [("random after 0x04 #%d" % i,
          b"\x04" + bytes([rng.choice([0, 2, 3, 0xff])]) +
          bytes(rng.randrange(256) for _ in range(rng.randrange(0, 600))))
         for i in range(40)]


def dribble(d, port):
    """A request dribbled slower than the handshake timeout is closed."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setblocking(False)
    data = b"\x04\x01\x00\x50\x7f\x00\x00\x01" + b"u" * 200
    sent = [0]

    def closed():
        try:
            d_ = s.recv(64)
            if d_ == b"" or d_ == REJECT:
                return True
            raise t.Fail("dribble: got %r" % d_)
        except BlockingIOError:
            pass
        except (ConnectionResetError, BrokenPipeError):
            return True
        if sent[0] < len(data):
            try:
                s.send(data[sent[0]:sent[0] + 1])
                sent[0] += 1
            except (ConnectionResetError, BrokenPipeError):
                return True
        return False
    try:
        t0 = time.monotonic()
        t.wait_until(closed, HANDSHAKE_S + 8, "close of a dribbled request",
                     interval=0.05)
        t.check(time.monotonic() - t0 >= HANDSHAKE_S - 0.5,
                "the dribbled request was closed before the timeout")
        t.check(sent[0] < len(data), "the whole request went out")
    finally:
        s.close()


def main():
    t.require_curl()
    origin = t.Origin(size=BODY)
    echo = t.echo_server()
    closed_port = t.free_port()
    conf = t.readme_example("socks4")
    kinds = [l["kind"] for l in conf["listeners"]]
    t.check_eq(sorted(kinds), ["mixed", "socks5"], "the example's kinds")
    conf["listeners"] = t.with_free_ports(conf["listeners"]) + \
        t.with_free_ports([{
            "name": "office", "kind": "socks5", "listen": "127.0.0.1:0",
            "users": [{"username": "alice", "password": "wonderland"}]}])
    conf.setdefault("timeout", HANDSHAKE_S)
    d = t.Sluiced(workers=2, dns=t.MapDNS({NAME: ["127.0.0.1"]}),
                  **conf).start()
    for name, port in d.port_of.items():
        t.wait_until(lambda: t.listening(port), 5, "%s listening" % name)
    workers, resolver = d.workers(), d.resolver()
    ex = [l["name"] for l in conf["listeners"] if l["name"] != "office"]

    for lname in ex:
        downloads(d, origin, lname, d.port_of[lname])
    for lname in ex:
        raw_connect(d, echo, d.port_of[lname])
    failures(d, d.port_of[ex[0]], closed_port)
    failures(d, d.port_of[ex[1]], closed_port)

    t.step("a listener with users refuses SOCKS4 and SOCKS4a")
    n = len(echo.peers)
    office = d.port_of["office"]
    expect_reject(d, office, s4_request(echo.port, user=b"alice"),
                  "SOCKS4 with users", "SOCKS4 on a listener with users")
    expect_reject(d, office, s4_request(echo.port, host=b"localhost"),
                  "SOCKS4a with users", "SOCKS4 on a listener with users")
    r = t.curl(["--socks4", "127.0.0.1:%d" % office, origin.url("/small")])
    t.check(r.returncode != 0, "curl --socks4 through the users listener "
            "succeeded")
    t.check_eq(len(echo.peers), n, "connections the echo server got "
               "through the users listener")

    seed = int(os.environ.get("SLUICE_IT_SEED",
                              int.from_bytes(os.urandom(4), "big")))
    t.step("hostile inputs (seed %d; set SLUICE_IT_SEED to replay)" % seed)
    cases = hostile_cases(echo.port, random.Random(seed))
    n = len(echo.peers)
    m = d.mark()
    nrej = 0
    for lname in ex:
        for what, data in cases:
            nrej += poke(d.port_of[lname], data, "%s via %s"
                         % (what, lname)) == REJECT
    t.check(nrej >= len(ex) * 6, "only %d hostile inputs got 5B" % nrej)
    t.check_eq(len(echo.peers), n, "connections hostile input made")
    d.wait_sessions(lambda x: x.front == "socks4", len(cases) * len(ex),
                    timeout=15, mark=m, what="socks4 sessions for the "
                    "hostile inputs")

    t.step("a request dribbled past the %d s handshake timeout"
           % HANDSHAKE_S)
    m = d.mark()
    dribble(d, d.port_of[ex[0]])
    d.wait_log(r"session \d+: socks4 .* handshake timeout", mark=m)

    t.step("same children, no deaths, curl still works")
    t.check_eq(d.workers(), workers, "worker pids")
    t.check_eq(d.resolver(), resolver, "resolver pid")
    bad = d.find_log(r"killed by|exited with status|respawning|killing")
    t.check(bad is None, "log: %r" % (bad and bad.group(0)))
    body = t.curl_ok(["--socks4a", "127.0.0.1:%d" % d.port_of[ex[1]],
                      origin.url(name=NAME)], "curl --socks4a at the end")
    t.check_eq(t.sha256(body), origin.digest, "body after the hostile input")


t.run(main)
