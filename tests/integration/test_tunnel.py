#!/usr/bin/env python3
"""
Reverse tunnels across network namespaces (issue 10, item 6 and "Bad
input"), with the README's three examples (tunnel-server, tunnel-agent,
tunnel-agent-local) adapted to the addresses below.

    outside 10.77.0.1: the server sluiced, every client
        |  veth
    inside 10.77.0.2 (+ .3), 10.20.0.1 on lo: the HTTP origins
        (10.20.0.1:80 and :8080), an echo server (10.20.0.1:5432), a TLS
        origin (127.0.0.1:8443, self-signed app.example.com), a DNS
        server that alone knows *.lab.internal, and the agents;
        nft drops every new TCP connection coming in from outside.

Checks, each with a deadline, one output line each with its time: a
direct connect is dropped; curl through the socks5 listener by address and
by a name only the inside resolves, byte-exact (8 MiB, sha256); the sni
listener to the `web` agent's local TLS origin; the `db` forward listener
to the echo server; a target outside the agent's allow gets 0x02 and the
agent logs it; sessions seen and killed with sluicectl on both ends; 50
streams open at once, one of them a reader that never reads, the 49 others
byte-exact; garbage and a truncated ClientHello on the tunnel port close
with a log line while an established session goes on; an agent from an
address outside proxy_client_whitelist is refused, then let in by a reload
(the other agents reconnect, a held stream goes on), and a client outside
controller_user is refused; a wrong secret and an unknown name are refused
and get no stream; a stopped (half-open) agent is declared dead after
dead_timeout and its stream ends; a killed agent: sessions fail (reply !=
0) until it is back, then work again within the backoff; tcprouter's
router.toml (clientsport, clientsecret) serves HTTP by Host through a
trc-like agent with `local`.

Run by hand (as root, from this directory):
    SLUICED=/tmp/build/sluiced SLUICECTL=/tmp/build/sluicectl \
        python3 test_tunnel.py
"""
import os
import re
import signal
import socket
import threading
import time

import sltest as t
import tunnel_lib as L

_T = [time.monotonic()]
# The echo server by name: the allow admits addresses on 8000-8099 only.
ECHO = "db.lab.internal"


def done(msg):
    """One line per check, with its time."""
    now = time.monotonic()
    t.step("ok %-62s %5.2f s" % (msg, now - _T[0]))
    _T[0] = now


def server_conf(tmp, secrets):
    ex = t.readme_example("tunnel-server")
    ls = t.with_free_ports(ex["listeners"])
    for l in ls:
        if l["kind"] == "tunnel":
            for a in l["agents"]:
                a["secret_file"] = secrets[a["name"]]
            # Short so that the half-open check takes seconds, not 45.
            l["keepalive"] = 1
            l["dead_timeout"] = 3
    ex["listeners"] = ls
    # The controllers are the outside clients (127/8 for curl's own
    # loopback use); the agents dial from 10.77.0.2 only.
    ex["controller_user"] = {"tom": L.OUT_IP, "ann": "127.0.0.0/8"}
    ex["proxy_client_whitelist"] = [L.IN_IP + "/32"]
    ex["timeout"] = 10
    # A gone agent counts against its link (3 in a row: a cool-down of
    # `cooldown` s, 10 by default) and its return does not end the
    # cool-down: 1 s keeps the restart check within a second or two.
    for link in ex["balancer"]["links"]:
        link["cooldown"] = 1
    return ex


def agent_conf(tag, server_port, secret, name=None, **extra):
    ex = t.readme_example(tag)
    a = ex["agent"]
    a["server"] = "%s:%d" % (L.OUT_IP, server_port)
    a["secret_file"] = secret
    if name:
        a["name"] = name
    # Small, so that a restarted or cut-off agent is back within a second.
    a["reconnect_min"] = 0.2
    a["reconnect_max"] = 1
    ex.update(extra)
    return ex


