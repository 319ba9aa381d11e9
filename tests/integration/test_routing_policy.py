#!/usr/bin/env python3
"""
Routing policies and matchers, end to end (one worker per daemon).

A local DNS server answers the test's names (x.intranet.com,
www.example.org, *.example.com, ... -> 127.0.0.1; blocked.test ->
127.0.0.77; v6.test -> ::1 only).  Links A and B are direct links with
source 127.0.0.2 and 127.0.0.3; a "whoami" origin on 127.0.0.1 says which
address (so which link) a session came from.  Every refusal must be
SOCKS5 reply 0x02, the connection closed, the origin untouched, and a
session log line naming the rule: "failed, reply 0x02: refused by
balancer.matchers[i] (allow, not matched|forbid)", or "failed, reply
0x02: no link may carry it: balancer.links[i].matchers[j] (...), ..." when
every link refuses it.

- PythTRT's README example, unchanged but for the upstream port (a python
  SOCKS5 server instead of 1081): port 8081 is refused by
  balancer.matchers[0]; on an allowed port (8080, 80 or 443, whichever is
  free on 127.0.0.1; else that part is skipped with a note)
  x.intranet.com goes direct (link1, the SOCKS5 server sees nothing) and
  www.example.org through the SOCKS5 server (link0, which sees the name).
  The same config with the allowed ports swapped for free ones always
  runs the same checks with curl.
- balancer: allow (ports) refuses what it does not match, forbid (domains)
  and a matcher without "policy" (default forbid) refuse what they match;
  prioritize/deprioritize there change nothing.
- link allow / forbid: a port only A allows always goes via A, one A does
  not allow via B; a request both links refuse gets 0x02 naming both.
- prioritize: matching requests always via A even under round_robin; the
  others alternate; a prioritized link that forbids a name is not used.
- deprioritize: matching requests always via B; A carries them only when
  B is ineligible (B forbids the name, or B is at max_connections 1).
- several matchers on one link (allow + forbid domains_re + prioritize
  domains + deprioritize clients), each combination.
- ips: forbid 127.0.0.64/26 and ::1/128 refuses names resolving into them
  (blocked.test, v6.test) and the literals, passes open.test; a name that
  does not resolve is not refused (0x04); forbid 127.0.0.0/8 refuses
  open.test, localhost and 127.0.0.1.
- clients: the balancer refuses client 127.0.0.5; link A only for client
  127.0.0.6, B for everyone else.
- domains (suffix): example.com refuses example.com, sub.example.com,
  A.B.Example.COM and "example.com." (trailing dot), not notexample.com
  nor example.com.evil.test.
- ports with ranges: [80, "8000-8999", "P-3..P+3"]: the bounds are
  inclusive, one past them is refused; the synonym key port_ranges
  ["P-(P+1)"] likewise.
"""
import http.server
import json
import threading

import sltest as t

SRC = {"127.0.0.2": "A", "127.0.0.3": "B"}

NAMES = {
    "x.intranet.com": ["127.0.0.1"],
    "intranet.com": ["127.0.0.1"],
    "www.example.org": ["127.0.0.1"],
    "open.test": ["127.0.0.1"],
    "good.test": ["127.0.0.1"],
    "bad.test": ["127.0.0.1"],
    "fast.test": ["127.0.0.1"],
    "onlya.test": ["127.0.0.1"],
    "blocked.test": ["127.0.0.77"],
    "v6.test": ["::1"],
    "example.com": ["127.0.0.1"],
    "*.example.com": ["127.0.0.1"],
    "notexample.com": ["127.0.0.1"],
    "example.com.evil.test": ["127.0.0.1"],
}

PYTHTRT_EXAMPLE = t.PYTHTRT_EXAMPLE



def AB(**extra):
    a = {"name": "A", "source": "127.0.0.2"}
    b = {"name": "B", "source": "127.0.0.3"}
    a.update(extra.get("a", {}))
    b.update(extra.get("b", {}))
    return [a, b]


def daemon(name, balancer, **kw):
    # Started at once: a port from free_port() is only reserved by use.
    return t.Sluiced(name=name, workers=1, dns=t.MapDNS(NAMES),
                     balancer=balancer, **kw).start()


