#!/bin/sh
#
# Soak test for sluiced (issue 14).  Not run by meson or CI.
#
#	sh tests/soak.sh [MINUTES]		(default 30, as root)
#
# Builds nothing: runs $SLUICED, else ./build/sluiced.  Starts, on
# loopback only: a local echo server, an HTTP origin and a DNS server
# that knows the name soak.test (all in one Python process, using the
# integration harness tests/integration/sltest.py), then sluiced with 2
# workers, a socks5 and an http listener and a control socket.  For
# MINUTES it drives mixed traffic (SOCKS5 CONNECT by address and by
# name, HTTP proxy GET, 1 MiB downloads, long sessions held 20 s),
# SIGHUPs sluiced every minute (a reload: a new generation of workers),
# and every 30 s writes the RSS of the master, of the current
# generation's workers (summed: their pids change at every reload) and
# of its resolver to rss.csv.
#
# Exit 1 if any of the three grew by more than 10 % between the average
# of the first 5 minutes and that of the last 5 minutes (shorter runs
# compare their first and last halves), if traffic failed more than 1 %
# of the time, or if sluiced died.  Everything it started is stopped by
# pid.  SOAK_KEEP=1 keeps the working directory (config, logs, CSV).

set -u

MINUTES=${1:-30}
case $MINUTES in
''|*[!0-9]*|0)
	echo "usage: sh tests/soak.sh [MINUTES]" >&2
	exit 2
	;;
