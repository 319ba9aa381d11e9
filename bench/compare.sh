#!/usr/bin/env bash
#
# bench/compare.sh: sluiced beside Debian's HAProxy (plain `mode tcp`),
# Dante (danted) and microsocks, and a direct path, with the same load
# generator and settings, in one command (issue 15).  See bench/README.md,
# "Side by side".
#
#   bench/compare.sh             # as root; full run, about 8-10 minutes
#   QUICK=1 bench/compare.sh     # 1 round, 2 s runs, 2,000 held; about 2 min
#
# The table, medians of REPS rounds:
#   - throughput up / down over STREAMS streams (slbench tput), Gbit/s;
#   - connections per second with CONC clients, full cycle: connect,
#     SOCKS5 greeting, CONNECT to 127.0.0.1, ECHO_BYTES echo, close
#     (slbench cps -b); HAProxy speaks no SOCKS, so its cycle is a plain
#     TCP connect and the echo; p99 latency;
#   - the same by name (SOCKS5 CONNECT to NAME, SLBENCH_HOST), SOCKS
#     targets only;
#   - memory per idle session with HOLD_N held (slbench hold: Pss summed
#     over the target's processes, with - before, divided by the held),
#     idle from the start, and again after one 32-byte echo each (-e).
# Each measurement gets a freshly started target and, when `ip netns`
# works, a network namespace of its own with the sink in it, so no run
# inherits another's TIME_WAIT sockets (Dante binds each outgoing socket
# to an ephemeral port, which TIME_WAIT uses up).
#
# Environment (defaults in brackets):
#   BUILD       build directory [/tmp/build-bench] (release, as run.sh)
#   SLUICED     use this sluiced binary instead of building one
#   HAPROXY, DANTED, MICROSOCKS  the peers' binaries [haproxy, danted,
#               microsocks]; installed with apt-get when missing unless
#               NO_INSTALL=1; without one, its column says "not run"
#   TARGETS     columns ["direct haproxy dante microsocks sluice"]
#   MEASURES    rows: tput (throughput), addr and name (connections/s by
#               address and by name), hold and echo (memory, idle from the
#               start and after one echo) ["tput addr name hold echo"]
#   DURATION    seconds per throughput or connection run [5; QUICK: 2]
#   REPS        rounds, medians reported [3; QUICK: 1]
#   STREAMS     streams for throughput [8]
#   CONC        clients in flight for connections/s [50]
#   ECHO_BYTES  request and echo size of a connection [64]
#   NAME        the name asked for by name [localhost]
#   HOLD_N      idle sessions held for memory [9500; QUICK: 2000]
#   NETNS       1: a namespace per run, 0: the host's loopback [1 when
#               `ip netns add` works]
#   PROXY_PORT  first port tried without namespaces [23080]
#   KEEP=1      keep the temporary directory (configs, logs)
#
# Writes the table to stdout and to bench/results/compare-latest.txt.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROG=compare.sh
. "$ROOT/bench/lib.sh"
BUILD=${BUILD:-/tmp/build-bench}
if [ "${QUICK:-0}" = 1 ]; then
	DURATION=${DURATION:-2}
	REPS=${REPS:-1}
	HOLD_N=${HOLD_N:-2000}
else
	DURATION=${DURATION:-5}
	REPS=${REPS:-3}
	HOLD_N=${HOLD_N:-9500}
fi
TARGETS=${TARGETS:-direct haproxy dante microsocks sluice}
MEASURES=${MEASURES:-tput addr name hold echo}
STREAMS=${STREAMS:-8}
CONC=${CONC:-50}
ECHO_BYTES=${ECHO_BYTES:-64}
NAME=${NAME:-localhost}
PROXY_PORT=${PROXY_PORT:-23080}
HAPROXY=${HAPROXY:-haproxy}
DANTED=${DANTED:-danted}
MICROSOCKS=${MICROSOCKS:-microsocks}
WORKERS=2
HZ=$(getconf CLK_TCK)
NS_PORT=1080		# the target's port inside a namespace
NS_RANGE="10000 65535"	# ephemeral ports inside a namespace