def start_agent(tag, srv, secret, label, **kw):
    """An agent in the inside namespace, with a DNS server there of its
    own (its cleanup closes it) that alone knows *.lab.internal."""
    conf = agent_conf(tag, srv.port_of["agents"], secret, **kw)
    with L.netns(L.NS_IN):
        dns = t.MapDNS({"*.lab.internal": [L.ORIGIN_IP]})
    return L.TunSluiced(ns=L.NS_IN, name=label, workers=1, dns=dns,
                        **conf).start()


def wait_connected(srv, agent, name, mark_s, mark_a):
    m = srv.wait_log(r"agent %s connected from (10\.77\.0\.2:\d+) on agents"
                     % re.escape(name), 10, mark_s)
    agent.wait_log(r"connected to server .* as agent %s" % re.escape(name),
                   10, mark_a)
    return m.group(1)


def http_get(s, path):
    """GET path on a relayed socket; the body (Content-Length checked)."""
    s.sendall(b"GET %s HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n"
              b"\r\n" % path.encode())
    data = t.recv_all(s, timeout=30)
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.search(rb"Content-Length: (\d+)", head)
    t.check(m is not None and int(m.group(1)) == len(body),
            "GET %s: %d body bytes, head %r" % (path, len(body), head[:200]))
    return body


def s5(srv, host, port):
    return t.s5_connect(srv.port_of["socks"], host, port,
                        proxy_host=L.OUT_IP)


def s5_ok(srv, host, port):
    return t.s5_tunnel(srv.port_of["socks"], host, port,
                       proxy_host=L.OUT_IP)


def check_reach(srv, lab, bodies, crt):
    sp = srv.port_of["socks"]
    dig = bodies.digest["/blob"]
    s = socket.socket()
    s.settimeout(1.5)
    try:
        s.connect((L.ORIGIN_IP, 8080))
        raise t.Fail("a direct connect from outside reached the origin")
    except (socket.timeout, OSError):
        pass
    finally:
        s.close()
    t.check(L.nft_drops() > 0, "the inside firewall dropped the SYNs")
    done("direct connect outside -> inside dropped by nft")

    body = t.curl_fetch(sp, "http://%s:8080/blob" % L.ORIGIN_IP,
                        proxy_host=L.OUT_IP)
    t.check_eq(t.sha256(body), dig, "sha256 of 8 MiB by address")
    done("1. curl --socks5 by address, 8 MiB byte-exact")

    q0 = len(srv.dns.queries)
    body = t.curl_fetch(sp, "http://www.lab.internal/blob", hostname=True,
                        proxy_host=L.OUT_IP)
    t.check_eq(t.sha256(body), dig, "sha256 of 8 MiB by name")
    t.check(not any("lab.internal" in q for q in srv.dns.queries[q0:]),
            "the server looked the name up itself: %r"
            % srv.dns.queries[q0:])
    srv.wait_log(r"-> www\.lab\.internal:80 via lab: .*agent lab at "
                 r"10\.77\.0\.2:\d+", 5)
    done("1. curl --socks5-hostname www.lab.internal (inside DNS only)")

    tp = srv.port_of["tls"]
    body = t.curl_ok(["--cacert", crt, "--resolve", "app.example.com:%d:%s"
                      % (tp, L.OUT_IP), "https://app.example.com:%d/blob"
                      % tp], "https over the sni listener")
    t.check_eq(t.sha256(body), dig, "sha256 over the sni listener")
    done("2. sni app.example.com -> web agent's local TLS origin")

    c = socket.create_connection((L.OUT_IP, srv.port_of["db"]), timeout=10)
    for _ in range(4):
        t.echo_check(c, os.urandom(64 << 10), "echo through db")
    c.close()
    done("3. forward listener db -> db.lab.internal:5432 echo")

    m = lab.mark()
    c, rep, _ = s5(srv, L.ORIGIN_IP, 9999)
    c.close()
    t.check_eq(rep, 2, "SOCKS5 reply for a target outside allow")
    lab.wait_log(r"asked for 10\.20\.0\.1:9999: refused \(not in allow\)",
                 5, m)
    done("7. target outside allow: reply 0x02, agent logs the refusal")


