#!/usr/bin/env python3
"""
Hostile client input never kills a worker.

~40 hand-written bad inputs (garbage greetings, truncated greetings and
requests, a zero-length domain, a domain with a NUL, unknown commands and
address types, oversized input, HTTP, SOCKS4) and 300 random blobs, each
on its own connection (send, shut the write side, read until sluice
closes).  The random blobs never contain a CONNECT: either the first byte
is not 5, or a valid greeting is followed by a request whose command is
not 1, so no input can make sluice connect anywhere.

Afterwards: every connection was answered by a close and logged as a
session, the same worker and resolver pids are alive and confined, the
log has no "killed by" / "exited with status" / "respawning" line, every
log line starts with a timestamp and an origin (names with control bytes
cannot forge lines), and
curl through sluice still works.  The zero-length domain and NUL domain
requests get a failure reply.  In a build without test hooks, a CONNECT to
sigsys.sluice-test.invalid is an ordinary unresolvable name (reply 0x04).
"""
import os
import random
import re
import socket
import struct

import sltest as t

GREET = b"\x05\x01\x00"


def hand_written(echo_port):
    p = struct.pack("!H", echo_port)
    return [
        ("empty connection", b""),
        ("HTTP request", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("SOCKS4 BIND", b"\x04\x02" + p + b"\x7f\x00\x00\x01user\x00"),
        ("version 0", b"\x00\x01\x00"),
        ("version 0xff", b"\xff" * 64),
        ("zero methods", b"\x05\x00"),
        ("one byte", b"\x05"),
        ("truncated methods", b"\x05\xff" + b"\x01" * 10),
        ("255 methods, none acceptable", b"\x05\xff" + b"\xfe" * 255),
        ("255 methods then garbage", b"\x05\xff" + b"\x00" * 255 +
         os.urandom(300)),
        ("64 KiB of zeros", b"\x00" * 65536),
        ("64 KiB after a greeting", GREET + b"\x05" * 65536),
        ("request header only", GREET + b"\x05\x01\x00"),
        ("truncated IPv4", GREET + b"\x05\x01\x00\x01\x7f\x00"),
        ("truncated IPv6", GREET + b"\x05\x01\x00\x04" + b"\x00" * 10),
        ("truncated domain", GREET + b"\x05\x01\x00\x03\x10abc"),
        ("domain length only", GREET + b"\x05\x01\x00\x03"),
        ("port missing", GREET + b"\x05\x01\x00\x01\x7f\x00\x00\x01"),
        ("atyp 0", GREET + b"\x05\x01\x00\x00\x7f\x00\x00\x01" + p),
        ("atyp 2", GREET + b"\x05\x01\x00\x02\x7f\x00\x00\x01" + p),
        ("atyp 0xff", GREET + b"\x05\x01\x00\xff" + os.urandom(20)),
        ("cmd 0", GREET + b"\x05\x00\x00\x01\x7f\x00\x00\x01" + p),
        ("cmd 0xff", GREET + b"\x05\xff\x00\x01\x7f\x00\x00\x01" + p),
        ("cmd 4", GREET + b"\x05\x04\x00\x03\x09localhost" + p),
        ("rsv 0xff", GREET + b"\x05\x02\xff\x01\x7f\x00\x00\x01" + p),
        ("request version 4", GREET + b"\x04\x01\x00\x01\x7f\x00\x00\x01" + p),
        ("request version 0", GREET + b"\x00" * 10),
        ("BIND by name, long",
         GREET + b"\x05\x02\x00\x03\xff" + b"a" * 255 + p),
        ("UDP to ::1",
         GREET + b"\x05\x03\x00\x04" + b"\x00" * 15 + b"\x01" + p),
        ("two greetings", GREET + GREET + GREET),
        ("greeting with auth only, then request", b"\x05\x01\x02" +
         b"\x05\x01\x00\x01\x7f\x00\x00\x01" + p),
        ("RFC 1929 without negotiation", GREET + b"\x01\x03bob\x03pwd"),
        ("control bytes in a name (UDP)",
         GREET + b"\x05\x03\x00\x03\x08\x1b[31m\n\r\x00" + p),
        ("high bytes in a name (BIND)",
         GREET + b"\x05\x02\x00\x03\x04\xff\xfe\xfd\xfc" + p),
        ("format string name (BIND)",
         GREET + b"\x05\x02\x00\x03\x08%n%s%n%s" + p),
    ]


def must_fail(echo_port):
    """Requests that must be answered with a failure reply, not success."""
    p = struct.pack("!H", echo_port)
    return [
        ("zero-length domain", b"\x05\x01\x00\x03\x00" + p),
        ("domain with a NUL", b"\x05\x01\x00\x03\x0alocal\x00host" + p),
        ("domain of 255 dots", b"\x05\x01\x00\x03\xff" + b"." * 255 + p),
    ]


def random_blobs(rng, n):
    out = []
    for i in range(n):
        size = rng.randrange(0, 600)
        b = bytes(rng.randrange(256) for _ in range(size))
        if i % 2 == 0:
            # Anything whose first byte is not 5: not even a greeting.
            if b and b[0] == 5:
                b = bytes([b[0] ^ 0x80]) + b[1:]
        else:
            # A valid greeting, then a request that is never a CONNECT.
            cmd = rng.choice([c for c in range(256) if c != 1])
            b = GREET + bytes([5, cmd]) + b
        out.append(("random #%d" % i, b))
    return out


def poke(port, data, what, timeout=10):
    """Send data, half-close, read until sluice closes; the reply."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass                # sluice may close before reading it all
        try:
            return t.recv_all(s, timeout)
        except t.Fail as e:
            raise t.Fail("%s: %s" % (what, e))
    finally:
        s.close()


def main():
    t.require_curl()
    origin = t.Origin(size=1 << 20)
    echo = t.echo_server()
    d = t.Sluiced(workers=2, timeout=3).start()
    workers, resolver = d.workers(), d.resolver()
    seed = int(os.environ.get("SLUICE_IT_SEED",
                              int.from_bytes(os.urandom(4), "big")))
    t.step("random seed %d (set SLUICE_IT_SEED to replay)" % seed)
    rng = random.Random(seed)

    cases = hand_written(echo.port) + random_blobs(rng, 300)
    t.step("%d bad inputs" % len(cases))
    m = d.mark()
    for what, data in cases:
        poke(d.port, data, what)

    t.step("requests that must fail")
    for what, req in must_fail(echo.port):
        s = t.s5_open(d.port)
        try:
            s.sendall(req)
            s.shutdown(socket.SHUT_WR)
            got = t.recv_all(s, 10)
        finally:
            s.close()
        t.check(len(got) >= 2 and got[0] == 5 and got[1] != 0,
                "%s: want a failure reply, got %r" % (what, got[:32]))
    t.check_eq(echo.peers, [], "connections that reached the echo server")
    total = len(cases) + len(must_fail(echo.port))

    if not t.has_test_hooks():
        # A production build has no hook: the name is just unresolvable.
        t.step("no test hooks: sigsys.sluice-test.invalid is only a name")
        s, rep, _ = t.s5_connect(d.port, "sigsys.sluice-test.invalid", 80)
        s.close()
        t.check_eq(rep, 0x04, "reply for sigsys.sluice-test.invalid in a "
                   "build without test hooks")
        total += 1

    d.wait_sessions(lambda x: True, total, timeout=15, mark=m,
                    what="sessions logged for the %d bad connections" % total)

    t.step("same children, no deaths")
    t.check_eq(d.workers(), workers, "worker pids")
    t.check_eq(d.resolver(), resolver, "resolver pid")
    for pid in workers + [resolver]:
        t.check_eq(t.seccomp_mode(pid), 2, "Seccomp of pid %d" % pid)
    bad = d.find_log(r"killed by|exited with status|respawning|killing")
    t.check(bad is None, "log: %r" % (bad and bad.group(0)))
    t.check(d.alive(), "the master died")
    # Names with control bytes were logged: no line may be forged.
    for line in d.log_since(m).splitlines():
        t.check(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
                         r"(sluiced|worker \d+|resolver) \w+: ", line),
                "log line without the timestamp/origin prefix (log "
                "injection?): %r" % line[:200])

    body = t.curl_fetch(d.port, origin.url())
    t.check_eq(t.sha256(body), origin.digest, "body after the bad input")


t.run(main)
