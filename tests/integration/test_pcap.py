#!/usr/bin/env python3
"""
pcap taps on real sessions (issue 11 item 4).

- The README's "pcap" example (a forward listener to a local echo
  server), with the file in a temporary directory: five messages make a
  file tcpdump reads without a bad checksum, with the handshake, five
  data packets each way carrying exactly the bytes, and the FINs; a
  30000-byte message is split into segments of at most 7680 bytes and
  every byte is there, in sequence order.
- udp_forward: each datagram both ways is one UDP packet with its bytes
  (the front-end's taps_datagram reaches the tap).
- max_bytes: the record that would pass it is not written, nor any
  after it, and one log line says so.
- A file the master cannot open stops the start with the tap's path and
  strerror; `-t` opens nothing; two taps on one file are refused.
"""
import json
import os
import socket
import struct
import subprocess
import threading
import time

import sltest as t

N_MESSAGES = 5


def read_pcap(path):
    """(header fields, [(ts_sec, ts_usec, packet)]) of a classic pcap."""
    with open(path, "rb") as f:
        data = f.read()
    t.check(len(data) >= 24, "%s has a pcap header" % path)
    magic, major, minor, _, _, snaplen, link = struct.unpack(
        "=IHHiIII", data[:24])
    t.check_eq((magic, major, minor, snaplen, link),
               (0xa1b2c3d4, 2, 4, 65535, 101), "pcap global header")
    recs, off = [], 24
    while off < len(data):
        t.check(off + 16 <= len(data), "a whole record header at %d" % off)
        sec, usec, incl, orig = struct.unpack("=IIII", data[off:off + 16])
        t.check(incl == orig and off + 16 + incl <= len(data),
                "record at %d: lengths %d/%d" % (off, incl, orig))
        recs.append((sec, usec, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return recs


def parse_packet(pkt):
    """(src, sport, dst, dport, proto, tcp flags, seq, payload)."""
    if pkt[0] >> 4 == 4:
        ihl = (pkt[0] & 15) * 4
        proto = pkt[9]
        src = socket.inet_ntop(socket.AF_INET, pkt[12:16])
        dst = socket.inet_ntop(socket.AF_INET, pkt[16:20])
        tot = struct.unpack("!H", pkt[2:4])[0]
        t.check_eq(tot, len(pkt), "IPv4 total length")
    else:
        ihl = 40
        proto = pkt[6]
        src = socket.inet_ntop(socket.AF_INET6, pkt[8:24])
        dst = socket.inet_ntop(socket.AF_INET6, pkt[24:40])
    tp = pkt[ihl:]
    sport, dport = struct.unpack("!HH", tp[:4])
    if proto == 6:
        seq = struct.unpack("!I", tp[4:8])[0]
        doff = (tp[12] >> 4) * 4
        return src, sport, dst, dport, "tcp", tp[13], seq, tp[doff:]
    t.check_eq(proto, 17, "IP protocol")
    return src, sport, dst, dport, "udp", 0, 0, tp[8:]


def tcpdump(path, *flags):
    r = subprocess.run(["tcpdump", "-r", path, "-nn"] + list(flags),
                       capture_output=True, text=True)
    t.check_eq(r.returncode, 0, "tcpdump exit status (%s)" % r.stderr)
    return [l for l in r.stdout.splitlines() if l and not l[0].isspace()]


def no_bad_checksums(path):
    r = subprocess.run(["tcpdump", "-r", path, "-nn", "-vv"],
                       capture_output=True, text=True)
    t.check_eq(r.returncode, 0, "tcpdump -vv exit status")
    t.check("incorrect" not in r.stdout and "bad cksum" not in r.stdout,
            "tcpdump -vv reports bad checksums:\n%s" % r.stdout[:4000])
    t.check("(correct)" in r.stdout or "sum ok" in r.stdout,
            "tcpdump -vv verified checksums")


def wait_records(path, pred, what, timeout=10):
    """The master writes as packets come: poll until pred(records)."""
    def ok():
        try:
            recs = read_pcap(path)
        except t.Fail:
            return None
        return recs if pred(recs) else None
    return t.wait_until(ok, timeout, what)


def flow_of(recs, port):
    """The parsed packets of the flow whose client port is port."""
    out = []
    for _, _, pkt in recs:
        p = parse_packet(pkt)
        if port in (p[1], p[3]):
            out.append(p)
    return out


def joined(pkts, sport):
    """The payload from sport, in sequence order."""
    data = sorted((p[6], p[7]) for p in pkts if p[1] == sport and p[7])
    return b"".join(d for _, d in data)


def tcp_cases(echo):
    tmp = t.mkdtemp()
    path = os.path.join(tmp, "web.pcap")
    conf = t.readme_example("pcap")
    ls = t.with_free_ports(conf["listeners"])
    for l in ls:
        l["target"] = "127.0.0.1:%d" % echo.port
        for tap in l.get("taps", []):
            if tap.get("type") == "pcap":
                tap["file"] = path
    d = t.Sluiced(listeners=ls).start()
    port = d.port

    t.step("the master made the file with its header")
    t.check_eq(read_pcap(path), [], "no records yet")

    t.step("%d messages through a pcap tap" % N_MESSAGES)
    m = d.mark()
    msgs = [("message %d: " % i).encode() + os.urandom(40 + i)
            for i in range(N_MESSAGES)]
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    cport = c.getsockname()[1]
    for msg in msgs:
        c.sendall(msg)
        t.check_eq(t.recv_exact(c, len(msg), "echo"), msg, "echo")
    c.close()
    d.wait_sessions(lambda s: s.client.endswith(":%d" % cport), 1, mark=m,
                    what="the session's line")
    # SYN, SYN-ACK, ACK, the data both ways, FIN, FIN, ACK
    want = 3 + 2 * N_MESSAGES + 3
    recs = wait_records(path, lambda r: len(flow_of(r, cport)) >= want,
                        "%d packets of the session" % want)
    pkts = flow_of(recs, cport)
    t.check_eq(len(pkts), want, "packets of the session")
    # CLOCK_REALTIME in the sandbox (vDSO, or the allowed syscall).
    t.check(all(abs(sec - time.time()) < 60 and usec < 1000000
                for sec, usec, _ in recs), "time stamps are now")
    lines = tcpdump(path)
    t.check_eq(len(lines), len(recs), "tcpdump reads every record")
    cli = "127.0.0.1.%d" % cport
    srv = "127.0.0.1.%d" % echo.port
    up = [l for l in lines if "%s > %s: Flags [P.]" % (cli, srv) in l]
    down = [l for l in lines if "%s > %s: Flags [P.]" % (srv, cli) in l]
    t.check_eq(len(up), N_MESSAGES, "data packets up (tcpdump)")
    t.check_eq(len(down), N_MESSAGES, "data packets down (tcpdump)")
    t.check(any("%s > %s: Flags [S]," % (cli, srv) in l for l in lines),
            "a SYN from the client")
    t.check_eq(sum(1 for l in lines if "Flags [F.]" in l), 2,
               "a FIN from each side")
    t.check_eq([p[7] for p in pkts if p[1] == cport and p[7]], msgs,
               "the bytes up, packet by packet")
    t.check_eq(joined(pkts, echo.port), b"".join(msgs), "the bytes down")
    no_bad_checksums(path)

    t.step("30000 bytes: segments of at most 7680 bytes, none lost")
    m = d.mark()
    big = os.urandom(30000)
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    cport = c.getsockname()[1]
    got = []
    rd = threading.Thread(target=lambda: got.append(
        t.recv_exact(c, len(big), "echo")), daemon=True)
    rd.start()
    c.sendall(big)
    rd.join(10)
    c.close()
    t.check(got and got[0] == big, "the echo is byte-exact")
    d.wait_sessions(lambda s: s.client.endswith(":%d" % cport), 1, mark=m,
                    what="the big session's line")
    recs = wait_records(path, lambda r: sum(
        1 for p in flow_of(r, cport) if p[5] & 1) >= 2,
        "the big session's FINs")
    pkts = flow_of(recs, cport)
    t.check(all(len(p[7]) <= 7680 for p in pkts), "segments <= 7680")
    t.check_eq(joined(pkts, cport), big, "every byte up")
    t.check_eq(joined(pkts, echo.port), big, "every byte down")
    no_bad_checksums(path)
    d.check_alive()
    d.cleanup()


class UDPEcho:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._loop, daemon=True).start()
        t.at_exit(self.sock.close)

    def _loop(self):
        while True:
            try:
                data, a = self.sock.recvfrom(65535)
            except OSError:
                return
            self.sock.sendto(data, a)


def udp_cases():
    echo = UDPEcho()
    tmp = t.mkdtemp()
    path = os.path.join(tmp, "udp.pcap")
    small = os.path.join(tmp, "small.pcap")
    ls = t.with_free_ports([
        {"name": "tcp", "kind": "socks5", "listen": "127.0.0.1:0"},
        {"name": "u", "kind": "udp_forward", "listen": "127.0.0.1:0",
         "target": "127.0.0.1:%d" % echo.port,
         "taps": [{"type": "pcap", "file": path}]},
        {"name": "small", "kind": "udp_forward", "listen": "127.0.0.1:0",
         "target": "127.0.0.1:%d" % echo.port,
         "taps": [{"type": "pcap", "file": small, "max_bytes": 100}]}])
    d = t.Sluiced(listeners=ls).start()
    t.step("udp_forward: one UDP packet per datagram, both ways")
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.settimeout(5)
    c.bind(("127.0.0.1", 0))
    cport = c.getsockname()[1]
    grams = [b"datagram %d " % i + os.urandom(i * 7) for i in range(3)]
    for g in grams:
        c.sendto(g, ("127.0.0.1", d.port_of["u"]))
        got, _ = c.recvfrom(65535)
        t.check_eq(got, g, "the echo")
    c.close()
    recs = wait_records(path, lambda r: len(flow_of(r, cport)) >= 6,
                        "6 packets of the flow")
    pkts = flow_of(recs, cport)
    t.check_eq(len(pkts), 6, "packets of the flow")
    t.check(all(p[4] == "udp" for p in pkts), "all UDP")
    t.check_eq([p[7] for p in pkts if p[1] == cport], grams, "bytes up")
    t.check_eq([p[7] for p in pkts if p[1] == echo.port], grams,
               "bytes down")
    lines = tcpdump(path)
    t.check_eq(sum(1 for l in lines if "127.0.0.1.%d > 127.0.0.1.%d: UDP"
                   % (cport, echo.port) in l), 3, "tcpdump: 3 up")
    t.check_eq(sum(1 for l in lines if "127.0.0.1.%d > 127.0.0.1.%d: UDP"
                   % (echo.port, cport) in l), 3, "tcpdump: 3 down")
    no_bad_checksums(path)

    t.step("max_bytes 100: one record (24 + 16 + 40 bytes), then none")
    m = d.mark()
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.settimeout(5)
    for i in range(3):
        c.sendto(b"%012d" % i, ("127.0.0.1", d.port_of["small"]))
        c.recvfrom(65535)
    c.close()
    d.wait_log(r"pcap %s: max_bytes \(100\) reached; no more records"
               % small, mark=m, what="the max_bytes line")
    t.check_eq(len(read_pcap(small)), 1, "records within max_bytes")
    t.check_eq(os.path.getsize(small), 80, "the file's size")
    d.check_alive()
    d.cleanup()


def run_conf(tmp, taps, *flags):
    conf = os.path.join(tmp, "c%d.json" % len(os.listdir(tmp)))
    with open(conf, "w") as f:
        json.dump({"listeners": [{"kind": "forward",
                                  "listen": "127.0.0.1:%d" % t.free_port(),
                                  "target": "127.0.0.1:2", "taps": taps}],
                   "user": "nobody",
                   "chroot": os.path.join(tmp, "e")}, f)
    return subprocess.run([t.sluiced_path()] + list(flags) + ["-c", conf],
                          capture_output=True, text=True, timeout=30)


def open_errors():
    tmp = t.mkdtemp()
    missing = os.path.join(tmp, "nodir", "x.pcap")
    t.step("-t opens nothing")
    r = run_conf(tmp, [{"type": "pcap", "file": os.path.join(tmp, "y.pcap")}],
                 "-t")
    t.check_eq(r.returncode, 0, "-t exit status (%s)" % r.stderr)
    t.check(not os.path.exists(os.path.join(tmp, "y.pcap")),
            "-t created no file")
    t.step("two taps on one file are refused")
    r = run_conf(tmp, [{"type": "pcap", "file": "/tmp/same.pcap"},
                       {"type": "pcap", "file": "/tmp/same.pcap"}], "-t")
    t.check_eq(r.returncode, 1, "-t exit status")
    t.check("listeners[0].taps[1].file: /tmp/same.pcap is already "
            "taps[0]'s file" in r.stderr, "the message: %r" % r.stderr)
    t.step("-t says what start-up would: a missing directory, a link")
    r = run_conf(tmp, [{"type": "pcap", "file": missing}], "-t")
    t.check_eq(r.returncode, 1, "-t exit status with a missing directory")
    t.check(("listeners[0].taps[0].file: %s: No such file or directory"
             % missing) in r.stderr, "the message: %r" % r.stderr)
    link = os.path.join(tmp, "link.pcap")
    os.symlink(os.path.join(tmp, "elsewhere"), link)
    r = run_conf(tmp, [{"type": "pcap", "file": link}], "-t")
    t.check_eq(r.returncode, 1, "-t exit status with a symbolic link")
    t.check("listeners[0].taps[0].file: %s: " % link in r.stderr,
            "the message: %r" % r.stderr)
    t.step("a file the master cannot open stops the start")
    r = run_conf(tmp, [{"type": "log"}, {"type": "pcap", "file": missing}])
    t.check_eq(r.returncode, 1, "exit status")
    t.check(("listeners[0].taps[1].file: %s: No such file or directory"
             % missing) in r.stderr, "the message: %r" % r.stderr)


def main():
    t.require_root()
    if subprocess.run(["sh", "-c", "command -v tcpdump"],
                      capture_output=True).returncode != 0:
        raise t.Skip("tcpdump missing")
    open_errors()
    tcp_cases(t.echo_server())
    udp_cases()


t.run(main)