def check_sessions(srv, lab):
    c = s5_ok(srv, ECHO, 5432)
    t.echo_check(c, b"held\n")

    def held(d):
        rows = d.ctl_json("sessions", "--agent", "lab") or []
        return [r for r in rows if str(r.get("target", "")).endswith(
            ":5432")]
    rows = t.wait_until(lambda: held(srv), 5, "the held session on the "
                        "server")
    t.check_eq(len(rows), 1, "held sessions on the server: %r" % rows)
    t.check_eq(rows[0].get("link"), "lab", "its link: %r" % rows[0])
    arows = t.wait_until(lambda: held(lab), 5, "the held session on the "
                         "agent")
    t.check_eq(arows[0].get("listener"), "agent", "agent's listener: %r"
               % arows[0])
    # sluicectl agents: the tunnel connections on both ends, one stream
    # open on lab's (the held session)
    ag = srv.ctl_json("agents") or {}
    ups = {(r.get("agent"), r.get("end"), r.get("listener"), r.get("state"))
           for r in ag.get("agents", [])}
    for name in ("lab", "web"):
        t.check(any(u[0] == name and u[1] == "server" and u[3] == "up"
                    for u in ups), "server's agents lists %s up: %r"
                % (name, ag))
    t.check(any(r.get("agent") == "lab" and r.get("streams", 0) >= 1
                for r in ag.get("agents", [])),
            "the held stream counted on lab's connection: %r" % ag)
    la = lab.ctl_json("agents") or {}
    t.check(any(r.get("end") == "agent" and r.get("agent") == "lab" and
                r.get("state") == "up" for r in la.get("agents", [])),
            "the agent lists its own connection: %r" % la)
    srv.ctl_json("kill", str(rows[0]["id"]))
    t.wait_closed(c, 5, "the held session to end after sluicectl kill")
    c.close()
    done("10. sluicectl sessions --agent lab on both ends; kill ends it; "
         "sluicectl agents on both ends")


