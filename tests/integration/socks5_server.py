"""
A small SOCKS5 server (RFC 1928 CONNECT, RFC 1929 username/password) for
the integration tests: an upstream that sluice's socks5 links talk to.

    srv = Socks5Server(username="u", password="p")   # in a thread
    srv.port, srv.connects, srv.auth_ok, srv.auth_failed

With credentials set it only accepts method 0x02 and rejects a wrong
username or password with status 0x01 and closes.  Without credentials it
only accepts 0x00.  Only loopback targets are allowed (reply 0x02 for
anything else), so a test can never make it reach the network.

Run on its own for manual testing:
    python3 socks5_server.py [--port N] [--username U --password P]
"""

import argparse
import ipaddress
import socket
import struct
import sys
import threading


def _recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        d = c.recv(n - len(buf))
        if not d:
            raise EOFError("closed after %d of %d bytes" % (len(buf), n))
        buf += d
    return buf


def _pump(src, dst, counter, key, lock):
    """Copy src -> dst until EOF, then half-close dst."""
    try:
        while True:
            d = src.recv(65536)
            if not d:
                break
            dst.sendall(d)
            with lock:
                counter[key] += len(d)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Socks5Server:
    def __init__(self, username=None, password=None, host="127.0.0.1",
                 port=0):
        self.username = username
        self.password = password
        self.lock = threading.Lock()
        self.connects = []          # (host, port) of every CONNECT accepted
        self.auth_ok = 0
        self.auth_failed = 0
        self.errors = []
        self.bytes = {"up": 0, "down": 0}
        self._conns = []
        self._stop = False
        self.lsock = socket.socket(socket.AF_INET6 if ":" in host
                                   else socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, port))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self._stop:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                self._conns.append(c)
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _reply(self, c, rep, bound=None):
        if bound is None:
            c.sendall(bytes([5, rep, 0, 1, 0, 0, 0, 0, 0, 0]))
            return
        ip = ipaddress.ip_address(bound[0])
        atyp = 1 if ip.version == 4 else 4
        c.sendall(bytes([5, rep, 0, atyp]) + ip.packed +
                  struct.pack("!H", bound[1]))

    def _serve(self, c):
        t = None
        try:
            c.settimeout(30)
            ver, n = _recv_exact(c, 2)
            methods = _recv_exact(c, n)
            if ver != 5:
                return
            want = 2 if self.username is not None else 0
            if want not in methods:
                c.sendall(b"\x05\xff")
                return
            c.sendall(bytes([5, want]))
            if want == 2:
                ver, ulen = _recv_exact(c, 2)
                user = _recv_exact(c, ulen)
                plen = _recv_exact(c, 1)[0]
                pw = _recv_exact(c, plen)
                good = (ver == 1 and user == self.username.encode() and
                        pw == self.password.encode())
                with self.lock:
                    if good:
                        self.auth_ok += 1
                    else:
                        self.auth_failed += 1
                c.sendall(bytes([1, 0 if good else 1]))
                if not good:
                    return
            ver, cmd, _, atyp = _recv_exact(c, 4)
            if atyp == 1:
                host = str(ipaddress.IPv4Address(_recv_exact(c, 4)))
            elif atyp == 4:
                host = str(ipaddress.IPv6Address(_recv_exact(c, 16)))
            elif atyp == 3:
                host = _recv_exact(c, _recv_exact(c, 1)[0]).decode()
            else:
                self._reply(c, 8)
                return
            port = struct.unpack("!H", _recv_exact(c, 2))[0]
            if ver != 5 or cmd != 1:
                self._reply(c, 7)
                return
            if host == "localhost":
                host = "127.0.0.1"
            try:
                if not ipaddress.ip_address(host).is_loopback:
                    raise ValueError
            except ValueError:
                self._reply(c, 2)        # loopback only, by design
                return
            try:
                t = socket.create_connection((host, port), timeout=10)
            except OSError:
                self._reply(c, 5)
                return
            with self.lock:
                self.connects.append((host, port))
                self._conns.append(t)
            self._reply(c, 0, t.getsockname()[:2])
            c.settimeout(None)
            t.settimeout(None)
            up = threading.Thread(target=_pump, args=(c, t, self.bytes, "up",
                                                      self.lock), daemon=True)
            up.start()
            _pump(t, c, self.bytes, "down", self.lock)
            up.join(60)
        except Exception as e:
            with self.lock:
                self.errors.append(repr(e))
        finally:
            for s in (c, t):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass

    def close(self):
        self._stop = True
        try:
            self.lsock.close()
        except OSError:
            pass
        with self.lock:
            for s in self._conns:
                try:
                    s.close()
                except OSError:
                    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=1081)
    ap.add_argument("--username")
    ap.add_argument("--password")
    a = ap.parse_args()
    if (a.username is None) != (a.password is None):
        ap.error("--username and --password go together")
    srv = Socks5Server(a.username, a.password, port=a.port)
    print("listening on 127.0.0.1:%d" % srv.port, flush=True)
    try:
        srv.thread.join()
    except KeyboardInterrupt:
        srv.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
