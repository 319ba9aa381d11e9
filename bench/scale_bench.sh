#!/usr/bin/env bash
#
# bench/scale_bench.sh: connections per second and memory while many idle
# sessions are held (issue 15, "Scale").  For each count N in $HOLDS, one
# fresh sluiced (splice): N idle SOCKS5 sessions are opened to slbench's
# servers and kept open by small holders (python3); then `slbench cps`
# (50 in flight, full cycle) runs through the same daemon; the Pss of all
# sluice processes (master, every worker, resolver) and the rate are
# reported beside the rate with nothing held (N = 0), same daemon build,
# same run, with the number of workers the daemon had.
#
#   bench/scale_bench.sh                    # as root; HOLDS="0 1000 9000"
#   HOLDS="0 1000 10000 100000" bench/scale_bench.sh
#
# RLIMIT_NOFILE is per process and its hard limit may be low (20,000 in
# some containers, without CAP_SYS_RESOURCE to raise it), so a large N is
# spread over processes: each worker holds 2 fds per session and the
# kernel's SO_REUSEPORT hash spreads clients about evenly, so the daemon
# gets max(2, ceil(N * 2 * 1.4 / 18000)) workers (2 up to N = 12,857: the
# old figures stay comparable); at most PER_PROC sessions go to each
# holder and each target server.  Holder i binds 127.0.0.(2+i) and targets
# server i, so neither the client->proxy nor the proxy->target side runs
# out of its 55k ports per (source, destination) pair.
#
# Environment: BUILD [/tmp/build-bench], SLUICED, CPS_COUNT [20000],
# CONC [50], HOLDS, PROXY_PORT [21480], WORKERS [by N, as above],
# PER_PROC [15000], HOLD_SECS [120 + N / 500: the time the holders get to
# open the N], KEEP=1, NETNS=0 (run on the host's loopback instead of a
# namespace of its own).  Loopback only; every process it starts is
# stopped by pid.  RLIMIT_NOFILE is raised to the hard limit for the
# daemon, the servers and the holders.

PROG=scale_bench.sh
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-/tmp/build-bench}
PROXY_PORT=${PROXY_PORT:-21480}
HOLDS=${HOLDS:-0 1000 9000}
CPS_COUNT=${CPS_COUNT:-20000}
CONC=${CONC:-50}
PER_PROC=${PER_PROC:-15000}
. "$ROOT/bench/lib.sh"

need_root
# Run in a network namespace of our own with the widest ephemeral port
# range: held sessions, TIME_WAIT of the cps run and the proxy's own
# connects would otherwise exhaust the host's range (28k ports), and
# connect(2) slows down searching it, which would be measured instead.
# A fresh one for each count: the TIME_WAIT sockets one round leaves
# must not crowd the next.
if [ -z "${SCALE_NS:-}" ] && [ "${NETNS:-1}" = 1 ]; then
	rc=0
	first=${HOLDS%% *}
	for n in $HOLDS; do
		ns=slscale-$$-$n
		ip netns add "$ns" ||
		    fail "ip netns add $ns failed (NETNS=0: the host's loopback)"
		ip netns exec "$ns" ip link set lo up
		ip netns exec "$ns" sysctl -q -w \
		    net.ipv4.ip_local_port_range="10000 65535"
		header=0
		[ "$n" = "$first" ] && header=1
		SCALE_NS=$ns HOLDS=$n HEADER=$header \
		    ip netns exec "$ns" bash "$0" "$@" || rc=1
		ip netns del "$ns"
	done
	exit $rc
fi
for n in $HOLDS; do
	case $n in
	''|*[!0-9]*) fail "HOLDS: $n is not a count" ;;
	esac
	[ "$n" -le 1000000 ] || fail "HOLDS: $n is more than 1,000,000"
