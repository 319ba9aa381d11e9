#!/usr/bin/env bash
#
# bench/forward_bench.sh: sluiced's `forward` and `udp_forward` listeners
# on loopback against HAProxy (`mode tcp`), socat and a direct path, in the
# same run (issue 11, "Performance").  See bench/README.md, "Forwarding".
#
#   bench/forward_bench.sh           # as root; full run, about 5.5 minutes
#   QUICK=1 bench/forward_bench.sh   # about 70 s
#
# What it measures, each row REPS times, the rows of a round back to back:
#   - TCP throughput over STREAMS streams (slbench tput), Gbit/s;
#   - connections per second with CONC in flight (slbench cps: connect,
#     32-byte echo, close), p50 and p99 latency;
#   - UDP datagrams per second and loss (udp_bench -t) through udp_forward,
#     socat and directly to the echo server;
#   - the CPU the proxy used in each run, from /proc/PID/stat of its
#     process tree (socat's exited children through cutime), and for
#     sluiced the workers' CPU alone, which gives the Lua tap's cost per
#     MiB: identity Lua tap minus no tap (splice), and minus a `log` tap
#     (the same copy relay without Lua).
#
# Environment (defaults in brackets):
#   BUILD       build directory [/tmp/build-bench] (release, as run.sh)
#   SLUICED     use this sluiced binary instead of building one
#   HAPROXY     the haproxy binary [haproxy]; SOCAT [socat].  Installed
#               with apt-get when missing, unless NO_INSTALL=1; without
#               one, its rows are skipped
#   DURATION    seconds per measurement [4; QUICK: 2]
#   REPS        rounds, medians reported [3; QUICK: 2]
#   STREAMS     TCP streams for throughput [8]
#   DIRS        throughput directions, "up" and/or "down" [up down; QUICK: up]
#   CONC        connections in flight [50]
#   UDP_SIZES   datagram payload sizes [64 1400; QUICK: 1400]
#   UDP_WINDOW  datagrams in flight [32]
#   PROXY_PORT  first port tried [22080]: sluiced takes 4 (forward, +log,
#               +lua, udp_forward), then HAProxy, socat TCP, socat UDP
#   KEEP=1      keep the temporary directory (configs, logs)
#
# Writes the tables to stdout and to bench/results/forward_latest.txt.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROG=forward_bench.sh
. "$ROOT/bench/lib.sh"
BUILD=${BUILD:-/tmp/build-bench}
if [ "${QUICK:-0}" = 1 ]; then
	DURATION=${DURATION:-2}
	REPS=${REPS:-2}
	DIRS=${DIRS:-up}
	UDP_SIZES=${UDP_SIZES:-1400}
else
	DURATION=${DURATION:-4}
	REPS=${REPS:-3}
	DIRS=${DIRS:-up down}
	UDP_SIZES=${UDP_SIZES:-64 1400}
fi
STREAMS=${STREAMS:-8}
CONC=${CONC:-50}
UDP_WINDOW=${UDP_WINDOW:-32}
PROXY_PORT=${PROXY_PORT:-22080}
HAPROXY=${HAPROXY:-haproxy}
SOCAT=${SOCAT:-socat}
WORKERS=2
HZ=$(getconf CLK_TCK)

RESDIR=$ROOT/bench/results
TMP=
FAILED=0
SERVER_PID=
ECHO_PID=
DAEMON_PID=
DAEMON_KIDS=
WORKER_PIDS=
HAP_PID=
SOCAT_PID=
SOCATU_PID=
RESULTS=
ROWS_TCP=
ROWS_UDP=
NOTES=

# ---------------------------------------------------------------- processes
# stop_tree PID: stop a proxy we started (SIGTERM, deadline, SIGKILL),
# then any of its children (socat's per-connection ones) that outlive it.
stop_tree() {
	local root=$1 kids p i
	[ -n "$root" ] || return 0
	kids=$(tree_pids "$root" | grep -vx "$root")
	stop_pid "$root" 50 || say "$PROG: $root ignored SIGTERM; killed"
	for p in $kids; do
		kill -TERM "$p" 2>/dev/null || continue
		for i in $(seq 1 20); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
	done
}

