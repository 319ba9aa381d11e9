#!/usr/bin/env python3
"""Write the seed corpora in fuzz/corpus/ for the harnesses owned here.

    python3 fuzz/mkseeds.py        (from anywhere; rewrites the seeds)

config: every ```json block in README.md and contrib/sluice.json.
socks5: first byte picks the parser (see fuzz_socks5.c), then the wire.
ipc:    first byte even = a msgpack body for the type in byte 2; odd = a
        whole frame, byte 2 the peer/fd control (see fuzz_ipc.c).  The
        frame header is host byte order: these are little-endian (x86).
"""
import os
import re
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)


def write(kind, name, data):
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def fresh(kind):
    shutil.rmtree(os.path.join(HERE, "corpus", kind), ignore_errors=True)


def config():
    fresh("config")
    readme = open(os.path.join(TOP, "README.md"), encoding="utf-8").read()
    for i, block in enumerate(re.findall(r"```json\n(.*?)```", readme,
                                         re.S)):
        write("config", "readme-%02d.json" % i, block.encode())
    shutil.copy(os.path.join(TOP, "contrib", "sluice.json"),
                os.path.join(HERE, "corpus", "config", "sluice.json"))


def socks5():
    fresh("socks5")
    v4 = bytes([127, 0, 0, 1])
    v6 = bytes(15) + b"\x01"
    name = b"example.com"
    seeds = {
        "greeting-none": b"\x00\x05\x01\x00",
        "greeting-both": b"\x00\x05\x02\x00\x02",
        "request-v4": b"\x01\x05\x01\x00\x01" + v4 + b"\x00\x50",
        "request-v6": b"\x01\x05\x01\x00\x04" + v6 + b"\x01\xbb",
        "request-name": b"\x01\x05\x01\x00\x03" + bytes([len(name)]) +
        name + b"\x01\xbb",
        "request-udp": b"\x01\x05\x03\x00\x01" + bytes(6),
        "userpass": b"\x02\x01\x05alice\x06secret",
        "method-reply": b"\x03\x05\x02",
        "userpass-reply": b"\x04\x01\x00",
        "reply-v4": b"\x05\x05\x00\x00\x01" + v4 + b"\x1f\x90",
        "reply-v6": b"\x05\x05\x00\x00\x04" + v6 + b"\x1f\x90",
        "reply-name": b"\x05\x05\x05\x00\x03" + bytes([len(name)]) +
        name + b"\x00\x50",
        "udp-v4": b"\x06\x00\x00\x00\x01" + v4 + b"\x00\x35data",
        "udp-v6": b"\x06\x00\x00\x00\x04" + v6 + b"\x00\x35",
        "udp-name": b"\x06\x00\x00\x00\x03" + bytes([len(name)]) +
        name + b"\x00\x35data",
    }
    for k, v in seeds.items():
        write("socks5", k, v)


# enum sl_msg_type in ipc/ipc_msg.h
(CFG_CONF, CFG_SHM, CFG_PEER, CFG_LISTENER, CFG_END, LOG_LEVEL, DRAIN,
 READY, LOG, RES_QUERY, RES_ANSWER, SOCK_REQ, SOCK_FD, SOCK_FAIL,
 REDIS_SOCK, MEMFD_REQ, SVC_TABLE, TPROXY_REQ, PCAP_REC, CTL_QUERY, CTL_ROW,
 CTL_DONE, CTL_ALLOW, ACCESS) = range(1, 25)
MASTER, WORKER, RESOLVER = 0, 1, 2
ALLOW_FDS, ONE_FD = 0x04, 0x08


def mp(v):
    """A minimal msgpack encoder: what the codec writes for these."""
    if isinstance(v, bool):
        return b"\xc3" if v else b"\xc2"
    if isinstance(v, int):
        if v < 128:
            return bytes([v])
        for tag, fmt, lim in ((0xcc, ">B", 1 << 8), (0xcd, ">H", 1 << 16),
                              (0xce, ">I", 1 << 32), (0xcf, ">Q", 1 << 64)):
            if v < lim:
                return bytes([tag]) + struct.pack(fmt, v)
    if isinstance(v, bytes):
        return b"\xc4" + bytes([len(v)]) + v
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0xa0 | len(b)]) if len(b) < 32 else
                b"\xd9" + bytes([len(b)])) + b
    assert isinstance(v, list) and len(v) < 16
    return bytes([0x90 | len(v)]) + b"".join(mp(x) for x in v)


LOOPBACK = bytes([127, 0, 0, 1])
CIDR10 = [4, bytes([10, 0, 0, 0]), 8]


