#!/bin/bash
# bench/ops_bench.sh: what operations cost a running sluiced (see
# bench/README.md, ops_bench.sh).  Three figures, one daemon:
#
#   1. connections per second with no reload, then while `sluicectl
#      reload` runs every second (same run, same daemon); failures must
#      stay 0 with reloads
#   2. time from a reload request to the new generation serving:
#      `sluicectl reload` wall time, and SIGHUP to the log's "generation N
#      serves" line; plus the log's "reloading" .. "serves" span
#   3. the master's and the workers' CPU while `sluicectl --json sessions`
#      lists 10,000 held idle sessions
#
# Usage (root):   bench/ops_bench.sh            # about 2 minutes
#                 QUICK=1 bench/ops_bench.sh    # about 1 minute
#                 SLUICED=/path/to/sluiced bench/ops_bench.sh
# Loopback only; everything it starts is stopped by pid at the end.
#
# Settings (environment):
#   BUILD       release build directory [/tmp/build-bench]
#   SLUICED     sluiced binary [$BUILD/sluiced]; sluicectl and slbench are
#               taken next to it (SLUICECTL, SLBENCH to override)
#   CPS_N       connections per cps run [60000; QUICK 25000]
#   CONC        connections in flight [50]
#   RELOAD_N    reloads timed, each way [20; QUICK 5]
#   HOLD_N      idle sessions held for the listing [10000; QUICK 2000]
#   LISTS       full listings timed [5; QUICK 2]
#   PROXY_PORT  first port tried for sluiced [21180]
#   KEEP        1: keep the temp directory (configs, logs)

PROG=ops_bench.sh
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-/tmp/build-bench}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	CPS_N=${CPS_N:-25000}
	RELOAD_N=${RELOAD_N:-5}
	HOLD_N=${HOLD_N:-2000}
	LISTS=${LISTS:-2}
else
	CPS_N=${CPS_N:-60000}
	RELOAD_N=${RELOAD_N:-20}
	HOLD_N=${HOLD_N:-10000}
	LISTS=${LISTS:-5}
fi
CONC=${CONC:-50}
PROXY_PORT=${PROXY_PORT:-21180}
RESDIR=${RESDIR:-$ROOT/bench/results}
WORKERS=2
FAILED=0
TMP=
SERVER_PID=
DAEMON_PID=
HOLD_PID=
LOOP_PID=
RESULTS=

. "$ROOT/bench/lib.sh"

# ---------------------------------------------------------------- setup
build_all() {
	if [ -z "${SLUICED:-}" ]; then
		meson_setup
		ninja -C "$BUILD" sluiced sluicectl bench/slbench >&2 ||
		    fail "building in $BUILD failed"
		SLUICED=$BUILD/sluiced
	fi
	[ -x "$SLUICED" ] || fail "SLUICED=$SLUICED is not executable"
	SLUICECTL=${SLUICECTL:-$(dirname "$SLUICED")/sluicectl}
	SLBENCH=${SLBENCH:-$(dirname "$SLUICED")/bench/slbench}
	[ -x "$SLUICECTL" ] || fail "no sluicectl at $SLUICECTL"
	[ -x "$SLBENCH" ] || fail "no slbench at $SLBENCH"
	# shellcheck disable=SC2034 # find_kids (lib.sh) runs it
	MEM_TOOL=$SLBENCH
}

cleanup() {
	[ -n "$TMP" ] && touch "$TMP/stop-reloads" 2>/dev/null
	[ -n "$LOOP_PID" ] && stop_pid "$LOOP_PID" 400
	[ -n "$HOLD_PID" ] && stop_pid "$HOLD_PID"
	stop_daemon
	[ -n "$SERVER_PID" ] && stop_pid "$SERVER_PID"
	remove_tmp
}

# write_conf LEVEL: the one config, with log_level LEVEL ("info" makes
# the master log its reload lines; "warn" keeps the session lines of the
# load out of the log).
write_conf() {
	cat > "$CONF" <<EOF
{"listeners":[{"name":"socks","kind":"socks5","listen":"127.0.0.1:$PROXY_PORT"}],
 "workers":$WORKERS,"user":"nobody","chroot":"$TMP/empty","log_level":"$1",
 "control":"$SOCK","shutdown_timeout":10,
 "max_threads":20000,"max_handshakes":20000,"idle_timeout":600,"timeout":30,
 "balancer":{"links":[{"name":"direct"}]}}
EOF
}

ctl() {
	"$SLUICECTL" -s "$SOCK" "$@"
}

