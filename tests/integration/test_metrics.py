#!/usr/bin/env python3
"""
The metrics listener: GET /metrics in Prometheus text, checked against
known traffic.

sluiced gets a socks5 listener, a metrics listener (clients 127.0.0.1
only) and two links: "direct", and "dead", a SOCKS5 upstream on a closed
port that only targets on one port may use (max_fails 1, so one failure
puts it in its cool-down).  Then: N echo sessions with known sizes over
direct, one session routed to dead (a failed connect), one client that
never speaks (handshake timeout), one that sends garbage (bad request).
The text, parsed by prometheus_client, must agree: sessions and bytes of
direct, the failure of dead (and dead not up), the listeners' totals and
errors by reason, the histogram's count, the build version.  Also: HEAD
gives the head alone, another path is 404, POST is 405, a malformed head
400, and a client from 127.0.0.2 (outside `clients`) gets nothing and
counts as refused.  Last, a daemon with 256 links serves its large text
(from inside the worker's sandbox).
"""
import http.client
import os
import socket
import sys
import time
import urllib.error
import urllib.request

import sltest as t

sys.path.append("/usr/lib/python3/dist-packages")
try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    text_string_to_metric_families = None

N = 5
SLACK = 4096
CTYPE = "text/plain; version=0.0.4; charset=utf-8"


def scrape(port, path="/metrics"):
    """GET the text: (headers, {(sample name, sorted labels): value})."""
    url = "http://127.0.0.1:%d%s" % (port, path)
    with urllib.request.urlopen(url, timeout=5) as r:
        t.check_eq(r.status, 200, "status of GET %s" % path)
        headers = r.headers
        body = r.read()
    t.check_eq(int(headers["Content-Length"]), len(body), "Content-Length")
    samples = {}
    types = {}
    for fam in text_string_to_metric_families(body.decode("utf-8")):
        types[fam.name] = fam.type
        for s in fam.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            if key in samples:
                raise t.Fail("sample %r twice" % (key,))
            samples[key] = s.value
    return headers, samples, types


def val(samples, name, **labels):
    key = (name, tuple(sorted(labels.items())))
    if key not in samples:
        raise t.Fail("no sample %s%r" % (name, labels))
    return samples[key]