def pcap_packet():
    """An IPv4 TCP SYN 127.0.0.1:40000 > 127.0.0.1:8080, as a pcap tap
    makes it (worker/relay/tap_pcap.c); the master never looks inside."""
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0x4000, 64,
                               6, 0, bytes([127, 0, 0, 1]),
                               bytes([127, 0, 0, 1])))
    s = sum(struct.unpack("!10H", ip))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    ip[10:12] = struct.pack("!H", ~s & 0xffff)
    tcp = struct.pack("!HHIIBBHHH", 40000, 8080, 0x10000000, 0, 0x50,
                      0x02, 65535, 0, 0)
    return bytes(ip) + tcp


def ipc():
    fresh("ipc")
    pkt = pcap_packet()
    # [file, ts_sec, ts_usec, packet]
    pcap = (b"\x94\x00\xce" + struct.pack(">I", 1700000000) + b"\xce" +
            struct.pack(">I", 250000) + b"\xc4" + bytes([len(pkt)]) + pkt)
    answer = (b"\x93\x00\xcd\x01\x2c\x92" +
              b"\x92\x04\xc4\x04\x7f\x00\x00\x01" +
              b"\x92\x06\xc4\x10" + bytes(15) + b"\x01")
    # type: (body, sender, id, carries an fd)
    msgs = {
        CFG_CONF: (b"\x92\x01\xcd\x04\x00", MASTER, 0, True),
        CFG_SHM: (b"\x91\xcd\x10\x00", MASTER, 0, True),
        CFG_PEER: (b"\x91\x00", MASTER, 0, True),
        CFG_LISTENER: (b"\x91\x01", MASTER, 0, True),
        CFG_END: (b"\x90", MASTER, 0, False),
        LOG_LEVEL: (b"\x91\x03", MASTER, 0, False),
        DRAIN: (b"\x90", MASTER, 0, False),
        READY: (b"\x90", RESOLVER, 0, False),
        LOG: (b"\x92\x02\xa5hello", WORKER, 0, False),
        RES_QUERY: (b"\x92\x04\xabexample.com", WORKER, 7, False),
        RES_ANSWER: (answer, RESOLVER, 7, False),
        SOCK_REQ: (b"\x92\x00\x04", WORKER, 9, False),
        SOCK_FD: (b"\x90", MASTER, 9, True),
        SOCK_FAIL: (b"\x91\x6f", MASTER, 9, False),
        # [listener, family, local, port, peer, port]: 192.0.2.77:5353
        # for 127.0.0.1:40000
        TPROXY_REQ: (b"\x96\x01\x04\xc4\x04\xc0\x00\x02\x4d\xcd\x14\xe9"
                     b"\xc4\x04\x7f\x00\x00\x01\xcd\x9c\x40", WORKER, 9,
                     False),
        PCAP_REC: (pcap, WORKER, 0, False),
        # [op, after, max, serial, listener, link, client, target, user]
        CTL_QUERY: (mp([0, 17, 256, 0, 0xffffffff, 1, CIDR10, "example",
                        "alice"]), MASTER, 11, False),
        # [serial, listener, link, state, family, addr, port, up, down,
        #  age, idle, target, user]
        CTL_ROW: (mp([5, 0, 0, 4, 4, LOOPBACK, 40000, 100, 200, 1500, 3,
                      "example.org:443", ""]), WORKER, 11, False),
        CTL_DONE: (mp([3, 0, 0]), WORKER, 11, False),
        CTL_ALLOW: (mp([0, [CIDR10, [6, bytes(15) + b"\x01", 128]]]),
                    MASTER, 0, False),
        # [serial, listener, link, family, addr, port, up, down, ms,
        #  front, target, user, outcome, detail]
        ACCESS: (mp([9, 0, 0, 4, LOOPBACK, 5000, 64, 64, 12, "socks5",
                     "127.0.0.1:80", "", "done", ""]), WORKER, 0, False),
    }
    for t, (body, peer, ident, fd) in msgs.items():
        write("ipc", "body-%02d" % t, bytes([0, t]) + body)
        ctl = peer | ALLOW_FDS | (ONE_FD if fd else 0)
        hdr = struct.pack("<IHHI", len(body), t, 1 if fd else 0, ident)
        write("ipc", "frame-%02d" % t, bytes([1, ctl]) + hdr + body)
    # Regression: an array32 header claiming 0x6d642aff elements, which
    # msgpack-c would allocate for at once (platform.md trap 6).
    write("ipc", "body-trap6", bytes([0, LOG]) + b"\xdd\x6d\x64\x2a\xff")
    # TPROXY_REQ over IPv6: [2001:db8::77]:5353 for [::1]:40000
    v6 = bytes.fromhex("960206c41020010db800000000000000000000007735c41000000000000000000000000000000001cd9c40")
    write("ipc", "body-18-v6", bytes([0, TPROXY_REQ]) + v6)
    hdr = struct.pack("<IHHI", len(v6), TPROXY_REQ, 0, 9)
    write("ipc", "frame-18-v6", bytes([1, WORKER | ALLOW_FDS]) + hdr + v6)


if __name__ == "__main__":
    config()
    socks5()
    ipc()
