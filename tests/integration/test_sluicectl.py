#!/usr/bin/env python3
"""
sluicectl against a real sluiced, every command (README "Control").

- status, links, sessions (with each filter, table and --json), kill by
  id and by client CIDR, loglevel, allow add/list/del (a refused client,
  then admitted again), reopen, reload, stop; exit codes 0, 1 (refused),
  2 (no sluiced at the socket).
- Paging: 5,000 open sessions listed in full (pages of 500, merged).
- Access: a peer outside root and control_group cannot use the socket;
  one in the group can.
- Bad input on the control socket: garbage, a 1 GiB length prefix and a
  client that never reads its (large) answer are each dropped with a log
  line while other clients are answered.
"""
import json
import os
import resource
import shutil
import socket
import struct
import subprocess
import time

import sltest as t

HELD = 5000


def ctl_path():
    p = os.environ.get("SLUICECTL")
    if not p:
        p = os.path.join(os.path.dirname(t.sluiced_path()), "sluicectl")
    if not os.access(p, os.X_OK):
        raise t.Skip("no sluicectl binary (SLUICECTL)")
    return p


def run(sock, *args, user=None, timeout=60):
    cmd = [ctl_path(), "-s", sock] + list(args)
    if user is not None:
        cmd = ["setpriv", "--reuid", user, "--regid", user,
               "--clear-groups"] + cmd if user != "nobody" else \
            ["setpriv", "--reuid", "nobody", "--regid", "nogroup",
             "--clear-groups"] + cmd
    p = subprocess.run(cmd, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def jrun(sock, *args):
    rc, out, err = run(sock, "--json", *args)
    t.check(rc == 0, "sluicectl %s: exit %d: %s" % (" ".join(args), rc, err))
    return json.loads(out)


def basic(d, sock, echo):
    st = jrun(sock, "status")
    t.check_eq(st["generation"], 1, "status generation")
    t.check_eq(sorted(p["role"] for p in st["processes"]),
               ["resolver", "worker", "worker"], "status processes")
    rc, out, _ = run(sock, "status")
    t.check(rc == 0 and "worker 0" in out, "status table: %r" % out)
    links = jrun(sock, "links")["links"]
    t.check_eq([l["name"] for l in links], ["direct"], "links")
    t.check(all(k in links[0] for k in ("state", "cooldown_s", "health",
            "active", "total", "failed", "bytes_up", "bytes_down",
            "connect_ms_avg")), "links fields: %r" % links[0])
    rc, out, _ = run(sock, "links")
    t.check(rc == 0 and "direct" in out, "links table")


def sessions_and_kill(d, sock, echo):
    socks = [t.s5_tunnel(d.port_of["main"], "127.0.0.1", echo.port)
             for _ in range(6)]
    socks += [t.s5_tunnel(d.port_of["second"], "127.0.0.1", echo.port)
              for _ in range(2)]
    for s in socks:
        t.echo_check(s, b"hello")
    rows = jrun(sock, "sessions")
    t.check_eq(len(rows), 8, "sessions listed")
    t.check(all(r["bytes_up"] == 5 and r["bytes_down"] == 5 and
                r["link"] == "direct" and r["state"] == "relay"
                for r in rows), "session rows: %r" % rows[:2])
    t.check_eq(len(jrun(sock, "sessions", "--listener", "second")), 2,
               "--listener second")
    t.check_eq(len(jrun(sock, "sessions", "--link", "direct")), 8,
               "--link direct")
    t.check_eq(len(jrun(sock, "sessions", "--client", "127.0.0.0/8")), 8,
               "--client 127.0.0.0/8")
    t.check_eq(len(jrun(sock, "sessions", "--client", "10.0.0.0/8")), 0,
               "--client 10.0.0.0/8")
    t.check_eq(len(jrun(sock, "sessions", "--target",
                        ":%d" % echo.port)), 8, "--target :port")
    t.check_eq(len(jrun(sock, "sessions", "--user", "alice")), 0,
               "--user alice")
    rc, out, _ = run(sock, "sessions")
    t.check(rc == 0 and "ID" in out and rows[0]["id"] in out,
            "sessions table: %r" % out[:300])
    # kill one by id: exactly its client sees the close
    victim = rows[0]
    port = int(victim["client"].rsplit(":", 1)[1])
    rc, _, err = run(sock, "kill", victim["id"])
    t.check(rc == 0, "kill %s: %s" % (victim["id"], err))
    s = [x for x in socks if x.getsockname()[1] == port][0]
    t.wait_closed(s, 5, "the killed session's client")
    d.wait_log(r"session %s: .* killed: killed through the control"
               % victim["id"].rsplit(".", 1)[1])
    t.check_eq(len(jrun(sock, "sessions")), 7, "sessions after kill")
    rc, _, err = run(sock, "kill", victim["id"])
    t.check_eq(rc, 1, "kill of a gone session: exit status (%s)" % err)
    rc, _, err = run(sock, "kill", "--client", "127.0.0.1")
    t.check(rc == 0, "kill --client: %s" % err)
    t.wait_until(lambda: len(jrun(sock, "sessions")) == 0, 5,
                 "no session left after kill --client")
    for x in socks:
        x.close()


def loglevel(d, sock, echo):
    rc, out, _ = run(sock, "loglevel")
    t.check(rc == 0 and "info" in out, "loglevel: %r" % out)
    t.check_eq(jrun(sock, "loglevel", "debug")["level"], "debug",
               "loglevel debug")
    m = d.mark()
    s, rep, _ = t.s5_connect(d.port, "127.0.0.1", t.free_port())
    s.close()
    d.wait_log(r"worker \d+ debug: session \d+: link direct failed",
               mark=m, what="a worker's debug line")
    rc, _, _ = run(sock, "loglevel", "loud")
    t.check_eq(rc, 1, "loglevel loud: exit status")
    jrun(sock, "loglevel", "info")


def allow(d, sock, echo):
    rc, out, _ = run(sock, "allow", "main", "list")
    t.check_eq(rc, 0, "allow list exit status")
    r = jrun(sock, "allow", "main", "add", "10.0.0.0/8")
    t.check_eq(r["clients"], ["10.0.0.0/8"], "allow add")
    t.wait_until(lambda: refused(d.port), 5, "127.0.0.1 refused")
    r = jrun(sock, "allow", "main", "add", "127.0.0.1")
    t.check_eq(sorted(r["clients"]), ["10.0.0.0/8", "127.0.0.1/32"],
               "allow add 127.0.0.1")
    t.echo_check(t.s5_tunnel(d.port, "127.0.0.1", echo.port), b"in")
    jrun(sock, "allow", "main", "del", "127.0.0.1/32")
    t.wait_until(lambda: refused(d.port), 5, "127.0.0.1 refused again")
    jrun(sock, "allow", "main", "del", "10.0.0.0/8")
    t.check_eq(jrun(sock, "allow", "main", "list")["clients"], [],
               "empty list")
    t.echo_check(t.s5_tunnel(d.port, "127.0.0.1", echo.port), b"all")
    rc, _, _ = run(sock, "allow", "nosuch", "list")
    t.check_eq(rc, 1, "allow on an unknown listener: exit status")
    rc, _, _ = run(sock, "allow", "main", "add", "not-a-cidr")
    t.check_eq(rc, 1, "allow add garbage: exit status")


def refused(port):
    """A SOCKS5 greeting on port gets no answer but a close."""
    s = socket.create_connection(("127.0.0.1", port), 5)
    try:
        s.sendall(b"\x05\x01\x00")
        s.settimeout(5)
        try:
            return s.recv(2) == b""
        except ConnectionResetError:
            return True
    finally:
        s.close()


def paging(d, sock):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = HELD + 1024
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    # Targets that never accept: the kernel completes each connection
    # into the backlog, so the sessions stay open with no server thread.
    sinks = []
    for _ in range(2):
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(4096)
        sinks.append(ls)
    t.step("opening %d sessions" % HELD)
    held = []
    for i in range(HELD):
        port = sinks[i % 2].getsockname()[1]
        held.append(t.s5_tunnel(d.port, "127.0.0.1", port))
    t0 = time.monotonic()
    rows = jrun(sock, "sessions")
    dt = time.monotonic() - t0
    t.step("listed %d sessions in %.2f s" % (len(rows), dt))
    t.check_eq(len(rows), HELD, "sessions listed through the pages")
    t.check_eq(len({r["id"] for r in rows}), HELD, "distinct ids")
    return held, sinks


def bad_clients(d, sock):
    """Garbage, a 1 GiB prefix, and a client that never reads."""
    m = d.mark()
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(struct.pack(">I", 9) + b"not json!")
    t.wait_closed(s, 5, "the garbage client")
    s.close()
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(struct.pack(">I", 1 << 30) + b"{")
    t.wait_closed(s, 5, "the 1 GiB client")
    s.close()
    d.wait_log(r"control client .*request is not a JSON object", mark=m)
    d.wait_log(r"control client .*request length out of range", mark=m)
    # A page of 1,000 rows is far larger than the socket buffer.
    slow = socket.socket(socket.AF_UNIX)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(sock)
    body = json.dumps({"cmd": "sessions", "args": {"limit": 1000}}).encode()
    slow.sendall(struct.pack(">I", len(body)) + body)
    t0 = time.monotonic()
    for _ in range(3):
        st = t.control_ok(sock, "status", timeout=5)
    t.step("status answered in %.3f s while a client does not read"
           % (time.monotonic() - t0))
    t.check(st["generation"] == 1, "status while a client stalls")
    d.wait_log(r"control client .*answer not read in time", timeout=20,
               mark=m, what="the non-reading client dropped")
    slow.close()


def access(d, sock):
    rc, out, err = run(sock, "status", user="nobody")
    t.check_eq(rc, 0, "status as nobody in control_group nogroup (%s)" % err)
    if shutil.which("setpriv") is None:
        return
    rc, _, err = run(sock, "status", user="daemon")
    t.check(rc in (1, 2), "status as daemon (not in the group): exit %d"
            % rc)


def main():
    ctl_path()
    echo = t.echo_server()
    # The README's example, with a socket path of the test's own (its
    # directory made by sluiced), a group the test has a user in, and a
    # second listener.
    ex = t.readme_example("control")
    sock = os.path.join(t.mkdtemp(), "run", "sluiced.sock")
    os.chmod(os.path.dirname(os.path.dirname(sock)), 0o755)
    t.check(ex["control"].startswith("/") and ex["control_group"],
            "the README example names a socket and a group")
    listeners = t.with_free_ports(ex["listeners"]) + [
        {"name": "second", "kind": "socks5",
         "listen": "127.0.0.1:%d" % t.free_port()}]
    d = t.Sluiced(workers=2, control=sock, control_group="nogroup",
                  max_threads=HELD + 500, max_handshakes=HELD + 500,
                  listeners=listeners).start()
    st = os.stat(sock)
    t.check_eq(oct(st.st_mode & 0o777), "0o660", "control socket mode")
    t.check_eq(st.st_uid, 0, "control socket owner")
    rc, _, _ = run(sock + ".nope", "status")
    t.check_eq(rc, 2, "exit status without a sluiced")
    basic(d, sock, echo)
    sessions_and_kill(d, sock, echo)
    loglevel(d, sock, echo)
    allow(d, sock, echo)
    access(d, sock)
    held, sinks = paging(d, sock)
    bad_clients(d, sock)
    for s in held:
        s.close()
    for s in sinks:
        s.close()
    rc, _, err = run(sock, "reopen")
    t.check_eq(rc, 0, "reopen exit status (%s)" % err)
    r = jrun(sock, "reload")
    t.check_eq(r["generation"], 2, "reload generation")
    rc, _, err = run(sock, "stop")
    t.check_eq(rc, 0, "stop exit status (%s)" % err)
    t.check_eq(d.wait_exit(20), 0, "exit status after stop")
    t.check(not os.path.exists(sock), "control socket removed at exit")


t.run(main)
