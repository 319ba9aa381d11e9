#!/usr/bin/env python3
"""
Reload without dropping a session (README "Reload").

- Under a steady load of about 500 SOCKS5 connections per second (each:
  connect, CONNECT, 64-byte echo, close) with 200 long sessions open and
  streaming, three reloads in a row (control socket) fail no connection,
  and every long session, served on by its draining generation, finishes
  byte-exact.
- Totals (link sessions and bytes) carry over: they never go down.
- A broken config is refused (control: the "PATH: JSON path: problem"
  text; SIGHUP: a log line), and the running generation keeps serving.
- A reload that adds a listener and a link and removes a listener: the
  new ones serve, the removed port stops listening, the link is listed.
- A storm of 100 SIGHUPs in a second while the file changes (some
  versions broken) ends with exactly the last valid config serving and
  no process left over.
"""
import hashlib
import os
import signal
import socket
import threading
import time

import sltest as t

RATE = 500              # connections per second, all threads together
THREADS = 20
LONG = 200
CHUNK = 512


class Load:
    """Short sessions at RATE per second until stopped."""

    def __init__(self, port, echo_port):
        self.port, self.echo_port = port, echo_port
        self.ok = 0
        self.failures = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True)
                        for _ in range(THREADS)]

    def one(self):
        s = t.s5_tunnel(self.port, "127.0.0.1", self.echo_port)
        try:
            data = os.urandom(64)
            s.sendall(data)
            got = t.recv_exact(s, 64, "echo")
            if got != data:
                raise t.Fail("echo differs")
        finally:
            s.close()

    def run(self):
        period = THREADS / RATE
        nxt = time.monotonic()
        while not self.stop.is_set():
            try:
                self.one()
                with self.lock:
                    self.ok += 1
            except Exception as e:          # noqa: any failure counts
                with self.lock:
                    self.failures.append(repr(e))
            nxt += period
            delay = nxt - time.monotonic()
            if delay > 0:
                self.stop.wait(delay)       # pacing, not a wait for state
            else:
                nxt = time.monotonic()

    def start(self):
        for th in self.threads:
            th.start()
        return self

    def finish(self):
        self.stop.set()
        for th in self.threads:
            th.join(30)


class Long:
    """LONG sessions kept open and streaming in rounds, checked byte for
    byte; a background thread runs rounds until stopped."""

    def __init__(self, port, echo_port):
        self.socks = [t.s5_tunnel(port, "127.0.0.1", echo_port)
                      for _ in range(LONG)]
        self.sent = [hashlib.sha256() for _ in self.socks]
        self.got = [hashlib.sha256() for _ in self.socks]
        self.nbytes = [0] * LONG
        self.rounds = 0
        self.error = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def round(self):
        for i, s in enumerate(self.socks):
            data = os.urandom(CHUNK)
            s.sendall(data)
            self.sent[i].update(data)
            back = t.recv_exact(s, CHUNK, "long session %d echo" % i)
            self.got[i].update(back)
            self.nbytes[i] += CHUNK
        self.rounds += 1

    def run(self):
        try:
            while not self.stop.is_set():
                self.round()
        except Exception as e:          # noqa: reported by finish()
            self.error = e

    def finish(self):
        self.stop.set()
        self.thread.join(30)
        if self.error is not None:
            raise t.Fail("long sessions: %r after %d rounds"
                         % (self.error, self.rounds))
        self.round()            # once more, after all the reloads
        for i in range(LONG):
            t.check(self.sent[i].digest() == self.got[i].digest(),
                    "long session %d: echo differs" % i)
        for s in self.socks:
            s.shutdown(socket.SHUT_WR)
            t.check(s.recv(1) == b"", "long session: EOF after SHUT_WR")
            s.close()


def generation(ctl):
    return t.control_ok(ctl, "status")["generation"]


def link_totals(ctl):
    return {l["name"]: (l["total"], l["bytes_up"], l["bytes_down"])
            for l in t.control_ok(ctl, "links")["links"]}


