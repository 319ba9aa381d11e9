#!/usr/bin/env python3
"""
Taps on real sessions (issue 11 item 4).

- The README's "lua-tap" example (contrib/upper.lua on a forward
  listener): what the client sends reaches the server upper-cased, and
  the server's answer comes back upper-cased.
- A Lua tap that loops forever (tests/data/lua/spin.lua) is stopped by
  its instruction budget: that session ends with a log line naming the
  budget, the worker lives on and the next session is served.
- A script that does not compile: `sluiced -t` exits 1 naming the tap's
  JSON path, the script and its line.
- hexdump logs the first bytes; drop of the down direction: the client
  gets nothing back, the server still got the request; throttle at
  64 KiB/s makes 256 KiB take at least 3 s (a lower bound only: timing
  goals live in bench/).
- UDP: a replace tap rewrites datagrams of a udp_forward flow both ways.
- SOCKS5 UDP ASSOCIATE datagrams pass the socks5 listener's taps both
  ways, and a CONNECT stream through the same listener too.
- A service's own taps (a `host` listener): requests for that service are
  rewritten by its chain, requests for another service are not; a bad
  Lua script in a service is refused by -t with the service's path.
"""
import os
import socket
import struct
import subprocess
import threading
import time

import sltest as t


def talk(port, payload, want_len, timeout=10):
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    c.sendall(payload)
    got = t.recv_exact(c, want_len, "reply")
    c.close()
    return got


def lua_cases(echo):
    conf = t.readme_example("lua-tap")
    ls = t.with_free_ports(conf["listeners"])
    upper = os.path.join(t.source_dir(), "contrib", "upper.lua")
    spin = os.path.join(t.source_dir(), "tests", "data", "lua", "spin.lua")
    for l in ls:
        l["target"] = "127.0.0.1:%d" % echo.port
        for tap in l.get("taps", []):
            tap["script"] = upper
    spinning = t.with_free_ports([{
        "name": "spin", "kind": "forward", "listen": "127.0.0.1:0",
        "target": "127.0.0.1:%d" % echo.port,
        "taps": [{"type": "lua", "script": spin,
                  "max_instructions": 100000}]}])
    d = t.Sluiced(listeners=ls + spinning).start()
    port = d.port_of[ls[0]["name"]]
    t.step("the Lua tap upper-cases both ways")
    got = talk(port, b"hello, tap\n", 11)
    t.check_eq(got, b"HELLO, TAP\n", "reply through upper.lua")

    t.step("an endless Lua loop is stopped by its budget, not the worker")
    m = d.mark()
    c = socket.create_connection(("127.0.0.1", d.port_of["spin"]),
                                 timeout=10)
    c.sendall(b"spin please")
    t.wait_closed(c, 10, "the spinning session's end")
    c.close()
    d.wait_log(r"session \d+: forward .*tap: .*instruction budget", mark=m,
               what="the budget's log line")
    got = talk(port, b"still here\n", 11)
    t.check_eq(got, b"STILL HERE\n", "the next session after the budget")
    d.check_alive()
    d.cleanup()


def bad_script():
    t.step("a script that does not compile: -t exits 1 with path and line")
    tmp = t.mkdtemp()
    path = os.path.join(tmp, "bad.lua")
    with open(path, "w") as f:
        f.write("function handle(data, info)\n  return data +\nend\n")
    conf = os.path.join(tmp, "c.json")
    import json
    with open(conf, "w") as f:
        json.dump({"listeners": [{"kind": "forward",
                                  "listen": "127.0.0.1:1",
                                  "target": "127.0.0.1:2",
                                  "taps": [{"type": "lua",
                                            "script": path}]}],
                   "user": "nobody", "chroot": os.path.join(tmp, "e")}, f)
    r = subprocess.run([t.sluiced_path(), "-t", "-c", conf],
                       capture_output=True, text=True)
    t.check_eq(r.returncode, 1, "exit status of -t with a bad script")
    t.check("listeners[0].taps[0].script: " in r.stderr and
            "bad.lua:3:" in r.stderr, "message names the tap and line: %r"
            % r.stderr)


def builtin_cases(echo, sink):
    ls = t.with_free_ports([
        {"name": "hex", "kind": "forward", "listen": "127.0.0.1:0",
         "target": "127.0.0.1:%d" % echo.port,
         "taps": [{"type": "hexdump", "bytes": 16}]},
        {"name": "mute", "kind": "forward", "listen": "127.0.0.1:0",
         "target": "127.0.0.1:%d" % sink.port,
         "taps": [{"type": "drop", "direction": "down"}]},
        {"name": "slow", "kind": "forward", "listen": "127.0.0.1:0",
         "target": "127.0.0.1:%d" % echo.port,
         "taps": [{"type": "throttle", "rate": 65536,
                   "direction": "up"}]},
    ])
    d = t.Sluiced(listeners=ls).start()
    p = d.port_of
    t.step("hexdump logs the first bytes")
    t.check_eq(talk(p["hex"], b"GET /hexdump-me", 15), b"GET /hexdump-me",
               "bytes through hexdump unchanged")
    d.wait_log(r"47 45 54 20 2f 68 65 78", what="the hexdump line")

    t.step("drop down: the server got the request, the client nothing")
    c = socket.create_connection(("127.0.0.1", p["mute"]), timeout=10)
    c.sendall(b"request")
    c.shutdown(socket.SHUT_WR)
    c.settimeout(10)
    t.check_eq(c.recv(100), b"", "client sees EOF, no bytes")
    c.close()
    t.wait_until(lambda: b"request" in b"".join(sink.state.get("got", [])),
                 5, "the server received the request")

    t.step("throttle 64 KiB/s: 256 KiB up takes at least 3 s")
    c = socket.create_connection(("127.0.0.1", p["slow"]), timeout=30)
    data = os.urandom(256 << 10)
    got = []
    rd = threading.Thread(target=lambda: got.append(
        t.recv_exact(c, len(data), "echo")), daemon=True)
    start = time.monotonic()
    rd.start()
    c.sendall(data)
    rd.join(30)
    took = time.monotonic() - start
    c.close()
    t.check(got and got[0] == data, "the echo is byte-exact")
    t.check(took >= 3.0, "256 KiB at 64 KiB/s took %.2f s" % took)
    d.check_alive()
    d.cleanup()