RESDIR=$ROOT/bench/results
TMP=
FAILED=0
NOTES=
RESULTS=
RUN=()			# prefix that runs a command in the instance's netns
NS=
NS_SEQ=0
SERVER_PID=
SERVER_PORT=
TPID=			# the target's root process
TPORT=
DAEMON_PID=		# lib.sh's name, for sluiced
DAEMON_KIDS=

# ---------------------------------------------------------------- processes
# stop_tree PID COMM [TENTHS]: stop a target we started (SIGTERM, up to
# TENTHS tenths of a second, SIGKILL), then any descendant named COMM
# (Dante's children, sluiced's) that outlives it.
stop_tree() {
	local root=$1 comm=$2 n=${3:-50} kids p i
	[ -n "$root" ] || return 0
	kids=$(tree_pids "$root" | grep -vx "$root")
	stop_pid "$root" "$n" || say "$PROG: $comm $root ignored SIGTERM; killed"
	for p in $kids; do
		for i in $(seq 1 30); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$p" 2>/dev/null &&
		    grep -q "^$comm" "/proc/$p/comm" 2>/dev/null; then
			say "$PROG: child $p of $comm outlived it; SIGKILL"
			kill -KILL "$p" 2>/dev/null
		fi
	done
}

# ---------------------------------------------------------------- build
SLBENCH_SRC=("$ROOT/bench/slbench.c" "$ROOT/bench/slbench_proc.c"
    "$ROOT/bench/slbench_client.c" "$ROOT/bench/slbench_server.c"
    "$ROOT/bench/slbench_load.c" "$ROOT/bench/slbench_hold.c")

build() {
	local f newer=0
	build_sluiced
	# slbench through meson when bench/ is in the build, else with cc.
	if ninja -C "$BUILD" -t targets all 2>/dev/null |
	    grep -q '^bench/slbench:'; then
		ninja -C "$BUILD" bench/slbench >&2 || fail "building slbench failed"
		SLBENCH=$BUILD/bench/slbench
	else
		mkdir -p "$BUILD/bench-standalone" || fail "mkdir failed"
		SLBENCH=$BUILD/bench-standalone/slbench
		for f in "${SLBENCH_SRC[@]}" "$ROOT/bench/slbench.h"; do
			[ "$f" -nt "$SLBENCH" ] && newer=1
		done
		if [ ! -x "$SLBENCH" ] || [ $newer = 1 ]; then
			${CC:-cc} -std=gnu11 -O2 -D_GNU_SOURCE -Wall -Wextra \
			    -Werror -Wshadow -Wmissing-prototypes \
			    -Wstrict-prototypes -Wformat=2 -Wpointer-arith \
			    -o "$SLBENCH" "${SLBENCH_SRC[@]}" ||
			    fail "building slbench failed"
		fi
	fi
	MEM_TOOL=$SLBENCH
}

# find_peer VAR PACKAGE: the peer's binary, installed with apt-get when
# missing (a peer for this benchmark only, not a dependency of sluice);
# empty, and its column not run, when it cannot be had.
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
		say "$PROG: no $pkg ($bin): its column is not run"
		NOTES="$NOTES  $pkg: not installed, its column not run
"
		printf -v "$var" '%s' ""
	fi
}

# ---------------------------------------------------------------- instances
# ns_up: a fresh network namespace (loopback up, a wide ephemeral range)
# when NETNS=1, and the sink in it.
ns_up() {
	local i
	RUN=()
	if [ "$NETNS" = 1 ]; then
		NS_SEQ=$((NS_SEQ + 1))
		NS=slcmp-$$-$NS_SEQ
		ip netns add "$NS" || fail "ip netns add $NS failed"
		RUN=(ip netns exec "$NS")
		"${RUN[@]}" ip link set lo up || fail "lo up in $NS failed"
		"${RUN[@]}" sysctl -q -w net.ipv4.ip_local_port_range="$NS_RANGE" ||
		    fail "ip_local_port_range in $NS failed"
	fi
	rm -f "$TMP/server.port"
	"${RUN[@]}" "$SLBENCH" server -p 0 -P "$TMP/server.port" -T 3600 -K \
	    >> "$TMP/server.log" 2>&1 &
	SERVER_PID=$!
	for i in $(seq 1 50); do
		[ -s "$TMP/server.port" ] && break
		sleep 0.1
	done
	[ -s "$TMP/server.port" ] || fail "slbench server did not start"
	SERVER_PORT=$(cat "$TMP/server.port")
	if [ "$NETNS" = 1 ]; then
		TPORT=$NS_PORT
	else
		pick_proxy_port
		TPORT=$PROXY_PORT
	fi
}