cleanup() {
	stop_daemon
	stop_tree "$HAP_PID"
	stop_tree "$SOCAT_PID"
	stop_tree "$SOCATU_PID"
	stop_pid "$SERVER_PID" 50
	stop_pid "$ECHO_PID" 50
	remove_tmp
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- build
SLBENCH_SRC=("$ROOT/bench/slbench.c" "$ROOT/bench/slbench_proc.c"
    "$ROOT/bench/slbench_client.c" "$ROOT/bench/slbench_server.c"
    "$ROOT/bench/slbench_load.c" "$ROOT/bench/slbench_hold.c")

# cc_tool OUT SOURCE...: build a bench tool with the project's warning
# flags unless it is newer than its sources.
cc_tool() {
	local out=$1 f newer=0
	shift
	for f in "$@" "$ROOT/bench/slbench.h"; do
		[ "$f" -nt "$out" ] && newer=1
	done
	[ -x "$out" ] && [ $newer = 0 ] && return 0
	${CC:-cc} -std=gnu11 -O2 -D_GNU_SOURCE -Wall -Wextra -Werror \
	    -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 \
	    -Wpointer-arith -o "$out" "$@" || fail "building $out failed"
}

build() {
	build_sluiced
	mkdir -p "$BUILD/bench-standalone" || fail "mkdir $BUILD failed"
	SLBENCH=$BUILD/bench-standalone/slbench
	UDP_BENCH=$BUILD/bench-standalone/udp_bench
	MEM_TOOL=$SLBENCH
	cc_tool "$SLBENCH" "${SLBENCH_SRC[@]}"
	cc_tool "$UDP_BENCH" "$ROOT/bench/udp_bench.c"
}

# find_peer VAR PACKAGE: the peer's binary, installed with apt-get when
# missing (a peer for this benchmark only, not a dependency of sluice);
# empty, and its rows skipped, when it cannot be had.
find_peer() {
	local var=$1 pkg=$2 bin
	bin=${!var}
	if ! command -v "$bin" >/dev/null 2>&1 &&
	    [ "${NO_INSTALL:-0}" != 1 ] && command -v apt-get >/dev/null; then
		say "$PROG: installing $pkg (apt-get install -y $pkg)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y \
		    --no-install-recommends "$pkg" >&2 ||
		    say "$PROG: apt-get install $pkg failed"
	fi
	if ! command -v "$bin" >/dev/null 2>&1; then
		say "$PROG: no $pkg ($bin): its rows are SKIPPED"
		NOTES="$NOTES  $pkg: not installed, its rows skipped
"
		printf -v "$var" '%s' ""
	fi
}

# ---------------------------------------------------------------- set-up
start_sinks() {
	local i
	"$SLBENCH" server -p 0 -P "$TMP/server.port" -T 3600 -K \
	    > "$TMP/server.log" 2>&1 &
	SERVER_PID=$!
	"$UDP_BENCH" -E "$TMP/echo.port" -T 3600 > "$TMP/echo.log" 2>&1 &
	ECHO_PID=$!
	for i in $(seq 1 50); do
		[ -s "$TMP/server.port" ] && [ -s "$TMP/echo.port" ] && break
		sleep 0.1
	done
	[ -s "$TMP/server.port" ] || fail "slbench server did not start"
	[ -s "$TMP/echo.port" ] || fail "the UDP echo server did not start"
	SINK_PORT=$(cat "$TMP/server.port")
	ECHO_PORT=$(cat "$TMP/echo.port")
}

# take_port VAR: the first free TCP port from PROXY_PORT on into VAR;
# PROXY_PORT moves past it.
take_port() {
	pick_proxy_port
	printf -v "$1" '%s' "$PROXY_PORT"
	PROXY_PORT=$((PROXY_PORT + 1))
}

# sluice_listener NAME: one listener of sluiced's config: fwd, fwdlog
# (a log tap), fwdlua (the identity Lua tap) or u (udp_forward).
sluice_listener() {
	local port taps=
	case $1 in
	fwd)	port=$FWD_PORT ;;
	fwdlog)	port=$LOG_PORT
		taps=', "taps": [ { "type": "log" } ]' ;;
	fwdlua)	port=$LUA_PORT
		taps=', "taps": [ { "type": "lua", "script": "'"$TMP"'/identity.lua" } ]' ;;
	u)	printf '  { "name": "u", "kind": "udp_forward", "listen": "127.0.0.1:%s",\n' "$UDP_PORT"
		printf '    "target": "127.0.0.1:%s" }' "$ECHO_PORT"
		return ;;
	esac
	printf '  { "name": "%s", "kind": "forward", "listen": "127.0.0.1:%s",\n' "$1" "$port"
	printf '    "target": "127.0.0.1:%s"%s }' "$SINK_PORT" "$taps"
}

