#!/usr/bin/env python3
"""
A port someone else listens on is refused (issue 14, item 7).

sluiced's own listening sockets share their port with SO_REUSEPORT, and
the kernel lets any socket of the same effective uid join such a group:
a second sluiced (both run as root) used to bind the first one's port
without a word and take a share of its connections.  Now:

- a port held by a plain listener, and one held by a listener that set
  SO_REUSEPORT itself (as root, like sluiced), make sluiced exit 1 with
  "Address already in use" before it starts anything;
- a second sluiced on a running one's port exits 1 the same way, and the
  first still serves every connection.
"""
import socket
import subprocess

import sltest as t


def start_expect_in_use(d, what):
    """Start d's sluiced; it must exit 1 saying the address is in use."""
    d._logf = open(d.logpath, "wb")
    d.proc = subprocess.Popen(
        [t.sluiced_path(), "-c", d.confpath], stdin=subprocess.DEVNULL,
        stdout=d._logf, stderr=subprocess.STDOUT, close_fds=True)
    d.pid = d.proc.pid
    try:
        rc = d.proc.wait(10)
    except subprocess.TimeoutExpired:
        raise t.Fail("%s: sluiced started on port %d although it is in use"
                     % (what, d.port))
    out = d.log()
    t.check(rc == 1 and "in use" in out.lower(),
            "%s: want exit 1 and \"in use\"; got exit %d and %r"
            % (what, rc, out))
    t.check(not d.children(), "%s: children left behind" % what)


def listener(reuseport):
    s = socket.socket()
    t.at_exit(s.close)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    return s


def main():
    for reuseport in (False, True):
        what = "a port held by a %slistener" % (
            "SO_REUSEPORT " if reuseport else "plain ")
        t.step(what)
        s = listener(reuseport)
        d = t.Sluiced(name="sluiced-%s" % ("reuseport" if reuseport else
                                           "plain"), workers=2,
                      port=s.getsockname()[1])
        start_expect_in_use(d, what)
        s.close()

    t.step("two sluiced on one port: the second exits, the first serves")
    echo = t.echo_server()
    first = t.Sluiced(name="first", workers=2).start()
    second = t.Sluiced(name="second", workers=2, port=first.port)
    start_expect_in_use(second, "a second sluiced on port %d" % first.port)
    # Every connection reaches the first (the second holds nothing).
    for i in range(20):
        s = t.s5_tunnel(first.port, "127.0.0.1", echo.port, timeout=5)
        t.echo_check(s, b"connection %d" % i)
        s.close()
    first.check_alive()
    t.check(t.listening(first.port), "port %d no longer listening"
            % first.port)


t.run(main)
