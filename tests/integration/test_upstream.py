#!/usr/bin/env python3
"""
socks5 links: sluice talking SOCKS5 to an upstream proxy.

- A -> B (a second sluiced): curl through A reaches the origin; A logs the
  session "via up", B logs its own session to the origin;
- A -> python SOCKS5 server with RFC 1929 credentials: right credentials
  work (the server counted a successful authentication and the CONNECT);
  wrong credentials give the client reply 0x01, A logs
  "failed, reply 0x01: upstream ...: authentication failed" and the server
  counted a failed authentication;
- a chain of depth 2: A's link "outer" (B) is reached via link "inner" (the
  python server): curl succeeds, the python server saw a CONNECT to B, and
  B logged the session to the origin.
"""
import sltest as t
from socks5_server import Socks5Server

BODY = 2 << 20


def main():
    t.require_curl()
    origin = t.Origin(size=BODY)
    tgt = "127.0.0.1:%d" % origin.port

    b = t.Sluiced(name="B", workers=1)
    auth = Socks5Server(username="sluice-user", password="pa55:word")
    t.at_exit(auth.close)
    a_up = t.Sluiced(name="A-up", workers=1, balancer={
        "strategy": "failover",
        "links": [{"name": "up", "protocol": "socks5",
                   "domain": "127.0.0.1", "port": b.port}]})
    a_auth = t.Sluiced(name="A-auth", workers=1, balancer={
        "links": [{"name": "authed", "protocol": "socks5",
                   "domain": "127.0.0.1", "port": auth.port,
                   "username": "sluice-user", "password": "pa55:word"}]})
    a_bad = t.Sluiced(name="A-badauth", workers=1, balancer={
        "links": [{"name": "badauth", "protocol": "socks5",
                   "domain": "127.0.0.1", "port": auth.port,
                   "username": "sluice-user", "password": "wrong"}]})
    # failover: "outer" is always tried first; a fallback to "inner" alone
    # would show up as a missing session in B's log.
    a_chain = t.Sluiced(name="A-chain", workers=1, balancer={
        "strategy": "failover",
        "links": [{"name": "outer", "protocol": "socks5",
                   "domain": "127.0.0.1", "port": b.port, "via": "inner"},
                  {"name": "inner", "protocol": "socks5",
                   "domain": "127.0.0.1", "port": auth.port,
                   "username": "sluice-user", "password": "pa55:word"}]})
    for d in (b, a_up, a_auth, a_bad, a_chain):
        d.start()

    t.step("A -> B (sluiced upstream)")
    mb = b.mark()
    body = t.curl_fetch(a_up.port, origin.url())
    t.check_eq(t.sha256(body), origin.digest, "body via A -> B")
    a_up.wait_sessions(lambda s: s.target == tgt and s.link == "up" and
                       s.outcome == "done" and s.down >= BODY, 1,
                       what="A's 'done' session via link up")
    bs = b.wait_sessions(lambda s: s.target == tgt and s.link == "direct" and
                         s.outcome == "done" and s.down >= BODY, 1, mark=mb,
                         what="B's 'done' session to the origin")
    t.check(bs[0].client.startswith("127.0.0.1:"), "B's client: %r" % bs[0])
    body = t.curl_fetch(a_up.port, origin.url(name="localhost"),
                        hostname=True)
    t.check_eq(t.sha256(body), origin.digest, "body via A -> B, by name")
    b.wait_sessions(lambda s: s.target == "localhost:%d" % origin.port and
                    s.outcome == "done", 1, mark=mb,
                    what="B's session to localhost (name passed upstream)")

    t.step("A -> python SOCKS5 server, right credentials")
    body = t.curl_fetch(a_auth.port, origin.url())
    t.check_eq(t.sha256(body), origin.digest, "body via the authed link")
    t.check_eq(auth.auth_ok, 1, "successful authentications at the server")
    t.check_eq(auth.auth_failed, 0, "failed authentications at the server")
    t.check_eq(auth.connects, [("127.0.0.1", origin.port)],
               "CONNECTs the server accepted")
    a_auth.wait_sessions(lambda s: s.link == "authed" and
                         s.outcome == "done", 1,
                         what="A's 'done' session via link authed")

    t.step("A -> python SOCKS5 server, wrong credentials")
    s, rep, _ = t.s5_connect(a_bad.port, "127.0.0.1", origin.port)
    s.close()
    t.check_eq(rep, 0x01, "reply code when the upstream rejects the password")
    t.check_eq(auth.auth_failed, 1, "failed authentications at the server")
    t.check_eq(len(auth.connects), 1, "CONNECTs at the server")
    ss = a_bad.wait_sessions(lambda s: s.outcome.startswith(
        "failed, reply 0x01"), 1, what="A's failed session")
    t.check("authentication failed" in ss[0].outcome,
            "A's log should say why: %r" % ss[0])
    r = t.curl(["--socks5", "127.0.0.1:%d" % a_bad.port, origin.url()])
    t.check(r.returncode != 0, "curl through the bad-credentials link "
            "succeeded")

    t.step("chain: A -> inner (python, with credentials) -> outer (B)")
    mb = b.mark()
    body = t.curl_fetch(a_chain.port, origin.url())
    t.check_eq(t.sha256(body), origin.digest, "body via the chain")
    t.check_eq(auth.connects[-1], ("127.0.0.1", b.port),
               "the inner hop's CONNECT target (should be B)")
    t.check_eq(auth.auth_ok, 2, "successful authentications at the server")
    b.wait_sessions(lambda s: s.target == tgt and s.outcome == "done" and
                    s.down >= BODY, 1, mark=mb,
                    what="B's session to the origin through the chain")
    a_chain.wait_sessions(lambda s: s.target == tgt and s.link == "outer" and
                          s.outcome == "done", 1,
                          what="A's 'done' session via link outer")
    t.check(not auth.errors, "python server errors: %r" % auth.errors)


t.run(main)