# sluice_conf NAME...: a config with those listeners; prints its path.
sluice_conf() {
	local conf=$TMP/sluiced.json n sep=
	{
		printf '{ "listeners": [\n'
		for n in "$@"; do
			printf '%s' "$sep"
			sep=$',\n'
			sluice_listener "$n"
		done
		printf ' ],\n  "log_level": "warning", "user": "nobody",'
		printf ' "chroot": "%s/empty",\n' "$TMP"
		printf '  "workers": %s, "max_threads": 20000, "timeout": 30 }\n' \
		    "$WORKERS"
	} > "$conf"
	echo "$conf"
}

# start_sluiced: sluiced with every listener its config check accepts.
# A listener it rejects (a tap still being written) is left out, noted,
# and its row skipped.
start_sluiced() {
	local want="fwd fwdlog fwdlua u" n ok= conf log=$TMP/sluiced.log i
	printf 'function handle(data, info) return data end\n' \
	    > "$TMP/identity.lua"
	chmod 644 "$TMP/identity.lua"
	for n in $want; do
		conf=$(sluice_conf $ok $n)
		if "$SLUICED" -t -c "$conf" > "$TMP/check-$n.log" 2>&1; then
			ok="$ok $n"
		else
			say "$PROG: sluiced -t rejects listener $n: $(tail -n 1 "$TMP/check-$n.log")"
			NOTES="$NOTES  sluiced: listener $n rejected by sluiced -t ($(tail -n 1 "$TMP/check-$n.log")); its row skipped
"
		fi
	done
	[ -n "$ok" ] || { FAILED=1; say "$PROG: no sluiced listener"; return 1; }
	conf=$(sluice_conf $ok)
	"$SLUICED" -c "$conf" 2>> "$log" &
	DAEMON_PID=$!
	SLUICE_ROWS=
	for n in $ok; do
		case $n in
		fwd) i=$FWD_PORT ;; fwdlog) i=$LOG_PORT ;; fwdlua) i=$LUA_PORT ;;
		u) i=$UDP_PORT ;;
		esac
		if { [ "$n" = u ] && udp_probe "$i"; } ||
		    { [ "$n" != u ] && timeout -k 5 20 "$SLBENCH" probe -t "$i" \
		    -T 15 >/dev/null 2>&1; }; then
			SLUICE_ROWS="$SLUICE_ROWS $n"
		else
			FAILED=1
			say "$PROG: sluiced listener $n does not answer; its row skipped"
			NOTES="$NOTES  sluiced: listener $n did not answer; its row skipped