ns_down() {
	stop_pid "$SERVER_PID" 50
	SERVER_PID=
	if [ -n "$NS" ]; then
		ip netns del "$NS" 2>/dev/null ||
		    say "$PROG: ip netns del $NS failed"
		NS=
	fi
}

# probe_target ROW: one echo through the target within 15 s.
probe_target() {
	local via=(-s "$TPORT") dest=$SERVER_PORT
	if [ "$1" = haproxy ]; then
		via=()
		dest=$TPORT
	fi
	"${RUN[@]}" timeout -k 5 20 "$SLBENCH" probe "${via[@]}" \
	    -t "$dest" -T 15 >/dev/null 2>&1
}

start_haproxy() {
	local conf=$TMP/haproxy.cfg
	cat > "$conf" <<EOF
global
	nbthread $WORKERS
	maxconn $((HOLD_N + 300))
defaults
	mode tcp
	timeout connect 5s
	timeout client 600s
	timeout server 600s
frontend fwd
	bind 127.0.0.1:$TPORT
	default_backend bk
backend bk
	server s1 127.0.0.1:$SERVER_PORT
EOF
	"$HAPROXY" -c -q -f "$conf" >&2 || fail "haproxy -c rejects $conf"
	"${RUN[@]}" "$HAPROXY" -f "$conf" -db >> "$LOG" 2>&1 &
	TPID=$!
}

start_dante() {
	local conf=$TMP/danted.conf
	cat > "$conf" <<EOF
logoutput: stderr
internal: 127.0.0.1 port = $TPORT
external: lo
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
EOF
	"${RUN[@]}" "$DANTED" -f "$conf" >> "$LOG" 2>&1 &
	TPID=$!
}

start_microsocks() {
	"${RUN[@]}" "$MICROSOCKS" -i 127.0.0.1 -p "$TPORT" >> "$LOG" 2>&1 &
	TPID=$!
}

start_sluice() {
	local conf=$TMP/sluiced.json
	cat > "$conf" <<EOF
{"domain":"127.0.0.1","port":$TPORT,"workers":$WORKERS,"user":"nobody",
 "chroot":"$TMP/empty","log_level":"warn","max_threads":20000,
 "idle_timeout":600,"timeout":30,
 "balancer":{"links":[{"name":"direct"}]}}
EOF
	"$SLUICED" -t -c "$conf" >&2 || fail "sluiced -t rejects $conf"
	"${RUN[@]}" "$SLUICED" -c "$conf" 2>> "$LOG" &
	TPID=$!
	DAEMON_PID=$TPID
}

# target_up ROW: start ROW's target in the instance and wait until an
# echo goes through it.  Returns 1 (FAILED=1) when it does not come up.
target_up() {
	TPID=
	LOG=$TMP/$1.log
	echo "=== round $REP, $MEAS" >> "$LOG"
	case $1 in
	direct)		TPORT=$SERVER_PORT; return 0 ;;
	haproxy)	start_haproxy ;;
	dante)		start_dante ;;
	microsocks)	start_microsocks ;;
	sluice)		start_sluice ;;
	esac
	if probe_target "$1" && kill -0 "$TPID" 2>/dev/null; then
		return 0
	fi
	FAILED=1
	say "$PROG: $1 did not come up; its log ($LOG):"
	tail -n 20 "$LOG" >&2
	target_down "$1"
	return 1
}

target_down() {
	case $1 in
	direct)		;;
	haproxy)	stop_tree "$TPID" haproxy ;;
	dante)		stop_tree "$TPID" danted ;;
	microsocks)	stop_tree "$TPID" microsocks ;;
	sluice)		stop_tree "$TPID" sluice 150; DAEMON_PID= ;;
	esac
	TPID=
}

