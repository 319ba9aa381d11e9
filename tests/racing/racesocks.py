"""
A no-auth SOCKS5 server (CONNECT only) for the racing tests, modelled on
tests/integration/socks5_server.py, that can be told to be slow: it
holds its CONNECT reply for `delay` seconds.  While it waits it watches
the client, so a client that gives up (sluice cancelling a losing leg of
a race) is seen at once and recorded.

    srv = RaceSocks(delay=0.5, names={"only.via.proxy": "127.0.0.1"})
    srv.port, srv.requests, srv.cancelled, srv.accepted, srv.open

requests: (host, port) of every CONNECT request read; cancelled: for
each client that went away before its CONNECT was answered, (what it had
sent: "greeting" or "request", seconds after it was accepted).  Only loopback targets are connected to (reply 0x02
for anything else); a name is looked up in `names` only (0x04 if absent).
"""

import ipaddress
import select
import socket
import struct
import threading
import time

import sltest as t


def _pump(src, dst):
    """Copy src -> dst until EOF, then half-close dst."""
    try:
        while True:
            d = src.recv(65536)
            if not d:
                break
            dst.sendall(d)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class RaceSocks:
    def __init__(self, delay=0.0, names=None):
        self.delay = delay
        self.names = {k.lower(): v for k, v in (names or {}).items()}
        self.lock = threading.Lock()
        self.requests = []
        self.cancelled = []
        self.accepted = 0
        self.open = 0
        self.srv = t.TCPServer(self._serve)
        self.port = self.srv.port

    def close(self):
        """Stop listening (and wait until the port is closed), drop every
        connection."""
        try:
            # close() alone leaves a socket that a thread is blocked in
            # accept() on listening until that accept returns.
            self.srv.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.srv.close()
        t.wait_until(lambda: not t.listening(self.port), 5,
                     "SOCKS5 server port %d to close" % self.port)

    def _reply(self, c, rep, bound=None):
        if bound is None:
            c.sendall(bytes([5, rep, 0, 1]) + bytes(6))
            return
        ip = ipaddress.ip_address(bound[0])
        c.sendall(bytes([5, rep, 0, 1 if ip.version == 4 else 4]) +
                  ip.packed + struct.pack("!H", bound[1]))

    def _request(self, c):
        """(cmd, host, atyp, port) of the client's request."""
        ver, cmd, _, atyp = t.recv_exact(c, 4, "request")
        if atyp == 1:
            host = str(ipaddress.IPv4Address(t.recv_exact(c, 4, "addr")))
        elif atyp == 4:
            host = str(ipaddress.IPv6Address(t.recv_exact(c, 16, "addr")))
        elif atyp == 3:
            n = t.recv_exact(c, 1, "len")[0]
            host = t.recv_exact(c, n, "name").decode("ascii", "replace")
        else:
            raise ValueError("address type %d" % atyp)
        port = struct.unpack("!H", t.recv_exact(c, 2, "port"))[0]
        return cmd, host, atyp, port

    def _held_back(self, c):
        """Wait out the delay; False if the client went away meanwhile."""
        deadline = time.monotonic() + self.delay
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            r, _, _ = select.select([c], [], [], left)
            if r:
                try:
                    gone = c.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    gone = True
                if gone:
                    return False
                # Early data from the client (none expected): keep it.
                time.sleep(min(left, 0.01))

    def _target(self, c, host, atyp):
        """The IP to connect to, or None after replying with an error."""
        ip = host
        if atyp == 3:
            ip = self.names.get(host.lower())
            if ip is None:
                self._reply(c, 4)
                return None
        if not ipaddress.ip_address(ip).is_loopback:
            self._reply(c, 2)
            return None
        return ip

    def _serve(self, c, a, srv):
        t0 = time.monotonic()
        st = {"phase": "greeting"}
        with self.lock:
            self.accepted += 1
            self.open += 1
        try:
            self._session(c, st)
        except (t.Fail, OSError):
            # The client closed before its answer: a cancelled leg.
            if st["phase"] != "answered":
                with self.lock:
                    self.cancelled.append((st["phase"],
                                           time.monotonic() - t0))
            else:
                raise
        finally:
            with self.lock:
                self.open -= 1

    def _session(self, c, st):
        ver, n = t.recv_exact(c, 2, "greeting")
        methods = t.recv_exact(c, n, "methods")
        if ver != 5 or 0 not in methods:
            c.sendall(b"\x05\xff")
            return
        c.sendall(b"\x05\x00")
        cmd, host, atyp, port = self._request(c)
        st["phase"] = "request"
        with self.lock:
            self.requests.append((host, port))
        if self.delay > 0 and not self._held_back(c):
            raise t.Fail("client closed while its reply was held back")
        st["phase"] = "answered"
        if cmd != 1:
            self._reply(c, 7)
            return
        ip = self._target(c, host, atyp)
        if ip is None:
            return
        try:
            u = socket.create_connection((ip, port), timeout=10)
        except OSError:
            self._reply(c, 5)
            return
        try:
            self._reply(c, 0, u.getsockname()[:2])
            c.settimeout(None)
            u.settimeout(None)
            th = threading.Thread(target=_pump, args=(c, u), daemon=True)
            th.start()
            _pump(u, c)
            th.join(30)
        finally:
            u.close()

    def connects_to(self, port):
        with self.lock:
            return sum(1 for _, p in self.requests if p == port)
