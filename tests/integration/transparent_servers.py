#!/usr/bin/env python3
"""
Servers for test_transparent.py, run inside the "remote" namespace:

  transparent_servers.py ADDR TCPPORT... -- UDPPORT...

Each TCP port answers one HTTP request with "LOCAL_ADDR LOCAL_PORT
PEER_ADDR\\n" (where the connection arrived, who made it); each UDP port
echoes datagrams prefixed with "LOCAL_ADDR LOCAL_PORT|".  Prints "ready"
once every socket is bound; runs until killed.
"""
import socket
import sys
import threading


def tcp_loop(ls):
    while True:
        c, a = ls.accept()
        threading.Thread(target=tcp_one, args=(c, a), daemon=True).start()


def tcp_one(c, a):
    try:
        c.settimeout(5)
        c.recv(4096)
        local = c.getsockname()
        body = ("%s %d %s\n" % (local[0], local[1], a[0])).encode()
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n" % len(body) + body)
    except OSError:
        pass
    finally:
        c.close()


def udp_loop(s, addr, port):
    prefix = ("%s %d|" % (addr, port)).encode()
    while True:
        d, a = s.recvfrom(65535)
        s.sendto(prefix + d, a)


def main():
    args = sys.argv[1:]
    cut = args.index("--")
    tcp, udp = args[1:cut], args[cut + 1:]
    threads = []
    for host in args[0].split(","):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        for p in tcp:
            ls = socket.socket(fam, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind((host, int(p)))
            ls.listen(64)
            threads.append(threading.Thread(target=tcp_loop, args=(ls,),
                                            daemon=True))
        for p in udp:
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.bind((host, int(p)))
            threads.append(threading.Thread(target=udp_loop,
                                            args=(s, host, int(p)),
                                            daemon=True))
    for t in threads:
        t.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
