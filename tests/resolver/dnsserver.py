"""
A scriptable DNS server for the resolver tests (python3 standard library).

It listens on 127.0.0.1, UDP and TCP on the same port (c-ares uses one
port for both), and answers by rules, one per name:

    srv = ScriptDNS({
        "fast.test":  {"addrs": ["127.0.0.5"], "ttl": 2},
        "slow.test":  {"addrs": ["127.0.0.6"], "delay": 0.8},
        "bad.test":   {"rcode": 2},                   # SERVFAIL
        "dead.test":  {"drop": True},                 # never answers
        "big.test":   {"addrs": [...], "udp": {"tc": True}},
        "*.invalid":  {"addrs": ["127.0.0.99"]},      # a liar
    }, default=None)                                  # NXDOMAIN otherwise

Rule keys: addrs (IPv4 and IPv6 literals; each query type gets its
family, NOERROR with no answer when there is none), ttl (60), delay
(seconds), rcode (0; 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED), drop, tc (a
truncated empty answer), garbage (a reply whose counts lie), and "udp" /
"tcp": overrides for that transport.  "*.suffix" matches every name
below suffix; `default` is the rule for names nothing matches.

Every query is recorded: count(name, qtype, transport).  Only answer
loopback addresses: the tests never send traffic off the machine.
"""

import ipaddress
import socket
import struct
import threading
import time

T_A, T_AAAA = 1, 28


