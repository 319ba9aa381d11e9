#!/usr/bin/env python3
"""
Timeouts ("timeout": 1, "idle_timeout": 1).

- handshake timeout: a client that connects and sends nothing, and one
  that sends half a greeting, are closed after about 1 s (not before
  0.8 s, not after 1 s + 3 s) and logged "handshake timeout";
- idle timeout: a relayed session that goes quiet is closed after about
  1 s and logged "idle timeout";
- a session that keeps exchanging data (every 0.25 s, for 2.5 s, i.e.
  well past the idle timeout) is not closed: activity resets the timer.
"""
import socket
import time

import sltest as t


def closed_after(s, low, high, what):
    t0 = time.monotonic()
    t.wait_closed(s, high, what)
    dt = time.monotonic() - t0
    t.step("%s: closed after %.3f s" % (what, dt))
    t.check(dt >= low, "%s: closed after %.3f s, before the timeout"
            % (what, dt))
    return dt


def main():
    echo = t.echo_server()
    d = t.Sluiced(workers=1, timeout=1, idle_timeout=1).start()

    t.step("handshake timeout: silent client")
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    closed_after(s, 0.8, 4, "silent client")
    s.close()
    t.step("handshake timeout: half a greeting")
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    s.sendall(b"\x05\x02\x00")
    closed_after(s, 0.8, 4, "half a greeting")
    s.close()
    t.step("handshake timeout: greeting but no request")
    s = t.s5_open(d.port)
    closed_after(s, 0.8, 4, "greeting without a request")
    s.close()
    d.wait_sessions(lambda x: x.outcome.startswith("handshake timeout"), 3,
                    what="'handshake timeout' sessions")

    t.step("idle timeout: a quiet relayed session")
    s = t.s5_tunnel(d.port, "127.0.0.1", echo.port)
    t.echo_check(s, b"once\n")
    closed_after(s, 0.8, 4, "idle session")
    s.close()
    d.wait_sessions(lambda x: x.target == "127.0.0.1:%d" % echo.port and
                    x.outcome.startswith("idle timeout"), 1,
                    what="an 'idle timeout' session")

    t.step("an active session outlives the idle timeout")
    s = t.s5_tunnel(d.port, "127.0.0.1", echo.port)
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < 2.5 and n < 100:
        t.echo_check(s, b"tick %d\n" % n, "echo at %.2f s"
                     % (time.monotonic() - t0))
        n += 1
        # Pacing, not waiting for anything: 0.25 s < idle_timeout.
        time.sleep(0.25)
    t.echo_check(s, b"still here\n", "echo after %.2f s of activity"
                 % (time.monotonic() - t0))
    s.close()
    d.wait_sessions(lambda x: x.target == "127.0.0.1:%d" % echo.port and
                    x.outcome == "done", 1,
                    what="the active session ending 'done'")


t.run(main)
