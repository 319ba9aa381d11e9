#!/usr/bin/env python3
"""
Master death: SIGKILL the master (nothing can be cleaned up by it) while
a session is open.  All of its children (workers and resolver) must be
gone within a deadline (PR_SET_PDEATHSIG), the open session is closed, and
the port no longer accepts connections.
"""
import signal
import socket

import sltest as t


def main():
    echo = t.echo_server()
    d = t.Sluiced(workers=2).start()
    kids = sorted(d.children())
    t.check_eq(len(kids), 3, "children before the kill")
    s = t.s5_tunnel(d.port, "127.0.0.1", echo.port)
    t.echo_check(s, b"hello\n")

    t.step("SIGKILL master pid %d (children %r)" % (d.pid, kids))
    d.signal(signal.SIGKILL)
    rc = d.wait_exit(5)
    t.check_eq(rc, -signal.SIGKILL, "master status")
    for p in kids:
        t.wait_until(lambda: t.pid_gone(p), 3,
                     "child pid %d to die with the master" % p)
    t.wait_closed(s, 3, "the open session to close")
    s.close()

    def refused():
        try:
            c = socket.create_connection(("127.0.0.1", d.port), timeout=1)
        except ConnectionRefusedError:
            return True
        except ConnectionResetError:
            return False        # a listener closing meanwhile; poll on
        c.close()
        return False
    t.wait_until(refused, 3, "port %d to refuse connections" % d.port)


t.run(main)