esac
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
SLUICED=${SLUICED:-./build/sluiced}
case $SLUICED in
/*)	;;
*)	SLUICED=$(pwd)/$SLUICED ;;
esac
if [ "$(id -u)" -ne 0 ]; then
	echo "soak: needs root (sluiced chroots and changes uid)" >&2
	exit 2
fi
if [ ! -x "$SLUICED" ]; then
	echo "soak: $SLUICED is not an executable (set SLUICED)" >&2
	exit 2
fi
command -v python3 >/dev/null || { echo "soak: no python3" >&2; exit 2; }

WORK=$(mktemp -d /tmp/sluice-soak.XXXXXX) || exit 2
chmod 755 "$WORK"
mkdir -m 755 "$WORK/empty"
CSV=$WORK/rss.csv
HELPER_PID=
SLUICED_PID=
TRAFFIC_PID=

say()
{
	echo "[soak $(date -u +%H:%M:%S)] $*"
}

# Stop what this script started, by pid only.
cleanup()
{
	for pid in $TRAFFIC_PID $SLUICED_PID $HELPER_PID; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in $TRAFFIC_PID $SLUICED_PID $HELPER_PID; do
		wait "$pid" 2>/dev/null
	done
	TRAFFIC_PID= SLUICED_PID= HELPER_PID=
	if [ -z "${SOAK_KEEP:-}" ]; then
		rm -rf "$WORK"
	else
		say "kept $WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The helper: servers, traffic and samples.  Python for the clients
# because the harness already speaks SOCKS5 and the control protocol.
cat >"$WORK/soak.py" <<'EOF'
import json
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ["SRCDIR"], "tests",
                                "integration"))
import sltest as t

NAME = "soak.test"


def servers(portfile):
    """Echo, HTTP origin and DNS until killed; their ports in portfile."""
    echo = t.echo_server()
    origin = t.Origin(size=1 << 20)
    dns = t.MapDNS({NAME: ["127.0.0.1"]})
    ports = {"echo": echo.port, "origin": origin.port, "dns": dns.port,
        "digest": origin.digest}
    with open(portfile + ".new", "w") as f:
        json.dump(ports, f)
    os.rename(portfile + ".new", portfile)
    while True:
        time.sleep(3600)


class Traffic:
    def __init__(self, conf, minutes):
        self.c = conf
        self.deadline = time.monotonic() + minutes * 60
        self.lock = threading.Lock()
        self.ok = {}
        self.err = {}
        self.last_err = {}

    def count(self, kind, err):
        with self.lock:
            if err is None:
                self.ok[kind] = self.ok.get(kind, 0) + 1
            else:
                self.err[kind] = self.err.get(kind, 0) + 1
                self.last_err[kind] = err

    def http_get(self, s, host, path):
        req = "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
        s.sendall((req % (path, host)).encode())
        resp = t.recv_all(s, 10)
        head, _, body = resp.partition(b"\r\n\r\n")
        t.check(head.startswith(b"HTTP/1.1 200"), "status %r" % head[:40])
        return body

    def s5_addr(self):
        s = t.s5_tunnel(self.c["socks"], "127.0.0.1", self.c["echo"],
            timeout=10)
        try:
            t.echo_check(s, os.urandom(random.randint(1, 4096)))
        finally:
            s.close()

    def s5_name(self):
        s = t.s5_tunnel(self.c["socks"], NAME, self.c["origin"],
            timeout=10)
        try:
            body = self.http_get(s, NAME, "/small")
            t.check_eq(body, b"small\n", "body")
        finally:
            s.close()

    def http_proxy(self):
        s = socket.create_connection(("127.0.0.1", self.c["http"]), 10)
        try:
            url = "http://127.0.0.1:%d/small" % self.c["origin"]
            t.check_eq(self.http_get(s, "127.0.0.1", url), b"small\n",
                "body")
        finally:
            s.close()

    def blob(self):
        s = t.s5_tunnel(self.c["socks"], NAME, self.c["origin"],
            timeout=10)
        try:
            body = self.http_get(s, NAME, "/blob")
            t.check_eq(t.sha256(body), self.c["digest"], "blob")
        finally:
            s.close()

    def long(self):
        """One session held 20 s, 64 bytes a second."""
        s = t.s5_tunnel(self.c["socks"], "127.0.0.1", self.c["echo"],
            timeout=10)
        try:
            for _ in range(20):
                t.echo_check(s, os.urandom(64))
                time.sleep(1)
        finally:
            s.close()

    def loop(self, kinds, pause):
        while time.monotonic() < self.deadline:
            kind = random.choice(kinds)
            try:
                getattr(self, kind)()
                err = None
            except Exception as e:
                err = "%s: %s" % (type(e).__name__, e)
            self.count(kind, err)
            time.sleep(pause)

    def run(self):
        short = ["s5_addr", "s5_addr", "s5_name", "http_proxy"]
        threads = [threading.Thread(target=self.loop, args=a, daemon=True)
            for a in [(short, 0.01)] * 4 + [(["blob"], 0.2)] +
            [(["long"], 0)] * 4]
        for th in threads:
            th.start()
        t_next = time.monotonic() + 60
        while any(th.is_alive() for th in threads):
            time.sleep(1)
            if time.monotonic() >= t_next:
                t_next += 60
                self.report()
        for th in threads:
            th.join()
        return self.report()

    def report(self):
        with self.lock:
            ok, err = sum(self.ok.values()), sum(self.err.values())
            print("traffic: %d ok, %d failed; ok %s; failed %s"
                % (ok, err, self.ok, self.err), flush=True)
            for k, v in self.last_err.items():
                print("  last %s error: %s" % (k, v), flush=True)
        return ok, err


def traffic(conffile, minutes):
    with open(conffile) as f:
        conf = json.load(f)
    ok, err = Traffic(conf, minutes).run()
    # More than 1 % failed (reloads must not cost sessions): exit 1.
    sys.exit(1 if ok == 0 or err * 100 > ok + err else 0)


def rss_kb(pid):
    st = t.proc_status(pid)
    if st is None or "VmRSS" not in st:
        return 0
    return int(st["VmRSS"].split()[0])


def sample(ctl, t0):
    """elapsed_s,generation,master_kb,workers_kb,nworkers,resolver_kb"""
    st = t.control_ok(ctl, "status", timeout=10)
    gen = st["generation"]
    cur = [p for p in st["processes"]
        if p["generation"] == gen and p["pid"] > 0]
    w = [p["pid"] for p in cur if p["role"] == "worker"]
    r = [p["pid"] for p in cur if p["role"] == "resolver"]
    print("%d,%d,%d,%d,%d,%d" % (time.time() - float(t0), gen,
        rss_kb(st["pid"]), sum(rss_kb(p) for p in w), len(w),
        sum(rss_kb(p) for p in r)))


def ready(ctl, nworkers):
    """Exit 0 once the current generation's workers all run."""
    try:
        st = t.control_ok(ctl, "status", timeout=5)
    except Exception:
        sys.exit(1)
    w = [p for p in st["processes"] if p["role"] == "worker" and
        p["generation"] == st["generation"] and p["pid"] > 0 and
        t.seccomp_mode(p["pid"]) == 2]
    sys.exit(0 if len(w) == int(nworkers) else 1)


def grew(csv, minutes):
    """Compare the first and last windows of every RSS column."""
    rows = [l.strip().split(",") for l in open(csv)][1:]
    rows = [[int(x) for x in r] for r in rows if r]
    n = len(rows)
    if n < 2:
        print("rss: only %d samples" % n)
        return 1
    win = max(1, min(10, n // 2))	# 10 samples: 5 minutes
    bad = 0
    for col, name in ((2, "master"), (3, "workers"), (5, "resolver")):
        first = sum(r[col] for r in rows[:win]) / win
        last = sum(r[col] for r in rows[-win:]) / win
        pct = 100.0 * (last - first) / first if first else 0.0
        verdict = "OK" if pct <= 10.0 else "GREW"
        print("rss %-8s first %d samples %.0f KiB, last %d samples "
            "%.0f KiB: %+.1f %% %s" % (name, win, first, win, last, pct,
            verdict))
        bad += verdict != "OK"
    return 1 if bad else 0


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "servers":
        servers(sys.argv[2])
    elif cmd == "traffic":
        traffic(sys.argv[2], float(sys.argv[3]))
    elif cmd == "sample":
        sample(sys.argv[2], sys.argv[3])
    elif cmd == "ready":
        ready(sys.argv[2], sys.argv[3])
    elif cmd == "grew":
        sys.exit(grew(sys.argv[2], sys.argv[3]))
EOF
export SRCDIR
HELPER="python3 $WORK/soak.py"

say "servers"
$HELPER servers "$WORK/ports.json" >"$WORK/servers.log" 2>&1 &
HELPER_PID=$!
i=0
while [ ! -s "$WORK/ports.json" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$HELPER_PID" 2>/dev/null; then
		echo "soak: the servers did not start:" >&2
		cat "$WORK/servers.log" >&2
		exit 1
	fi
	sleep 0.1
done

# Free ports for the listeners: bind port 0, note it, close.
ports=$(python3 -c 'import socket
for _ in range(2):
	s = socket.socket(); s.bind(("127.0.0.1", 0))
	print(s.getsockname()[1]); s.close()')
SOCKS_PORT=$(echo "$ports" | sed -n 1p)
HTTP_PORT=$(echo "$ports" | sed -n 2p)
CTL=$WORK/ctl.sock
python3 - "$WORK" "$SOCKS_PORT" "$HTTP_PORT" <<'EOF'
import json, sys
work, socks, http = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ports = json.load(open(work + "/ports.json"))
conf = {
    "listeners": [
        {"name": "socks", "kind": "socks5",
            "listen": "127.0.0.1:%d" % socks},
        {"name": "web", "kind": "http", "listen": "127.0.0.1:%d" % http},
    ],
    "workers": 2,
    "user": "nobody",
    "chroot": work + "/empty",
    "control": work + "/ctl.sock",
    "nameservers": ["127.0.0.1:%d" % ports["dns"]],
    "timeout": 30,
    "shutdown_timeout": 30,
    "log_level": "info",
}
json.dump(conf, open(work + "/sluiced.json", "w"), indent=2)
ports.update(socks=socks, http=http)
json.dump(ports, open(work + "/traffic.json", "w"))
EOF

say "sluiced $SLUICED, socks5 on $SOCKS_PORT, http on $HTTP_PORT"
"$SLUICED" -c "$WORK/sluiced.json" </dev/null >"$WORK/sluiced.log" 2>&1 &
SLUICED_PID=$!
i=0
until [ -S "$CTL" ] && $HELPER ready "$CTL" 2 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 150 ] || ! kill -0 "$SLUICED_PID" 2>/dev/null; then
		echo "soak: sluiced did not get ready:" >&2
		tail -20 "$WORK/sluiced.log" >&2
		exit 1
	fi
	sleep 0.1
done

say "traffic for $MINUTES min, a reload a minute, RSS every 30 s"
$HELPER traffic "$WORK/traffic.json" "$MINUTES" >"$WORK/traffic.log" 2>&1 &
TRAFFIC_PID=$!
T0=$(date +%s)
echo "elapsed_s,generation,master_kb,workers_kb,nworkers,resolver_kb" \
    >"$CSV"
next_sample=$((T0 + 30))
next_reload=$((T0 + 60))
failed=0
while kill -0 "$TRAFFIC_PID" 2>/dev/null; do
	sleep 1
	now=$(date +%s)
	if ! kill -0 "$SLUICED_PID" 2>/dev/null; then
		say "sluiced died"
		failed=1
		break
	fi
	if [ "$now" -ge "$next_sample" ]; then
		next_sample=$((next_sample + 30))
		line=$($HELPER sample "$CTL" "$T0" 2>&1) || {
			say "sample failed: $line"
			failed=1
			continue
		}
		echo "$line" >>"$CSV"
		say "rss $line"
	fi
	if [ "$now" -ge "$next_reload" ]; then
		next_reload=$((next_reload + 60))
		kill -HUP "$SLUICED_PID"
		say "reload (SIGHUP)"
	fi
done
if wait "$TRAFFIC_PID"; then
	:
else
	say "traffic failed more than 1 % of the time"
	failed=1
fi
TRAFFIC_PID=
cat "$WORK/traffic.log"
grep -c ' reload' "$WORK/sluiced.log" | sed 's/^/sluiced log lines about reloads: /'

$HELPER grew "$CSV" "$MINUTES" || failed=1
say "RSS samples:"
cat "$CSV"
if [ $failed -ne 0 ]; then
	say "FAIL"
	SOAK_KEEP=1
	exit 1
fi
say "PASS"
exit 0