"
		fi
	done
	if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
		FAILED=1
		say "$PROG: sluiced did not come up; its log:"
		tail -n 20 "$log" >&2
		DAEMON_PID=
		return 1
	fi
	find_kids
	WORKER_PIDS=
	for i in $DAEMON_KIDS; do
		tr '\0' ' ' < "/proc/$i/cmdline" 2>/dev/null |
		    grep -q -- '-P worker' && WORKER_PIDS="$WORKER_PIDS $i"
	done
	say "sluiced pid $DAEMON_PID, children:" $DAEMON_KIDS "(workers:$WORKER_PIDS); rows:$SLUICE_ROWS"
}

# udp_probe PORT: 20 datagrams echoed through PORT within 10 s.
udp_probe() {
	timeout -k 5 15 "$UDP_BENCH" -t "$1" -n 20 -T 10 -s 100 -w 1 \
	    2>/dev/null | grep -q '^RESULT .* dgrams=20 '
}

start_haproxy() {
	local conf=$TMP/haproxy.cfg
	take_port HAP_PORT
	cat > "$conf" <<EOF
global
	nbthread $WORKERS
	maxconn 8000
defaults
	mode tcp
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend fwd
	bind 127.0.0.1:$HAP_PORT
	default_backend bk
backend bk
	server s1 127.0.0.1:$SINK_PORT
EOF
	"$HAPROXY" -c -q -f "$conf" >&2 || fail "haproxy -c rejects $conf"
	"$HAPROXY" -f "$conf" -db > "$TMP/haproxy.log" 2>&1 &
	HAP_PID=$!
	if ! timeout -k 5 20 "$SLBENCH" probe -t "$HAP_PORT" -T 15 \
	    >/dev/null 2>&1 || ! kill -0 "$HAP_PID" 2>/dev/null; then
		FAILED=1
		say "$PROG: haproxy did not come up; its log:"
		tail -n 20 "$TMP/haproxy.log" >&2
		stop_tree "$HAP_PID"
		HAP_PID=
	fi
}

# socat as issue 11 compares it, bound to loopback; TCP with a listen
# backlog of 128 (its default, 5, drops SYNs at 50 in flight and the cps
# figure would then measure SYN retransmits).
start_socat() {
	take_port SOCAT_PORT
	take_port SOCATU_PORT
	"$SOCAT" "TCP-LISTEN:$SOCAT_PORT,fork,reuseaddr,bind=127.0.0.1,backlog=128" \
	    "TCP:127.0.0.1:$SINK_PORT" > "$TMP/socat.log" 2>&1 &
	SOCAT_PID=$!
	"$SOCAT" -T 60 "UDP-LISTEN:$SOCATU_PORT,fork,reuseaddr,bind=127.0.0.1" \
	    "UDP:127.0.0.1:$ECHO_PORT" > "$TMP/socatu.log" 2>&1 &
	SOCATU_PID=$!
	if ! timeout -k 5 20 "$SLBENCH" probe -t "$SOCAT_PORT" -T 15 \
	    >/dev/null 2>&1; then
		FAILED=1
		say "$PROG: socat TCP does not answer"
		stop_tree "$SOCAT_PID"
		SOCAT_PID=
	fi
	if ! udp_probe "$SOCATU_PORT"; then
		FAILED=1
		say "$PROG: socat UDP does not answer"
		stop_tree "$SOCATU_PID"
		SOCATU_PID=
	fi
}

# ---------------------------------------------------------------- runs
# row_proc ROW: "PORT PID" of a row (PID - for direct).
row_proc() {
	case $1 in
	direct)	echo "$SINK_PORT -" ;;
	fwd)	echo "$FWD_PORT $DAEMON_PID" ;;
	fwdlog)	echo "$LOG_PORT $DAEMON_PID" ;;
	fwdlua)	echo "$LUA_PORT $DAEMON_PID" ;;
	haproxy) echo "$HAP_PORT $HAP_PID" ;;
	socat)	echo "$SOCAT_PORT $SOCAT_PID" ;;
	udp-direct) echo "$ECHO_PORT -" ;;
	udp_forward) echo "$UDP_PORT $DAEMON_PID" ;;
	socat-udp) echo "$SOCATU_PORT $SOCATU_PID" ;;
	esac
}

