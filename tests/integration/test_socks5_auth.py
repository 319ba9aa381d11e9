#!/usr/bin/env python3
"""
SOCKS5 username/password authentication (RFC 1929).

- The README's "socks5-auth" example (alice with a plain password, bob
  with a yescrypt hash) runs with free ports, beside a listener without
  users and a `mixed` listener with users.
- curl --socks5-hostname user:pass@ downloads byte-exact as alice and as
  bob; PySocks (username/password) too; the log line shows `user alice`.
- A greeting, the RFC 1929 message and the request in one segment get
  05 02, 01 00 and the reply in order.
- Wrong password and unknown user: 01 01, then the close; the log says
  why and names the user.
- A greeting offering only "no auth": 05 FF and the close; on the
  listener without users, a greeting offering only 02: 05 FF.
- Malformed messages (version 5, empty name, empty password, a NUL in
  the name): 01 01 and the close; a truncated message then EOF: closed
  with nothing; a truncated message left hanging: closed by `timeout`;
  a longest-possible message after 255 methods, with junk after it:
  01 01 and the close.
- Worker pids are unchanged at the end.
"""
import socket

import sltest as t

OK, NO = b"\x01\x00", b"\x01\x01"


def auth_msg(user, password, ver=1):
    return bytes([ver, len(user)]) + user + bytes([len(password)]) + password


