#!/usr/bin/env bash
#
# bench/scale_bench.sh: connections per second and memory while many idle
# sessions are held (issue 15, "Scale").  For each count N in $HOLDS, one
# fresh sluiced (2 workers, splice): N idle SOCKS5 sessions are opened to
# slbench's server and kept open by a small holder (python3); then
# `slbench cps` (50 in flight, full cycle) runs through the same daemon;
# the Pss of all sluice processes and the rate are reported beside the
# rate with nothing held (N = 0), same daemon build, same run.
#
#   bench/scale_bench.sh                    # as root; HOLDS="0 1000 9000"
#   HOLDS="0 1000 10000 30000" bench/scale_bench.sh
#
# Environment: BUILD [/tmp/build-bench], SLUICED, CPS_COUNT [20000],
# CONC [50], HOLDS, PROXY_PORT [21480], KEEP=1, NETNS=0 (run on the
# host's loopback instead of a namespace of its own).  Loopback only; every
# process it starts is stopped by pid.  RLIMIT_NOFILE is raised to the
# hard limit for the daemon, the server and the holder.

PROG=scale_bench.sh
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-/tmp/build-bench}
PROXY_PORT=${PROXY_PORT:-21480}
HOLDS=${HOLDS:-0 1000 9000}
CPS_COUNT=${CPS_COUNT:-20000}
CONC=${CONC:-50}
WORKERS=2
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
build_sluiced
ninja -C "$BUILD" bench/slbench >&2 || fail "building slbench failed"
SLBENCH=$BUILD/bench/slbench
MEM_TOOL=$SLBENCH
make_tmp sluice-scale
# As high as the hard limit allows (20,000 in some containers, which caps
# the holds near 9,500: the holder, the server and each worker need fds).
ulimit -n "$(ulimit -Hn)" || fail "cannot raise RLIMIT_NOFILE"
HOLDER_PID=
FAILED=0

cleanup() {
	[ -n "$HOLDER_PID" ] && stop_pid "$HOLDER_PID" 20
	stop_daemon
	[ -n "${SERVER_PID:-}" ] && stop_pid "$SERVER_PID" 20
	remove_tmp
}
trap cleanup EXIT

start_server
pick_proxy_port

[ "${HEADER:-1}" = 1 ] &&
    printf '%-8s %10s %8s %10s %12s\n' held conn/s p99_ms pss_kib kib/session
for n in $HOLDS; do
	conf=$TMP/sluiced-$n.json
	cat > "$conf" <<EOF
{"domain":"127.0.0.1","port":$PROXY_PORT,"workers":$WORKERS,"user":"nobody",
 "chroot":"$TMP/empty","log_level":"warn","max_threads":200000,
 "max_handshakes":2000,"idle_timeout":3600,"timeout":30,
 "balancer":{"links":[{"name":"direct"}]}}
EOF
	launch_daemon "$conf" "$TMP/sluiced-$n.log" ||
	    fail "sluiced did not start (log: $TMP/sluiced-$n.log)"
	pss0=$("$SLBENCH" mem -m "$DAEMON_PID" | awk '/^RESULT/ {
	    for (i = 2; i <= NF; i++) if ($i ~ /^pss_kib=/) print substr($i, 9) }')
	rm -f "$TMP/held"
	if [ "$n" -gt 0 ]; then
		mkfifo "$TMP/holdin.$n"
		python3 "$ROOT/bench/scale_holder.py" "$PROXY_PORT" \
		    "$SERVER_PORT" "$n" "$TMP/held" < "$TMP/holdin.$n" &
		HOLDER_PID=$!
		exec 8> "$TMP/holdin.$n"	# keeps the holder's stdin open
		for i in $(seq 1 1200); do
			[ -s "$TMP/held" ] && break
			kill -0 "$HOLDER_PID" 2>/dev/null ||
			    fail "the holder died before holding $n sessions"
			sleep 0.1
		done
		[ -s "$TMP/held" ] || fail "$n sessions not held in 120 s"
	fi
	pss=$("$SLBENCH" mem -m "$DAEMON_PID" | awk '/^RESULT/ {
	    for (i = 2; i <= NF; i++) if ($i ~ /^pss_kib=/) print substr($i, 9) }')
	res=$(timeout 300 "$SLBENCH" cps -s "$PROXY_PORT" -t "$SERVER_PORT" \
	    -c "$CONC" -n "$CPS_COUNT" -T 200 -b 64 | grep '^RESULT')
	cps=$(echo "$res" | tr ' ' '\n' | awk -F= '$1 == "cps" { print $2 }')
	p99=$(echo "$res" | tr ' ' '\n' | awk -F= '$1 == "p99_ms" { print $2 }')
	per=$(awk -v a="$pss" -v b="$pss0" -v n="$n" 'BEGIN {
	    if (n > 0) printf "%.2f", (a - b) / n; else print "-" }')
	printf '%-8s %10s %8s %10s %12s\n' "$n" "$cps" "$p99" "$pss" "$per"
	if [ -n "$HOLDER_PID" ]; then
		exec 8>&-
		stop_pid "$HOLDER_PID" 50
		HOLDER_PID=
	fi
	stop_daemon
done
