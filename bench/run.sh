#!/usr/bin/env bash
#
# bench/run.sh: sluice's baseline performance on loopback, through sluiced
# and directly.  See bench/README.md.
#
#   bench/run.sh                 # as root; full run, about 2.5 minutes
#   QUICK=1 bench/run.sh         # smoke run, about 35 s
#
# Environment (defaults in brackets):
#   BUILD        build directory [/tmp/build-bench]; configured as
#                --buildtype=release when it does not exist yet
#   SLUICED      use this sluiced binary instead of building one
#   DURATION     seconds per throughput run [5]
#   STREAMS      parallel streams per throughput run ["1 4 16"]
#   CPS_COUNT    connections per cps run [20000]
#   CPS_CONC     concurrencies for cps ["1 32"]
#   HOLD_N       idle sessions for the memory test [10000]
#   SPLICE_MODES sluiced configurations to run ["true false"]
#   PROXY_PORT   first port to try for sluiced [21080]
#   KEEP=1       keep the temporary directory (configs, logs)
#
# Writes the table to stdout and to bench/results/latest.txt.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-/tmp/build-bench}
if [ "${QUICK:-0}" = 1 ]; then
	DURATION=${DURATION:-1}
	STREAMS=${STREAMS:-"1 4"}
	CPS_COUNT=${CPS_COUNT:-2000}
	CPS_CONC=${CPS_CONC:-"1 32"}
	HOLD_N=${HOLD_N:-1000}
else
	DURATION=${DURATION:-5}
	STREAMS=${STREAMS:-"1 4 16"}
	CPS_COUNT=${CPS_COUNT:-20000}
	CPS_CONC=${CPS_CONC:-"1 32"}
	HOLD_N=${HOLD_N:-10000}
fi
SPLICE_MODES=${SPLICE_MODES-"true false"}
PROXY_PORT=${PROXY_PORT:-21080}
WORKERS=2

RESDIR=$ROOT/bench/results
TMP=
SERVER_PID=
DAEMON_PID=
DAEMON_KIDS=
FAILED=0

say() { printf '%s\n' "$*" >&2; }
fail() { say "run.sh: $*"; exit 1; }

# The master's descendants, as slbench mem lists them.
find_kids() {
	DAEMON_KIDS=$("$SLBENCH" mem -m "$DAEMON_PID" 2>/dev/null |
	    awk -v m="$DAEMON_PID" '$2 == "pid" && $3 != m { print $3 }')
}

# Stop the daemon we started: SIGTERM to the master, wait with a deadline,
# then SIGKILL; then any child of it (recorded earlier) that outlived it.
stop_daemon() {
	local i pid
	[ -n "$DAEMON_PID" ] || return 0
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		find_kids
		kill -TERM "$DAEMON_PID" 2>/dev/null
		for i in $(seq 1 150); do
			kill -0 "$DAEMON_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$DAEMON_PID" 2>/dev/null; then
			say "run.sh: sluiced $DAEMON_PID ignored SIGTERM for 15 s; SIGKILL"
			kill -KILL "$DAEMON_PID" 2>/dev/null
		fi
	fi
	wait "$DAEMON_PID" 2>/dev/null
	for pid in $DAEMON_KIDS; do
		for i in $(seq 1 30); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null &&
		    grep -q '^sluice' "/proc/$pid/comm" 2>/dev/null; then
			say "run.sh: child $pid of sluiced outlived it; SIGKILL"
			kill -KILL "$pid" 2>/dev/null
		fi
	done
	DAEMON_PID=
	DAEMON_KIDS=
}

stop_server() {
	local i
	[ -n "$SERVER_PID" ] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null
	for i in $(seq 1 50); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
}

