#!/usr/bin/env python3
"""
tcprouter's routing by name, the README's "sni-host" example: an `sni`
listener sends TLS to the backend whose service matches the ClientHello's
server name (openssl s_server backends with different certificates,
reached with `openssl s_client -servername` and `curl --resolve`, the
answering backend told by its certificate), a `host` listener sends HTTP
by its Host header (or an absolute-form target), wildcards cover one
label, CATCH_ALL takes the rest and hellos without a name, a service's
dead first address fails over to the next, PROXY protocol v1 and v2 reach
backends that parse them, and a listener behind a trusted balancer reads
the client's address from its PROXY header.  A hello split into 1-byte
segments still routes.  Hostile hellos and heads end one session each.
"""
import json
import os
import re
import socket
import ssl
import struct
import subprocess
import time

import sltest as t


def tls_backend(tmp, cn):
    """An openssl s_server with a certificate for cn; returns its port."""
    key = os.path.join(tmp, cn + ".key")
    crt = os.path.join(tmp, cn + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=" + cn, "-keyout", key, "-out", crt],
                   check=True, capture_output=True)
    port = t.free_port()
    p = subprocess.Popen(["openssl", "s_server", "-quiet", "-accept",
                          "127.0.0.1:%d" % port, "-cert", crt, "-key", key,
                          "-www"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t.at_exit(lambda: (p.kill(), p.wait()))
    t.wait_until(lambda: t.listening(port), 10, "s_server %s on %d"
                 % (cn, port))
    return port


def http_backend(name, proxy=0):
    """Answers one HTTP request with its name (and a PROXY header's
    source address when proxy is 1 or 2)."""
    def handler(c, a, srv):
        buf = b""
        src = "-"
        while b"\r\n\r\n" not in buf:
            d = c.recv(4096)
            if not d:
                return
            buf += d
        if proxy == 1:
            line, buf = buf.split(b"\r\n", 1)
            f = line.split(b" ")
            t.check(f[0] == b"PROXY", "PROXY v1 line: %r" % line)
            src = "%s:%s" % (f[2].decode(), f[4].decode())
        elif proxy == 2:
            t.check(buf[:12] == b"\r\n\r\n\x00\r\nQUIT\n", "v2 signature")
            ver, fam, n = struct.unpack("!BBH", buf[12:16])
            t.check(ver == 0x21 and fam == 0x11, "v2 PROXY TCP4")
            sip = socket.inet_ntoa(buf[16:20])
            sport = struct.unpack("!H", buf[24:26])[0]
            src = "%s:%d" % (sip, sport)
            buf = buf[16 + n:]
        host = re.search(rb"(?im)^host: *(\S+)", buf)
        body = ("%s src=%s host=%s\n" % (
            name, src, host.group(1).decode() if host else "-")).encode()
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n" % len(body) + body)
    return t.TCPServer(handler)


def s_client(port, servername):
    """The certificate subject openssl s_client saw via the sni port."""
    args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port]
    args += ["-servername", servername] if servername else ["-noservername"]
    r = subprocess.run(args, input=b"", capture_output=True, timeout=20)
    m = re.search(rb"subject=CN ?= ?(\S+)", r.stdout)
    return m.group(1).decode() if m else r.stdout[-300:] + r.stderr[-300:]


def curl_subject(port, name):
    r = t.curl(["-k", "-v", "--resolve", "%s:%d:127.0.0.1" % (name, port),
                "https://%s:%d/" % (name, port)])
    m = re.search(rb"subject: CN=(\S+)", r.stderr)
    t.check(r.returncode == 0 and m, "curl https://%s: %r"
            % (name, r.stderr[-400:]))
    return m.group(1).decode()


def http_get(port, name, raw=None, prefix=b""):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(prefix + (raw or b"GET / HTTP/1.1\r\nHost: %s\r\n\r\n"
                        % name.encode()))
    got = t.recv_all(s, 10)
    s.close()
    return got


def client_hello(name):
    """The bytes of a real ClientHello (Python's ssl) for name."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def main():
    t.require_curl()
    tmp = t.mkdtemp()
    tls = {cn: tls_backend(tmp, cn) for cn in ("alpha", "beta", "catchall")}
    web = {n: http_backend(n) for n in ("alpha-http", "beta-http",
                                         "catchall-http")}
    pp1 = http_backend("pp1", proxy=1)
    pp2 = http_backend("pp2", proxy=2)
    dead = t.free_port()
    ports = {9443: tls["alpha"], 9444: tls["beta"], 9445: tls["catchall"],
             9080: web["alpha-http"].port, 9082: web["beta-http"].port,
             9081: web["catchall-http"].port, 9083: pp1.port,
             9084: pp2.port, 9447: dead}
    # One pass, whole numbers only: replacing one port after another
    # turned 9443 into a free port like 59447, whose "9447" the next
    # replacement then rewrote (tlsport 550373).
    text = re.sub(r"\b(%s)\b" % "|".join(str(p) for p in ports),
                  lambda m: str(ports[int(m.group(1))]),
                  json.dumps(t.readme_example("sni-host")))
    conf = json.loads(text)
    d = t.Sluiced(listeners=t.with_free_ports(conf["listeners"]),
                  services=conf["services"]).start()
    sni, http, lb = d.port_of["tls"], d.port_of["web"], d.port_of["lb"]
    pids = d.workers()

    t.step("SNI: exact, wildcard, CATCH_ALL, no name (s_client)")
    for name, want in (("alpha.test", "alpha"), ("x.beta.test", "beta"),
                       ("ALPHA.test", "alpha"), ("y.x.beta.test", "catchall"),
                       ("unknown.test", "catchall"), (None, "catchall")):
        t.check_eq(s_client(sni, name), want, "backend for SNI %s" % name)
    t.step("SNI: curl --resolve; a dead first address fails over")
    t.check_eq(curl_subject(sni, "alpha.test"), "alpha", "curl alpha.test")
    t.check_eq(curl_subject(sni, "multi.test"), "alpha", "curl multi.test")

    t.step("SNI: a ClientHello in 1-byte segments still routes")
    hello = client_hello("x.beta.test")
    s = socket.create_connection(("127.0.0.1", sni), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    mark = d.mark()
    for i in range(len(hello)):
        s.send(hello[i:i + 1])
        time.sleep(0.001)       # separate segments, not a wait
    rec = t.recv_exact(s, 5, "the backend's ServerHello")
    t.check(rec[0] == 22, "a handshake record came back: %r" % rec)
    s.close()
    d.wait_log(r"session \d+: sni \S+ -> 127\.0\.0\.1:%d via direct"
               % tls["beta"], mark=mark, what="session to beta")

    t.step("Host: Host header, absolute-form wins, CATCH_ALL, no Host")
    for raw, want in (
            (b"GET / HTTP/1.1\r\nHost: Alpha.TEST.:80\r\n\r\n", "alpha-http"),
            (b"GET / HTTP/1.1\r\nHost: q.beta.test\r\n\r\n", "beta-http"),
            (b"GET http://alpha.test/ HTTP/1.1\r\nHost: q.beta.test\r\n\r\n",
             "alpha-http"),
            (b"GET / HTTP/1.1\r\nHost: nope.test\r\n\r\n", "catchall-http"),
            (b"GET / HTTP/1.0\r\n\r\n", "catchall-http")):
        got = http_get(http, None, raw)
        t.check(got.startswith(b"HTTP/1.1 200") and
                got.split(b"\r\n\r\n", 1)[1].startswith(want.encode() + b" "),
                "%r -> %r" % (raw, got[-80:]))
    body = t.curl_ok(["-H", "Host: alpha.test", "http://127.0.0.1:%d/" % http],
                     "curl -H Host:")
    t.check(body.startswith(b"alpha-http "), "curl Host: %r" % body)

    t.step("PROXY protocol v1 and v2 to the backend")
    c = socket.create_connection(("127.0.0.1", http), timeout=10)
    me = "127.0.0.1:%d" % c.getsockname()[1]
    c.sendall(b"GET / HTTP/1.1\r\nHost: pp.test\r\n\r\n")
    got = t.recv_all(c, 10)
    c.close()
    t.check(b"pp1 src=%s host=pp.test" % me.encode() in got,
            "v1 source %s: %r" % (me, got[-80:]))
    c = socket.create_connection(("127.0.0.1", http), timeout=10)
    me = "127.0.0.1:%d" % c.getsockname()[1]
    c.sendall(b"GET / HTTP/1.1\r\nHost: pp2.test\r\n\r\n")
    got = t.recv_all(c, 10)
    c.close()
    t.check(b"pp2 src=%s" % me.encode() in got, "v2 source %s: %r"
            % (me, got[-80:]))

    t.step("PROXY protocol from a trusted balancer")
    mark = d.mark()
    got = http_get(lb, None, b"GET / HTTP/1.1\r\nHost: pp.test\r\n\r\n",
                   prefix=b"PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\n")
    t.check(b"pp1 src=203.0.113.7:5555" in got, "balanced: %r" % got[-80:])
    d.wait_log(r"session \d+: host 203\.0\.113\.7:5555 -> ", mark=mark,
               what="session line with the real client")
    v2 = (b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c" +
          socket.inet_aton("198.51.100.9") + socket.inet_aton("127.0.0.1") +
          struct.pack("!HH", 4242, 80))
    got = http_get(lb, None, b"GET / HTTP/1.1\r\nHost: alpha.test\r\n\r\n",
                   prefix=v2)
    t.check(got.startswith(b"HTTP/1.1 200"), "v2 from balancer: %r" % got)
    d.wait_log(r"session \d+: host 198\.51\.100\.9:4242 -> ", mark=mark,
               what="session line with the v2 client")
    got = http_get(lb, None, b"GET / HTTP/1.1\r\nHost: alpha.test\r\n\r\n")
    t.check(got == b"", "no PROXY header: closed, got %r" % got[:60])

    t.step("hostile input ends one session each")
    mark = d.mark()
    lying = bytearray(client_hello("alpha.test"))
    lying[3:5] = struct.pack("!H", 16000)      # record longer than sent
    lying[9] ^= 0x7f                            # handshake length lies
    s = socket.create_connection(("127.0.0.1", sni), timeout=10)
    s.sendall(bytes(lying[:200]) + b"\x00" * 40)
    s.shutdown(socket.SHUT_WR)
    t.recv_all(s, 10)
    s.close()
    got = http_get(http, None, b"GET / HTTP/1.1\r\nHost: a\r\nX: " +
                   b"y" * 65536 + b"\r\n\r\n")
    t.check(got.startswith(b"HTTP/1.1 431"), "64 KiB head: %r" % got[:40])
    got = http_get(http, None, b"\x16\x03\x01\x00\x05hello")
    t.check(got.startswith(b"HTTP/1.1 400"), "TLS on host port: %r" % got[:40])
    t.check_eq(d.workers(), pids, "worker pids")
    t.check_eq(s_client(sni, "alpha.test"), "alpha", "still serving")

    t.step("no CATCH_ALL: an unknown name gets TLS alert 112 / HTTP 503")
    only = {"alpha.test": conf["services"]["alpha.test"],
            # A service restricted to a link that sends PROXY v1.
            "viapp.test": {"addr": "127.0.0.1", "httpport": pp1.port,
                           "link": "pp"}}
    no_acme = {"strategy": "failover",
               "links": [{"name": "direct"},
                         {"name": "pp", "proxy_protocol": 1}],
               "matchers": [{"alpn": ["acme-tls/1"], "policy": "forbid"}]}
    d2 = t.Sluiced(name="sluiced-2", listeners=t.with_free_ports(
        conf["listeners"][:2]), services=only, balancer=no_acme).start()
    args = ["openssl", "s_client", "-connect", "127.0.0.1:%d"
            % d2.port_of["tls"], "-servername", "nope.test"]
    r = subprocess.run(args, input=b"", capture_output=True, timeout=20)
    t.check(b"unrecognized name" in r.stderr + r.stdout,
            "alert for an unknown name: %r" % r.stderr[-300:])
    got = http_get(d2.port_of["web"], "nope.test")
    t.check(got.startswith(b"HTTP/1.1 503"), "unknown Host: %r" % got[:40])
    d2.wait_log(r"session \d+: host \S+ -> - via -: .*no service for "
                r"nope\.test", what="503 session line")

    t.step("a service's link, and that link's PROXY header")
    c = socket.create_connection(("127.0.0.1", d2.port_of["web"]), timeout=10)
    me = "127.0.0.1:%d" % c.getsockname()[1]
    c.sendall(b"GET / HTTP/1.1\r\nHost: viapp.test\r\n\r\n")
    got = t.recv_all(c, 10)
    c.close()
    t.check(b"pp1 src=%s host=viapp.test" % me.encode() in got,
            "via link pp: %r" % got[-80:])
    d2.wait_log(r"session \d+: host \S+ -> 127\.0\.0\.1:%d via pp: "
                % pp1.port, what="session via link pp")

    t.step("ALPN is a matcher key: acme-tls/1 is refused, h2 passes")
    mark = d2.mark()
    base = ["openssl", "s_client", "-connect", "127.0.0.1:%d"
            % d2.port_of["tls"], "-servername", "alpha.test", "-alpn"]
    r = subprocess.run(base + ["acme-tls/1"], input=b"",
                       capture_output=True, timeout=20)
    t.check(b"CN = alpha" not in r.stdout and b"CN=alpha" not in r.stdout,
            "acme-tls/1 reached a backend")
    d2.wait_log(r"session \d+: sni .* refused by balancer\.matchers\[0\]",
                mark=mark, what="ALPN refusal")
    r = subprocess.run(base + ["h2,http/1.1"], input=b"",
                       capture_output=True, timeout=20)
    t.check(re.search(rb"subject=CN ?= ?alpha", r.stdout),
            "h2 to alpha: %r" % r.stdout[-200:])


if __name__ == "__main__":
    t.run(main)