def reload_under_load(d, ctl, echo):
    t.step("%d long sessions, then load at %d/s" % (LONG, RATE))
    lng = Long(d.port, echo.port)
    lng.round()
    lng.thread.start()
    load = Load(d.port, echo.port).start()
    started = time.monotonic()
    t.wait_until(lambda: load.ok >= 200, 10, "200 short sessions served")
    before = link_totals(ctl)
    for k in range(3):
        t0 = time.monotonic()
        r = t.control_ok(ctl, "reload")
        t.step("reload %d: generation %d serves after %.0f ms"
               % (k + 1, r["generation"], (time.monotonic() - t0) * 1000))
        t.check_eq(r["generation"], k + 2, "generation after reload")
        mark = load.ok
        t.wait_until(lambda: load.ok >= mark + 100, 10,
                     "100 more short sessions after reload %d" % (k + 1))
    load.finish()
    t.step("short sessions: %d ok, %d failed, %.0f/s" % (
        load.ok, len(load.failures), load.ok / (time.monotonic() - started)))
    t.check(not load.failures, "failed connections across reloads: %r"
            % load.failures[:5])
    lng.finish()
    t.step("long sessions byte-exact after %d rounds" % lng.rounds)
    after = link_totals(ctl)
    for name, (tot, up, down) in before.items():
        t.check(after[name][0] >= tot and after[name][1] >= up and
                after[name][2] >= down, "link %s totals went down: %r -> %r"
                % (name, before[name], after[name]))
    # Every long session ends "done" in the draining generation's log.
    d.wait_sessions(lambda x: x.outcome == "done", LONG, timeout=20,
                    what="long sessions done")


def broken_config(d, ctl, echo):
    good = dict(d.conf)
    bad = dict(good)
    bad["listeners"] = [dict(good["listeners"][0], kind="socks6")]
    d.write_conf(bad)
    r = t.control(ctl, "reload")
    t.check(not r["ok"] and "listeners[0].kind" in r["error"] and
            d.confpath in r["error"], "broken config refused with its "
            "path and JSON path: %r" % r)
    m = d.mark()
    d.signal(signal.SIGHUP)
    d.wait_log(r"reload refused: .*listeners\[0\]\.kind", mark=m)
    t.check_eq(generation(ctl), 4, "generation after refused reloads")
    t.echo_check(t.s5_tunnel(d.port, "127.0.0.1", echo.port), b"still")
    d.write_conf(good)


def change_listeners(d, ctl, echo):
    conf = dict(d.conf)
    gone = conf["listeners"][1]
    new_port = t.free_port()
    conf["listeners"] = [conf["listeners"][0],
                         {"name": "added", "kind": "mixed",
                          "listen": "127.0.0.1:%d" % new_port}]
    conf["balancer"] = {"links": [{"name": "direct", "protocol": "direct"},
                                  {"name": "second",
                                   "protocol": "direct"}]}
    d.write_conf(conf)
    t.control_ok(ctl, "reload")
    t.echo_check(t.s5_tunnel(new_port, "127.0.0.1", echo.port), b"added")
    gone_port = int(gone["listen"].rsplit(":", 1)[1])
    t.wait_until(lambda: not t.listening(gone_port), 10,
                 "removed listener's port %d closed" % gone_port)
    names = [l["name"] for l in t.control_ok(ctl, "links")["links"]]
    t.check_eq(names, ["direct", "second"], "links after the reload")
    names = [l["name"] for l in t.control_ok(ctl, "status")["listeners"]]
    t.check_eq(names, ["main", "added"], "listeners after the reload")


def storm(d, ctl, echo):
    base = dict(d.conf)
    pid = d.pid
    t.step("100 SIGHUPs in a second, the file changing")
    last = None
    for i in range(100):
        conf = dict(base)
        if i % 7 == 3:
            conf["workers"] = "two"             # broken
        else:
            conf["listeners"] = [dict(base["listeners"][0],
                                      name="storm%d" % i)]
            last = "storm%d" % i
        d.write_conf(conf)
        os.kill(pid, signal.SIGHUP)
        time.sleep(0.01)        # pacing the storm over a second
    d.write_conf(conf)

    def settled():
        st = t.control_ok(ctl, "status")
        procs = [p for p in st["processes"] if p["pid"]]
        names = [l["name"] for l in st["listeners"]]
        kids = d.children()
        return (names == [last] and len(procs) == 3 and len(kids) == 3 and
                all(p["generation"] == st["generation"] for p in procs))
    t.wait_until(settled, 40, "the last valid config (%s) serving with "
                 "only its 3 processes" % last)
    t.echo_check(t.s5_tunnel(d.port, "127.0.0.1", echo.port), b"calm")
    t.step("settled on %s, generation %d" % (last, generation(ctl)))


def main():
    echo = t.echo_server()
    echo.lsock.listen(1024)
    ctl = os.path.join(t.mkdtemp(), "ctl.sock")
    main_port, other = t.free_port(), t.free_port()
    d = t.Sluiced(workers=2, control=ctl, shutdown_timeout=60,
                  max_threads=2000,
                  listeners=[{"name": "main", "kind": "socks5",
                              "listen": "127.0.0.1:%d" % main_port},
                             {"name": "other", "kind": "socks5",
                              "listen": "127.0.0.1:%d" % other}]).start()
    reload_under_load(d, ctl, echo)
    broken_config(d, ctl, echo)
    change_listeners(d, ctl, echo)
    storm(d, ctl, echo)
    d.signal(signal.SIGTERM)
    t.check_eq(d.wait_exit(15), 0, "exit status")


t.run(main)