cleanup() {
	stop_daemon
	stop_server
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		if [ "${KEEP:-0}" = 1 ] || [ "$FAILED" != 0 ]; then
			say "run.sh: logs and configs kept in $TMP"
		else
			rm -rf "$TMP"
		fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || fail "sluiced must be started as root; run as root"

# ---------------------------------------------------------------- build
build() {
	if [ -n "${SLUICED:-}" ]; then
		[ -x "$SLUICED" ] || fail "SLUICED=$SLUICED is not executable"
	else
		if [ ! -f "$BUILD/build.ninja" ]; then
			meson setup "$BUILD" "$ROOT" --buildtype=release >&2 ||
			    fail "meson setup $BUILD failed"
		fi
		ninja -C "$BUILD" sluiced >&2 ||
		    fail "building sluiced in $BUILD failed (SLUICED=path uses a daemon built elsewhere)"
		SLUICED=$BUILD/sluiced
	fi
	# slbench: through meson when bench/ is part of the build, else
	# directly with the project's warning flags.
	if ninja -C "$BUILD" -t targets all 2>/dev/null |
	    grep -q '^bench/slbench:'; then
		ninja -C "$BUILD" bench/slbench >&2 || fail "building slbench failed"
		SLBENCH=$BUILD/bench/slbench
	else
		mkdir -p "$BUILD/bench-standalone"
		SLBENCH=$BUILD/bench-standalone/slbench
		if [ ! -x "$SLBENCH" ] ||
		    [ "$ROOT/bench/slbench.c" -nt "$SLBENCH" ]; then
			${CC:-cc} -std=gnu11 -O2 -D_GNU_SOURCE -Wall -Wextra \
			    -Werror -Wshadow -Wmissing-prototypes \
			    -Wstrict-prototypes -Wformat=2 -Wpointer-arith \
			    -o "$SLBENCH" "$ROOT/bench/slbench.c" ||
			    fail "building slbench failed"
		fi
	fi
}

port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---------------------------------------------------------------- runs
RESULTS=

# run_client LIMIT SUBCOMMAND ARGS...: runs an slbench client under
# timeout, shows its output, keeps its RESULT line.  A failing run is
# reported and marks the whole run failed, but the others still run.
run_client() {
	local limit=$1; shift
	local out rc
	out=$(timeout -k 5 "$limit" "$SLBENCH" "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -v '^RESULT ' >&2
	if printf '%s\n' "$out" | grep -q '^RESULT '; then
		RESULTS="$RESULTS$(printf '%s\n' "$out" | grep '^RESULT ')
"
	else
		say "run.sh: slbench $1 failed (exit $rc), no result"
		FAILED=1
		RESULTS="${RESULTS}RESULT test=$1 label=$LABEL failed=1 args=$(echo "$*" | tr ' ' '_')
"
	fi
	[ $rc = 0 ] || say "run.sh: slbench $1 exited $rc"
}

run_suite() {	# $1: "direct" or proxy address; LABEL set
	local via=() pidopt=() d n c
	if [ "$1" != direct ]; then
		via=(-s "$1")
		pidopt=(-m "$DAEMON_PID")
	fi
	for d in up down; do
		for n in $STREAMS; do
			say "--- tput $LABEL $d $n streams"
			run_client $((DURATION + 60)) tput "${via[@]}" \
			    -t "$SERVER_PORT" -n "$n" -T "$DURATION" -d "$d" \
			    -S "$SERVER_PID" "${pidopt[@]}" -L "$LABEL"
		done
	done
	for c in $CPS_CONC; do
		say "--- cps $LABEL concurrency $c"
		run_client 200 cps "${via[@]}" -t "$SERVER_PORT" -c "$c" \
		    -n "$CPS_COUNT" -T 120 -S "$SERVER_PID" "${pidopt[@]}" \
		    -L "$LABEL"
	done
}

start_daemon() {	# $1: splice true|false
	local conf=$TMP/sluiced-splice-$1.json i
	cat > "$conf" <<EOF
{"domain":"127.0.0.1","port":$PROXY_PORT,"workers":$WORKERS,"user":"nobody",
 "chroot":"$TMP/empty","log_level":"warn","max_threads":20000,
 "idle_timeout":600,"timeout":30,"splice":$1,
 "balancer":{"links":[{"name":"direct"}]}}
EOF
	"$SLUICED" -t -c "$conf" >&2 || fail "sluiced -t rejects $conf"
	port_busy "$PROXY_PORT" && fail "port $PROXY_PORT is already in use"
	"$SLUICED" -c "$conf" 2>> "$TMP/sluiced-splice-$1.log" &
	DAEMON_PID=$!
	# Wait until a SOCKS5 CONNECT through it echoes (deadline 20 s).
	for i in $(seq 1 20); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		if timeout 5 "$SLBENCH" probe -s "$PROXY_PORT" \
		    -t "$SERVER_PORT" -T 1 >/dev/null 2>&1; then
			find_kids
			say "sluiced pid $DAEMON_PID (splice $1), children:" \
			    $DAEMON_KIDS
			"$SLBENCH" mem -m "$DAEMON_PID" | grep -v '^RESULT' >&2
			return 0
		fi
	done
	FAILED=1
	say "run.sh: sluiced (splice $1) did not come up; its log:"
	tail -n 20 "$TMP/sluiced-splice-$1.log" >&2
	stop_daemon
	return 1
}

# ---------------------------------------------------------------- table
table() {
	awk '
	# A proxy figure, or "-" for a direct run.
	function P(v, fmt) { return F["path"] == "direct" ? "-" : sprintf(fmt, v) }
	function kv(line,   i, n, a, p) {
		delete F
		n = split(line, a, " ")
		for (i = 2; i <= n; i++) {
			p = index(a[i], "=")
			if (p > 0) F[substr(a[i], 1, p - 1)] = substr(a[i], p + 1)
		}
	}
	{ lines[NR] = $0 }
	END {
		print "Throughput: aggregate Gbit/s over N parallel TCP streams (up = client->server, down = server->client)"
		print "  cpu% = CPU time / wall time, 100% = one core (200% = the whole 2-core machine); proxy = all sluice processes;"
		print "  sirq% = softirq, charged to no process (loopback TCP); other% = other processes on the machine (noise)"
		printf "  %-14s %-4s %7s %9s %7s %7s %7s %7s %7s %12s\n", "path", "dir", "streams", "Gbit/s", "client%", "proxy%", "server%", "sirq%", "other%", "proxyCPUs/GB"
		for (i = 1; i <= NR; i++) { kv(lines[i]); if (F["test"] != "tput") continue
			if (F["failed"]) { printf "  %-14s FAILED (%s)\n", F["label"], F["args"]; continue }
			note = F["approx"] > 0 ? "  (upper bound: half-close not kept)" : ""
			printf "  %-14s %-4s %7s %9.2f %7.0f %7s %7.0f %7.0f %7.0f %12s%s\n", F["label"], F["dir"], F["streams"], F["gbps"], F["client_cpu_pct"], P(F["proxy_cpu_pct"], "%.0f"), F["server_cpu_pct"], F["softirq_pct"], F["other_pct"], P(F["proxy_cpu_s_per_gb"], "%.3f"), note }
		print ""
		print "Connections: connect, [SOCKS5 greeting + CONNECT 127.0.0.1], 32-byte request, 32-byte echo, close"
		print "  latency = connect() start .. response received; hs = connect() .. SOCKS5 reply (direct: established)"
		printf "  %-14s %5s %6s %5s %8s %8s %8s %8s %8s %8s %7s %7s %10s\n", "path", "conc", "ok", "fail", "conn/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "hs p50", "proxy%", "other%", "proxyus/c"
		for (i = 1; i <= NR; i++) { kv(lines[i]); if (F["test"] != "cps") continue
			if (F["failed"]) { printf "  %-14s FAILED (%s)\n", F["label"], F["args"]; continue }
			printf "  %-14s %5s %6s %5s %8.0f %8.3f %8.3f %8.3f %8.2f %8.3f %7s %7.0f %10s\n", F["label"], F["conc"], F["ok"], F["fail"], F["cps"], F["p50_ms"], F["p90_ms"], F["p99_ms"], F["max_ms"], F["hs_p50_ms"], P(F["proxy_cpu_pct"], "%.0f"), F["other_pct"], P(F["proxy_cpu_us_per_conn"], "%.1f") }
		print ""
		print "Memory per idle SOCKS5 session (sum over sluiced master + all children; KiB)"
		print "  per-session = (with - before) / sessions held; closed = after closing them all; slab = kernel, whole machine (4 sockets per session)"
		print "  idle = no byte ever sent through the tunnel; echo = one 32-byte request/response first, then idle"
		printf "  %-14s %-5s %11s %5s %5s %10s %10s %10s %9s %9s %9s\n", "config", "state", "sessions", "fail", "procs", "Pss before", "Pss with", "Pss closed", "Pss/sess", "Rss/sess", "slab/sess"
		for (i = 1; i <= NR; i++) { kv(lines[i]); if (F["test"] != "hold") continue
			st = F["echo"] == 1 ? "echo" : "idle"
			if (F["failed"]) { printf "  %-14s %-5s FAILED (%s)\n", F["label"], st, F["args"]; continue }
			printf "  %-14s %-5s %11s %5s %5s %10s %10s %10s %9.2f %9.2f %9.2f\n", F["label"], st, F["sessions"] "/" F["requested"], F["fail"], F["procs"], F["pss_before_kib"], F["pss_with_kib"], F["pss_closed_kib"], F["per_session_pss_kib"], F["per_session_rss_kib"], F["per_session_slab_kib"] }
	}'
}

# ---------------------------------------------------------------- main
build
TMP=$(mktemp -d /tmp/sluice-bench.XXXXXX) || fail "mktemp failed"
chmod 755 "$TMP"
mkdir -m 755 "$TMP/empty"
mkdir -p "$RESDIR"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# How busy the machine is without us: one second of /proc/stat.
host_busy() { awk '/^cpu / { print $2+$3+$4+$7+$8+$9, $5+$6; exit }' /proc/stat; }
B0=$(host_busy); sleep 1; B1=$(host_busy)
IDLE_BUSY=$(echo "$B0 $B1" | awk '{ b = $3 - $1; i = $4 - $2;
    pct = 0; if (b + i > 0) pct = 100 * b / (b + i); printf "%.0f%%", pct }')
BUSY=$(ps -eo pcpu=,pid=,comm= --sort=-pcpu | head -n 3 |
    awk '{ printf "%s%s(%s) %s%%", sep, $3, $2, $1; sep = ", " }')
START=$(date +%s)

"$SLBENCH" server -p 0 -P "$TMP/server.port" -T 3600 -K \
    > "$TMP/server.log" 2>&1 &
SERVER_PID=$!
for i in $(seq 1 50); do
	[ -s "$TMP/server.port" ] && break
	sleep 0.1
done
[ -s "$TMP/server.port" ] || fail "slbench server did not start"
SERVER_PORT=$(cat "$TMP/server.port")
say "slbench server pid $SERVER_PID on 127.0.0.1:$SERVER_PORT"

for i in $(seq 0 20); do
	port_busy $((PROXY_PORT + i)) || break
done
PROXY_PORT=$((PROXY_PORT + i))

LABEL=direct
say "=== direct"
run_suite direct

for mode in $SPLICE_MODES; do
	LABEL="sluiced-$([ "$mode" = true ] && echo splice || echo copy)"
	say "=== $LABEL (splice $mode)"
	# Memory first, each variant on a fresh daemon: idle from the
	# start, then after one 32-byte echo per session.
	for echo in 0 1; do
		start_daemon "$mode" || {
			RESULTS="${RESULTS}RESULT test=hold label=$LABEL echo=$echo failed=1 args=daemon_did_not_start
"
			continue 2
		}
		say "--- hold $LABEL $HOLD_N sessions$([ $echo = 1 ] && echo ', one echo each')"
		eopt=()
		[ $echo = 1 ] && eopt=(-e)
		run_client 300 hold -s "$PROXY_PORT" -t "$SERVER_PORT" \
		    -n "$HOLD_N" -c 200 -T 120 -m "$DAEMON_PID" -L "$LABEL" \
		    "${eopt[@]}"
		[ $echo = 1 ] || stop_daemon
	done
	run_suite "$PROXY_PORT"
	if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
		FAILED=1
		say "run.sh: sluiced died during the runs; its log:"
		tail -n 20 "$TMP/sluiced-splice-$mode.log" >&2
	fi
	stop_daemon
done
stop_server

{
	echo "sluice bench, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), git $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')"
	echo "host: $(uname -sr), $(nproc) cores, loadavg before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "machine busy before the run (1 s sample, % of all cores): $IDLE_BUSY; busiest processes (lifetime %CPU): $BUSY"
	echo "sluiced: $SLUICED, workers=$WORKERS; slbench: $SLBENCH"
	echo "params: DURATION=$DURATION STREAMS='$STREAMS' CPS_COUNT=$CPS_COUNT CPS_CONC='$CPS_CONC' HOLD_N=$HOLD_N; took $(( $(date +%s) - START )) s"
	echo
	printf '%s' "$RESULTS" | table
	echo
	echo "raw:"
	printf '%s' "$RESULTS"
} > "$RESDIR/latest.txt"
cat "$RESDIR/latest.txt"
[ "$FAILED" = 0 ] || say "run.sh: some runs failed; see above"
exit "$FAILED"
