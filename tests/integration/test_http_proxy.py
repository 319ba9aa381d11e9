#!/usr/bin/env python3
"""
The HTTP proxy front-end, with the README's "http" example (a plain
`http` listener, one with `users`, and a rule forbidding port 25).

- curl -x http://: a 4 MiB body arrives byte-exact (sha256) for a plain
  absolute-form GET and through CONNECT (curl -p); PUT and POST bodies
  arrive intact both ways (the Origin's sha256 of what it got).
- A header-echo origin shows what the origin receives: origin-form
  request line, no Proxy-Authorization / Proxy-Connection / Keep-Alive /
  fields named in Connection, `Connection: close`, Host from the URL,
  and body bytes sent in the same packet as the head.
- CONNECT keeps bytes sent right after the head (an echo server returns
  them first); CONNECT to [::1] when IPv6 works.
- Auth: --proxy-user alice:wonderland works and the log line names the
  user; missing, unknown-user and wrong-password requests get 407 with
  Proxy-Authenticate, malformed base64 gets 400.
- Policy: port 25 gets 403 (GET and CONNECT); a refused port gets 502.
- Hostile heads: an origin-form request, garbage lines, an over-long
  request line (414), an over-long header (431), 200 header fields (431),
  obs-fold, TE + CL (400), 9 KiB without a line feed (414), a slowloris
  dribbling past `timeout` (closed).  Each gets its status or a close,
  and a log line; the worker pids stay the same and curl still works.
"""
import os
import socket
import time

import sltest as t

BODY = 4 << 20
UPLOAD = 3 << 20


def _echo_head(c, a, srv):
    """Origin that answers with the head (and body) it received."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = c.recv(65536)
        if not d:
            return
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(rest) < n:
        d = c.recv(65536)
        if not d:
            break
        rest += d
    body = head + b"\r\n\r\n" + rest
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
              b"Connection: close\r\n\r\n" % len(body) + body)


def raw(port, data, timeout=10, host="127.0.0.1"):
    """Send data, read until the close; a reset counts as the close."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(data)
        return t.recv_all(s, timeout)
    except (ConnectionResetError, BrokenPipeError):
        return b""
    finally:
        s.close()


def status_of(resp):
    if not resp.startswith(b"HTTP/1.1 "):
        return None
    return int(resp[9:12])


def split(resp):
    head, _, body = resp.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), body


def check_status(resp, want, what):
    t.check(status_of(resp) == want, "%s: want %d, got %r"
            % (what, want, resp[:120]))
    lines, body = split(resp)
    t.check(b"Connection: close" in lines, "%s: Connection: close in %r"
            % (what, lines))
    cl = [l for l in lines if l.startswith(b"Content-Length: ")]
    t.check(len(cl) == 1 and int(cl[0][16:]) == len(body),
            "%s: Content-Length matches the body: %r" % (what, resp))
    return lines


def downloads(port, origin):
    px = "http://127.0.0.1:%d" % port
    t.step("GET through the proxy (absolute-form): %d bytes" % BODY)
    body = t.curl_ok(["-x", px, origin.url()], "GET via -x")
    t.check_eq(t.sha256(body), origin.digest, "body sha256 via -x")
    t.step("GET through a CONNECT tunnel (curl -p)")
    body = t.curl_ok(["-p", "-x", px, origin.url()], "GET via -p -x")
    t.check_eq(t.sha256(body), origin.digest, "body sha256 via -p -x")
    t.step("GET by name: sluice resolves localhost")
    body = t.curl_ok(["-x", px, origin.url("/small", name="localhost")],
                     "GET localhost via -x")
    t.check_eq(body, b"small\n", "small body by name")


def uploads(port, origin):
    tmp = t.mkdtemp()
    data = os.urandom(UPLOAD)
    path = os.path.join(tmp, "upload.bin")
    with open(path, "wb") as f:
        f.write(data)
    want = [t.sha256(data), str(UPLOAD)]
    px = "http://127.0.0.1:%d" % port
    for tunnel in ([], ["-p"]):
        how = "CONNECT" if tunnel else "absolute-form"
        t.step("PUT and POST of %d bytes, %s" % (UPLOAD, how))
        out = t.curl_ok(tunnel + ["-x", px, "-T", path,
                                  origin.url("/upload")], "PUT " + how)
        t.check_eq(out.decode().split(), want, "sha256 of the PUT, " + how)
        out = t.curl_ok(tunnel + ["-x", px, "--data-binary", "@" + path,
                                  origin.url("/upload")], "POST " + how)
        t.check_eq(out.decode().split(), want, "sha256 of the POST, " + how)


