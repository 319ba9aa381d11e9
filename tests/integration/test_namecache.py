#!/usr/bin/env python3
"""
The worker's name cache: one worker, 20 SOCKS5 sessions in a row to
`localhost` (a hosts-file name) ask the resolver once or twice (the cache
keeps an answer at most 2 s), not 20 times, as the resolver's own
lookups counter on /metrics shows; and a name the resolver cannot answer
(NXDOMAIN from the test's DNS) is never cached: each session asks again.
"""
import re
import urllib.request

import sltest as t

N = 20


def resolver_lookups(mport):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport,
                                  timeout=5).read().decode()
    m = re.search(r"^sluice_resolver_lookups_total (\d+)", text, re.M)
    t.check(m is not None, "sluice_resolver_lookups_total in the text")
    return int(m.group(1))


def main():
    echo = t.echo_server()
    d = t.Sluiced(workers=1, listeners=t.with_free_ports([
        {"name": "socks", "kind": "socks5", "listen": "127.0.0.1:0"},
        {"name": "metrics", "kind": "metrics", "listen": "127.0.0.1:0"}]))
    d.start()
    mport = d.port_of["metrics"]
    before = resolver_lookups(mport)
    for i in range(N):
        s = t.s5_tunnel(d.port, "localhost", echo.port)
        t.echo_check(s, b"n%d" % i)
        s.close()
    asked = resolver_lookups(mport) - before
    t.step("%d sessions to localhost: %d lookups reached the resolver"
           % (N, asked))
    t.check(1 <= asked <= N // 4, "lookups for %d sessions by name: %d"
            % (N, asked))
    before = resolver_lookups(mport)
    for i in range(5):
        s, rep, _ = t.s5_connect(d.port, "nothing.invalid", echo.port)
        s.close()
        t.check(rep != 0, "nothing.invalid: a failure reply")
    t.check_eq(resolver_lookups(mport) - before, 5,
               "lookups of a name that does not resolve (never cached)")


t.run(main)