def stalled_reader(srv):
    """A relayed GET /huge whose reader never reads (tiny buffer)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect((L.OUT_IP, srv.port_of["socks"]))
    s.sendall(b"\x05\x01\x00")
    t.check_eq(t.recv_exact(s, 2), b"\x05\x00", "method reply")
    s.sendall(t.s5_request(L.ORIGIN_IP, 8080))
    rep, _ = t.s5_read_reply(s)
    t.check_eq(rep, 0, "stalled stream's reply")
    s.sendall(b"GET /huge HTTP/1.1\r\nHost: o\r\n\r\n")
    return s


def check_parallel(srv, bodies):
    bodies.huge_sent[0] = 0
    stall = stalled_reader(srv)
    t.wait_until(lambda: bodies.huge_sent[0] > 0, 5, "the huge body to "
                 "start flowing")
    results, lock = [], threading.Lock()

    # Every stream is open before any asks: 50 at once on one tunnel.
    gate = threading.Barrier(49, timeout=20)

    def one():
        try:
            s = s5_ok(srv, L.ORIGIN_IP, 8080)
            try:
                gate.wait()
                r = t.sha256(http_get(s, "/mid")) == bodies.digest["/mid"]
            finally:
                s.close()
        except Exception as e:
            r = repr(e)
        with lock:
            results.append(r)
    th = [threading.Thread(target=one, daemon=True) for _ in range(49)]
    for x in th:
        x.start()
    t.wait_until(lambda: len(results) == 49, 30, "49 parallel downloads")
    bad = [r for r in results if r is not True]
    t.check(not bad, "%d of 49 failed: %r" % (len(bad), bad[:3]))
    t.check(not bodies.huge_done.is_set() and
            bodies.huge_sent[0] < len(bodies.by_path["/huge"]),
            "the reader that never reads was not stalled (%d bytes sent)"
            % bodies.huge_sent[0])
    done("4. 49 streams byte-exact while 1 is stalled (%d MiB held back)"
         % ((len(bodies.by_path["/huge"]) - bodies.huge_sent[0]) >> 20))
    stall.close()


def check_bad_input(srv, bodies):
    tport = srv.port_of["agents"]
    held = socket.create_connection((L.OUT_IP, srv.port_of["db"]), 10)
    t.echo_check(held, b"before\n")
    cases = [("garbage", b"GET / HTTP/1.0\r\n\r\n" + os.urandom(600)),
             # A ClientHello record header and the start of its body:
             # 512 bytes announced, 40 sent, then EOF.
             ("truncated ClientHello",
              b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" +
              os.urandom(29))]
    for what, data in cases:
        m = srv.mark()
        # From the inside: the allow-list lets 10.77.0.2 in, so the bytes
        # reach the TLS code.
        g = L.socket_in(L.NS_IN, socket.AF_INET, socket.SOCK_STREAM)
        g.settimeout(5)
        g.connect((L.OUT_IP, tport))
        port = g.getsockname()[1]
        g.sendall(data)
        if what.startswith("truncated"):
            g.shutdown(socket.SHUT_WR)
        t.wait_closed(g, 12, "the server to close the %s connection" % what)
        g.close()
        line = srv.wait_log(r"tunnel connection from 10\.77\.0\.2:%d on "
                            r"agents refused: (.*)" % port, 5, m)
        t.echo_check(held, what.encode() + b"\n", "held echo after " + what)
        done("9. %s: closed (%s); held session goes on"
             % (what, line.group(1)[:40]))
    held.close()
    body = t.curl_fetch(srv.port_of["socks"], "http://%s:8080/mid"
                        % L.ORIGIN_IP, proxy_host=L.OUT_IP)
    t.check_eq(t.sha256(body), bodies.digest["/mid"], "fetch after bad input")


def check_allow_lists(srv, secrets):
    m = srv.mark()
    links = {"links": [{"name": "out", "source": L.IN_IP2}]}
    other = start_agent("tunnel-agent", srv, secrets["lab"],
                        "agent-from-.3", balancer=links)
    srv.wait_log(r"tunnel connection from 10\.77\.0\.3:\d+ on agents "
                 r"refused: not in clients", 10, m)
    t.check(not srv.find_log(r"agent lab connected from 10\.77\.0\.3", m),
            "an agent outside proxy_client_whitelist got in")
    done("8. agent from 10.77.0.3 (not in proxy_client_whitelist) refused")

    # Corrected by a reload: the agent from .3 gets in; the two others
    # are told GOAWAY and connect to the new tunnel process at once,
    # while a stream held on the old connection goes on.
    held = socket.create_connection((L.OUT_IP, srv.port_of["db"]), 10)
    t.echo_check(held, b"before reload\n")
    m, ma = srv.mark(), other.mark()
    conf = dict(srv.conf)
    conf["proxy_client_whitelist"] = [L.IN_IP + "/32", L.IN_IP2 + "/32"]
    srv.reload(conf, m)
    for who in (r"lab connected from 10\.77\.0\.3",
                r"lab connected from 10\.77\.0\.2",
                r"web connected from 10\.77\.0\.2"):
        srv.wait_log(r"agent %s:\d+ on agents" % who, 10, m)
    other.wait_log(r"connected to server .* as agent lab", 5, ma)
    t.echo_check(held, b"after reload\n", "held stream across the reload")
    held.close()
    m = srv.mark()
    other.cleanup()
    srv.wait_log(r"agent lab from 10\.77\.0\.3:\d+ gone", 5, m)
    done("8. corrected by a reload: .3 gets in; a held stream goes on")

    m = srv.mark()
    c = L.socket_in(L.NS_IN, socket.AF_INET, socket.SOCK_STREAM)
    c.settimeout(5)
    c.connect((L.OUT_IP, srv.port_of["socks"]))
    port = c.getsockname()[1]
    t.wait_closed(c, 5, "a client outside controller_user to be closed")
    c.close()
    srv.wait_log(r"refusing 10\.77\.0\.2:%d: not in listener socks's "
                 r"clients" % port, 5, m)
    t.check(srv.find_log(r"session \d+: socks5 user tom 10\.77\.0\.1:"),
            "the controller's sessions are logged with its name (tom)")
    done("8. client 10.77.0.2 (not in controller_user) refused")


def check_strangers(srv, tmp):
    m = srv.mark()
    wrong = L.secret_file(tmp, "wrong")
    bad = start_agent("tunnel-agent", srv, wrong, "agent-wrong")
    ghost = start_agent("tunnel-agent", srv, wrong, "agent-ghost",
                        name="ghost")
    srv.wait_log(r'wrong secret for agent "lab"', 10, m)
    srv.wait_log(r'unknown agent "ghost"', 10, m)
    for _ in range(4):
        c = s5_ok(srv, ECHO, 5432)
        t.echo_check(c, b"x\n")
        c.close()
    bad.wait_log(r"next attempt in", 5)
    for a in (bad, ghost):
        t.check(not a.find_log(r"session \d+|connected to server"),
                "%s got in: %s" % (a.name, a.log()[-300:]))
    t.check(not srv.find_log(r"agent (lab|ghost) connected", m),
            "a stranger was accepted")
    bad.cleanup()
    ghost.cleanup()
    done("6. wrong secret and unknown name refused, no streams")


def check_half_open(srv, lab):
    held = s5_ok(srv, ECHO, 5432)
    t.echo_check(held, b"half\n")
    tpid = lab.tunnel_pid()
    t.check(tpid is not None, "the agent's sluice-tunnel process")
    m, ma = srv.mark(), lab.mark()
    os.kill(tpid, signal.SIGSTOP)
    t.at_exit(lambda: t.pid_gone(tpid) or os.kill(tpid, signal.SIGCONT))
    t0 = time.monotonic()
    line = srv.wait_log(r"agent lab from 10\.77\.0\.2:\d+ gone: (.*)", 8, m)
    dead_s = time.monotonic() - t0
    t.wait_closed(held, 3, "the stream on the dead tunnel to end")
    held.close()
    t.check(dead_s >= 2, "declared dead after %.1f s, before dead_timeout"
            % dead_s)
    os.kill(tpid, signal.SIGCONT)
    wait_connected(srv, lab, "lab", m, ma)
    done("9. SIGSTOPped agent dead after %.1f s (%s); back after SIGCONT"
         % (dead_s, line.group(1)[:30]))


def check_restart(srv, lab, secrets):
    m = srv.mark()
    lab.kill9()
    srv.wait_log(r"agent lab from 10\.77\.0\.2:\d+ gone", 5, m)
    # In parallel: a young tunnel process (under 10 s old: a reload's or
    # a start's) holds a stream for an absent agent up to 3 s before it
    # fails it (tunnel/server.c SRV_YOUNG_MS, SRV_WAIT_MS).
    reps, lock = [], threading.Lock()

    def probe():
        try:
            c, rep, _ = s5(srv, ECHO, 5432)
            c.close()
        except t.Fail as e:
            rep = str(e)
        with lock:
            reps.append(rep)
    for x in [threading.Thread(target=probe, daemon=True)
              for _ in range(3)]:
        x.start()
    t.wait_until(lambda: len(reps) == 3, 8, "3 replies with the agent gone")
    t.check(all(r != 0 for r in reps), "replies with the agent gone: %r"
            % reps)
    t0 = time.monotonic()
    lab2 = start_agent("tunnel-agent", srv, secrets["lab"],
                       "agent-lab-again")

    def works():
        c, rep, _ = s5(srv, ECHO, 5432)
        try:
            if rep != 0:
                return False
            t.echo_check(c, b"back\n")
            return True
        finally:
            c.close()
    t.wait_until(works, 6, "a session through the restarted agent",
                 interval=0.1)
    done("5. agent SIGKILLed: replies %s; restarted, works after %.1f s"
         % (",".join("%r" % r for r in reps), time.monotonic() - t0))
    return lab2


ROUTER_TOML = """
[server]
addr = "%s"
port = %d
httpport = %d
clientsport = %d

