"""
Helpers shared by the resolver integration tests: the integration
harness (tests/integration/sltest.py, imported, not copied), the
scriptable DNS server, and small SOCKS5 helpers.
"""

import os
import socket
import sys
import time

_here = os.path.dirname(os.path.abspath(__file__))
_src = os.environ.get("SLUICE_SRCDIR") or os.path.dirname(
    os.path.dirname(_here))
sys.path.insert(0, os.path.join(_src, "tests", "integration"))
sys.path.insert(0, _here)

import sltest as t                                  # noqa: E402
from dnsserver import ScriptDNS, T_A, T_AAAA        # noqa: E402,F401


def dns(rules=None, default=None, tcp=True):
    """A ScriptDNS the harness stops at exit."""
    d = ScriptDNS(rules, default, tcp)
    t._used_ports.add(d.port)
    t.at_exit(d.close)
    return d


def ns(server):
    return "127.0.0.1:%d" % server.port


def daemon(name, primary, backups=(), workers=2, **conf):
    """Start sluiced with primary (a ScriptDNS, or None with
    conf["nameservers"] given) and backup servers."""
    conf.setdefault("resolve_timeout", 5)
    if backups:
        conf["nameservers_backup"] = [ns(b) for b in backups]
    d = t.Sluiced(name, workers=workers, dns=primary, **conf)
    return d.start()


def connect(d, host, port, timeout=15):
    """(reply code, seconds) of a SOCKS5 CONNECT through d; closes."""
    t0 = time.monotonic()
    s, rep, _ = t.s5_connect(d.port, host, port, timeout=timeout)
    s.close()
    return rep, time.monotonic() - t0


def echo_ok(d, host, server, what=None):
    """CONNECT host:server.port through d and echo a few bytes."""
    s = t.s5_tunnel(d.port, host, server.port)
    try:
        t.echo_check(s, b"resolver test\n", what or "echo via %s" % host)
    finally:
        s.close()


def trap(host, port):
    """A listener on host:port that nobody should ever reach."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(16)
    s.setblocking(False)
    t.at_exit(s.close)
    return s


def trapped(s):
    """Connections a trap() listener got (accepted and closed here)."""
    n = 0
    for _ in range(64):
        try:
            c, _ = s.accept()
        except (BlockingIOError, InterruptedError):
            break
        c.close()
        n += 1
    return n


def wait_count(server, name, qtype, transport, want, timeout=5):
    return t.wait_until(
        lambda: server.count(name, qtype, transport) >= want, timeout,
        "%d %s queries for %s over %s (have %d)"
        % (want, {T_A: "A", T_AAAA: "AAAA"}.get(qtype, qtype), name,
           transport, server.count(name, qtype, transport)))