# status_field EXPR: a Python expression over the status result `s`.
status_field() {
	ctl --json status 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
print('"$1"')'
}

# Wait (up to 20 s) until only the current generation's processes are
# left, so the old ones neither run nor count.
wait_drained() {
	local i n
	for i in $(seq 1 100); do
		n=$(status_field 'sum(1 for p in s["processes"] if p["generation"] != s["generation"])')
		[ "$n" = 0 ] && return 0
		sleep 0.2
	done
	say "$PROG: old generations still alive after 20 s"
}

# CPU ticks (utime + stime, no reaped children: lib.sh's cpu_ticks counts
# those) of the given pids; comm may hold spaces, so
# the fields are counted after its closing parenthesis.
self_ticks() {
	local pid sum=0 t
	for pid in "$@"; do
		t=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null |
		    awk '{ print $12 + $13 }')
		sum=$((sum + ${t:-0}))
	done
	echo "$sum"
}

# CPU ticks of the master and every live descendant, each with its
# reaped children (cutime + cstime): workers of a generation that is gone
# are then still counted, in the master's cutime, so the difference over
# a run with reloads is the whole tree's CPU.
tree_ticks() {
	local pids=$1 kids=$1 next pid
	while [ -n "$kids" ]; do
		next=
		for pid in $kids; do
			next="$next $(ps -o pid= --ppid "$pid")"
		done
		kids=$(echo $next)
		pids="$pids $kids"
	done
	for pid in $pids; do
		sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null
	done | awk '{ s += $12 + $13 + $14 + $15 } END { print s + 0 }'
}

# "busy total" jiffies of the whole machine, from /proc/stat; busy_pct
# "A" "B" (unquoted: 4 words) turns two of them into CPU busy over the interval, in % of one
# core (200% is the whole 2-core machine), sluice and the load included.
host_jiffies() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat
}

busy_pct() {
	echo "$*" | awk -v n="$(nproc)" '{ d = $4 - $2
		printf "%.0f", (d > 0 ? 100 * n * ($3 - $1) / d : 0) }'
}