def origin_sees(ports, echo):
    t.step("the origin's view: curl with credentials and Proxy-Connection")
    url = "http://127.0.0.1:%d/echo?x=1" % echo.port
    out = t.curl_ok(["-x", "http://127.0.0.1:%d" % ports["web-staff"],
                     "--proxy-user", "alice:wonderland",
                     "-H", "Proxy-Connection: keep-alive", url],
                    "GET to the header echo")
    lines, _ = split(out)
    t.check_eq(lines[0], b"GET /echo?x=1 HTTP/1.1", "request line")
    names = [l.split(b":")[0].lower() for l in lines[1:]]
    for bad in (b"proxy-authorization", b"proxy-connection"):
        t.check(bad not in names, "origin got %s: %r" % (bad, lines))
    t.check(b"Connection: close" in lines, "Connection: close: %r" % lines)
    t.check(b"Host: 127.0.0.1:%d" % echo.port in lines, "Host: %r" % lines)

    t.step("the origin's view: hop-by-hop fields, Host, pipelined body")
    req = (b"POST http://127.0.0.1:%d/p HTTP/1.1\r\n"
           b"Host: evil.example\r\n"
           b"Connection: keep-alive, X-Secret\r\n"
           b"X-Secret: 1\r\nKeep-Alive: 300\r\nTE: trailers\r\n"
           b"Upgrade: h2c\r\nX-Kept: yes\r\nContent-Length: 11\r\n\r\n"
           b"hello world" % echo.port)
    resp = raw(ports["web"], req)
    t.check_eq(status_of(resp), 200, "status via the header echo")
    _, got = split(resp)
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    t.check_eq(lines[0], b"POST /p HTTP/1.1", "request line")
    t.check_eq(sorted(lines[1:]), sorted([
        b"X-Kept: yes", b"Content-Length: 11",
        b"Host: 127.0.0.1:%d" % echo.port, b"Connection: close"]),
        "fields the origin got")
    t.check_eq(body, b"hello world", "body sent with the head")


def connect_early(port, echo):
    t.step("CONNECT: bytes after the head reach the target first")
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\nearly"
              % echo.port)
    want = b"HTTP/1.1 200 Connection established\r\n\r\nearly"
    t.check_eq(t.recv_exact(s, len(want), "CONNECT reply"), want,
               "200 then the echoed early bytes")
    t.echo_check(s, b"and later")
    s.close()
    if t.have_ipv6():
        echo6 = t.echo_server("::1")
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"CONNECT [::1]:%d HTTP/1.1\r\n\r\n" % echo6.port)
        want = b"HTTP/1.1 200 Connection established\r\n\r\n"
        t.check_eq(t.recv_exact(s, len(want), "CONNECT [::1] reply"), want,
                   "CONNECT to [::1]")
        t.echo_check(s, b"over v6")
        s.close()


def auth(d, ports, origin):
    port = ports["web-staff"]
    px = "http://127.0.0.1:%d" % port
    t.step("auth: --proxy-user alice:wonderland, plain and CONNECT")
    for extra in ([], ["-p"]):
        body = t.curl_ok(extra + ["-x", px, "--proxy-user",
                                  "alice:wonderland", origin.url("/small")],
                         "GET with credentials")
        t.check_eq(body, b"small\n", "body with credentials")
    d.wait_sessions(lambda s: s.front == "http" and s.user == "alice" and
                    s.outcome == "done", 2, what="alice's http sessions")
    t.step("auth: missing, unknown user, wrong password: 407")
    url = origin.url("/small").encode()
    cases = [("no credentials", b""),
             ("unknown user", b"Proxy-Authorization: Basic "
              b"bWFsbG9yeTp3b25kZXJsYW5k\r\n"),            # mallory:...
             ("wrong password", b"Proxy-Authorization: Basic "
              b"YWxpY2U6bm9wZQ==\r\n"),                    # alice:nope
             ("another scheme", b"Proxy-Authorization: Bearer x\r\n")]
    for what, field in cases:
        resp = raw(port, b"GET " + url + b" HTTP/1.1\r\n" + field + b"\r\n")
        lines = check_status(resp, 407, what)
        t.check(b'Proxy-Authenticate: Basic realm="sluice"' in lines,
                "%s: challenge in %r" % (what, lines))
    d.wait_sessions(lambda s: s.outcome.startswith("failed, 407") and
                    "unknown user mallory" in s.outcome, 1,
                    what="the unknown-user line")
    d.wait_sessions(lambda s: s.outcome.startswith("failed, 407") and
                    "wrong password for user alice" in s.outcome, 1,
                    what="the wrong-password line")
    t.step("auth: curl with a wrong password fails with 407")
    r = t.curl(["-x", px, "--proxy-user", "alice:nope", origin.url("/small")])
    t.check(r.returncode != 0 and b"407" in r.stderr + r.stdout or
            r.returncode == 22, "curl with a wrong password: rc %d %r"
            % (r.returncode, r.stderr))
    resp = raw(port, b"GET " + url + b" HTTP/1.1\r\nProxy-Authorization: "
               b"Basic YWxpY2U6d29uZGVybGFuZA\r\n\r\n")   # no padding
    check_status(resp, 400, "base64 without padding")