def target_str(host, port):
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


def expect_refused(d, host, port, rule, origins=(), source=None):
    """0x02 for host:port, the log names rule, no origin was touched."""
    before = [len(o.peers) for o in origins]
    mark = d.mark()
    if source is None:
        s, rep, _ = t.s5_connect(d.port, host, port)
    else:
        s, rep, _ = t.s5_connect_from(source, d.port, host, port)
    try:
        t.check_eq(rep, 0x02, "%s: reply for %s" % (d.name,
                                                   target_str(host, port)))
        t.wait_closed(s, 5, "%s closing after the 0x02 reply" % d.name)
    finally:
        s.close()
    tgt = target_str(host, port)
    ss = d.wait_sessions(lambda x: x.target == tgt and x.outcome.startswith(
        "failed, reply 0x02: "), 1, mark=mark,
        what="'failed, reply 0x02' session for %s" % tgt)
    # "refused by balancer.matchers[0] (...)" for the balancer's rules,
    # "no link may carry it: balancer.links[0].matchers[1] (...), ..."
    # when every link refuses it.
    if rule.startswith("balancer.matchers["):
        rule = "refused by " + rule
    t.check(ss[0].outcome.startswith("failed, reply 0x02: " + rule),
            "%s: the refusal of %s should name %r: %r"
            % (d.name, tgt, rule, ss[0].line))
    t.check_eq([len(o.peers) for o in origins], before,
               "connections the origins got for the refused %s" % tgt)
    return ss[0]


def expect_admitted(d, host, port):
    """Any reply but 0x02 (nothing may listen there: 0x05 is fine)."""
    s, rep, _ = t.s5_connect(d.port, host, port)
    s.close()
    t.check(rep != 0x02, "%s: %s was refused (0x02), want it admitted"
            % (d.name, target_str(host, port)))
    return rep


def links_for(d, who, host, n, want=None, source=None, sync=False):
    """n sessions to who (by host); the links that carried them."""
    got = []
    for i in range(n):
        mark = d.mark()
        ip = t.s5_whoami(d.port, who, host=host, source=source)
        t.check(ip in SRC, "%s: origin saw %s" % (d.name, ip))
        got.append(SRC[ip])
        if sync:    # its counters are settled once it is logged
            d.wait_sessions(lambda x: x.outcome == "done", 1, mark=mark,
                            what="the session's end")
    if want is not None:
        t.check_eq("".join(got), want * n, "%s: links for %d sessions to "
                   "%s:%d%s" % (d.name, n, host, who.port,
                                " from %s" % source if source else ""))
    return got


