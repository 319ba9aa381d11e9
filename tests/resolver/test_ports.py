"""
Source ports turn over under load.  c-ares 1.18 closes a server's UDP
socket only when no query is left, so under steady load every query to
that server would leave from one port for as long as the load lasts.
The resolver's two c-ares channels per server channel take turns every
RS_TURN_QUERIES (32) queries, the idle one's sockets closed and opened
anew.  Twenty clients look up distinct names at once, for 400 queries,
against a server that answers after 50 ms, so the channel is never
idle: the queries must reach the server from at least four source
ports (one, without the turns), and every lookup must succeed.
"""

import threading

import rtest as r
from rtest import t

CLIENTS = 20
EACH = 10


def main():
    echo = t.echo_server("127.0.0.7")
    prim = r.dns({"*.test": {"addrs": ["127.0.0.7"], "ttl": 60,
                             "delay": 0.05}})
    d = r.daemon("ports", prim, workers=1, resolve_timeout=4)
    resolver = d.resolver()
    errors = []

    def client(k):
        for i in range(EACH):
            name = "c%d-n%d.test" % (k, i)
            try:
                rep, _ = r.connect(d, name, echo.port)
                if rep != 0:
                    errors.append("%s: reply %d" % (name, rep))
            except Exception as e:          # noqa: reported below
                errors.append("%s: %r" % (name, e))

    t.step("%d clients x %d lookups of distinct names" % (CLIENTS, EACH))
    th = [threading.Thread(target=client, args=(k,), daemon=True)
          for k in range(CLIENTS)]
    for x in th:
        x.start()
    for x in th:
        x.join(60)
    t.check(not errors, "lookups failed: %r" % errors[:5])
    ports = sorted(prim.udp_ports)
    t.step("%d queries came from %d source ports"
           % (len(prim.raw), len(ports)))
    t.check(len(ports) >= 4, "source ports %r: want at least 4" % ports)
    t.check_eq(d.resolver(), resolver, "resolver pid (confined, alive)")


t.run(main)
