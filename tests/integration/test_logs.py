#!/usr/bin/env python3
"""
JSON logs and the access log (README "Logs").

- "log_format": "json": every line the daemon writes is one JSON object
  with time, level, process and msg; a session's record carries typed
  fields (session, front, user, client, target, link, bytes_up,
  bytes_down, duration_ms, outcome, detail) with the right byte counts,
  and a hostile name (quote, backslash, 0xff, newline) stays escaped.
- "access_log": records go to that file (text: "TIME worker N session
  ..."), not to the main log; after the file is renamed, SIGUSR2 makes a
  new file that receives the next records, and when the new file cannot
  be opened the old one keeps receiving them; in JSON mode (even at log
  level warn) the file holds JSON objects.
- A symbolic link as access_log stops the start with exit 1 and the path.
"""
import json
import os
import re
import signal
import socket
import struct
import subprocess

import sltest as t

TIME_RE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
FILE_RE = re.compile(r"^(%s) (worker \d+) session (\d+): (\S+) (\S+) -> "
                     r"(.*) via (\S+): up (\d+) down (\d+) bytes, "
                     r"([\d.]+) s, (.*)$" % TIME_RE, re.M)
FIELDS = {"time": str, "level": str, "process": str, "msg": str}
TYPED = {"session": int, "front": str, "user": str, "client": str,
         "target": str, "link": str, "bytes_up": int, "bytes_down": int,
         "duration_ms": int, "outcome": str, "detail": str}


def json_lines(text, what):
    """Every complete line of text as a dict with the four fields."""
    out = []
    for i, line in enumerate(text.splitlines()):
        try:
            o = json.loads(line)
        except ValueError as e:
            raise t.Fail("%s line %d is not JSON (%s): %r"
                         % (what, i + 1, e, line))
        t.check(isinstance(o, dict), "%s line %d: not an object" % (what, i))
        for k, typ in FIELDS.items():
            t.check(isinstance(o.get(k), typ), "%s line %d: %r missing or "
                    "not %s: %r" % (what, i + 1, k, typ.__name__, line))
        t.check(re.match("^%s$" % TIME_RE, o["time"]) is not None,
                "%s line %d: time %r" % (what, i + 1, o["time"]))
        t.check(o["level"] in ("error", "warn", "info", "debug"),
                "%s line %d: level %r" % (what, i + 1, o["level"]))
        out.append(o)
    return out


def complete(text):
    """text up to its last newline (a line may be half written)."""
    return text[:text.rfind("\n") + 1]


def records(objs):
    return [o for o in objs if "session" in o]


def check_typed(o):
    for k, typ in TYPED.items():
        t.check(isinstance(o.get(k), typ), "record field %r missing or not "
                "%s: %r" % (k, typ.__name__, o))


def echo_session(port, echo, nbytes):
    """One relayed session through port moving nbytes each way."""
    s = t.s5_tunnel(port, "127.0.0.1", echo.port)
    t.echo_check(s, os.urandom(nbytes), "echo of %d bytes" % nbytes)
    s.close()


def connect_name(port, name, dport):
    s = t.s5_open(port)
    try:
        s.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name +
                  struct.pack("!H", dport))
        t.s5_read_reply(s)
    finally:
        s.close()


def json_main_log(echo):
    t.step("log_format json: the main log, a session's typed record")
    d = t.Sluiced(workers=1, log_format="json").start()
    echo_session(d.port, echo, 1234)
    name = b'q"b\\s\xff\n.invalid'
    connect_name(d.port, name, echo.port)

    def two():
        r = records(json_lines(complete(d.log()), "main log"))
        return r if len(r) >= 2 else None
    recs = t.wait_until(two, 10, "two session records in the JSON log")
    r = [o for o in recs if o["target"] == "127.0.0.1:%d" % echo.port]
    t.check(len(r) == 1, "one record to the echo server: %r" % recs)
    r = r[0]
    check_typed(r)
    t.check_eq((r["bytes_up"], r["bytes_down"]), (1234, 1234), "byte counts")
    t.check_eq(r["level"], "info", "level")
    t.check(re.match(r"^worker \d+$", r["process"]) is not None,
            "process %r" % r["process"])
    t.check_eq(r["front"], "socks5", "front")
    t.check_eq(r["user"], "", "user")
    t.check(r["client"].startswith("127.0.0.1:"), "client %r" % r["client"])
    t.check(r["msg"].startswith("session %d: socks5 " % r["session"]),
            "msg %r" % r["msg"])
    t.check(("up 1234 down 1234 bytes" in r["msg"]), "msg %r" % r["msg"])
    t.check(r["duration_ms"] < 10000, "duration_ms %r" % r["duration_ms"])
    h = [o for o in recs if "invalid" in o["target"]]
    t.check(len(h) == 1, "one record to the hostile name: %r" % recs)
    t.check_eq(h[0]["target"], 'q"b\\s\\xff\\x0a.invalid:%d' % echo.port,
               "the hostile name, escaped")
    t.step("every line of the log is JSON")
    d.signal(signal.SIGUSR1)        # counters: more lines of the master
    t.wait_until(lambda: len(json_lines(complete(d.log()), "main log")) >
                 len(recs) + 3, 5, "the counters lines")
    text = d.log()
    t.check(text.endswith("\n"), "the log ends with a whole line")
    json_lines(text, "main log")
    t.check(all(0x20 <= ord(c) < 0x7f for c in text.replace("\n", "")),
            "the JSON log is printable ASCII")
    d.cleanup()


