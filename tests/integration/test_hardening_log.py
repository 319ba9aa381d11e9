#!/usr/bin/env python3
"""
Client bytes >= 0x80 never reach the log raw (issue 14, items 5 and 13).

A SOCKS5 CONNECT names a host with a byte 0xff (invalid UTF-8) and
U+202E RIGHT-TO-LEFT OVERRIDE (e2 80 ae, a bidi control that makes a
line read backwards in a terminal or a log viewer), and one with a C1
control (U+0085, c2 85) and an ESC.  Whatever the reply, the session
line must show the name escaped byte by byte (\\xff, \\xe2\\x80\\xae), and
the whole log file must be valid UTF-8 with no raw C1 or bidi control.
"""
import re
import socket
import struct

import sltest as t

NAMES = [
    b"a\xffb\xe2\x80\xaecom.invalid",
    b"c1\xc2\x85\x1b[31m.invalid",
]
WANT = [
    "a\\xffb\\xe2\\x80\\xaecom.invalid",
    "c1\\xc2\\x85\\x1b[31m.invalid",
]


def connect_name(port, name, dport):
    """CONNECT to a raw name; the reply code (the name cannot work)."""
    s = t.s5_open(port)
    try:
        s.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name +
                  struct.pack("!H", dport))
        rep, _ = t.s5_read_reply(s)
        return rep
    finally:
        s.close()


def main():
    echo = t.echo_server()
    d = t.Sluiced(workers=1, timeout=3).start()
    m = d.mark()
    for name in NAMES:
        t.step("CONNECT to %r" % name)
        rep = connect_name(d.port, name, echo.port)
        t.check(rep != 0, "CONNECT to %r succeeded" % name)
    got = d.wait_sessions(lambda x: "invalid" in x.target, len(NAMES),
                          timeout=10, mark=m, what="sessions to the names")
    targets = " ".join(x.target for x in got)
    for want in WANT:
        t.check(want in targets, "no session target with %r in %r"
                % (want, targets))

    t.step("the log file is valid UTF-8, printable, one line per event")
    with open(d.logpath, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8", "strict")
    except UnicodeDecodeError as e:
        raise t.Fail("log is not valid UTF-8: %s near %r"
                     % (e, raw[max(0, e.start - 40):e.end + 20]))
    bad = re.search("[\u0080-\u009f\u200e\u200f\u202a-\u202e"
                    "\u2066-\u2069\x00-\x09\x0b-\x1f\x7f]", text)
    t.check(bad is None, "control character in the log: %r"
            % (bad and text[max(0, bad.start() - 60):bad.end() + 20]))
    t.check(d.alive(), "the master died")


t.run(main)