# measure ROW CMD...: run the client CMD under timeout (a RESULT line
# wanted), with the CPU of ROW's proxy tree and, for sluiced, of its
# workers alone over the same wall time, added to the RESULT line.
measure() {
	local row=$1 pid out rc t0 t1 c0=0 c1=0 w0=0 w1=0 pids= extra
	shift
	pid=$(row_proc "$row" | cut -d' ' -f2)
	say "--- $row (round $REP): ${*##*/}"
	[ "$pid" != - ] && pids=$(tree_pids "$pid")
	[ -n "$pids" ] && c0=$(cpu_ticks $pids)
	[ "$pid" = "$DAEMON_PID" ] && w0=$(cpu_ticks $WORKER_PIDS)
	t0=$(date +%s.%N)
	out=$(timeout -k 5 $((DURATION + 30)) "$@" 2>&1)
	rc=$?
	t1=$(date +%s.%N)
	[ -n "$pids" ] && c1=$(cpu_ticks $(tree_pids "$pid"))
	[ "$pid" = "$DAEMON_PID" ] && w1=$(cpu_ticks $WORKER_PIDS)
	printf '%s\n' "$out" | grep -v '^RESULT ' >&2
	extra=$(awk -v a="$t0" -v b="$t1" -v c=$((c1 - c0)) -v w=$((w1 - w0)) \
	    -v hz="$HZ" -v p="$pid" 'BEGIN { printf " wall_s=%.3f", b - a
		if (p != "-") printf " pcpu_s=%.3f wcpu_s=%.3f", c / hz, w / hz }')
	if printf '%s\n' "$out" | grep -q '^RESULT '; then
		RESULTS="$RESULTS$(printf '%s\n' "$out" | grep '^RESULT ' |
		    head -n 1) row=$row rep=$REP$extra
"
	else
		FAILED=1
		say "$PROG: $row: no result (exit $rc)"
	fi
}

round() {
	local row dir port size
	for dir in $DIRS; do
		for row in $ROWS_TCP; do
			port=$(row_proc "$row" | cut -d' ' -f1)
			measure "$row" "$SLBENCH" tput -t "$port" -n "$STREAMS" \
			    -T "$DURATION" -d "$dir" -S "$SERVER_PID" -L "$row"
		done
	done
	for row in $ROWS_TCP; do
		port=$(row_proc "$row" | cut -d' ' -f1)
		measure "$row" "$SLBENCH" cps -t "$port" -c "$CONC" -n 1000000 \
		    -T "$DURATION" -S "$SERVER_PID" -L "$row"
	done
	for size in $UDP_SIZES; do
		for row in $ROWS_UDP; do
			port=$(row_proc "$row" | cut -d' ' -f1)
			measure "$row" "$UDP_BENCH" -t "$port" -L "$row" \
			    -n 100000000 -T "$DURATION" -s "$size" -w "$UDP_WINDOW"
		done
	done
}

