"""
sltest's peers and clients: fake DNS servers, TCP servers (echo,
origin, whoami), an upstream SOCKS5 server that records names, and the
client side of SOCKS5 and curl.  sltest re-exports all of it; tests
import sltest only.
"""

import hashlib
import http.server
import ipaddress
import os
import shutil
import socket
import struct
import subprocess
import threading
import time

from sltest_base import (Fail, _used_ports, at_exit, check, sha256,
                         wait_until)


# --------------------------------------------------------------------------
# local servers

class FakeDNS:
    """UDP DNS server on 127.0.0.1 that answers NXDOMAIN to everything."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        _used_ports.add(self.port)
        self.queries = []
        self._stop = False
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    @staticmethod
    def _qname_end(q):
        i = 12
        while i < len(q):
            n = q[i]
            if n == 0:
                return i + 1
            if n & 0xC0:
                return i + 2
            i += 1 + n
        return None

    def _answer(self, q):
        """The response to query q (12 bytes or more), or None to drop
        it.  Here NXDOMAIN for everything; MapDNS knows names."""
        end = self._qname_end(q)
        if end is None or end + 4 > len(q):
            return None
        labels, i = [], 12
        while i < end - 1 and q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
            i += 1 + q[i]
        # Names compare without case: the resolver asks in random
        # case (DNS 0x20); the answer below echoes it as sent.
        self.queries.append(".".join(labels).lower())
        flags = struct.unpack("!H", q[2:4])[0]
        # QR, opcode and RD copied, RA, RCODE 3 (NXDOMAIN)
        rflags = 0x8000 | (flags & 0x7900) | 0x0080 | 3
        return (q[:2] + struct.pack("!HHHHH", rflags, 1, 0, 0, 0)
                + q[12:end + 4])

    def _loop(self):
        while not self._stop:
            try:
                q, addr = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(q) < 12:
                continue
            resp = self._answer(q)
            if resp is None:
                continue
            try:
                self.sock.sendto(resp, addr)
            except OSError:
                pass

    def close(self):
        self._stop = True
        try:
            self.sock.close()
        except OSError:
            pass


class TCPServer:
    """Threaded TCP server; handler(conn, addr, server) runs per connection.

    Records the peer addresses it accepted and any handler exception.
    """

    def __init__(self, handler, host="127.0.0.1", port=0):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.handler = handler
        self.lsock = socket.socket(fam, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, port))
        self.lsock.listen(128)
        self.host = host
        self.port = self.lsock.getsockname()[1]
        _used_ports.add(self.port)
        self.peers = []
        self.errors = []
        self.conns = []
        self.lock = threading.Lock()
        self.state = {}
        self._stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        at_exit(self.close)

    def _accept(self):
        while not self._stop:
            try:
                c, a = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                self.peers.append(a)
                self.conns.append(c)
            threading.Thread(target=self._run, args=(c, a),
                             daemon=True).start()

    def _run(self, c, a):
        try:
            c.settimeout(30)
            self.handler(c, a, self)
        except Exception as e:          # recorded for the test to check
            with self.lock:
                self.errors.append("%s: %r" % (a, e))
        finally:
            try:
                c.close()
            except OSError:
                pass

    def close(self):
        self._stop = True
        try:
            self.lsock.close()
        except OSError:
            pass
        with self.lock:
            for c in self.conns:
                try:
                    c.close()
                except OSError:
                    pass


def _echo(c, a, srv):
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.shutdown(socket.SHUT_WR)


def echo_server(host="127.0.0.1"):
    return TCPServer(_echo, host)


class Origin:
    """HTTP origin server in a thread.

    GET /blob     -> the random body (size bytes), Content-Length set
    GET /small    -> b"small\\n"
    PUT|POST /upload -> hex sha256 of the request body
    """

    def __init__(self, size=8 << 20, host="127.0.0.1"):
        self.body = os.urandom(size)
        self.digest = sha256(self.body)
        self.requests = []
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, code, body):
                self.send_response(code)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def do_GET(self):
                origin.requests.append(("GET", self.path, self.client_address))
                if self.path == "/blob":
                    self._send(200, origin.body)
                elif self.path == "/small":
                    self._send(200, b"small\n")
                else:
                    self._send(404, b"not found\n")

            def _upload(self):
                origin.requests.append((self.command, self.path,
                                        self.client_address))
                n = int(self.headers.get("Content-Length", "-1"))
                if self.path != "/upload" or n < 0:
                    self._send(400, b"need /upload with Content-Length\n")
                    return
                h, left = hashlib.sha256(), n
                while left > 0:
                    d = self.rfile.read(min(left, 1 << 16))
                    if not d:
                        break
                    h.update(d)
                    left -= len(d)
                self._send(200, ("%s %d\n" % (h.hexdigest(), n - left))
                           .encode())

            do_PUT = _upload
            do_POST = _upload

        fam = socket.AF_INET6 if ":" in host else socket.AF_INET

        class Server(http.server.ThreadingHTTPServer):
            address_family = fam
            daemon_threads = True

        self.httpd = Server((host, 0), Handler)
        self.host = host
        self.port = self.httpd.server_address[1]
        _used_ports.add(self.port)
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()
        at_exit(self.close)

    def url(self, path="/blob", name=None):
        h = name or (("[%s]" % self.host) if ":" in self.host else self.host)
        return "http://%s:%d%s" % (h, self.port, path)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------
# clients

def recv_exact(s, n, what="data"):
    buf = b""
    while len(buf) < n:
        try:
            d = s.recv(n - len(buf))
        except socket.timeout:
            raise Fail("timed out reading %s: got %d of %d bytes: %r"
                       % (what, len(buf), n, buf[:64]))
        if not d:
            raise Fail("connection closed while reading %s: got %d of %d "
                       "bytes: %r" % (what, len(buf), n, buf[:64]))
        buf += d
    return buf


def recv_all(s, timeout=10, limit=64 << 20):
    """Read until EOF; Fail on timeout.  A reset counts as EOF."""
    s.settimeout(timeout)
    deadline = time.monotonic() + timeout
    chunks, n = [], 0
    while n < limit:
        if time.monotonic() > deadline:
            raise Fail("no EOF within %.1f s (got %d bytes)" % (timeout, n))
        try:
            d = s.recv(1 << 16)
        except socket.timeout:
            raise Fail("no EOF within %.1f s (got %d bytes)" % (timeout, n))
        except ConnectionResetError:
            break
        if not d:
            break
        chunks.append(d)
        n += len(d)
    return b"".join(chunks)


def wait_closed(s, timeout, what):
    """Wait until the peer closes s (EOF or reset); ignore data."""
    s.settimeout(0.1)
    def closed():
        try:
            d = s.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        return d == b""
    wait_until(closed, timeout, what, interval=0)


def s5_addr(host):
    """ATYP + DST.ADDR for host (IPv4/IPv6 literal or name)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        b = host.encode()
        return bytes([3, len(b)]) + b
    if ip.version == 4:
        return b"\x01" + ip.packed
    return b"\x04" + ip.packed


