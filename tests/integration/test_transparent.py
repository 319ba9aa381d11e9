#!/usr/bin/env python3
"""
Transparent proxying through a gateway (issue 11): `redirect`, `tproxy`.

The test re-runs itself in a network namespace of its own, the gateway:
sluiced and the nftables rules live there, so nothing touches the host's
network.  It makes a client namespace and a "remote" namespace, each
joined to the gateway by a veth pair; the remote one holds 192.0.2.10 and
2001:db8::10, where transparent_servers.py answers with the address each
connection or datagram arrived at.

- The README's "redirect" example: nft `redirect to :PORT` for the
  client's TCP to port 8080; curl in the client namespace reaches
  192.0.2.10:8080 and [2001:db8::10]:8080 through sluiced, the server
  sees the connection arrive at that original destination, and the
  session log names the redirect front-end and the original target.
- Routing applies: a matcher refusing port 8081 resets a redirected
  connection to 192.0.2.10:8081, with the rule in the log.
- A client that connects to the redirect listener directly (no NAT) is
  reset and "loop" is logged.
- The README's "tproxy" example with its nft rules and policy routing:
  TCP to 192.0.2.10:9090 and [2001:db8::10]:9090 is proxied (the server
  sees the original destination); UDP to 192.0.2.10:9090 comes back
  from 192.0.2.10:9090 (the client sees the reply from the original
  destination), over several datagrams of one flow, and over IPv6.
"""
import os
import socket
import subprocess
import sys

import sltest as t

PID = os.getpid()
NS_C, NS_S = "slc%d" % PID, "sls%d" % PID
V4_SERVER, V6_SERVER = "192.0.2.10", "2001:db8::10"


def sh(*cmd, check=True, input=None):
    r = subprocess.run(list(cmd), capture_output=True, text=True,
                       input=input)
    if check and r.returncode != 0:
        raise t.Fail("%s: exit %d: %s" % (" ".join(cmd), r.returncode,
                                          r.stderr.strip()))
    return r


def in_ns(ns, *cmd, timeout=30, input=None):
    return subprocess.run(["ip", "netns", "exec", ns] + list(cmd),
                          capture_output=True, timeout=timeout, input=input)


def veth(ns, here, there, v4, v6):
    """A veth pair: `here` in the gateway (.1), `there` in ns (.2)."""
    sh("ip", "link", "add", here, "type", "veth", "peer", "name", there)
    sh("ip", "link", "set", there, "netns", ns)
    sh("ip", "addr", "add", v4 + ".1/24", "dev", here)
    sh("ip", "-6", "addr", "add", v6 + "::1/64", "dev", here, "nodad")
    sh("ip", "link", "set", here, "up")
    x = ["ip", "netns", "exec", ns]
    sh(*x, "ip", "link", "set", "lo", "up")
    sh(*x, "ip", "addr", "add", v4 + ".2/24", "dev", there)
    sh(*x, "ip", "-6", "addr", "add", v6 + "::2/64", "dev", there, "nodad")
    sh(*x, "ip", "link", "set", there, "up")
    sh(*x, "ip", "route", "add", "default", "via", v4 + ".1")
    sh(*x, "ip", "-6", "route", "add", "default", "via", v6 + "::1")


def topology():
    sh("ip", "link", "set", "lo", "up")
    for ns in (NS_C, NS_S):
        sh("ip", "netns", "add", ns)
        t.at_exit(lambda ns=ns: sh("ip", "netns", "del", ns, check=False))
    veth(NS_C, "veth0", "vc", "10.77.0", "fd77")
    veth(NS_S, "veth1", "vs", "10.88.0", "fd88")
    sh("ip", "netns", "exec", NS_S, "ip", "addr", "add", V4_SERVER + "/32",
       "dev", "lo")
    sh("ip", "netns", "exec", NS_S, "ip", "-6", "addr", "add",
       V6_SERVER + "/128", "dev", "lo")
    sh("ip", "route", "add", V4_SERVER + "/32", "via", "10.88.0.2")
    sh("ip", "-6", "route", "add", V6_SERVER + "/128", "via", "fd88::2")
    for f in ("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"):
        sh("sysctl", "-qw", f)


