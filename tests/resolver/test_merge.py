"""
In-flight merging and many lookups at once.

- 20 CONNECTs to slow.test (the server answers after 0.8 s), sent before
  the first answer, over connections spread on two workers: the server
  sees one A and one AAAA query, and every CONNECT succeeds.
- 1000 CONNECTs to 1000 distinct names at once (to a closed port, so a
  resolved name gives 0x05 "refused" and an unresolved one 0x04): every
  one resolves, well within resolve_timeout.
"""

import resource
import time

import rtest as r
from rtest import t, T_A, T_AAAA


def open_all(d, names, port):
    """Greet on one socket per name, then send every request at once."""
    socks = []
    for n in names:
        socks.append(t.s5_open(d.port, timeout=20))
    for s, n in zip(socks, names):
        s.sendall(t.s5_request(n, port))
    return socks


def replies(socks):
    reps = []
    for s in socks:
        reps.append(t.s5_read_reply(s)[0])
    return reps


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 and (hard == resource.RLIM_INFINITY or hard >= 4096):
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))
    echo = t.echo_server("127.0.0.7")
    srv = r.dns({"slow.test": {"addrs": ["127.0.0.7"], "delay": 0.8},
                 "*.many.test": {"addrs": ["127.0.0.7"]}})
    d = r.daemon("merge", srv, workers=2, resolve_timeout=10,
                 max_threads=3000)

    t.step("20 concurrent CONNECTs to one slow name")
    mark = d.mark()
    socks = open_all(d, ["slow.test"] * 20, echo.port)
    try:
        reps = replies(socks)
    finally:
        for s in socks:
            s.close()
    t.check_eq(reps, [0] * 20, "replies")
    t.check_eq(srv.count("slow.test", T_A), 1, "A queries for slow.test")
    t.check_eq(srv.count("slow.test", T_AAAA), 1,
               "AAAA queries for slow.test")
    sess = d.wait_sessions(lambda x: x.target.startswith("slow.test:"), 20,
                           10, mark, "slow.test sessions")
    workers = sorted(set(x.worker for x in sess))
    t.step("merged across %s" % ", ".join(workers))
    t.check(len(workers) == 2, "the 20 sessions all ran on %s" % workers)

    t.step("1000 distinct names at once")
    closed = t.free_port()
    names = ["n%d.many.test" % i for i in range(1000)]
    t0 = time.monotonic()
    socks = open_all(d, names, closed)
    try:
        reps = replies(socks)
    finally:
        for s in socks:
            s.close()
    secs = time.monotonic() - t0
    bad = [(n, rep) for n, rep in zip(names, reps) if rep != 5]
    t.check(not bad, "%d names did not resolve, e.g. %r" % (len(bad),
                                                           bad[:5]))
    t.step("1000 lookups in %.2f s" % secs)
    t.check(secs < 5, "1000 lookups took %.1f s" % secs)
    t.check_eq(srv.count("n7.many.test", T_A), 1, "A queries for one name")


t.run(main)
