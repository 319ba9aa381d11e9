#!/usr/bin/env python3
"""
Listeners: several at once, each with its kind, name, users and clients.

- The README's "listeners" example runs with free ports: every listener
  answers its own protocol, and the session log names the front-end.
- `clients`: a listener that admits only 127.0.0.2 closes a client from
  127.0.0.1 before reading a byte (no reply, a warning in the log) and
  serves one from 127.0.0.2.
- The README's "matchers-listeners-users" example: the `public` listener
  may not reach port 25 (0x02, refused by the rule); through `staff`,
  alice leaves by the `vpn` link (source 127.0.0.2) and bob by `direct`
  (127.0.0.3), as a whoami server sees them; the log line shows the user.
"""
import socket

import sltest as t


def s5_auth_whoami(port, server, user, password):
    """SOCKS5 with RFC 1929 to a whoami server; the address it saw."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(b"\x05\x01\x02")
        t.check_eq(t.recv_exact(s, 2, "method reply"), b"\x05\x02",
                   "method reply for user/password")
        u, p = user.encode(), password.encode()
        s.sendall(bytes([1, len(u)]) + u + bytes([len(p)]) + p)
        t.check_eq(t.recv_exact(s, 2, "auth reply"), b"\x01\x00",
                   "RFC 1929 reply for %s" % user)
        s.sendall(t.s5_request("127.0.0.1", server.port))
        rep, _ = t.s5_read_reply(s)
        t.check_eq(rep, 0, "CONNECT reply for %s" % user)
        line = b""
        while not line.endswith(b"\n") and len(line) < 256:
            d = s.recv(256)
            if not d:
                break
            line += d
        return line.decode().split()[0]
    finally:
        s.close()


def readme_listeners(origin):
    conf = t.readme_example("listeners")
    ls = conf["listeners"]
    if not t.have_ipv6():
        ls = [l for l in ls if "::1" not in l["listen"]]
    d = t.Sluiced(listeners=t.with_free_ports(ls)).start()
    ports = d.port_of
    t.step("socks listener: curl --socks5 downloads byte-exact")
    body = t.curl_fetch(ports["socks"], origin.url())
    t.check_eq(t.sha256(body), origin.digest, "body via the socks listener")
    s = d.wait_sessions(lambda s: s.outcome == "done", 1,
                        what="a done session")[0]
    t.check_eq(s.front, "socks5", "front-end named in the log line")
    t.step("office listener (users): no-auth greeting gets 05 FF")
    c = socket.create_connection(("127.0.0.1", ports["office"]), timeout=5)
    c.sendall(b"\x05\x01\x00")
    t.check_eq(t.recv_exact(c, 2, "method reply"), b"\x05\xff",
               "method reply without credentials")
    c.close()
    t.step("web listener answers HTTP")
    c = socket.create_connection(("127.0.0.1", ports["web"]), timeout=5)
    c.sendall(b"GET http://127.0.0.1:%d/small HTTP/1.1\r\nHost: x\r\n\r\n"
              % origin.port)
    got = t.recv_all(c, timeout=10)
    c.close()
    t.check(got.startswith(b"HTTP/1."), "HTTP answer from the web "
            "listener: %r" % got[:40])
    if "any" in ports:
        t.step("mixed listener on [::1] speaks SOCKS5")
        body = t.curl_fetch(ports["any"], origin.url("/small"),
                            proxy_host="::1")
        t.check_eq(body, b"small\n", "body via the mixed listener")
    d.cleanup()


def clients_allow_list(echo):
    d = t.Sluiced(listeners=t.with_free_ports([
        {"name": "only2", "kind": "socks5", "listen": "127.0.0.1:0",
         "clients": ["127.0.0.2/32"]}])).start()
    pids = sorted(d.workers())
    mark = d.mark()
    t.step("a client from 127.0.0.1 is closed before a byte is read")
    c = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    c.sendall(b"\x05\x01\x00")
    t.wait_closed(c, 5, "stranger's connection closed")
    c.close()
    d.wait_log(r"refusing 127\.0\.0\.1:\d+: not in listener only2's "
               r"clients", mark=mark)
    t.step("a client from 127.0.0.2 is served")
    s, rep, _ = t.s5_connect_from("127.0.0.2", d.port, "127.0.0.1",
                                  echo.port)
    t.check_eq(rep, 0, "reply to the admitted client")
    t.echo_check(s, b"hello from 127.0.0.2")
    s.close()
    t.check_eq(sorted(d.workers()), pids, "worker pids")
    d.cleanup()


def matchers_by_listener_and_user():
    conf = t.readme_example("matchers-listeners-users")
    who = t.whoami_server()
    conf["listeners"] = t.with_free_ports(conf["listeners"])
    d = t.Sluiced(**conf).start()
    pids = sorted(d.workers())
    t.step("public listener: port 25 refused by the balancer rule")
    s, rep, _ = t.s5_connect(d.port_of["public"], "127.0.0.1", 25)
    s.close()
    t.check_eq(rep, 2, "reply for port 25 via public")
    d.wait_sessions(lambda s: "refused by balancer.matchers[0]" in
                    s.outcome, 1, what="session refused by the rule")
    t.step("public listener: other ports leave by the direct link")
    t.check_eq(t.s5_whoami(d.port_of["public"], who), "127.0.0.3",
               "source seen for an anonymous client")
    t.step("staff listener: alice by vpn (127.0.0.2), bob by direct")
    t.check_eq(s5_auth_whoami(d.port_of["staff"], who, "alice",
                              "wonderland"), "127.0.0.2", "alice's source")
    t.check_eq(s5_auth_whoami(d.port_of["staff"], who, "bob", "builder"),
               "127.0.0.3", "bob's source")
    ss = d.wait_sessions(lambda s: s.user in ("alice", "bob"), 2,
                         what="sessions with users")
    for s in ss:
        t.check_eq(s.link, "vpn" if s.user == "alice" else "direct",
                   "link of %s" % s.user)
    t.check_eq(sorted(d.workers()), pids, "worker pids")
    d.cleanup()


def main():
    t.require_curl()
    origin = t.Origin(size=1 << 20)
    echo = t.echo_server()
    readme_listeners(origin)
    clients_allow_list(echo)
    matchers_by_listener_and_user()


if __name__ == "__main__":
    t.run(main)