def start_servers():
    here = os.path.dirname(os.path.abspath(__file__))
    p = subprocess.Popen(
        ["ip", "netns", "exec", NS_S, sys.executable,
         os.path.join(here, "transparent_servers.py"),
         "%s,%s" % (V4_SERVER, V6_SERVER), "8080", "8081", "9090", "--",
         "9090"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    t.at_exit(lambda: (p.kill(), p.wait()))
    line = p.stdout.readline()
    if line.strip() != b"ready":
        raise t.Fail("servers did not start: %r" % line)


def readme_block(tag, lang="sh"):
    """The ```sh block after <!-- rules: TAG --> in README.md."""
    import re
    text = open(os.path.join(t.source_dir(), "README.md")).read()
    m = re.search(r"<!-- rules: %s -->\s*```%s\n(.*?)```"
                  % (re.escape(tag), lang), text, re.S)
    if m is None:
        raise t.Fail("README.md has no rules marked %r" % tag)
    return m.group(1)


def run_rules(tag, port):
    """The README's rules for tag, its port swapped for ours."""
    script = readme_block(tag).replace("12345", str(port))
    r = subprocess.run(["sh", "-e", "-x", "-c", script],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise t.Fail("%s rules: %s" % (tag, r.stderr.strip()))


def curl_in_client(url):
    r = in_ns(NS_C, "curl", "-sS", "-g", "--max-time", "10", url)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def redirect_cases():
    conf = t.readme_example("redirect")
    port = t.free_port()
    for l in conf["listeners"]:
        l["listen"] = l["listen"].rsplit(":", 1)[0] + ":%d" % port
    conf["balancer"]["matchers"] = [{"policy": "forbid", "ports": [8081]}]
    d = t.Sluiced(name="redirect", listeners=conf["listeners"],
                  balancer=conf["balancer"]).start()
    run_rules("redirect", port)
    for host in (V4_SERVER, V6_SERVER):
        url = "http://%s:8080/" % ("[%s]" % host if ":" in host else host)
        t.step("redirect: client -> %s:8080 reaches it" % host)
        m = d.mark()
        rc, out, err = curl_in_client(url)
        t.check_eq(rc, 0, "curl %s: %s" % (url, err))
        t.check_eq(out.split()[:2], [host, "8080"],
                   "the address the server was reached at")
        s = d.wait_sessions(lambda s: s.outcome == "done", 1, mark=m,
                            what="a redirect session")[0]
        t.check_eq(s.front, "redirect", "front-end in the log line")
        want = ("[%s]:8080" if ":" in host else "%s:8080") % host
        t.check_eq(s.target, want, "original destination in the log")

    t.step("redirect: a matcher refusing port 8081 resets the client")
    m = d.mark()
    rc, out, err = curl_in_client("http://%s:8081/" % V4_SERVER)
    t.check(rc != 0, "curl to a refused destination fails")
    d.wait_log(r"session \d+: redirect .*-> 192\.0\.2\.10:8081 .*failed",
               mark=m, what="the refused session's log line")

    t.step("redirect: a client reaching the listener directly: a loop")
    m = d.mark()
    rc, out, err = curl_in_client("http://10.77.0.1:%d/" % port)
    t.check(rc != 0, "curl straight to the listener fails")
    d.wait_log(r"session \d+: redirect .*refused: loop", mark=m,
               what="the loop's log line")
    d.check_alive()
    d.cleanup()
    sh("nft", "flush", "ruleset")


UDP_CLIENT = r"""
import socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(5)
for i in range(n):
    s.sendto(b"ping %d" % i, (host, port))
    d, a = s.recvfrom(65535)
    print("%s %d %s" % (a[0], a[1], d.decode()))
"""


def tproxy_cases():
    conf = t.readme_example("tproxy")
    port = t.free_port()
    for l in conf["listeners"]:
        l["listen"] = l["listen"].rsplit(":", 1)[0] + ":%d" % port
    d = t.Sluiced(name="tproxy", listeners=conf["listeners"]).start()
    run_rules("tproxy", port)
    for host in (V4_SERVER, V6_SERVER):
        url = "http://%s:9090/" % ("[%s]" % host if ":" in host else host)
        t.step("tproxy TCP: client -> %s:9090 reaches it" % host)
        m = d.mark()
        rc, out, err = curl_in_client(url)
        t.check_eq(rc, 0, "curl %s: %s" % (url, err))
        t.check_eq(out.split()[:2], [host, "9090"],
                   "the address the server was reached at")
        s = d.wait_sessions(lambda s: s.outcome == "done", 1, mark=m,
                            what="a tproxy session")[0]
        t.check_eq(s.front, "tproxy", "front-end in the log line")
        want = ("[%s]:9090" if ":" in host else "%s:9090") % host
        t.check_eq(s.target, want, "original destination in the log")
    for host in (V4_SERVER, V6_SERVER):
        t.step("tproxy UDP: 3 datagrams to %s:9090, replies from it" % host)
        r = in_ns(NS_C, sys.executable, "-c", UDP_CLIENT, host, "9090", "3")
        t.check_eq(r.returncode, 0, "UDP client: %s" % r.stderr.decode())
        lines = r.stdout.decode().splitlines()
        t.check_eq(len(lines), 3, "replies: %r" % lines)
        for i, line in enumerate(lines):
            src, sport, body = line.split(" ", 2)
            t.check_eq((src, sport), (host, "9090"), "reply source")
            t.check_eq(body, "%s 9090|ping %d" % (host, i),
                       "the server saw the original destination")
    d.check_alive()
    d.cleanup()
    sh("nft", "flush", "ruleset")


def main():
    t.require_root()
    if os.environ.get("SL_IN_NETNS") != "1":
        os.environ["SL_IN_NETNS"] = "1"
        os.execvp("unshare", ["unshare", "--net", "--", sys.executable,
                              os.path.abspath(__file__)])
    for tool in ("nft", "ip", "curl"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            raise t.Skip("%s is not installed" % tool)
    topology()
    start_servers()
    redirect_cases()
    tproxy_cases()


if __name__ == "__main__":
    t.run(main)