# CPU ticks of this shell's reaped children (cutime + cstime), read with
# builtins only: no fork of ours is counted, so the difference around one
# command run in this shell is that command's CPU.
child_ticks() {
	local line f
	read -r line < "/proc/$$/stat"
	line=${line##*) }
	read -r -a f <<< "$line"
	CHILD_TICKS=$((f[13] + f[14]))
}

# Microseconds since the epoch, from bash's clock (no fork).
now_us() {
	local t=${EPOCHREALTIME/./}
	echo "$((10#$t))"
}

# ---------------------------------------------------------------- 1: cps
reload_loop() {
	local t0 t1 rc
	while :; do
		sleep 1
		[ -e "$TMP/stop-reloads" ] && break
		t0=$(now_us)
		ctl -t 30 reload > /dev/null 2>> "$TMP/reload-loop.err"
		rc=$?
		t1=$(now_us)
		echo "$rc $(( (t1 - t0) / 1000 ))" >> "$TMP/reload-loop.txt"
	done
}

# cps_run LABEL: one count-limited cps run (so every failure is a real
# one: none is an in-flight connection cut by a time limit).
cps_run() {
	local out=$TMP/cps-$1.out gen0 gen1 nrel=0 nfail=0 c0 c1 hz
	hz=$(getconf CLK_TCK)
	gen0=$(status_field 's["generation"]')
	if [ "$1" = reloads ]; then
		rm -f "$TMP/stop-reloads" "$TMP/reload-loop.txt"
		reload_loop &
		LOOP_PID=$!
	fi
	c0=$(tree_ticks "$DAEMON_PID")
	timeout 300 "$SLBENCH" cps -s "$PROXY_PORT" -t "$SERVER_PORT" \
	    -c "$CONC" -n "$CPS_N" -T 240 -m "$DAEMON_PID" \
	    -S "$SERVER_PID" -L "$1" > "$out" 2>&1
	c1=$(tree_ticks "$DAEMON_PID")
	if [ -n "$LOOP_PID" ]; then
		touch "$TMP/stop-reloads"
		wait "$LOOP_PID"
		LOOP_PID=
		nrel=$(wc -l < "$TMP/reload-loop.txt")
		nfail=$(awk '$1 != 0' "$TMP/reload-loop.txt" | wc -l)
	fi
	gen1=$(status_field 's["generation"]')
	grep -v '^RESULT' "$out" >&2
	if ! grep -q '^RESULT ' "$out"; then
		FAILED=1
		say "$PROG: cps $1 gave no result"
		return
	fi
	RESULTS="$RESULTS$(grep '^RESULT ' "$out" | head -n 1) reloads=$nrel reload_fail=$nfail gen0=$gen0 gen1=$gen1 tree_cpu_ms=$(( (c1 - c0) * 1000 / hz ))
"
	say "cps $1: $nrel reloads ($nfail refused), generation $gen0 -> $gen1"
}

# ---------------------------------------------------------------- 2: reload time
# The log's "reloading" and "generation N serves" lines after line $1, as
# "reloading_ms serves_ms" pairs (ms since the epoch).
log_pairs() {
	tail -n +"$(($1 + 1))" "$LOG" | python3 -c '
import re, sys, datetime
start = None
for line in sys.stdin:
	m = re.search(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z", line)
	if not m:
		continue
	t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f")
	ms = (t.replace(tzinfo=datetime.timezone.utc).timestamp()) * 1000
	if " reloading " in line or "\"reloading " in line:
		start = ms
	elif re.search(r"generation \d+ serves", line) and start is not None:
		print("%.0f %.0f" % (start, ms))
		start = None'
}

reload_times() {
	local i t0 t1 l0 n want j0 j1
	write_conf info
	ctl reload > /dev/null || fail "reload to log_level info refused"
	wait_drained
	# sluicectl reload: answers once the new generation serves.
	j0=$(host_jiffies)
	l0=$(wc -l < "$LOG")
	for i in $(seq 1 "$RELOAD_N"); do
		t0=$(now_us)
		if ! ctl -t 30 reload > /dev/null; then
			FAILED=1
			say "$PROG: sluicectl reload $i failed"
		fi
		t1=$(now_us)
		echo "$(( (t1 - t0) / 1000 ))" >> "$TMP/ctl-reload.txt"
		sleep 0.3
	done
	sleep 0.5
	log_pairs "$l0" > "$TMP/ctl-pairs.txt"
	# SIGHUP: sent at t0 (realtime, ms), served at the log's serves line.
	wait_drained
	l0=$(wc -l < "$LOG")
	# The log gives the time served, so nothing runs during the reload:
	# polling for it (the control socket, or even grep every 20 ms) made
	# the reload 15-20 ms slower on 2 cores.  Sleep, then check it served.
	for i in $(seq 1 "$RELOAD_N"); do
		want=$(( $(grep -c 'generation [0-9]* serves' "$LOG") + 1 ))
		t0=$(now_us)
		kill -HUP "$DAEMON_PID"
		sleep 0.5
		for n in $(seq 1 150); do
			[ "$(grep -c 'generation [0-9]* serves' "$LOG")" -ge "$want" ] && break
			sleep 0.1
		done
		echo "$((t0 / 1000))" >> "$TMP/hup-sent.txt"
	done
	sleep 0.5
	log_pairs "$l0" > "$TMP/hup-pairs.txt"
	j1=$(host_jiffies)
	write_conf warn
	ctl reload > /dev/null || fail "reload to log_level warn refused"
	wait_drained
	RESULTS="${RESULTS}RESULT test=reload_ctl $(stats ms < "$TMP/ctl-reload.txt")
RESULT test=reload_ctl_log $(awk '{ print $2 - $1 }' "$TMP/ctl-pairs.txt" | stats ms)
RESULT test=reload_hup $(paste -d' ' "$TMP/hup-sent.txt" "$TMP/hup-pairs.txt" | awk 'NF == 3 { print $3 - $1 }' | stats ms)
RESULT test=reload_hup_log $(awk '{ print $2 - $1 }' "$TMP/hup-pairs.txt" | stats ms)
RESULT test=reload_busy host_busy_pct=$(busy_pct $j0 $j1)
"
}

# stats UNIT: n, median and max of the numbers on stdin.
stats() {
	sort -n | awk -v u="$1" '{ a[++n] = $1 } END {
		if (n == 0) { print "n=0"; exit }
		m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		printf "n=%d median_%s=%.1f max_%s=%.1f min_%s=%.1f\n", n, u, m, u, a[n], u, a[1] }'
}

# ---------------------------------------------------------------- 3: listing
list_cost() {
	local i t0 t1 m0 m1 w0 w1 c0 held workers hz rows sess j0 j1
	hz=$(getconf CLK_TCK)
	: > "$TMP/hold.out"
	"$SLBENCH" hold -s "$PROXY_PORT" -t "$SERVER_PORT" -m "$DAEMON_PID" \
	    -n "$HOLD_N" -c 200 -T 120 -w 600 -L ops > "$TMP/hold.out" 2>&1 &
	HOLD_PID=$!
	for i in $(seq 1 1800); do
		grep -q 'opened .* sessions' "$TMP/hold.out" && break
		kill -0 "$HOLD_PID" 2>/dev/null || break
		sleep 0.1
	done
	held=$(sed -n 's/.*opened \([0-9]*\) sessions.*/\1/p' "$TMP/hold.out")
	if [ -z "$held" ]; then
		FAILED=1
		say "$PROG: hold did not open its sessions:"
		cat "$TMP/hold.out" >&2
		return
	fi
	for i in $(seq 1 100); do
		sess=$(status_field 's["sessions"]')
		[ "${sess:-0}" -ge "$held" ] && break
		sleep 0.1
	done
	say "held $held of $HOLD_N sessions; sluiced counts $sess"
	workers=$(status_field '" ".join(str(p["pid"]) for p in s["processes"] if p["role"] == "worker" and p["generation"] == s["generation"])')
	# The master at rest with the sessions held, as a baseline.
	m0=$(self_ticks "$DAEMON_PID"); w0=$(self_ticks $workers)
	sleep 2
	m1=$(self_ticks "$DAEMON_PID"); w1=$(self_ticks $workers)
	RESULTS="${RESULTS}RESULT test=list_idle secs=2 master_ms=$(( (m1 - m0) * 1000 / hz )) workers_ms=$(( (w1 - w0) * 1000 / hz ))
"
	: > "$TMP/list.txt"
	j0=$(host_jiffies)
	for i in $(seq 1 "$LISTS"); do
		m0=$(self_ticks "$DAEMON_PID"); w0=$(self_ticks $workers)
		t0=$(now_us)
		child_ticks
		c0=$CHILD_TICKS
		ctl --json sessions > /dev/null ||
		    { FAILED=1; say "$PROG: listing $i failed"; }
		child_ticks
		t1=$(now_us)
		m1=$(self_ticks "$DAEMON_PID"); w1=$(self_ticks $workers)
		echo "$(( (t1 - t0) / 1000 )) $(( (m1 - m0) * 1000 / hz )) $(( (w1 - w0) * 1000 / hz )) $(( (CHILD_TICKS - c0) * 1000 / hz ))" >> "$TMP/list.txt"
	done
	j1=$(host_jiffies)
	rows=$(ctl --json sessions | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
	RESULTS="${RESULTS}RESULT test=list held=$held rows=$rows lists=$LISTS $(awk '{ w += $1; m += $2; k += $3; c += $4; if ($1 > mx) mx = $1 }
	    END { printf "wall_ms_avg=%.1f wall_ms_max=%d master_ms_avg=%.1f workers_ms_avg=%.1f sluicectl_ms_avg=%.1f", w / NR, mx, m / NR, k / NR, c / NR }' "$TMP/list.txt") hz=$hz host_busy_pct=$(busy_pct $j0 $j1)
"
	# The first SIGTERM ends the hold: slbench measures, closes the
	# sessions and sleeps for its settle time; a second one (stop_pid's)
	# cuts that sleep short, so it does not wait for the deadline.
	kill -TERM "$HOLD_PID" 2>/dev/null
	for i in $(seq 1 100); do
		grep -q 'sessions alive at measurement' "$TMP/hold.out" && break
		sleep 0.1
	done
	sleep 0.2
	stop_pid "$HOLD_PID" 300
	HOLD_PID=
}

# ---------------------------------------------------------------- table
table() {
	awk "$KV_AWK"'
	# Other processes: the figure of slbench counts only the live tree, which
	# a reload shrinks, so it is redone here with the whole tree.
	function other(   o) {
		o = F["host_busy_pct"] - F["softirq_pct"] - F["client_cpu_pct"] - F["server_cpu_pct"] - F["tree_cpu_ms"] / (10 * F["secs"])
		return o < 0 ? 0 : o
	}
	{ kv($0); t = F["test"] }
	t == "cps" { L[F["label"]] = sprintf("  %-8s %8.0f %8.3f %8.3f %8.2f %6d %5d %4s %7s %8.1f %7.0f", F["label"], F["cps"], F["p50_ms"], F["p99_ms"], F["max_ms"], F["ok"], F["fail"], F["reloads"], F["gen0"] "-" F["gen1"], F["ok"] > 0 ? 1000 * F["tree_cpu_ms"] / F["ok"] : 0, other()) }
	t ~ /^reload/ { R[t] = sprintf("%5d %8.1f %8.1f %8.1f", F["n"], F["median_ms"], F["min_ms"], F["max_ms"]) }
	t == "list_idle" { I = sprintf("master %d ms, workers %d ms in %d s", F["master_ms"], F["workers_ms"], F["secs"]) }
	t == "reload_busy" { RB = F["host_busy_pct"] }
	t == "list" { LB = F["host_busy_pct"]; Ls = sprintf("  %-28s %s/%s\n  %-28s %.1f (max %d)\n  %-28s %.1f\n  %-28s %.1f\n", "sessions held / rows listed", F["held"], F["rows"], "wall ms per listing", F["wall_ms_avg"], F["wall_ms_max"], "master CPU ms per listing", F["master_ms_avg"], "workers CPU ms per listing", F["workers_ms_avg"]) sprintf("  %-28s %.1f\n", "sluicectl CPU ms per listing", F["sluicectl_ms_avg"]) }
	END {
		print "1. Connections per second, '"$CONC"' in flight, '"$CPS_N"' connections per run (connect, SOCKS5, 32-byte echo, close)"
		print "  rel = reloads done during the run, gen = generation before-after; us/c = CPU of sluiced (master, children, reaped children) per connection"
		printf "  %-8s %8s %8s %8s %8s %6s %5s %4s %7s %8s %7s\n", "reloads", "conn/s", "p50 ms", "p99 ms", "max ms", "ok", "fail", "rel", "gen", "us/c", "other%"
		if ("none" in L) print L["none"]
		if ("reloads" in L) print L["reloads"]
		print ""
		print "2. Reload to the new generation serving (ms); machine busy " RB "% (200% = both cores) meanwhile"
		printf "  %-40s %5s %8s %8s %8s\n", "measure", "n", "median", "min", "max"
		printf "  %-40s %s\n", "sluicectl reload, wall time to answer", R["reload_ctl"]
		printf "  %-40s %s\n", "  its log: reloading .. serves", R["reload_ctl_log"]
		printf "  %-40s %s\n", "SIGHUP sent .. log: serves", R["reload_hup"]
		printf "  %-40s %s\n", "  its log: reloading .. serves", R["reload_hup_log"]
		print ""
		print "3. sluicectl --json sessions (all pages) with idle sessions held; machine busy " LB "% meanwhile"
		printf "%s", Ls
		printf "  %-28s %s\n", "at rest, no listing", I
	}'
}

# ---------------------------------------------------------------- main
need_root
command -v python3 > /dev/null || fail "python3 is needed"
build_all
trap cleanup EXIT
trap 'exit 130' INT TERM
make_tmp ops-bench
mkdir -p "$RESDIR"
CONF=$TMP/sluiced.json
SOCK=$TMP/ctl.sock
LOG=$TMP/sluiced.log
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)

start_server
say "slbench server pid $SERVER_PID on 127.0.0.1:$SERVER_PORT"
pick_proxy_port
write_conf warn
launch_daemon "$CONF" "$LOG" || fail "sluiced did not come up; log in $LOG"
for i in $(seq 1 50); do
	[ -S "$SOCK" ] && break
	sleep 0.1
done
say "sluiced pid $DAEMON_PID on 127.0.0.1:$PROXY_PORT, control $SOCK"

say "=== 1. cps without and with a reload every second"
cps_run none
cps_run reloads
say "=== 2. reload time ($RELOAD_N each way)"
reload_times
say "=== 3. listing $HOLD_N sessions $LISTS times"
list_cost
kill -0 "$DAEMON_PID" 2>/dev/null ||
    { FAILED=1; say "$PROG: sluiced died during the run"; }

{
	echo "sluice ops bench, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), git $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')"
	echo "host: $(uname -sr), $(nproc) cores, loadavg before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "sluiced: $SLUICED, workers=$WORKERS, shutdown_timeout 10; QUICK=$QUICK CPS_N=$CPS_N CONC=$CONC RELOAD_N=$RELOAD_N HOLD_N=$HOLD_N LISTS=$LISTS; took $(( $(date +%s) - START )) s"
	echo
	printf '%s' "$RESULTS" | table
	echo
	echo "raw:"
	printf '%s' "$RESULTS"
} > "$RESDIR/ops_latest.txt"
cat "$RESDIR/ops_latest.txt"
[ "$FAILED" = 0 ] || say "$PROG: some runs failed; see above"
exit "$FAILED"