# ---------------------------------------------------------------- runs
# measure ROW CMD...: run the client CMD under timeout in the instance;
# keep its RESULT line with row=, rep=, meas=, the wall time and the CPU
# the target's process tree used meanwhile (pcpu_s).
measure() {
	local row=$1 out rc t0 t1 c0=0 c1=0 extra limit=$((DURATION + 60))
	shift
	case $MEAS in hold|echo) limit=300 ;; esac
	say "--- $row $MEAS (round $REP)"
	[ -n "$TPID" ] && c0=$(cpu_ticks $(tree_pids "$TPID"))
	t0=$(date +%s.%N)
	out=$("${RUN[@]}" timeout -k 5 "$limit" "$@" 2>&1)
	rc=$?
	t1=$(date +%s.%N)
	[ -n "$TPID" ] && c1=$(cpu_ticks $(tree_pids "$TPID"))
	printf '%s\n' "$out" | grep -v '^RESULT \|^  [a-z]* *pid ' >&2
	extra=$(awk -v a="$t0" -v b="$t1" -v c=$((c1 - c0)) -v hz="$HZ" \
	    -v p="$TPID" 'BEGIN { printf " wall_s=%.3f", b - a
		if (p != "") printf " pcpu_s=%.3f", c / hz }')
	if printf '%s\n' "$out" | grep -q '^RESULT '; then
		RESULTS="$RESULTS$(printf '%s\n' "$out" | grep '^RESULT ' |
		    head -n 1) row=$row rep=$REP meas=$MEAS$extra
"
	else
		FAILED=1
		say "$PROG: $row $MEAS: no result (exit $rc)"
		RESULTS="${RESULTS}RESULT test=none row=$row rep=$REP meas=$MEAS failed=1
"
	fi
}

# instance ROW: one measurement ($MEAS) of ROW on a fresh target.
instance() {
	local row=$1 via=() name=() echo1=() dest d
	case $MEAS in
	name)	[ "$row" = direct ] || [ "$row" = haproxy ] && return 0 ;;
	hold|echo) [ "$row" = direct ] && return 0 ;;
	esac
	ns_up
	if ! target_up "$row"; then
		ns_down
		return 0
	fi
	# SOCKS targets are asked to CONNECT to the sink; HAProxy, which
	# speaks no SOCKS, relays its port to it.
	dest=$SERVER_PORT
	case $row in
	haproxy)	dest=$TPORT ;;
	direct)		;;
	*)		via=(-s "$TPORT") ;;
	esac
	[ "$MEAS" = name ] && name=(env "SLBENCH_HOST=$NAME")
	case $MEAS in
	tput)
		for d in up down; do
			measure "$row" "$SLBENCH" tput "${via[@]}" \
			    -t "$dest" -n "$STREAMS" -T "$DURATION" \
			    -d "$d" -S "$SERVER_PID" -L "$row"
		done ;;
	addr|name)
		measure "$row" "${name[@]}" "$SLBENCH" cps "${via[@]}" \
		    -t "$dest" -c "$CONC" -n 1000000 -T "$DURATION" \
		    -b "$ECHO_BYTES" -S "$SERVER_PID" -L "$row" ;;
	hold|echo)
		[ "$MEAS" = echo ] && echo1=(-e)
		measure "$row" "$SLBENCH" hold "${via[@]}" -t "$dest" \
		    -n "$HOLD_N" -c 200 -T 120 -m "$TPID" -L "$row" \
		    "${echo1[@]}" ;;
	esac
	if [ "$row" != direct ] && ! kill -0 "$TPID" 2>/dev/null; then
		FAILED=1
		say "$PROG: $row died during $MEAS; its log ($LOG):"
		tail -n 20 "$LOG" >&2
	fi
	target_down "$row"
	ns_down
}