def refusals(ports, origin):
    port = ports["web"]
    t.step("policy: port 25 gets 403, GET and CONNECT")
    check_status(raw(port, b"GET http://127.0.0.1:25/ HTTP/1.1\r\n\r\n"),
                 403, "GET to port 25")
    check_status(raw(port, b"CONNECT 127.0.0.1:25 HTTP/1.1\r\n\r\n"),
                 403, "CONNECT to port 25")
    t.step("a refused port gets 502")
    dead = t.free_port()
    check_status(raw(port, b"GET http://127.0.0.1:%d/ HTTP/1.1\r\n\r\n"
                     % dead), 502, "GET to a closed port")
    check_status(raw(port, b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % dead),
                 502, "CONNECT to a closed port")
    check_status(raw(port, b"GET https://127.0.0.1:%d/ HTTP/1.1\r\n\r\n"
                     % origin.port), 501, "https:// scheme")


def hostile(d, port):
    line = b"GET http://127.0.0.1/ HTTP/1.1\r\n"
    cases = [
        ("origin-form", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("garbage line", b"\x16\x03\x01 hello\r\n", 400),
        ("HTTP/2.0", b"GET http://h/ HTTP/2.0\r\n\r\n", 505),
        ("obs-fold", line + b"A: b\r\n c\r\n\r\n", 400),
        ("TE and CL", line + b"Content-Length: 1\r\n"
         b"Transfer-Encoding: chunked\r\n\r\nx", 400),
        ("two lengths", line + b"Content-Length: 1\r\n"
         b"Content-Length: 2\r\n\r\nxx", 400),
        ("bare LF", b"GET http://h/ HTTP/1.1\nHost: h\n\n", 400),
        ("userinfo", b"GET http://u:p@h/ HTTP/1.1\r\n\r\n", 400),
        ("200 header fields", line + b"".join(
            b"X-%d: v\r\n" % i for i in range(200)) + b"\r\n", 431),
        ("long request line", b"GET http://h/" + b"a" * 9000 +
         b" HTTP/1.1\r\n\r\n", 414),
        ("no line feed in 9 KiB", os.urandom(9000).replace(b"\n", b"x"),
         414),
        ("20 KiB header line", line + b"X: " + b"v" * 20000 +
         b"\r\n\r\n", 431),
    ]
    mark = d.mark()
    for what, data, want in cases:
        resp = raw(port, data)
        # sluice may close with bytes unread: a reset can eat the answer.
        t.check(resp == b"" or status_of(resp) == want,
                "%s: want %d or a close, got %r" % (what, want, resp[:80]))
        if resp:
            check_status(resp, want, what)
    for want in (400, 414, 431, 505):
        d.wait_sessions(lambda s, w=want: s.front == "http" and
                        s.outcome.startswith("failed, %d: " % w), 1,
                        mark=mark, what="a 'failed, %d' line" % want)
    n = len(cases)
    d.wait_sessions(lambda s: s.front == "http" and
                    s.outcome.startswith("failed, "), n, mark=mark,
                    what="%d failed http sessions" % n)

    t.step("slowloris: a head dribbled past `timeout` is closed")
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET http://127.0.0.1/ HTTP/1.1\r\n")
    t0 = time.monotonic()
    closed = False
    while time.monotonic() - t0 < 12:
        try:
            s.sendall(b"X")
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        s.settimeout(0.5)
        try:
            if s.recv(1024) == b"":
                closed = True
                break
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed = True
            break
    s.close()
    t.check(closed, "slowloris connection still open after 12 s")
    d.wait_sessions(lambda s: s.front == "http" and
                    s.outcome.startswith("handshake timeout"), 1,
                    mark=mark, what="the slowloris' handshake timeout")


def main():
    t.require_curl()
    origin = t.Origin(size=BODY)
    echo = t.echo_server()
    heads = t.TCPServer(_echo_head)
    conf = t.readme_example("http")
    d = t.Sluiced(listeners=t.with_free_ports(conf["listeners"]),
                  balancer=conf["balancer"], timeout=2).start()
    ports = d.port_of
    pids = d.workers()
    downloads(ports["web"], origin)
    uploads(ports["web"], origin)
    origin_sees(ports, heads)
    connect_early(ports["web"], echo)
    auth(d, ports, origin)
    refusals(ports, origin)
    hostile(d, ports["web"])
    t.step("afterwards: same workers, curl still works")
    t.check_eq(d.workers(), pids, "worker pids")
    body = t.curl_ok(["-x", "http://127.0.0.1:%d" % ports["web"],
                      origin.url("/small")], "GET after the hostile heads")
    t.check_eq(body, b"small\n", "body after the hostile heads")
    t.check(not d.find_log(r"killed by|exited with status|respawning"),
            "no worker died")
    t.check_eq(heads.errors, [], "header echo errors")


if __name__ == "__main__":
    t.run(main)