done
case $PER_PROC in
''|*[!0-9]*|0) fail "PER_PROC: $PER_PROC is not a positive count" ;;
esac
build_sluiced
ninja -C "$BUILD" bench/slbench >&2 || fail "building slbench failed"
SLBENCH=$BUILD/bench/slbench
MEM_TOOL=$SLBENCH
make_tmp sluice-scale
# As high as the hard limit allows (20,000 in some containers: hence
# several workers, holders and servers for a large N).
ulimit -n "$(ulimit -Hn)" || fail "cannot raise RLIMIT_NOFILE"
HOLDER_PIDS=
SERVER_PIDS=
FAILED=0

# Stop with a message, keeping TMP (its logs) for a look.
abort() {
	FAILED=1
	fail "$@"
}

stop_holders() {
	local pid
	exec 8>&-
	for pid in $HOLDER_PIDS; do
		stop_pid "$pid" 50
	done
	HOLDER_PIDS=
}

cleanup() {
	local pid
	stop_holders
	stop_daemon
	for pid in $SERVER_PIDS; do
		stop_pid "$pid" 20
	done
	remove_tmp
}
trap cleanup EXIT

# ceil(A / B) of two counts, at least MIN.
ceil_div() {
	local q=$((($1 + $2 - 1) / $2))
	[ "$q" -ge "$3" ] || q=$3
	echo "$q"
}

# Workers for N sessions: the busiest stays well under 18,000 fds.
workers_for() {
	if [ -n "${WORKERS:-}" ]; then
		echo "$WORKERS"
	else
		ceil_div $(($1 * 28)) 180000 2
	fi
}