cleanup() {
	[ -n "$TPID" ] && target_down "$ROW"
	[ -n "$SERVER_PID" ] || [ -n "$NS" ] && ns_down
	remove_tmp
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- table
TABLE_AWK='
	function med(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n == 0 ? "" : (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
	}
	function add(k, v) { V[k] = V[k] " " v }
	function has(k) { return (k in V) }
	function th(x,   s, r) {	# 12345 -> 12,345
		s = sprintf("%.0f", x); r = ""
		while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
		return s r
	}
	{ kv($0); r = F["row"]; m = F["meas"]; cpu = ("pcpu_s" in F) ? F["pcpu_s"] : "" }
	F["failed"] { fails[r, m]++; next }
	m == "tput" { k = F["dir"]; add("g" SUBSEP k SUBSEP r, F["gbps"])
		if (cpu != "" && F["bytes"] > 0) add("sg" SUBSEP k SUBSEP r, cpu / (F["bytes"] / 1e9))
		if (F["approx"] > 0) approx[r] = 1 }
	m == "addr" || m == "name" { add("c" SUBSEP m SUBSEP r, F["cps"]); add("p99" SUBSEP m SUBSEP r, F["p99_ms"])
		# cps counts the CONC connections still open at the end as failed.
		f = F["fail"] - F["conc"]; cfail[m, r] += f > 0 ? f : 0
		if (cpu != "" && F["ok"] > 0) add("us" SUBSEP m SUBSEP r, 1e6 * cpu / F["ok"])
		# CPU per connection of the whole machine (% of a core x s / ok).
		if (m == "addr" && F["ok"] > 0) {
			add("hb" SUBSEP r, 1e4 * F["host_busy_pct"] * F["secs"] / F["ok"])
			add("cl" SUBSEP r, 1e4 * F["client_cpu_pct"] * F["secs"] / F["ok"])
			add("sv" SUBSEP r, 1e4 * F["server_cpu_pct"] * F["secs"] / F["ok"]) }
		o = F["host_busy_pct"] - F["softirq_pct"] - F["client_cpu_pct"] - F["server_cpu_pct"] - (F["wall_s"] > 0 ? 100 * cpu / F["wall_s"] : 0)
		add("o" SUBSEP r, o < 0 ? 0 : o) }
	m == "hold" || m == "echo" { add("mem" SUBSEP m SUBSEP r, F["per_session_pss_kib"])
		add("held" SUBSEP m SUBSEP r, F["sessions"]); if (m == "hold") add("procs" SUBSEP r, F["procs"]) }
	function tput(r) {
		if (!has("g" SUBSEP "up" SUBSEP r) && !has("g" SUBSEP "down" SUBSEP r)) return nr(r, "tput")
		return sprintf("%s / %s%s", f1(med(V["g" SUBSEP "up" SUBSEP r])), f1(med(V["g" SUBSEP "down" SUBSEP r])), approx[r] ? " (upload: upper bound)" : "")
	}
	function f1(x) { return x == "" ? "-" : sprintf("%.1f", x) }
	function f2(x) { return x == "" ? "-" : sprintf("%.2f", x) }
	function nr(r, m) { return ((r, m) in fails) ? "failed" : (r in skip ? "not run" : "") }
	function cps(r, m) {
		if (!has("c" SUBSEP m SUBSEP r)) return nr(r, m)
		return sprintf("%s (%.1f ms)%s", th(med(V["c" SUBSEP m SUBSEP r])), med(V["p99" SUBSEP m SUBSEP r]),
		    cfail[m, r] > 0 ? sprintf(", %s failed", th(cfail[m, r])) : "")
	}
	function mem(r, m,   h, a, n, i, lo) {
		if (!has("mem" SUBSEP m SUBSEP r)) return nr(r, m)
		n = split(V["held" SUBSEP m SUBSEP r], a, " "); lo = a[1]
		for (i = 2; i <= n; i++) if (a[i] + 0 < lo + 0) lo = a[i]
		h = lo + 0 < hold_n + 0 ? sprintf(" (%s held)", th(lo)) : ""
		return sprintf("%.1f KiB%s", med(V["mem" SUBSEP m SUBSEP r]), h)
	}
	function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.2f", a / b) }
	function row(label, what,   i, s) {
		if (!index(" " measures " ", " " (what in need ? need[what] : what) " ")) return
		s = "| " label
		for (i = 1; i <= nt; i++) s = s " | " cell(what, ts[i])
		print s " |"
	}
	function cell(what, r) {
		if (what == "tput") return tput(r)
		if (what == "addr") return cps(r, "addr")
		if (what == "name") return (r == "direct" || r == "haproxy") ? "" : cps(r, "name")
		if (what == "hold" || what == "echo") return r == "direct" ? "" : mem(r, what)
		if (what == "procs") return has("procs" SUBSEP r) ? med(V["procs" SUBSEP r]) : ""
		if (what == "sg") return has("sg" SUBSEP "up" SUBSEP r) ? sprintf("%.2f / %.2f", med(V["sg" SUBSEP "up" SUBSEP r]), med(V["sg" SUBSEP "down" SUBSEP r])) : ""
		if (what == "us") return has("us" SUBSEP "addr" SUBSEP r) ? sprintf("%.0f%s", med(V["us" SUBSEP "addr" SUBSEP r]), has("us" SUBSEP "name" SUBSEP r) ? sprintf(" / %.0f", med(V["us" SUBSEP "name" SUBSEP r])) : "") : ""
		if (what == "split") return has("hb" SUBSEP r) ? sprintf("%.0f / %.0f / %.0f", med(V["hb" SUBSEP r]), med(V["cl" SUBSEP r]), med(V["sv" SUBSEP r])) : ""
		if (what == "other") return has("o" SUBSEP r) ? sprintf("%.0f", med(V["o" SUBSEP r])) : ""
	}
	END {
		need["us"] = "addr"; need["sg"] = "tput"; need["procs"] = "hold"; need["split"] = "addr"
		nt = split(targets, ts, " "); ns = split(skipped, sk, " ")
		for (i = 1; i <= ns; i++) skip[sk[i]] = 1
		head = "|"; line = "| ---"
		for (i = 1; i <= nt; i++) {
			t = ts[i]
			head = head " | " (t == "haproxy" ? "HAProxy (plain TCP)" : t == "dante" ? "Dante" : t)
			line = line " | ---"
		}
		print head " |"; print line " |"
		row("throughput up / down, " streams " streams (Gbit/s)", "tput")
		row("connections/s, " conc " clients, full cycle (p99)", "addr")
		row("connections/s by domain name `" name "` (p99)", "name")
		row("memory per idle session, " th(hold_n) " held (PSS)", "hold")
		row("the same, after one 32-byte echo each", "echo")
		print ""
		print "Target CPU (all its processes, from /proc/PID/stat; 100% = one core), medians:"
		print ""
		print head " |"; print line " |"
		row("CPU s per GB relayed, up / down", "sg")
		row("CPU us per connection, by address / by name", "us")
		row("processes with the sessions held", "procs")
		row("whole machine, CPU us per connection by address: all / load generator / sink", "split")
		print ""
		printf "Other processes during the connection runs (%% of one core, median): "
		s = ""; for (i = 1; i <= nt; i++) { t = ts[i]; v = cell("other", t); if (v != "") { printf "%s%s %s", s, t, v; s = ", " } }
		print ""
		print ""
		S = "sluice"
		print "sluice against issue 15 (ratios of medians):"
		printf "- connections/s: %s x HAProxy (target >= 1.0), %s x microsocks (target >= 2.0), %s x Dante; p99 %s ms vs HAProxy %s ms\n",
		    ratio(med(V["c" SUBSEP "addr" SUBSEP S]), med(V["c" SUBSEP "addr" SUBSEP "haproxy"])),
		    ratio(med(V["c" SUBSEP "addr" SUBSEP S]), med(V["c" SUBSEP "addr" SUBSEP "microsocks"])),
		    ratio(med(V["c" SUBSEP "addr" SUBSEP S]), med(V["c" SUBSEP "addr" SUBSEP "dante"])),
		    f1(med(V["p99" SUBSEP "addr" SUBSEP S])), f1(med(V["p99" SUBSEP "addr" SUBSEP "haproxy"]))
		# What the sluice cycle would make if sluice spent the CPU per
		# connection of HAProxy: the machine CPU per connection less the
		# difference (the SOCKS5 work of the load generator stays).
		hs = med(V["hb" SUBSEP S]); us = med(V["us" SUBSEP "addr" SUBSEP S]); uh = med(V["us" SUBSEP "addr" SUBSEP "haproxy"])
		if (hs != "" && us != "" && uh != "" && hs - us + uh > 0) {
			ce = med(V["c" SUBSEP "addr" SUBSEP S]) * hs / (hs - us + uh)
			printf "- the load generator spends %.0f us per connection on the SOCKS5 cycle through sluice, %.0f on the plain one through HAProxy; with the CPU per connection of HAProxy, the sluice cycle would make about %s/s (%s x HAProxy)\n",
			    med(V["cl" SUBSEP S]), med(V["cl" SUBSEP "haproxy"]), th(ce),
			    ratio(ce, med(V["c" SUBSEP "addr" SUBSEP "haproxy"]))
		}
		printf "- by name / by address: %s (target >= 0.90)\n",
		    ratio(med(V["c" SUBSEP "name" SUBSEP S]), med(V["c" SUBSEP "addr" SUBSEP S]))
		printf "- memory per idle session: %s KiB, after one echo %s KiB (target <= 1.0 both), %s x HAProxy\n",
		    f2(med(V["mem" SUBSEP "hold" SUBSEP S])), f2(med(V["mem" SUBSEP "echo" SUBSEP S])),
		    ratio(med(V["mem" SUBSEP "hold" SUBSEP S]), med(V["mem" SUBSEP "hold" SUBSEP "haproxy"]))
		printf "- throughput / direct: up %s, down %s (target >= 0.80)\n",
		    ratio(med(V["g" SUBSEP "up" SUBSEP S]), med(V["g" SUBSEP "up" SUBSEP "direct"])),
		    ratio(med(V["g" SUBSEP "down" SUBSEP S]), med(V["g" SUBSEP "down" SUBSEP "direct"]))
	}'

table() {
	awk -v targets="$TARGETS" -v skipped="$SKIPPED" -v streams="$STREAMS" \
	    -v conc="$CONC" -v name="$NAME" -v hold_n="$HOLD_N" \
	    -v measures="$MEASURES" \
	    "$KV_AWK$TABLE_AWK"
}

# ---------------------------------------------------------------- main
need_root
build
SKIPPED=
for ROW in $TARGETS; do
	case $ROW in
	direct|sluice) ;;
	haproxy)	find_peer HAPROXY haproxy
			[ -n "$HAPROXY" ] || SKIPPED="$SKIPPED haproxy" ;;
	dante)		find_peer DANTED dante-server
			[ -n "$DANTED" ] || SKIPPED="$SKIPPED dante" ;;
	microsocks)	find_peer MICROSOCKS microsocks
			[ -n "$MICROSOCKS" ] || SKIPPED="$SKIPPED microsocks" ;;
	*)		fail "unknown target $ROW (direct haproxy dante microsocks sluice)" ;;
	esac