# ---------------------------------------------------------------- tables
TABLE_AWK='
	function med(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n == 0 ? 0 : (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
	}
	function span(s, fmt,   a, n, i, lo, hi) {
		n = split(s, a, " "); lo = hi = a[1]
		for (i = 2; i <= n; i++) { if (a[i] + 0 < lo + 0) lo = a[i]; if (a[i] + 0 > hi + 0) hi = a[i] }
		return sprintf("(" fmt ".." fmt ")", lo, hi)
	}
	function add(k, v) { V[k] = V[k] " " v }
	function seen(kind, key, row) {
		if (!((kind, key, row) in S)) { S[kind, key, row] = 1; O[kind, key] = O[kind, key] " " row }
		if (!((kind, key) in SK)) { SK[kind, key] = 1; K[kind] = K[kind] " " key }
	}
	function other(   o) {
		o = F["host_busy_pct"] - F["softirq_pct"] - F["client_cpu_pct"] - F["server_cpu_pct"] - pp
		return o < 0 ? 0 : o
	}
	{ kv($0); r = F["row"]; hasp = ("pcpu_s" in F); pp = hasp && F["wall_s"] > 0 ? 100 * F["pcpu_s"] / F["wall_s"] : 0 }
	F["test"] == "tput" { k = F["dir"]; seen("t", k, r); n[k, r]++
		add("g" SUBSEP k SUBSEP r, F["gbps"]); add("o" SUBSEP k SUBSEP r, other())
		if (F["approx"] > 0) approx[k, r] = 1
		if (hasp) { add("p" SUBSEP k SUBSEP r, pp); add("sg" SUBSEP k SUBSEP r, F["bytes"] > 0 ? F["pcpu_s"] / (F["bytes"] / 1e9) : 0)
			add("w" SUBSEP k SUBSEP r, F["bytes"] > 0 ? 1000 * F["wcpu_s"] / (F["bytes"] / 1048576) : 0) } }
	F["test"] == "cps" { k = "c"; seen("c", k, r); n[k, r]++; conc = F["conc"]
		add("g" SUBSEP k SUBSEP r, F["cps"]); add("o" SUBSEP k SUBSEP r, other())
		add("p50" SUBSEP r, F["p50_ms"]); add("p99" SUBSEP r, F["p99_ms"])
		f = F["fail"] - conc; fails[r] += f > 0 ? f : 0
		if (hasp) { add("p" SUBSEP k SUBSEP r, pp); add("us" SUBSEP r, F["ok"] > 0 ? 1e6 * F["pcpu_s"] / F["ok"] : 0) } }
	F["test"] == "" && ("dgrams" in F) { k = F["size"]; seen("u", k, r); n[k, r]++
		add("g" SUBSEP k SUBSEP r, F["dps"]); add("mb" SUBSEP k SUBSEP r, F["mbps"]); lost[k, r] += F["lost"]
		if (hasp) { add("p" SUBSEP k SUBSEP r, pp); add("us" SUBSEP k SUBSEP r, F["dgrams"] > 0 ? 1e6 * F["pcpu_s"] / F["dgrams"] : 0) } }
	function pcol(k, r, fmt) { return (("p" SUBSEP k SUBSEP r) in V) ? sprintf(fmt, med(V["p" SUBSEP k SUBSEP r])) : "-" }
	function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
	END {
		nk = split(substr(K["t"], 2), ks, " ")
		for (i = 1; i <= nk; i++) { k = ks[i]
			printf "TCP throughput, %s, %d streams, 256 KiB writes: medians of the rounds\n", k == "up" ? "upload (client to sink)" : "download (source to client)", '"$STREAMS"'
			printf "  %-8s %6s %7s %17s %7s %9s %7s %9s\n", "path", "rounds", "Gbit/s", "(min..max)", "proxy%", "proxys/GB", "other%", "wk ms/MiB"
			nr = split(substr(O["t", k], 2), rs, " ")
			for (j = 1; j <= nr; j++) { r = rs[j]; G[k, r] = med(V["g" SUBSEP k SUBSEP r])
				printf "  %-8s %6d %7.2f %17s %7s %9s %7.0f %9s%s\n", r, n[k, r], G[k, r], span(V["g" SUBSEP k SUBSEP r], "%.2f"),
				    pcol(k, r, "%.0f"), (("sg" SUBSEP k SUBSEP r) in V) ? sprintf("%.2f", med(V["sg" SUBSEP k SUBSEP r])) : "-",
				    med(V["o" SUBSEP k SUBSEP r]), r ~ /^fwd/ ? sprintf("%.2f", med(V["w" SUBSEP k SUBSEP r])) : "-",
				    approx[k, r] ? "  (upper bound: half-close not kept)" : "" }
			printf "  fwd / haproxy = %s, fwd / socat = %s, fwdlog / haproxy = %s\n\n", ratio(G[k, "fwd"], G[k, "haproxy"]), ratio(G[k, "fwd"], G[k, "socat"]), ratio(G[k, "fwdlog"], G[k, "haproxy"])
		}
		if (K["c"] != "") {
			printf "Connections per second, %s in flight; cycle: connect, 32-byte request, 32-byte echo, close; medians of the rounds\n", conc
			printf "  %-8s %6s %8s %17s %8s %8s %7s %9s %7s %5s\n", "path", "rounds", "conn/s", "(min..max)", "p50 ms", "p99 ms", "proxy%", "proxyus/c", "other%", "fail"
			nr = split(substr(O["c", "c"], 2), rs, " ")
			for (j = 1; j <= nr; j++) { r = rs[j]; C[r] = med(V["g" SUBSEP "c" SUBSEP r])
				printf "  %-8s %6d %8.0f %17s %8.3f %8.3f %7s %9s %7.0f %5d\n", r, n["c", r], C[r], span(V["g" SUBSEP "c" SUBSEP r], "%.0f"),
				    med(V["p50" SUBSEP r]), med(V["p99" SUBSEP r]), pcol("c", r, "%.0f"),
				    (("us" SUBSEP r) in V) ? sprintf("%.1f", med(V["us" SUBSEP r])) : "-", med(V["o" SUBSEP "c" SUBSEP r]), fails[r] }
			printf "  fwd / haproxy = %s, fwd / socat = %s, fwdlog / haproxy = %s\n\n", ratio(C["fwd"], C["haproxy"]), ratio(C["fwd"], C["socat"]), ratio(C["fwdlog"], C["haproxy"])
		}
		nk = split(substr(K["u"], 2), ks, " ")
		for (i = 1; i <= nk; i++) { k = ks[i]
			printf "UDP, %s-byte datagrams, %d in flight, echoed: medians of the rounds (lost: sum over the rounds)\n", k, '"$UDP_WINDOW"'
			printf "  %-11s %6s %9s %19s %8s %7s %7s %9s\n", "path", "rounds", "dgrams/s", "(min..max)", "Mbit/s", "lost", "proxy%", "proxyus/d"
			nr = split(substr(O["u", k], 2), rs, " ")
			for (j = 1; j <= nr; j++) { r = rs[j]; D[k, r] = med(V["g" SUBSEP k SUBSEP r])
				printf "  %-11s %6d %9.0f %19s %8.1f %7d %7s %9s\n", r, n[k, r], D[k, r], span(V["g" SUBSEP k SUBSEP r], "%.0f"),
				    med(V["mb" SUBSEP k SUBSEP r]), lost[k, r], pcol(k, r, "%.0f"),
				    (("us" SUBSEP k SUBSEP r) in V) ? sprintf("%.1f", med(V["us" SUBSEP k SUBSEP r])) : "-" }
			printf "  udp_forward / socat = %s, udp_forward / direct = %s\n\n", ratio(D[k, "udp_forward"], D[k, "socat-udp"]), ratio(D[k, "udp_forward"], D[k, "udp-direct"])
		}
		nk = split(substr(K["t"], 2), ks, " ")
		print "Lua tap cost: CPU of the 2 workers per MiB relayed (ms/MiB, /proc/PID/stat, medians of the tput rounds)"
		printf "  %-5s %9s %9s %9s %12s %12s\n", "dir", "fwd", "fwdlog", "fwdlua", "lua - fwd", "lua - log"
		for (i = 1; i <= nk; i++) { k = ks[i]
			a = ("w" SUBSEP k SUBSEP "fwd") in V ? med(V["w" SUBSEP k SUBSEP "fwd"]) : -1
			b = ("w" SUBSEP k SUBSEP "fwdlog") in V ? med(V["w" SUBSEP k SUBSEP "fwdlog"]) : -1
			c = ("w" SUBSEP k SUBSEP "fwdlua") in V ? med(V["w" SUBSEP k SUBSEP "fwdlua"]) : -1
			printf "  %-5s %9s %9s %9s %12s %12s\n", k, a < 0 ? "-" : sprintf("%.2f", a), b < 0 ? "-" : sprintf("%.2f", b),
			    c < 0 ? "-" : sprintf("%.2f", c), a < 0 || c < 0 ? "-" : sprintf("%.2f", c - a), b < 0 || c < 0 ? "-" : sprintf("%.2f", c - b) }
	}'

tables() {
	awk "$KV_AWK$TABLE_AWK"
}

# ---------------------------------------------------------------- main
need_root
build
find_peer HAPROXY haproxy
find_peer SOCAT socat
make_tmp forward-bench
mkdir -p "$RESDIR"
start_sinks
say "sink pid $SERVER_PID on 127.0.0.1:$SINK_PORT, UDP echo pid $ECHO_PID on 127.0.0.1:$ECHO_PORT"
for v in FWD_PORT LOG_PORT LUA_PORT UDP_PORT; do
	take_port "$v"
done
SLUICE_ROWS=
start_sluiced
[ -n "$HAPROXY" ] && start_haproxy
[ -n "$SOCAT" ] && start_socat
ROWS_TCP=direct
ROWS_UDP=udp-direct
for r in fwd fwdlog fwdlua; do
	case " $SLUICE_ROWS " in *" $r "*) ROWS_TCP="$ROWS_TCP $r" ;; esac
