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
PROG=run.sh
. "$ROOT/bench/lib.sh"
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

stop_server() {
	stop_pid "$SERVER_PID" 50
	SERVER_PID=
}

cleanup() {
	stop_daemon
	stop_server
	remove_tmp
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_root

# ---------------------------------------------------------------- build
# slbench's sources, as in bench/meson.build.
SLBENCH_SRC=("$ROOT/bench/slbench.c" "$ROOT/bench/slbench_proc.c"
    "$ROOT/bench/slbench_client.c" "$ROOT/bench/slbench_server.c"
    "$ROOT/bench/slbench_load.c" "$ROOT/bench/slbench_hold.c")

# Is a source of slbench (or its header) newer than the binary?
slbench_newer() {
	local f
	for f in "${SLBENCH_SRC[@]}" "$ROOT/bench/slbench.h"; do
		[ "$f" -nt "$SLBENCH" ] && return 0
	done
	return 1
}

build() {
	build_sluiced
	# slbench: through meson when bench/ is part of the build, else
	# directly with the project's warning flags.
	if ninja -C "$BUILD" -t targets all 2>/dev/null |
	    grep -q '^bench/slbench:'; then
		ninja -C "$BUILD" bench/slbench >&2 || fail "building slbench failed"
		SLBENCH=$BUILD/bench/slbench
		MEM_TOOL=$SLBENCH
	else
		mkdir -p "$BUILD/bench-standalone"
		SLBENCH=$BUILD/bench-standalone/slbench
		MEM_TOOL=$SLBENCH
		if [ ! -x "$SLBENCH" ] || slbench_newer; then
			${CC:-cc} -std=gnu11 -O2 -D_GNU_SOURCE -Wall -Wextra \
			    -Werror -Wshadow -Wmissing-prototypes \
			    -Wstrict-prototypes -Wformat=2 -Wpointer-arith \
			    -o "$SLBENCH" "${SLBENCH_SRC[@]}" ||
			    fail "building slbench failed"
		fi
	fi
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
	local conf=$TMP/sluiced-splice-$1.json
	cat > "$conf" <<EOF
{"domain":"127.0.0.1","port":$PROXY_PORT,"workers":$WORKERS,"user":"nobody",
 "chroot":"$TMP/empty","log_level":"warn","max_threads":20000,
 "idle_timeout":600,"timeout":30,"splice":$1,
 "balancer":{"links":[{"name":"direct"}]}}
EOF
	if launch_daemon "$conf" "$TMP/sluiced-splice-$1.log"; then
		find_kids
		say "sluiced pid $DAEMON_PID (splice $1), children:" \
		    $DAEMON_KIDS
		"$SLBENCH" mem -m "$DAEMON_PID" | grep -v '^RESULT' >&2
		return 0
	fi
	say "run.sh: sluiced (splice $1) did not come up; its log:"
	tail -n 20 "$TMP/sluiced-splice-$1.log" >&2
	stop_daemon
	return 1
}

# ---------------------------------------------------------------- table
table() {
	awk "$KV_AWK"'
	# A proxy figure, or "-" for a direct run.
	function P(v, fmt) { return F["path"] == "direct" ? "-" : sprintf(fmt, v) }
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
make_tmp sluice-bench
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

start_server
say "slbench server pid $SERVER_PID on 127.0.0.1:$SERVER_PORT"
pick_proxy_port

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