def file_records(path):
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "strict")
    except FileNotFoundError:
        return []
    return FILE_RE.findall(complete(text))


def access_file():
    t.step("access_log: records go to the file, not to the main log")
    echo = t.echo_server()
    tmp = t.mkdtemp()
    path = os.path.join(tmp, "access.log")
    d = t.Sluiced(workers=1, access_log=path).start()
    st = os.stat(path)
    t.check_eq(st.st_mode & 0o777, 0o640, "the file's mode")
    echo_session(d.port, echo, 500)
    recs = t.wait_until(lambda: file_records(path) or None, 10,
                        "a record in %s" % path)
    t.check_eq(len(recs), 1, "records in the file")
    rec = recs[0]
    t.check_eq((rec[7], rec[8]), ("500", "500"), "byte counts in the file")
    t.check_eq(rec[5], "127.0.0.1:%d" % echo.port, "the target")
    t.check(not d.sessions(), "no session line in the main log: %r"
            % d.sessions())

    t.step("rename, SIGUSR2: a new file gets the next records")
    old = path + ".1"
    os.rename(path, old)
    m = d.mark()
    d.signal(signal.SIGUSR2)
    d.wait_log(r"access_log .* reopened", mark=m)
    t.check(os.path.exists(path), "SIGUSR2 made a new %s" % path)
    echo_session(d.port, echo, 700)
    new = t.wait_until(lambda: file_records(path) or None, 10,
                       "a record in the new %s" % path)
    t.check_eq(len(new), 1, "records in the new file")
    t.check_eq((new[0][7], new[0][8]), ("700", "700"), "byte counts")
    t.check_eq(len(file_records(old)), 1, "records in the renamed file")

    t.step("a reopen that fails keeps the file it had")
    kept = path + ".2"
    os.rename(path, kept)
    os.symlink(os.path.join(tmp, "elsewhere"), path)
    m = d.mark()
    d.signal(signal.SIGUSR2)
    d.wait_log(r"warn: SIGUSR2: access_log %s: is a symbolic link"
               % re.escape(path), mark=m)
    echo_session(d.port, echo, 900)
    got = t.wait_until(lambda: len(file_records(kept)) == 2 or None, 10,
                       "the next record in %s" % kept)
    t.check(got, "two records in %s" % kept)
    t.check_eq(file_records(kept)[1][7], "900", "bytes of the last record")
    t.check(not os.path.exists(os.path.join(tmp, "elsewhere")),
            "nothing created through the link")
    t.check(not d.sessions(), "no session line in the main log")
    t.check(d.alive(), "the master died")
    d.cleanup()

    t.step("access_log in JSON mode, log_level warn: JSON in the file")
    path = os.path.join(tmp, "access.json")
    d = t.Sluiced(workers=1, access_log=path, log_format="json",
                  log_level="warn").start()
    echo_session(d.port, echo, 321)

    def got():
        with open(path) as f:
            r = records(json_lines(complete(f.read()), path))
        return r or None
    r = t.wait_until(got, 10, "a JSON record in %s" % path)
    check_typed(r[0])
    t.check_eq((r[0]["bytes_up"], r[0]["bytes_down"]), (321, 321),
               "byte counts")
    t.check(not records(json_lines(complete(d.log()), "main log")),
            "no record in the main log")
    d.cleanup()


def symlink_refused():
    t.step("a symbolic link as access_log is refused at start")
    tmp = t.mkdtemp()
    link = os.path.join(tmp, "access.log")
    os.symlink(os.path.join(tmp, "elsewhere"), link)
    d = t.Sluiced(workers=1, access_log=link)
    p = subprocess.Popen([t.sluiced_path(), "-c", d.confpath],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise t.Fail("sluiced started with a symbolic link as access_log")
    t.check_eq(p.returncode, 1, "exit status (%s)" % err)
    t.check(link in err and "symbolic link" in err,
            "the message names the path: %r" % err)
    t.check(not os.path.exists(os.path.join(tmp, "elsewhere")),
            "nothing created through the link")


def readme_logs(echo):
    """The README's example: JSON lines, records in the access log."""
    t.step("the README's logs example: JSON records in the access log")
    ex = t.readme_example("logs")
    path = os.path.join(t.mkdtemp(), os.path.basename(ex["access_log"]))
    d = t.Sluiced(workers=1, log_format=ex["log_format"], access_log=path,
                  listeners=t.with_free_ports(ex["listeners"])).start()
    echo_session(d.port, echo, 321)

    def record():
        try:
            with open(path) as f:
                lines = [json.loads(x) for x in f.read().splitlines()]
        except FileNotFoundError:
            return None
        return lines[0] if lines else None
    rec = t.wait_until(record, 10, "a JSON record in %s" % path)
    t.check_eq((rec.get("bytes_up"), rec.get("bytes_down")), (321, 321),
               "the record's byte counts")
    t.check_eq(rec.get("listener"), "main", "the record's listener")
    for line in d.log().splitlines():
        json.loads(line)


def main():
    t.require_root()
    readme_logs(t.echo_server())
    symlink_refused()
    json_main_log(t.echo_server())
    access_file()


t.run(main)