def status_of(port, method, path, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def raw(port, data, source=None):
    """Send data, read to EOF: the bytes answered (b"" if closed)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    if source:
        s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    got = b""
    try:
        s.sendall(data)
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        s.close()
    return got


def traffic(d, echo, dead_target):
    t.step("%d echo sessions over direct, known sizes" % N)
    sent = 0
    for i in range(N):
        data = os.urandom((i + 1) * 30000 + i)
        s = t.s5_tunnel(d.port, "127.0.0.1", echo.port)
        t.echo_check(s, data, "echo #%d" % i)
        s.close()
        sent += len(data)
    t.step("one session routed to dead: a failed connect")
    s, rep, _ = t.s5_connect(d.port, "127.0.0.1", dead_target)
    s.close()
    t.check(rep != 0, "dead link: reply %d, want a failure" % rep)
    t.step("one garbage request, one silent client")
    raw(d.port, b"\x07garbage")
    quiet = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    t.wait_closed(quiet, 5, "the silent client's close")
    quiet.close()
    return sent


def check_text(d, mport, sent, want):
    """Poll until the text agrees (counters may lag the log a moment)."""
    last = {}

    def agrees():
        h, smp, ty = scrape(mport)
        last.update(h=h, s=smp, t=ty)
        return (val(smp, "sluice_link_sessions_total", link="direct") >= N
                and val(smp, "sluice_link_sessions_open",
                        link="direct") == 0
                and val(smp, "sluice_listener_sessions_open",
                        listener="socks", kind="socks5") == 0
                and val(smp, "sluice_link_received_bytes_total",
                        link="direct") >= sent
                and sum(v for (n, l), v in smp.items()
                        if n == "sluice_frontend_errors_total" and
                        ("listener", "socks") in l) >= 3)
    t.wait_until(agrees, 5, "the metrics to show the traffic")
    h, smp, ty = last["h"], last["s"], last["t"]
    t.check_eq(h["Content-Type"], CTYPE, "Content-Type")
    t.check_eq(h["Connection"], "close", "Connection")
    t.check_eq(val(smp, "sluice_build_info",
                   version=os.environ.get("SLUICE_VERSION", "")), 1,
               "build_info")
    for name, typ in want.items():
        t.check_eq(ty.get(name), typ, "type of %s" % name)
    t.check_eq(val(smp, "sluice_link_sessions_total", link="direct"), N,
               "direct sessions")
    for what in ("sent", "received"):
        v = val(smp, "sluice_link_%s_bytes_total" % what, link="direct")
        t.check(sent <= v <= sent + SLACK, "direct %s bytes %d not in "
                "[%d, %d]" % (what, v, sent, sent + SLACK))
    t.check_eq(val(smp, "sluice_link_connect_failures_total",
                   link="direct"), 0, "direct failures")
    t.check_eq(val(smp, "sluice_link_connect_failures_total", link="dead"),
               1, "dead failures")
    t.check_eq(val(smp, "sluice_link_sessions_total", link="dead"), 0,
               "dead sessions")
    t.check_eq(val(smp, "sluice_link_up", link="direct"), 1, "direct up")
    t.check_eq(val(smp, "sluice_link_up", link="dead"), 0, "dead up")
    t.check_eq(val(smp, "sluice_link_consecutive_failures", link="dead"), 1,
               "dead consecutive failures")
    b = "sluice_link_connect_duration_seconds"
    t.check_eq(val(smp, b + "_count", link="direct"), N, "histogram count")
    t.check_eq(val(smp, b + "_bucket", link="direct", le="+Inf"), N,
               "+Inf bucket")
    t.check(val(smp, b + "_bucket", link="direct", le="5") <= N,
            "5 s bucket")
    t.check(0 <= val(smp, b + "_sum", link="direct") < N * 5, "sum")
    t.check_eq(val(smp, b + "_count", link="dead"), 0, "dead count")
    socks = dict(listener="socks", kind="socks5")
    t.check_eq(val(smp, "sluice_listener_sessions_total", **socks), N + 3,
               "socks listener sessions")
    errs = {dict(l)["reason"]: v for (n, l), v in smp.items()
            if n == "sluice_frontend_errors_total" and
            ("listener", "socks") in l}
    t.check_eq(len(errs), 13, "reasons listed, zeros included")
    t.check_eq(errs["limit"], 0, "refusals by a limit (none configured)")
    t.check_eq(errs["handshake_timeout"], 1, "handshake timeouts")
    # socks5 logs a bad greeting as "failed, reply 0xff", which
    # session.c counts as "other" for now; either reason will do.
    t.check_eq(errs["bad_request"] + errs["other"], 1, "bad requests")
    t.check_eq(sum(errs.values()), 3, "socks errors %r" % errs)
    # This scrape is the only session open, and still in its handshake.
    t.check_eq(val(smp, "sluice_sessions_open"), 1, "sessions open")
    t.check_eq(val(smp, "sluice_handshakes_open"), 1, "handshakes open")
    t.check_eq(val(smp, "sluice_listener_sessions_open", listener="metrics",
                   kind="metrics"), 1, "metrics listener open")
    t.check_eq(val(smp, "sluice_udp_dropped_total"), 0, "udp dropped")
    for n in ("lookups", "cache_hits", "failures"):
        val(smp, "sluice_resolver_%s_total" % n)
    for n in ("reloads", "reload_failures", "process_restarts"):
        val(smp, "sluice_%s_total" % n)
    val(smp, "sluice_config_generation")
    start = val(smp, "sluice_start_time_seconds")
    t.check(start == 0 or time.time() - 600 < start <= time.time() + 1,
            "start time %r" % start)


def check_http(d, mport):
    t.step("HEAD, 404, 405, 400")
    c = http.client.HTTPConnection("127.0.0.1", mport, timeout=5)
    c.request("HEAD", "/metrics?x=1")
    r = c.getresponse()
    t.check_eq(r.status, 200, "HEAD status")
    t.check_eq(r.getheader("Content-Type"), CTYPE, "HEAD Content-Type")
    t.check(int(r.getheader("Content-Length")) > 1000, "HEAD length")
    t.check_eq(r.read(), b"", "HEAD body")
    c.close()
    t.check_eq(status_of(mport, "GET", "/"), 404, "GET /")
    t.check_eq(status_of(mport, "GET", "/metrics/x"), 404, "GET /metrics/x")
    t.check_eq(status_of(mport, "POST", "/metrics", b"x=1"), 405, "POST")
    got = raw(mport, b"GET /metrics HTTP/1.1\r\n bad fold\r\n\r\n")
    t.check(got.startswith(b"HTTP/1.1 400 "), "malformed head: %r" % got)
    got = raw(mport, b"GET /metrics HTTP/3\r\n\r\n")
    t.check(got.startswith(b"HTTP/1.1 400 "), "HTTP/3: %r" % got)


def check_refused(d, mport):
    t.step("a client from 127.0.0.2, outside clients, is refused")
    mine = dict(listener="metrics", kind="metrics", reason="refused")
    _, smp, _ = scrape(mport)
    before = val(smp, "sluice_frontend_errors_total", **mine)
    got = raw(mport, b"GET /metrics HTTP/1.0\r\n\r\n", source="127.0.0.2")
    t.check_eq(got, b"", "answer to a stranger")
    _, smp, _ = scrape(mport)
    t.check_eq(val(smp, "sluice_frontend_errors_total", **mine), before + 1,
               "refused on the metrics listener")
    # Two 404s, a 405 and two 400s were bad requests; scrapes were not.
    t.check_eq(val(smp, "sluice_frontend_errors_total", listener="metrics",
                   kind="metrics", reason="bad_request"), 5,
               "bad requests on the metrics listener")
    t.check_eq(val(smp, "sluice_link_sessions_total", link="direct"), N,
               "scrapes dial nothing")
    d.wait_sessions(lambda x: x.front == "metrics" and
                    x.outcome.startswith("metrics"), 1,
                    what="a 'metrics' session line")


def check_big(nlinks=256):
    """The most links a config may have: a text of hundreds of KiB, built
    by realloc inside the worker's sandbox (mmap, mremap)."""
    t.step("%d links: a large text, from inside the sandbox" % nlinks)
    d = t.Sluiced(name="big", workers=1, listeners=t.with_free_ports([
        {"name": "m", "kind": "metrics", "listen": "127.0.0.1:0"},
    ]), balancer={"links": [{"name": "link-%03d" % i}
                            for i in range(nlinks)]}).start()
    _, smp, _ = scrape(d.port)
    ups = [k for k in smp if k[0] == "sluice_link_up"]
    t.check_eq(len(ups), nlinks, "links in the text")
    t.check_eq(val(smp, "sluice_link_connect_duration_seconds_bucket",
                   link="link-%03d" % (nlinks - 1), le="+Inf"), 0,
               "last link's +Inf bucket")
    d.wait_sessions(lambda x: x.front == "metrics", 1,
                    what="the big scrape's session line")
    t.check(d.alive(), "sluiced died")
    t.check(not d.find_log(r"killed by|exited with status"),
            "a child died while building a large text")


def main():
    if text_string_to_metric_families is None:
        raise t.Skip("prometheus_client is not installed "
                     "(python3-prometheus-client)")
    echo = t.echo_server()
    dead_port = t.free_port()
    dead_target = t.free_port()
    # The README's listeners (its metrics `clients` keep 127.0.0.2 out);
    # links of the test's own: one that works, one that cannot.
    ex = t.readme_example("metrics")
    t.check_eq([l["kind"] for l in ex["listeners"]], ["socks5", "metrics"],
               "the README example's listeners")
    d = t.Sluiced(workers=2, timeout=1,
                  listeners=t.with_free_ports(ex["listeners"]), balancer={
        "strategy": "round_robin",
        "links": [
            {"name": "direct",
             "matchers": [{"policy": "forbid", "ports": [dead_target]},
                          {"policy": "allow"}]},
            {"name": "dead", "protocol": "socks5", "domain": "127.0.0.1",
             "port": dead_port, "max_fails": 1, "cooldown": 60,
             "matchers": [{"policy": "allow", "ports": [dead_target]}]},
        ]}).start()
    mport = d.port_of["metrics"]
    sent = traffic(d, echo, dead_target)
    want = {"sluice_build_info": "gauge",
            "sluice_link_sessions": "counter",
            "sluice_link_connect_duration_seconds": "histogram",
            "sluice_sessions_open": "gauge",
            "sluice_link_up": "gauge"}
    check_text(d, mport, sent, want)
    check_http(d, mport)
    check_refused(d, mport)
    check_big()
    t.check(not d.find_log(r"killed by|exited with status"),
            "a child died during the test")


t.run(main)