class FixedHTTP:
    """HTTP origin on 127.0.0.1:port; answers the peer address."""

    def __init__(self, port):
        peers = self.peers = []

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                peers.append((self.client_address, self.headers["Host"]))
                body = ("%s\n" % self.client_address[0]).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

        class S(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.httpd = S(("127.0.0.1", port), H)
        self.port = port
        threading.Thread(target=self.httpd.serve_forever,
                         kwargs={"poll_interval": 0.1}, daemon=True).start()
        t.at_exit(self.close)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def fixed_origin(ports):
    for p in ports:
        try:
            return FixedHTTP(p)
        except OSError:
            continue
    return None


def pythtrt_checks(d, s5, origin, what):
    """The README's promises, on an allowed port served by origin."""
    P = origin.port
    proxy = "127.0.0.1:%d" % d.port
    n = len(s5.requests)
    t.step("%s: x.intranet.com:%d goes direct" % (what, P))
    body = t.curl_ok(["--socks5-hostname", proxy,
                      "http://x.intranet.com:%d/" % P], "intranet via %s"
                     % what)
    t.check_eq(body, b"127.0.0.1\n", "intranet: the origin's answer")
    t.check_eq(len(s5.requests), n, "requests the SOCKS5 upstream got for "
               "x.intranet.com")
    d.wait_sessions(lambda x: x.target == "x.intranet.com:%d" % P and
                    x.link == "link1" and x.outcome == "done", 1,
                    what="intranet session via link1 (direct)")
    t.step("%s: www.example.org:%d goes through the SOCKS5 link" % (what, P))
    body = t.curl_ok(["--socks5-hostname", proxy,
                      "http://www.example.org:%d/" % P], "example.org via %s"
                     % what)
    t.check_eq(body, b"127.0.0.1\n", "example.org: the origin's answer")
    t.check_eq(s5.requests[n:], [("www.example.org", P)],
               "requests the SOCKS5 upstream got for www.example.org")
    d.wait_sessions(lambda x: x.target == "www.example.org:%d" % P and
                    x.link == "link0" and x.outcome == "done", 1,
                    what="example.org session via link0 (socks5)")
    t.check_eq(origin.peers[-1][1], "www.example.org" +
               ("" if P == 80 else ":%d" % P), "Host header the origin got")


def main():
    t.require_tool("curl")
    who = t.whoami_server()
    who2 = t.whoami_server()
    s5 = t.NameSocks5({"www.example.org": "127.0.0.1",
                       "intranet.com": "127.0.0.1"})
    t.at_exit(s5.close)

    ex = json.loads(PYTHTRT_EXAMPLE)
    ex["balancer"]["links"][0]["port"] = s5.port
    readme = daemon("pythtrt", ex["balancer"])
    cp = json.loads(PYTHTRT_EXAMPLE)
    cp["balancer"]["links"][0]["port"] = s5.port
    copy_origin = FixedHTTP(t.free_port())
    cp["balancer"]["matchers"][0]["ports"] = [
        copy_origin.port, t.free_port(), t.free_port()]
    readme_copy = daemon("pythtrt-copy", cp["balancer"])

    closed = t.free_port()
    bal = daemon("balancer", {"links": [{"name": "direct"}], "matchers": [
        {"policy": "allow", "ports": [who.port, who2.port]},
        {"policy": "forbid", "domains": ["bad.test"]},
        {"policy": "prioritize", "ports": [who.port]},
        {"policy": "deprioritize", "ports": [who.port]},
        {"ports": [who2.port]}]})
    lnk = daemon("link-allow-forbid", {"strategy": "round_robin", "links": AB(
        a={"matchers": [{"policy": "allow", "ports": [who.port]}]},
        b={"matchers": [{"policy": "forbid", "ports": [who.port]},
                        {"policy": "forbid", "domains": ["bad.test"]}]})})
    pri = daemon("prioritize", {"strategy": "round_robin", "links": AB(
        a={"matchers": [{"policy": "prioritize", "ports": [who.port]},
                        {"policy": "forbid", "domains": ["bad.test"]}]})})
    dep = daemon("deprioritize", {"strategy": "round_robin", "links": AB(
        a={"matchers": [{"policy": "deprioritize", "ports": [who.port]}]},
        b={"max_connections": 1,
           "matchers": [{"policy": "forbid", "domains": ["onlya.test"]}]})})
    multi = daemon("several-matchers", {"strategy": "round_robin",
                                        "links": AB(a={"matchers": [
        {"policy": "allow", "ports": [who.port]},
        {"policy": "forbid", "domains_re": ["^bad\\."]},
        {"policy": "prioritize", "domains": ["fast.test"]},
        {"policy": "deprioritize", "clients": ["127.0.0.9/32"]}]})})
    ips = daemon("ips", {"links": [{"name": "direct"}], "matchers": [
        {"policy": "forbid", "ips": ["127.0.0.64/26", "::1/128"]}]})
    ips8 = daemon("ips-127/8", {"links": [{"name": "direct"}], "matchers": [
        {"policy": "forbid", "ips": ["127.0.0.0/8"]}]})
    cli = daemon("clients", {"strategy": "round_robin", "links": AB(
        a={"matchers": [{"policy": "allow", "clients": ["127.0.0.6/32"]}]},
        b={"matchers": [{"policy": "forbid", "clients": ["127.0.0.6"]}]}),
        "matchers": [{"policy": "forbid", "clients": ["127.0.0.5/32"]}]})
    dom = daemon("domains", {"links": [{"name": "direct"}], "matchers": [
        {"policy": "forbid", "domains": ["example.com"]}]})
    P = who.port
    prt = daemon("ports", {"links": [{"name": "direct"}], "matchers": [
        {"policy": "allow", "ports": [80, "8000-8999",
                                      "%d-%d" % (P - 3, P + 3)]}]})
    prr = daemon("port_ranges", {"links": [{"name": "direct"}], "matchers": [
        {"policy": "allow", "port_ranges": ["%d-%d" % (P, P + 1)]}]})
    all_d = (readme, readme_copy, bal, lnk, pri, dep, multi, ips, ips8, cli,
             dom, prt, prr)
    O = (who, who2)

    t.step("PythTRT example: port 8081 refused by the balancer")
    expect_refused(readme, "www.example.org", 8081, "balancer.matchers[0] "
                   "(allow, not matched)", O)
    expect_refused(readme, "x.intranet.com", 8081, "balancer.matchers[0]", O)
    expect_refused(readme_copy, "www.example.org", 8081,
                   "balancer.matchers[0]", O)
    t.check_eq(s5.requests, [], "requests at the SOCKS5 upstream after "
               "refusals")
    fixed = fixed_origin((8080, 80, 443))
    if fixed is None:
        t.step("NOTE: 127.0.0.1 ports 8080, 80 and 443 are all in use: the "
               "unmodified example's allowed-port checks are skipped (the "
               "copy with free ports runs them)")
    else:
        pythtrt_checks(readme, s5, fixed, "PythTRT example")
    pythtrt_checks(readme_copy, s5, copy_origin, "PythTRT example (ports "
                   "%r)" % cp["balancer"]["matchers"][0]["ports"])
    t.step("PythTRT example: intranet.com itself (no dot before it) is not "
           "intranet")
    n = len(s5.requests)
    t.curl_ok(["--socks5-hostname", "127.0.0.1:%d" % readme_copy.port,
               "http://intranet.com:%d/" % copy_origin.port], "intranet.com")
    t.check_eq(s5.requests[n:], [("intranet.com", copy_origin.port)],
               "requests the SOCKS5 upstream got for intranet.com")

    t.step("balancer: allow, forbid, default forbid, prioritize/"
           "deprioritize without effect")
    t.check_eq(t.s5_whoami(bal.port, who), "127.0.0.1", "balancer allow")
    t.check_eq(t.s5_whoami(bal.port, who, host="good.test"), "127.0.0.1",
               "balancer allow, by name")
    expect_refused(bal, "bad.test", who.port, "balancer.matchers[1] "
                   "(forbid)", O)
    expect_refused(bal, "127.0.0.1", closed, "balancer.matchers[0] (allow, "
                   "not matched)", O)
    expect_refused(bal, "127.0.0.1", who2.port, "balancer.matchers[4] "
                   "(forbid)", O)

    t.step("link allow/forbid")
    links_for(lnk, who, "127.0.0.1", 6, "A")
    links_for(lnk, who2, "127.0.0.1", 6, "B")
    links_for(lnk, who2, "good.test", 2, "B")
    expect_refused(lnk, "bad.test", who2.port, "no link may carry it: "
                   "balancer.links[0].matchers[0] (allow, not matched), "
                   "balancer.links[1].matchers[1] (forbid)", O)

    t.step("prioritize")
    links_for(pri, who, "127.0.0.1", 8, "A")
    got = links_for(pri, who2, "127.0.0.1", 8)
    t.check_eq(sorted(got), list("AAAABBBB"), "prioritize: round robin "
               "of the requests it does not match (%s)" % "".join(got))
    links_for(pri, who, "bad.test", 3, "B")

    t.step("deprioritize")
    links_for(dep, who, "127.0.0.1", 6, "B", sync=True)
    got = links_for(dep, who2, "127.0.0.1", 8, sync=True)
    t.check_eq(sorted(got), list("AAAABBBB"), "deprioritize: round robin "
               "of the requests it does not match (%s)" % "".join(got))
    links_for(dep, who, "onlya.test", 3, "A", sync=True)
    ip, held = t.s5_whoami(dep.port, who, keep=True)
    try:
        t.check_eq(SRC.get(ip), "B", "deprioritize: link of the held "
                   "session")
        links_for(dep, who, "127.0.0.1", 3, "A", sync=True)
    finally:
        mark = dep.mark()
        held.close()
    dep.wait_sessions(lambda x: x.link == "B" and x.outcome == "done", 1,
                      mark=mark, what="the held session's end")
    links_for(dep, who, "127.0.0.1", 3, "B", sync=True)

    t.step("several matchers on one link")
    links_for(multi, who, "bad.test", 4, "B")
    links_for(multi, who, "fast.test", 4, "A")
    got = links_for(multi, who, "good.test", 4)
    t.check_eq(sorted(got), list("AABB"), "several matchers: good.test "
               "round robin (%s)" % "".join(got))
    links_for(multi, who2, "good.test", 4, "B")
    links_for(multi, who, "good.test", 4, "B", source="127.0.0.9")
    links_for(multi, who, "fast.test", 4, "A", source="127.0.0.9")

    t.step("ips")
    expect_refused(ips, "blocked.test", who.port, "balancer.matchers[0] "
                   "(forbid)", O)
    t.check("blocked.test" in ips.dns.queries, "the DNS server never saw "
            "blocked.test (queries %r)" % ips.dns.queries)
    expect_refused(ips, "127.0.0.77", who.port, "balancer.matchers[0]", O)
    expect_refused(ips, "v6.test", who.port, "balancer.matchers[0]", O)
    expect_refused(ips, "::1", who.port, "balancer.matchers[0]", O)
    t.check_eq(t.s5_whoami(ips.port, who, host="open.test"), "127.0.0.1",
               "ips: open.test")
    s, rep, _ = t.s5_connect(ips.port, "nonexistent.invalid", who.port)
    s.close()
    t.check_eq(rep, 0x04, "ips: reply for a name that does not resolve")
    expect_refused(ips8, "open.test", who.port, "balancer.matchers[0] "
                   "(forbid)", O)
    expect_refused(ips8, "localhost", who.port, "balancer.matchers[0]", O)
    expect_refused(ips8, "127.0.0.1", who.port, "balancer.matchers[0]", O)

    t.step("clients")
    expect_refused(cli, "127.0.0.1", who.port, "balancer.matchers[0] "
                   "(forbid)", O, source="127.0.0.5")
    links_for(cli, who, "127.0.0.1", 4, "A", source="127.0.0.6")
    links_for(cli, who, "127.0.0.1", 4, "B")
    links_for(cli, who, "127.0.0.1", 4, "B", source="127.0.0.7")

    t.step("domains (a name and its subdomains)")
    for name in ("example.com", "sub.example.com", "A.B.Example.COM",
                 "example.com."):
        expect_refused(dom, name, who.port, "balancer.matchers[0] (forbid)",
                       O)
    for name in ("notexample.com", "example.com.evil.test"):
        t.check_eq(t.s5_whoami(dom.port, who, host=name), "127.0.0.1",
                   "domains: %s" % name)

    t.step("ports and port ranges")
    t.check_eq(t.s5_whoami(prt.port, who), "127.0.0.1", "ports: P")
    for p in (80, 8000, 8999, P - 3, P + 3):
        expect_admitted(prt, "127.0.0.1", p)
    for p in (81, 7999, 9000, P - 4, P + 4):
        expect_refused(prt, "127.0.0.1", p, "balancer.matchers[0] (allow, "
                       "not matched)", O)
    t.check_eq(t.s5_whoami(prr.port, who), "127.0.0.1", "port_ranges: P")
    expect_admitted(prr, "127.0.0.1", P + 1)
    for p in (P - 1, P + 2):
        expect_refused(prr, "127.0.0.1", p, "balancer.matchers[0] (allow, "
                       "not matched)", O)

    for d in all_d:
        t.check(not d.find_log(r"killed by|exited with status|respawning"),
                "%s: a child died during the test" % d.name)
    t.check(not who.errors and not who2.errors, "origin errors: %r"
            % (who.errors + who2.errors))
    t.check(not s5.srv.errors, "SOCKS5 upstream errors: %r" % s5.srv.errors)


t.run(main)