def _qname(q):
    """(lower-case name, offset after the question) or None."""
    labels, i = [], 12
    for _ in range(128):
        if i >= len(q):
            return None
        n = q[i]
        if n == 0:
            end = i + 1 + 4
            if end > len(q):
                return None
            return ".".join(labels).lower(), end
        if n & 0xC0:
            return None
        labels.append(q[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    return None


class ScriptDNS:
    def __init__(self, rules=None, default=None, tcp=True):
        self.rules = {k.lower(): dict(v) for k, v in (rules or {}).items()}
        self.default = default
        self.log = []               # (name, qtype, transport, time)
        self.raw = []               # question names as sent (case kept)
        self.udp_ports = set()      # source ports queries came from
        self.lock = threading.Lock()
        self._stop = False
        self._threads = []
        self._conns = []
        self.udp, self.tcp = self._bind(tcp)
        self.port = self.udp.getsockname()[1]
        self._spawn(self._udp_loop)
        if self.tcp is not None:
            self._spawn(self._tcp_accept)

    # -- set-up

    def _bind(self, want_tcp):
        for _ in range(50):
            t = None
            if want_tcp:
                t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                t.bind(("127.0.0.1", 0))
                port = t.getsockname()[1]
            else:
                port = 0
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._big_rcvbuf(u)
            try:
                u.bind(("127.0.0.1", port))
            except OSError:
                u.close()
                if t is not None:
                    t.close()
                continue
            if t is not None:
                t.listen(64)
                t.settimeout(0.2)
            u.settimeout(0.2)
            return u, t
        raise RuntimeError("no port free for both UDP and TCP")

    @staticmethod
    def _big_rcvbuf(u):
        """Room for a burst of a thousand queries: python answers them
        slower than they come, and a dropped query costs the resolver a
        retry timeout.  As root, past net.core.rmem_max."""
        for opt in (getattr(socket, "SO_RCVBUFFORCE", 33),
                    socket.SO_RCVBUF):
            try:
                u.setsockopt(socket.SOL_SOCKET, opt, 4 << 20)
                return
            except OSError:
                continue

    def _spawn(self, fn, *args):
        th = threading.Thread(target=fn, args=args, daemon=True)
        th.start()
        self._threads.append(th)

    def set_rule(self, name, rule):
        with self.lock:
            self.rules[name.lower()] = dict(rule)

    # -- queries seen

    def count(self, name=None, qtype=None, transport=None):
        with self.lock:
            return sum(1 for n, t, tr, _ in self.log
                       if (name is None or n == name.lower()) and
                       (qtype is None or t == qtype) and
                       (transport is None or tr == transport))

    def names(self):
        with self.lock:
            return [n for n, _, _, _ in self.log]

    # -- answering

    def _rule(self, name, transport):
        with self.lock:
            r = self.rules.get(name)
            if r is None:
                best = None
                for k, v in self.rules.items():
                    if k.startswith("*.") and name.endswith(k[1:]) and \
                            (best is None or len(k) > len(best[0])):
                        best = (k, v)
                r = best[1] if best else self.default
        if r is None:
            return {"rcode": 3}
        r = dict(r)
        r.update(r.pop(transport, None) or {})
        r.pop("udp", None)
        r.pop("tcp", None)
        return r

    def _reply(self, q, transport):
        """(delay, bytes) or None to stay silent."""
        if len(q) < 12:
            return None
        qn = _qname(q)
        if qn is None:
            return None
        name, end = qn
        qtype, qclass = struct.unpack("!HH", q[end - 4:end])
        with self.lock:
            self.log.append((name, qtype, transport, time.monotonic()))
            self.raw.append(q[12:end - 4])
        r = self._rule(name, transport)
        if r.get("drop"):
            return None
        flags = struct.unpack("!H", q[2:4])[0]
        rflags = 0x8000 | (flags & 0x0100) | 0x0080 | (r.get("rcode", 0)
                                                       & 0xF)
        answers = []
        if r.get("tc"):
            rflags |= 0x0200
        elif r.get("rcode", 0) == 0 and qclass == 1:
            for a in r.get("addrs", []):
                ip = ipaddress.ip_address(a)
                if (ip.version == 4) != (qtype == T_A) or \
                        qtype not in (T_A, T_AAAA):
                    continue
                answers.append(struct.pack("!HHHIH", 0xC00C, qtype, 1,
                                           r.get("ttl", 60),
                                           len(ip.packed)) + ip.packed)
        ancount = len(answers)
        if r.get("garbage"):
            ancount += 5            # counts that the bytes do not back
        question = q[12:end]
        if r.get("lower"):
            # A server (or a spoofer) that does not echo the question's
            # case: sluice's 0x20 check must refuse the answer.
            question = question.lower()
        resp = (q[:2] + struct.pack("!HHHHH", rflags, 1, ancount, 0, 0) +
                question + b"".join(answers))
        return r.get("delay", 0), resp

    def _udp_send(self, resp, addr):
        try:
            self.udp.sendto(resp, addr)
        except OSError:
            pass

    def _udp_loop(self):
        while not self._stop:
            try:
                q, addr = self.udp.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.udp_ports.add(addr[1])
            rep = self._reply(q, "udp")
            if rep is None:
                continue
            delay, resp = rep
            if delay > 0:
                t = threading.Timer(delay, self._udp_send, (resp, addr))
                t.daemon = True
                t.start()
            else:
                self._udp_send(resp, addr)

    def _tcp_accept(self):
        while not self._stop:
            try:
                c, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self._conns.append(c)
            self._spawn(self._tcp_conn, c)

    def _tcp_send(self, c, wlock, delay, resp):
        if delay > 0:
            time.sleep(delay)
        try:
            with wlock:
                c.sendall(struct.pack("!H", len(resp)) + resp)
        except OSError:
            pass

    def _tcp_conn(self, c):
        """Queries may be pipelined: each is answered on its own thread
        so that one slow name does not hold up the next."""
        c.settimeout(0.5)
        wlock = threading.Lock()
        buf = b""
        deadline = time.monotonic() + 30
        while not self._stop and time.monotonic() < deadline:
            try:
                d = c.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            if not d:
                break
            buf += d
            while len(buf) >= 2:
                n = struct.unpack("!H", buf[:2])[0]
                if len(buf) < 2 + n:
                    break
                q, buf = buf[2:2 + n], buf[2 + n:]
                rep = self._reply(q, "tcp")
                if rep is not None:
                    self._spawn(self._tcp_send, c, wlock, rep[0], rep[1])
        try:
            c.close()
        except OSError:
            pass

    def close(self):
        self._stop = True
        for s in (self.udp, self.tcp):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        with self.lock:
            for c in self._conns:
                try:
                    c.close()
                except OSError:
                    pass