def udp_cases():
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("127.0.0.1", 0))
    seen = []

    def loop():
        srv.settimeout(0.2)
        while True:
            try:
                data, a = srv.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            seen.append(data)
            srv.sendto(data + b" /api back", a)
    threading.Thread(target=loop, daemon=True).start()
    t.at_exit(srv.close)
    ls = t.with_free_ports([
        {"name": "tcp", "kind": "socks5", "listen": "127.0.0.1:0"},
        {"name": "u", "kind": "udp_forward", "listen": "127.0.0.1:0",
         "target": "127.0.0.1:%d" % srv.getsockname()[1],
         "taps": [{"type": "replace", "search": "/api",
                   "replace": "/forbidden"}]}])
    ls += t.with_free_ports([
        {"name": "s5", "kind": "socks5", "listen": "127.0.0.1:0",
         "taps": [{"type": "replace", "search": "/api",
                   "replace": "/forbidden"}]}])
    d = t.Sluiced(listeners=ls).start()
    t.step("UDP: replace rewrites each datagram both ways")
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.settimeout(5)
    c.sendto(b"GET /api/x", ("127.0.0.1", d.port_of["u"]))
    got, _ = c.recvfrom(65535)
    c.close()
    t.check_eq(seen[-1], b"GET /forbidden/x", "what the server got")
    t.check_eq(got, b"GET /forbidden/x /forbidden back", "the reply")

    t.step("SOCKS5 UDP ASSOCIATE: the listener's taps on datagrams")
    ctl, rep, bnd = t.s5_connect(d.port_of["s5"], "0.0.0.0", 0, cmd=3)
    t.check_eq(rep, 0, "UDP ASSOCIATE reply")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(5)
    sport = srv.getsockname()[1]
    hdr = b"\x00\x00\x00\x01\x7f\x00\x00\x01" + struct.pack("!H", sport)
    u.sendto(hdr + b"PUT /api/y", bnd)
    got, _ = u.recvfrom(65535)
    u.close()
    ctl.close()
    t.check_eq(seen[-1], b"PUT /forbidden/y", "what the server got")
    t.check_eq(got[10:], b"PUT /forbidden/y /forbidden back",
               "the reply, after its SOCKS5 header")
    d.check_alive()
    d.cleanup()


def service_cases(origin):
    ls = t.with_free_ports([{"name": "web", "kind": "host",
                             "listen": "127.0.0.1:0"}])
    services = {
        "tapped.test": {"addr": "127.0.0.1", "httpport": origin.port,
                        "taps": [{"type": "replace", "search": "/api",
                                  "replace": "/small"}]},
        "plain.test": {"addr": "127.0.0.1", "httpport": origin.port},
    }
    d = t.Sluiced(listeners=ls, services=services).start()
    port = d.port_of["web"]
    t.step("a service's taps rewrite its requests only")
    body = t.curl_ok(["-H", "Host: tapped.test",
                      "http://127.0.0.1:%d/api" % port], "GET tapped.test")
    t.check_eq(body, b"small\n", "tapped.test's /api became /small")
    r = t.curl(["-H", "Host: plain.test", "-o", "/dev/null", "-w",
                "%{http_code}", "http://127.0.0.1:%d/api" % port])
    t.check_eq(r.stdout, b"404", "plain.test's /api untouched")
    d.check_alive()
    d.cleanup()

    t.step("a service's bad Lua script: -t names the service's tap")
    tmp = t.mkdtemp()
    bad = os.path.join(tmp, "bad.lua")
    with open(bad, "w") as f:
        f.write("function handle(d)\n  return d +\nend\n")
    conf = os.path.join(tmp, "c.json")
    import json
    with open(conf, "w") as f:
        json.dump({"listeners": [{"kind": "host", "listen": "127.0.0.1:1"}],
                   "services": {"x.test": {"addr": "127.0.0.1", "taps": [
                       {"type": "lua", "script": bad}]}},
                   "user": "nobody", "chroot": os.path.join(tmp, "e")}, f)
    r = subprocess.run([t.sluiced_path(), "-t", "-c", conf],
                       capture_output=True, text=True)
    t.check_eq(r.returncode, 1, "exit status")
    t.check('services.x.test.taps[0].script: ' in r.stderr and
            "bad.lua:3:" in r.stderr, "message: %r" % r.stderr)


def sink_handler(c, a, srv):
    c.settimeout(5)
    while True:
        try:
            data = c.recv(4096)
        except OSError:
            return
        if not data:
            break
        with srv.lock:
            srv.state.setdefault("got", []).append(data)
    c.sendall(b"you will not see this")
    c.close()


def main():
    echo = t.echo_server()
    sink = t.TCPServer(sink_handler)
    bad_script()
    lua_cases(echo)
    builtin_cases(echo, sink)
    udp_cases()
    service_cases(t.Origin(size=1024))


if __name__ == "__main__":
    t.run(main)
