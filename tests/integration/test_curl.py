#!/usr/bin/env python3
"""
curl through sluice to a local origin, IPv4.

- curl --socks5 (sluice gets an IPv4 address) and --socks5-hostname with
  "localhost" (sluice's resolver resolves it): an 8 MiB random body
  arrives intact (sha256), and the session lines in sluice's log show the
  relayed byte counts, the target and the outcome "done";
- uploads (PUT and POST of 6 MiB): the origin's sha256 of what it got
  matches, so the client -> target direction carries every byte;
- with 2 workers, requests end up on both workers.
"""
import os

import sltest as t

BODY = 8 << 20
UPLOAD = 6 << 20


def main():
    t.require_curl()
    origin = t.Origin(size=BODY)
    d = t.Sluiced(workers=2).start()
    tgt = "127.0.0.1:%d" % origin.port

    t.step("4 downloads of %d bytes: 2 with --socks5, 2 with "
           "--socks5-hostname localhost" % BODY)
    for i in range(2):
        body = t.curl_fetch(d.port, origin.url())
        t.check_eq(len(body), BODY, "body length via --socks5 (#%d)" % i)
        t.check_eq(t.sha256(body), origin.digest,
                   "body sha256 via --socks5 (#%d)" % i)
        body = t.curl_fetch(d.port, origin.url(name="localhost"),
                            hostname=True)
        t.check_eq(len(body), BODY, "body length via --socks5-hostname")
        t.check_eq(t.sha256(body), origin.digest,
                   "body sha256 via --socks5-hostname (#%d)" % i)

    big = lambda s: s.down >= BODY and s.outcome == "done"
    by_ip = d.wait_sessions(lambda s: s.target == tgt and big(s), 2,
                            what="'done' sessions to %s with down >= %d"
                            % (tgt, BODY))
    by_name = d.wait_sessions(
        lambda s: s.target == "localhost:%d" % origin.port and big(s), 2,
        what="'done' sessions to localhost:%d with down >= %d"
        % (origin.port, BODY))
    for s in by_ip + by_name:
        t.check_eq(s.link, "direct", "link of %r" % s)
        t.check(s.client.startswith("127.0.0.1:"), "client of %r" % s)
        # The HTTP response is the body plus ~150 bytes of headers.
        t.check(s.down < BODY + 4096, "down count too large in %r" % s)
        t.check(0 < s.up < 4096, "up count of a GET in %r" % s)

    t.step("uploads of %d bytes (PUT and POST)" % UPLOAD)
    tmp = t.mkdtemp()
    data = os.urandom(UPLOAD)
    path = os.path.join(tmp, "upload.bin")
    with open(path, "wb") as f:
        f.write(data)
    want = [t.sha256(data), str(UPLOAD)]
    out = t.curl_ok(["--socks5", "127.0.0.1:%d" % d.port, "-T", path,
                     origin.url("/upload")], "PUT upload")
    t.check_eq(out.decode().split(), want, "origin's sha256 of the PUT body")
    out = t.curl_ok(["--socks5-hostname", "127.0.0.1:%d" % d.port,
                     "--data-binary", "@" + path,
                     origin.url("/upload", name="localhost")], "POST upload")
    t.check_eq(out.decode().split(), want, "origin's sha256 of the POST body")
    ups = d.wait_sessions(lambda s: s.up >= UPLOAD and s.outcome == "done", 2,
                          what="'done' sessions with up >= %d" % UPLOAD)
    for s in ups:
        t.check(s.up < UPLOAD + 4096, "up count too large in %r" % s)

    t.step("small requests until both workers have served one")
    for i in range(40):
        t.check_eq(t.curl_fetch(d.port, origin.url("/small")), b"small\n",
                   "small body")
        workers = {s.worker for s in d.sessions() if s.target == tgt}
        if workers >= {"worker 0", "worker 1"}:
            break
    t.check_eq(sorted(workers), ["worker 0", "worker 1"],
               "workers that served sessions to the origin after %d requests"
               % (i + 1))
    t.check_eq(len(d.workers()), 2, "number of workers")
    t.check(not d.find_log(r"killed by|exited with status|respawning"),
            "a child died during the test")


t.run(main)
