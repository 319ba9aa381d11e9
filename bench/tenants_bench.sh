#!/bin/bash
# bench/tenants_bench.sh: what a tenant costs in memory (issue 13).
#
# For each tenant count N in $COUNTS, one sluiced with N tenants (one
# socks5 listener, one direct link, WORKERS workers each) is started,
# waited for (every process confined, every port listening), and the Pss
# of the master and all its children is summed from
# /proc/PID/smaps_rollup.  The line per N and the slope between the
# smallest and the largest N (KiB per tenant) go to stdout.  Idle daemons:
# the figure is the fixed cost of a pool (its workers, its resolver, its
# region and config memfds), not of sessions (bench/run.sh HOLD_N has
# those).
#
# Usage (root):   bench/tenants_bench.sh
#                 COUNTS="1 2 4 8 16" WORKERS=2 bench/tenants_bench.sh
# Loopback only; each daemon is stopped by pid before the next starts.
#
# Settings (environment):
#   BUILD       build directory [/tmp/build-bench]
#   SLUICED     sluiced binary [$BUILD/sluiced]
#   COUNTS      tenant counts [1 2 4 8]
#   WORKERS     workers per tenant [1]
#   PORT        first listening port [23100]
#   KEEP        1: keep the temp directory

PROG=tenants_bench.sh
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-/tmp/build-bench}
SLUICED=${SLUICED:-$BUILD/sluiced}
COUNTS=${COUNTS:-1 2 4 8}
WORKERS=${WORKERS:-1}
PORT=${PORT:-23100}

say() { printf '%s\n' "$*" >&2; }
fail() { say "$PROG: $*"; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (sluiced confines its children)"
[ -x "$SLUICED" ] || fail "no sluiced at $SLUICED (meson setup $BUILD " \
    "--buildtype=release && ninja -C $BUILD)"
TMP=$(mktemp -d /tmp/tenants-bench.XXXXXX)
DAEMON_PID=
cleanup() {
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID"
		wait "$DAEMON_PID" 2>/dev/null
	fi
	[ "${KEEP:-0}" = 1 ] || rm -rf "$TMP"
}
trap cleanup EXIT

# measure N: prints "N PSS_KIB PROCESSES"
measure() {
	python3 - "$SLUICED" "$TMP" "$1" "$WORKERS" "$PORT" <<'EOF'
import json, os, signal, subprocess, sys, time
sluiced, tmp, n, workers, port = sys.argv[1], sys.argv[2], \
    int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
os.makedirs(os.path.join(tmp, "empty"), exist_ok=True)
conf = {"uid_base": 43000, "chroot": os.path.join(tmp, "empty"),
        "log_level": "warning", "shutdown_timeout": 2, "tenants": []}
for i in range(n):
    conf["tenants"].append({
        "name": "t%d" % i, "workers": workers,
        "listeners": [{"name": "socks", "kind": "socks5",
                       "listen": "127.0.0.1:%d" % (port + i)}],
        "balancer": {"links": [{"name": "direct"}]}})
path = os.path.join(tmp, "n%d.json" % n)
json.dump(conf, open(path, "w"))
log = open(os.path.join(tmp, "n%d.log" % n), "wb")
p = subprocess.Popen([sluiced, "-c", path], stdout=log,
                     stderr=subprocess.STDOUT)

def kids():
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        if int(st.rsplit(")", 1)[1].split()[1]) == p.pid:
            out.append(int(d))
    return out

def seccomp(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("Seccomp:"):
            return int(line.split()[1])
    return -1

want = n * (workers + 1)
deadline = time.monotonic() + 30
while True:
    if p.poll() is not None:
        sys.exit("sluiced exited: %d" % p.returncode)
    k = kids()
    try:
        if len(k) == want and all(seccomp(x) == 2 for x in k):
            break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit("not ready in 30 s: %d of %d children" % (len(k), want))
    time.sleep(0.05)        # polling a condition, with a deadline

def pss(pid):
    for line in open("/proc/%d/smaps_rollup" % pid):
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0

total = pss(p.pid) + sum(pss(x) for x in k)
print("%d %d %d" % (n, total, 1 + len(k)))
p.send_signal(signal.SIGTERM)
p.wait(15)
EOF
}

printf '%-8s %10s %10s\n' tenants pss_kib processes
first= last=
for n in $COUNTS; do
	line=$(measure "$n") || fail "measure $n tenants failed (logs: KEEP=1)"
	set -- $line
	printf '%-8s %10s %10s\n' "$1" "$2" "$3"
	[ -n "$first" ] || first="$1 $2"
	last="$1 $2"
done
set -- $first $last
if [ "$1" != "$3" ]; then
	printf 'per tenant: %d KiB Pss (%s workers + a resolver each)\n' \
	    $(( ($4 - $2) / ($3 - $1) )) "$WORKERS"
fi