[server.services."mydomain.com"]
clientsecret = "%s"
"""


def check_tcprouter(bodies):
    """tcprouter's form: router.toml with clientsport and a service with
    a clientsecret; a trc-like agent with local; HTTP routed by Host."""
    tls, http, cp = (t.free_port(L.OUT_IP) for _ in range(3))
    secret = os.urandom(24).hex()
    srv = L.TomlSluiced(ROUTER_TOML % (L.OUT_IP, tls, http, cp, secret),
                        http, name="router-toml").start()
    m = srv.mark()
    conf = {"agent": {"server": "%s:%d" % (L.OUT_IP, cp),
                      "name": "mydomain.com", "secret": secret,
                      "local": "%s:8080" % L.ORIGIN_IP}}
    with L.netns(L.NS_IN):
        dns = t.FakeDNS()
    trc = L.TunSluiced(ns=L.NS_IN, name="trc", workers=1, dns=dns,
                       **conf).start()
    srv.wait_log(r"agent mydomain\.com connected from 10\.77\.0\.2", 10,
                 m)
    body = t.curl_ok(["-H", "Host: mydomain.com",
                      "http://%s:%d/blob" % (L.OUT_IP, http)],
                     "HTTP by Host through router.toml's agent")
    t.check_eq(t.sha256(body), bodies.digest["/blob"], "sha256 by Host")
    trc.cleanup()
    srv.cleanup()
    done("11. router.toml clientsport + clientsecret: HTTP by Host")


def main():
    t.require_root()
    L.topology()
    tmp = t.mkdtemp()
    secrets = {n: L.secret_file(tmp, n) for n in ("lab", "web")}
    bodies = L.Bodies()
    ctx, crt = L.tls_context(tmp)
    with L.netns(L.NS_IN):
        for port in (80, 8080):
            L.http_origin(bodies, L.ORIGIN_IP, port)
        t.TCPServer(t._echo, L.ORIGIN_IP, 5432)
        L.http_origin(bodies, "127.0.0.1", 8443, tls=ctx)

    srv = L.TunSluiced(name="server", **server_conf(tmp, secrets)).start()
    m = srv.mark()
    lab = start_agent("tunnel-agent", srv, secrets["lab"], "agent-lab")
    web = start_agent("tunnel-agent-local", srv, secrets["web"],
                      "agent-web")
    wait_connected(srv, lab, "lab", m, 0)
    wait_connected(srv, web, "web", m, 0)
    done("server and agents lab, web up")

    check_reach(srv, lab, bodies, crt)
    check_sessions(srv, lab)
    check_parallel(srv, bodies)
    check_bad_input(srv, bodies)
    check_allow_lists(srv, secrets)
    check_strangers(srv, tmp)
    check_half_open(srv, lab)
    check_restart(srv, lab, secrets)
    check_tcprouter(bodies)
    for d in (srv, web):
        d.check_alive()


def main_with_sockets():
    """main(); on a failure, also the listening sockets of both sides."""
    try:
        main()
    except t.Fail:
        for ns in (L.NS_OUT, L.NS_IN):
            r = L.in_ns(ns, "ss", "-ltnp", ok=True)
            print("----- listening in %s -----\n%s" % (ns, r.stdout))
        raise


if __name__ == "__main__":
    t.run(main_with_sockets)