done
[ -n "$HAP_PID" ] && ROWS_TCP="$ROWS_TCP haproxy"
[ -n "$SOCAT_PID" ] && ROWS_TCP="$ROWS_TCP socat"
case " $SLUICE_ROWS " in *" u "*) ROWS_UDP="$ROWS_UDP udp_forward" ;; esac
[ -n "$SOCATU_PID" ] && ROWS_UDP="$ROWS_UDP socat-udp"
say "TCP rows: $ROWS_TCP; UDP rows: $ROWS_UDP"
HAP_VERSION=$([ -n "$HAPROXY" ] && "$HAPROXY" -v 2>/dev/null | head -n 1)
SOCAT_VERSION=$([ -n "$SOCAT" ] && "$SOCAT" -V 2>/dev/null | sed -n 's/^socat version \([^ ]*\).*/\1/p')
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)

for REP in $(seq 1 "$REPS"); do
	round
done
for v in DAEMON_PID HAP_PID SOCAT_PID SOCATU_PID; do
	if [ -n "${!v}" ] && ! kill -0 "${!v}" 2>/dev/null; then
		FAILED=1
		say "$PROG: a proxy ($v ${!v}) died during the runs"
	fi
done

{
	echo "sluice forwarding bench, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), git $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')"
	echo "host: $(uname -sr), $(nproc) cores, loadavg before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "sluiced: $SLUICED, workers=$WORKERS; haproxy: ${HAP_VERSION:-not run}, nbthread $WORKERS; socat ${SOCAT_VERSION:-not run}"
	echo "params: DURATION=$DURATION REPS=$REPS STREAMS=$STREAMS DIRS=\"$DIRS\" CONC=$CONC UDP_SIZES=\"$UDP_SIZES\" UDP_WINDOW=$UDP_WINDOW; took $(( $(date +%s) - START )) s"
	[ -n "$NOTES" ] && printf 'notes:\n%s' "$NOTES"
	echo
	printf '%s' "$RESULTS" | tables
	echo
	echo "raw:"
	printf '%s' "$RESULTS"
} > "$RESDIR/forward_latest.txt"
cat "$RESDIR/forward_latest.txt"
[ "$FAILED" = 0 ] || say "$PROG: some runs failed; see above"
exit "$FAILED"