done
ROW=
make_tmp sluice-compare
mkdir -p "$RESDIR"
if [ -z "${NETNS:-}" ]; then
	NETNS=0
	if ip netns add "slcmp-$$-0" 2>/dev/null; then
		ip netns del "slcmp-$$-0"
		NETNS=1
	fi
fi
[ "$NETNS" = 1 ] || NOTES="$NOTES  no network namespaces: every run on the host's loopback
"
HAP_V=$([ -n "$HAPROXY" ] && "$HAPROXY" -v 2>/dev/null | head -n 1 | cut -d' ' -f1-3)
DANTE_V=$([ -n "$DANTED" ] && "$DANTED" -v 2>&1 | head -n 1)
MS_V=$(dpkg-query -W -f '${Version}' microsocks 2>/dev/null)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)

for REP in $(seq 1 "$REPS"); do
	for MEAS in $MEASURES; do
		for ROW in $TARGETS; do
			case " $SKIPPED " in *" $ROW "*) continue ;; esac
			instance "$ROW"
		done
	done
done
ROW=

{
	echo "sluice side by side (bench/compare.sh), $(date -u '+%Y-%m-%d %H:%M:%S UTC'), git $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')"
	echo "host: $(uname -sr), $(nproc) cores, loadavg before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg); took $(( $(date +%s) - START )) s"
	echo "sluiced: $SLUICED, workers=$WORKERS; haproxy: ${HAP_V:-not run} (nbthread $WORKERS); dante: ${DANTE_V:-not run}; microsocks: ${MS_V:-not run}"
	echo "params: REPS=$REPS DURATION=$DURATION STREAMS=$STREAMS CONC=$CONC ECHO_BYTES=$ECHO_BYTES NAME=$NAME HOLD_N=$HOLD_N NETNS=$NETNS; each run on a freshly started target"
	[ -n "$NOTES" ] && printf 'notes:\n%s' "$NOTES"
	echo
	printf '%s' "$RESULTS" | table
	echo
	echo "raw:"
	printf '%s' "$RESULTS"
} > "$RESDIR/compare-latest.txt"
cat "$RESDIR/compare-latest.txt"
[ "$FAILED" = 0 ] || say "$PROG: some runs failed; see above"
exit "$FAILED"