def s5_request(host, port, cmd=1):
    return bytes([5, cmd, 0]) + s5_addr(host) + struct.pack("!H", port)


def s5_read_reply(s):
    """(rep, (bnd_addr, bnd_port)) from a SOCKS5 reply on s."""
    hdr = recv_exact(s, 4, "SOCKS5 reply header")
    if hdr[0] != 5:
        raise Fail("SOCKS5 reply version %d, not 5: %r" % (hdr[0], hdr))
    atyp = hdr[3]
    if atyp == 1:
        addr = str(ipaddress.IPv4Address(recv_exact(s, 4, "BND.ADDR")))
    elif atyp == 4:
        addr = str(ipaddress.IPv6Address(recv_exact(s, 16, "BND.ADDR")))
    elif atyp == 3:
        n = recv_exact(s, 1, "BND.ADDR length")[0]
        addr = recv_exact(s, n, "BND.ADDR").decode("ascii", "replace")
    else:
        raise Fail("SOCKS5 reply with address type %d: %r" % (atyp, hdr))
    port = struct.unpack("!H", recv_exact(s, 2, "BND.PORT"))[0]
    return hdr[1], (addr, port)


def s5_open(proxy_port, proxy_host="127.0.0.1", timeout=10):
    """Connect to the proxy and do the no-auth greeting."""
    s = socket.create_connection((proxy_host, proxy_port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b"\x05\x01\x00")
    m = recv_exact(s, 2, "SOCKS5 method reply")
    if m != b"\x05\x00":
        s.close()
        raise Fail("method reply %r, want 05 00" % m)
    return s


def s5_connect(proxy_port, host, port, cmd=1, proxy_host="127.0.0.1",
               timeout=10):
    """(socket, rep, bound): a SOCKS5 request through the proxy.  The
    socket is open whatever rep is; the caller closes it."""
    s = s5_open(proxy_port, proxy_host, timeout)
    try:
        s.sendall(s5_request(host, port, cmd))
        rep, bnd = s5_read_reply(s)
    except BaseException:
        s.close()
        raise
    return s, rep, bnd


def s5_tunnel(proxy_port, host, port, **kw):
    """A relayed connection; Fail unless the reply is success."""
    s, rep, bnd = s5_connect(proxy_port, host, port, **kw)
    if rep != 0:
        s.close()
        raise Fail("CONNECT %s:%d through port %d: reply 0x%02x, want 0x00"
                   % (host, port, proxy_port, rep))
    return s


def echo_check(s, payload, what="echo"):
    s.sendall(payload)
    got = recv_exact(s, len(payload), what)
    check(got == payload, "%s: echoed bytes differ" % what)


def _clean_env():
    env = {k: v for k, v in os.environ.items()
           if "proxy" not in k.lower()}    # NO_PROXY would bypass sluice
    env["LC_ALL"] = "C"
    return env


def curl(args, timeout=40):
    """Run curl with args; return the CompletedProcess (stdout bytes)."""
    cmd = ["curl", "-sS", "--fail", "--max-time", str(timeout - 5),
           "--connect-timeout", "10", "-H", "Expect:"] + list(args)
    try:
        return subprocess.run(cmd, capture_output=True, timeout=timeout,
                              env=_clean_env(), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise Fail("curl did not finish within %d s: %s" % (timeout,
                                                             " ".join(cmd)))


def require_curl():
    if shutil.which("curl") is None:
        raise Fail("curl is not installed (apt-get install curl)")


def curl_ok(args, what, timeout=40):
    r = curl(args, timeout)
    if r.returncode != 0:
        err = r.stderr.decode(errors="replace").strip()
        raise Fail("%s: curl exited %d: %s" % (what, r.returncode, err))
    return r.stdout


def curl_fetch(proxy_port, url, hostname=False, what=None,
               proxy_host="127.0.0.1"):
    """GET url through sluice; returns the body."""
    p = "[%s]" % proxy_host if ":" in proxy_host else proxy_host
    opt = "--socks5-hostname" if hostname else "--socks5"
    return curl_ok([opt, "%s:%d" % (p, proxy_port), url],
                   what or "GET %s via %s" % (url, opt))


# --------------------------------------------------------------------------
# routing (test_routing_*.py)

class MapDNS(FakeDNS):
    """Fake DNS that knows some names: answers their A and AAAA records
    (TTL 5), NOERROR with no answer for a known name lacking the asked
    type, NXDOMAIN for anything else.

    names maps a lower-case name, or "*.suffix" for every name below
    suffix, to a list of IPv4/IPv6 literals.  Only answer 127.0.0.0/8 or
    ::1 (or addresses inside network namespaces a test creates).
    """

    def __init__(self, names):
        self.names = {k.lower().rstrip("."): list(v)
                      for k, v in names.items()}
        super().__init__()

    def lookup(self, name):
        name = name.lower().rstrip(".")
        if name in self.names:
            return self.names[name]
        for k, v in self.names.items():
            if k.startswith("*.") and name.endswith(k[1:]):
                return v
        return None

    def _answer(self, q):
        end = self._qname_end(q)
        if end is None or end + 4 > len(q):
            return None
        labels, i = [], 12
        while i < end - 1 and q[i] and not q[i] & 0xC0:
            labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
            i += 1 + q[i]
        name = ".".join(labels)
        self.queries.append(name.lower())      # asked in 0x20 case
        qtype, qclass = struct.unpack("!HH", q[end:end + 4])
        addrs = self.lookup(name)
        flags = struct.unpack("!H", q[2:4])[0]
        rflags = 0x8000 | (flags & 0x7900) | 0x0400 | 0x0080
        answers = []
        if addrs is None:
            rflags |= 3
        elif qclass == 1 and qtype in (1, 28):
            for a in addrs:
                ip = ipaddress.ip_address(a)
                if (ip.version == 4) != (qtype == 1):
                    continue
                answers.append(struct.pack("!HHHIH", 0xC00C, qtype, 1, 5,
                                           len(ip.packed)) + ip.packed)
        return (q[:2] + struct.pack("!HHHHH", rflags, 1, len(answers), 0, 0)
                + q[12:end + 4] + b"".join(answers))


class NameSocks5:
    """No-auth SOCKS5 server (CONNECT only) on 127.0.0.1 that resolves
    target names from its own map (name -> loopback IP literal;
    "localhost" is 127.0.0.1).  Records every request (host as sent,
    port), the peer address of every client, and relays.  Loopback
    targets only; anything else gets reply 0x02, an unknown name 0x04,
    a refused connect 0x05.
    """

    def __init__(self, names=None):
        self.names = {k.lower(): v for k, v in (names or {}).items()}
        self.names.setdefault("localhost", "127.0.0.1")
        self.requests = []
        self.peers = []
        self.errors = []
        self.lock = threading.Lock()
        self.srv = TCPServer(self._serve)
        self.port = self.srv.port

    def _serve(self, c, a, srv):
        from socks5_server import _pump
        with self.lock:
            self.peers.append(a)
        ver, n = recv_exact(c, 2, "greeting")
        methods = recv_exact(c, n, "methods")
        if ver != 5 or 0 not in methods:
            c.sendall(b"\x05\xff")
            return
        c.sendall(b"\x05\x00")
        ver, cmd, _, atyp = recv_exact(c, 4, "request")
        if atyp == 1:
            host = str(ipaddress.IPv4Address(recv_exact(c, 4, "addr")))
        elif atyp == 4:
            host = str(ipaddress.IPv6Address(recv_exact(c, 16, "addr")))
        elif atyp == 3:
            host = recv_exact(c, recv_exact(c, 1, "len")[0],
                              "name").decode("ascii", "replace")
        else:
            c.sendall(b"\x05\x08\x00\x01" + bytes(6))
            return
        port = struct.unpack("!H", recv_exact(c, 2, "port"))[0]
        with self.lock:
            self.requests.append((host, port))
        if cmd != 1:
            c.sendall(b"\x05\x07\x00\x01" + bytes(6))
            return
        ip = host
        if atyp == 3:
            ip = self.names.get(host.lower())
            if ip is None:
                c.sendall(b"\x05\x04\x00\x01" + bytes(6))
                return
        if not ipaddress.ip_address(ip).is_loopback:
            c.sendall(b"\x05\x02\x00\x01" + bytes(6))
            return
        try:
            u = socket.create_connection((ip, port), timeout=10)
        except OSError:
            c.sendall(b"\x05\x05\x00\x01" + bytes(6))
            return
        with srv.lock:
            srv.conns.append(u)
        b = ipaddress.ip_address(u.getsockname()[0])
        c.sendall(bytes([5, 0, 0, 1 if b.version == 4 else 4]) + b.packed +
                  struct.pack("!H", u.getsockname()[1]))
        c.settimeout(None)
        u.settimeout(None)
        counter = {"up": 0, "down": 0}
        t = threading.Thread(target=_pump, args=(c, u, counter, "up",
                                                 self.lock), daemon=True)
        t.start()
        _pump(u, c, counter, "down", self.lock)
        t.join(30)
        u.close()

    def close(self):
        self.srv.close()


def _whoami(c, a, srv):
    """Say the peer's address ("ip port\\n"), then wait for the client to
    close (so a held session stays open on both sides)."""
    c.sendall(("%s %d\n" % (a[0], a[1])).encode())
    while c.recv(4096):
        pass


def whoami_server(host="127.0.0.1"):
    """TCP server that tells every client its address as seen here."""
    return TCPServer(_whoami, host)


def s5_connect_from(source, proxy_port, host, port, proxy_host="127.0.0.1",
                    timeout=10):
    """s5_connect from a chosen client address (e.g. 127.0.0.5)."""
    s = socket.socket(socket.AF_INET6 if ":" in source else socket.AF_INET,
                      socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.bind((source, 0))
        s.connect((proxy_host, proxy_port))
        s.sendall(b"\x05\x01\x00")
        m = recv_exact(s, 2, "SOCKS5 method reply")
        if m != b"\x05\x00":
            raise Fail("method reply %r, want 05 00" % m)
        s.sendall(s5_request(host, port))
        rep, bnd = s5_read_reply(s)
    except BaseException:
        s.close()
        raise
    return s, rep, bnd


def s5_whoami(proxy_port, server, host="127.0.0.1", keep=False, source=None):
    """CONNECT through the proxy to a whoami_server (by host, a literal or
    a name); return the client address it saw ("ip") -- and the open
    socket too when keep is set (the session stays up until it is
    closed)."""
    if source is None:
        s, rep, _ = s5_connect(proxy_port, host, server.port)
    else:
        s, rep, _ = s5_connect_from(source, proxy_port, host, server.port)
    try:
        if rep != 0:
            raise Fail("CONNECT %s:%d through port %d: reply 0x%02x, want 0"
                       % (host, server.port, proxy_port, rep))
        line = b""
        while not line.endswith(b"\n"):
            d = s.recv(256)
            if not d:
                raise Fail("whoami server closed before saying who we are")
            line += d
            check(len(line) < 256, "whoami line too long: %r" % line)
    except BaseException:
        s.close()
        raise
    ip = line.decode().split()[0]
    if keep:
        return ip, s
    s.close()
    return ip