def raw(port, data, timeout=10, shut=False):
    """Send data; everything sluice says until it closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        return t.recv_all(s, timeout)
    finally:
        s.close()


def curl_as(port, cred, origin, what):
    body = t.curl_ok(["--socks5-hostname", "%s@127.0.0.1:%d" % (cred, port),
                      origin.url()], what)
    t.check_eq(t.sha256(body), origin.digest, "%s: body sha256" % what)


def pysocks_get(port, origin):
    socks = t.pysocks()
    s = socks.socksocket()
    s.set_proxy(socks.SOCKS5, "127.0.0.1", port, rdns=True,
                username="alice", password="wonderland")
    s.settimeout(20)
    try:
        s.connect(("localhost", origin.port))
        s.sendall(b"GET /blob HTTP/1.1\r\nHost: localhost\r\n"
                  b"Connection: close\r\n\r\n")
        data = t.recv_all(s, 20)
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    t.check(head.startswith(b"HTTP/1.1 200"), "PySocks: status %r"
            % head[:40])
    t.check_eq(t.sha256(body), origin.digest, "PySocks: body sha256")


def pipelined(port, echo):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(b"\x05\x02\x00\x02" + auth_msg(b"alice", b"wonderland") +
                  t.s5_request("127.0.0.1", echo.port))
        t.check_eq(t.recv_exact(s, 4, "method and auth replies"),
                   b"\x05\x02" + OK, "replies to a pipelined handshake")
        rep, _ = t.s5_read_reply(s)
        t.check_eq(rep, 0, "CONNECT reply after pipelined auth")
        t.echo_check(s, bytes(range(256)) * 64, "echo after auth")
    finally:
        s.close()


def failures(d, port, open_port):
    greet = b"\x05\x01\x02"
    t.step("wrong password and unknown user: 01 01, then the close")
    m = d.mark()
    t.check_eq(raw(port, greet + auth_msg(b"alice", b"wonderlanD")),
               b"\x05\x02" + NO, "wrong password")
    t.check_eq(raw(port, greet + auth_msg(b"mallory", b"wonderland")),
               b"\x05\x02" + NO, "unknown user")
    t.check_eq(raw(port, greet + auth_msg(b"bob", b"builde")),
               b"\x05\x02" + NO, "wrong password (yescrypt)")
    d.wait_sessions(lambda s: s.outcome ==
                    "auth failed: wrong password for user alice", 1,
                    mark=m, what="wrong-password session")
    d.wait_sessions(lambda s: s.outcome ==
                    "auth failed: unknown user mallory", 1, mark=m,
                    what="unknown-user session")
    t.check("wonderlanD" not in d.log(), "a password in the log")
    for s in d.sessions(m):
        if s.outcome.startswith("auth failed"):
            t.check(s.user is None, "failed session has a user: %r" % s)

    t.step("greetings without an acceptable method: 05 FF")
    t.check_eq(raw(port, b"\x05\x01\x00"), b"\x05\xff",
               "no-auth-only greeting on a listener with users")
    t.check_eq(raw(port, b"\x05\x03\x00\x01\x03"), b"\x05\xff",
               "greeting without 02 on a listener with users")
    t.check_eq(raw(open_port, b"\x05\x01\x02"), b"\x05\xff",
               "02-only greeting on a listener without users")

    t.step("malformed RFC 1929 messages: 01 01, then the close")
    bad = [
        ("version 5", auth_msg(b"alice", b"wonderland", ver=5)),
        ("version 0", auth_msg(b"alice", b"wonderland", ver=0)),
        ("empty name", auth_msg(b"", b"wonderland")),
        ("empty password", auth_msg(b"alice", b"")),
        ("NUL in the name", auth_msg(b"ali\x00ce", b"wonderland")),
        ("NUL in the password", auth_msg(b"alice", b"wonder\x00land")),
        ("a SOCKS5 request instead", t.s5_request("127.0.0.1", 80)),
    ]
    for what, msg in bad:
        t.check_eq(raw(port, greet + msg), b"\x05\x02" + NO, what)

    t.step("longest message after 255 methods, junk after it")
    msg = b"\x05\xff" + bytes(range(1, 256)) + \
        auth_msg(b"a" * 255, b"p" * 255) + b"\xff" * 300
    t.check_eq(raw(port, msg), b"\x05\x02" + NO, "longest message")

    t.step("truncated messages: closed, nothing granted")
    for cut in (1, 2, 5, 7, 12):
        msg = auth_msg(b"alice", b"wonderland")[:cut]
        t.check_eq(raw(port, greet + msg, shut=True), b"\x05\x02",
                   "truncated to %d bytes, then EOF" % cut)
    m = d.mark()
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(greet + b"\x01\x05ali")
        t.check_eq(t.recv_exact(s, 2, "method reply"), b"\x05\x02",
                   "method reply")
        t.wait_closed(s, 10, "a hanging auth message closed by timeout")
    finally:
        s.close()
    d.wait_sessions(lambda s: s.outcome.startswith("handshake timeout"), 1,
                    mark=m, what="handshake-timeout session")


def main():
    t.require_curl()
    origin = t.Origin(size=1 << 20)
    echo = t.echo_server()
    conf = t.readme_example("socks5-auth")
    office = conf["listeners"][0]
    t.check(office["users"][1]["password"].startswith("$y$"),
            "the README example's bob has a yescrypt hash")
    ls = t.with_free_ports(conf["listeners"] + [
        {"name": "open", "kind": "socks5", "listen": "127.0.0.1:0"},
        {"name": "mix", "kind": "mixed", "listen": "127.0.0.1:0",
         "users": office["users"]}])
    d = t.Sluiced(listeners=ls, timeout=2).start()
    port = d.port_of["office"]
    pids = d.workers()

    t.step("curl as alice (plain) and bob (yescrypt)")
    m = d.mark()
    curl_as(port, "alice:wonderland", origin, "curl as alice")
    curl_as(port, "bob:builder", origin, "curl as bob")
    ss = d.wait_sessions(lambda s: s.outcome == "done", 2, mark=m,
                         what="done sessions")
    t.check_eq(sorted(s.user for s in ss), ["alice", "bob"],
               "users in the log lines")
    t.check("socks5 user alice 127.0.0.1:" in d.log_since(m),
            "log line reads 'socks5 user alice <client>'")
    t.step("curl without credentials is refused")
    r = t.curl(["--socks5-hostname", "127.0.0.1:%d" % port,
                origin.url("/small")])
    t.check(r.returncode != 0, "curl without credentials succeeded")

    t.step("mixed listener with users: curl as alice")
    curl_as(d.port_of["mix"], "alice:wonderland", origin, "curl via mixed")

    t.step("PySocks with username/password")
    pysocks_get(port, origin)

    t.step("greeting, auth and request in one segment")
    pipelined(port, echo)

    failures(d, port, d.port_of["open"])

    t.step("worker pids unchanged")
    t.check_eq(d.workers(), pids, "worker pids")
    t.check(not d.find_log(r"killed by|respawning"), "a worker died")


if __name__ == "__main__":
    t.run(main)