# start_servers K: K slbench servers (SERVER_PIDS, SERVER_PORT_LIST);
# SERVER_PID and SERVER_PORT are the first, which lib.sh's probe and
# the cps run use.
start_servers() {
	local k i
	for k in $(seq 1 "$1"); do
		"$SLBENCH" server -p 0 -P "$TMP/server$k.port" -T 3600 -K \
		    > "$TMP/server$k.log" 2>&1 &
		SERVER_PIDS="$SERVER_PIDS $!"
		for i in $(seq 1 50); do
			[ -s "$TMP/server$k.port" ] && break
			sleep 0.1
		done
		[ -s "$TMP/server$k.port" ] ||
		    abort "slbench server $k did not start"
		SERVER_PORT_LIST="$SERVER_PORT_LIST $(cat "$TMP/server$k.port")"
	done
	SERVER_PID=${SERVER_PIDS# }
	SERVER_PID=${SERVER_PID%% *}
	SERVER_PORT=${SERVER_PORT_LIST# }
	SERVER_PORT=${SERVER_PORT%% *}
}

# start_holders N: N sessions over ceil(N / PER_PROC) holders, holder i
# bound to 127.0.0.(2+i) and aimed at server i (modulo the servers),
# each given SECS to open its share; their stdin is the fifo that fd 8
# keeps open.
start_holders() {
	local n=$1 secs=$2 k i cnt port ports nserv
	k=$(ceil_div "$n" "$PER_PROC" 1)
	[ "$k" -le 250 ] || abort "$n sessions need more than 250 holders"
	read -r -a ports <<< "$SERVER_PORT_LIST"
	nserv=${#ports[@]}
	rm -f "$TMP"/held.*
	mkfifo "$TMP/holdin.$n"
	for i in $(seq 0 $((k - 1))); do
		cnt=$((n / k + (i < n % k ? 1 : 0)))
		port=${ports[$((i % nserv))]}
		python3 "$ROOT/bench/scale_holder.py" "$PROXY_PORT" "$port" \
		    "$cnt" "$TMP/held.$i" "127.0.0.$((2 + i))" "$secs" \
		    < "$TMP/holdin.$n" &
		HOLDER_PIDS="$HOLDER_PIDS $!"
	done
	exec 8> "$TMP/holdin.$n"	# keeps the holders' stdin open
	NHOLDERS=$k
}

# wait_holders N SECS: until every holder has written its flag; fails
# when one dies or SECS (and 10 more) pass.
wait_holders() {
	local n=$1 tenths=$((($2 + 10) * 10)) i pid up
	for i in $(seq 1 "$tenths"); do
		up=$(find "$TMP" -maxdepth 1 -name 'held.*' ! -name '*.tmp' |
		    wc -l)
		[ "$up" -ge "$NHOLDERS" ] && return 0
		for pid in $HOLDER_PIDS; do
			kill -0 "$pid" 2>/dev/null ||
			    abort "holder $pid died before holding its share" \
			    "of $n sessions (its message is above)"
		done
		sleep 0.1
	done
	abort "$n sessions not held in $(($2 + 10)) s ($up of" \
	    "$NHOLDERS holders done)"
}

# Open fds of each of the daemon's children, for the log: the busiest
# worker must stay under RLIMIT_NOFILE.
report_fds() {
	local pid most=0 c
	find_kids
	for pid in $DAEMON_KIDS; do
		c=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null |
		    wc -l)
		[ "$c" -gt "$most" ] && most=$c
	done
	say "$PROG: $1 held: $2 workers, $NHOLDERS holders, the busiest" \
	    "child has $most fds of $(ulimit -n); opened in $3 s"
}

pss_of_daemon() {
	"$SLBENCH" mem -m "$DAEMON_PID" | awk '/^RESULT/ {
	    for (i = 2; i <= NF; i++) if ($i ~ /^pss_kib=/) print substr($i, 9) }'
}

# write_conf N WORKERS FILE
write_conf() {
	local maxt=200000
	[ $(($1 * 2)) -gt "$maxt" ] && maxt=$(($1 * 2))
	cat > "$3" <<EOC
{"domain":"127.0.0.1","port":$PROXY_PORT,"workers":$2,"user":"nobody",
 "chroot":"$TMP/empty","log_level":"warn","max_threads":$maxt,
 "max_handshakes":2000,"idle_timeout":3600,"timeout":30,
 "balancer":{"links":[{"name":"direct"}]}}
EOC
}

most=0
for n in $HOLDS; do
	[ "$n" -gt "$most" ] && most=$n
done
start_servers "$(ceil_div "$most" "$PER_PROC" 1)"
pick_proxy_port

[ "${HEADER:-1}" = 1 ] &&
    printf '%-8s %10s %8s %10s %12s %8s\n' held conn/s p99_ms pss_kib \
    kib/session workers
for n in $HOLDS; do
	conf=$TMP/sluiced-$n.json
	workers=$(workers_for "$n")
	write_conf "$n" "$workers" "$conf"
	launch_daemon "$conf" "$TMP/sluiced-$n.log" ||
	    fail "sluiced did not start (log: $TMP/sluiced-$n.log)"
	pss0=$(pss_of_daemon)
	if [ "$n" -gt 0 ]; then
		secs=${HOLD_SECS:-$((120 + n / 500))}
		t0=$(date +%s)
		start_holders "$n" "$secs"
		wait_holders "$n" "$secs"
		report_fds "$n" "$workers" $(($(date +%s) - t0))
	fi
	pss=$(pss_of_daemon)
	res=$(timeout 300 "$SLBENCH" cps -s "$PROXY_PORT" -t "$SERVER_PORT" \
	    -c "$CONC" -n "$CPS_COUNT" -T 200 -b 64 | grep '^RESULT')
	cps=$(echo "$res" | tr ' ' '\n' | awk -F= '$1 == "cps" { print $2 }')
	p99=$(echo "$res" | tr ' ' '\n' | awk -F= '$1 == "p99_ms" { print $2 }')
	per=$(awk -v a="$pss" -v b="$pss0" -v n="$n" 'BEGIN {
	    if (n > 0) printf "%.2f", (a - b) / n; else print "-" }')
	printf '%-8s %10s %8s %10s %12s %8s\n' "$n" "$cps" "$p99" "$pss" \
	    "$per" "$workers"
	stop_holders
	stop_daemon
done
