#!/usr/bin/env bash
#
# bench/race_bench.sh: what racing costs.  The latency a SOCKS5 client
# sees for CONNECT + first byte through sluiced with strategy `fastest`
# over two direct links (sources 127.0.0.2 and 127.0.0.3), compared with
# a single direct link, on loopback:
#
#   single   one direct link, no source address (the plain path)
#   single2  one direct link with source 127.0.0.2 (the same kind of
#            line as the raced ones)
#   cold     fastest, route_cache_ttl 0: nothing is ever cached, so every
#            connection races both links (a cold route cache each time)
#   warm     fastest, route_cache_ttl 600: the first connection races,
#            every later one to the same destination takes the cached
#            link and dials it alone
#
# Each connection is slbench's cps cycle: connect, SOCKS5 greeting,
# CONNECT 127.0.0.1:port, 32-byte request, 32-byte echo, close.
# latency = connect() .. echo received; hs = connect() .. SOCKS5 reply.
# The losing leg of a race also costs a connect and a reset on the
# server side, which the concurrency-32 runs show as connections/s.
#
# A socket bound to a source address holds its port until TIME_WAIT
# ends (60 s), and such ports are lost to every connect() on the host
# (the client's too) meanwhile; before each source-bound daemon the
# script waits, up to 70 s, until fewer than 4000 sockets are in
# TIME_WAIT, so that runs do not starve each other of ports.
#
#   bench/race_bench.sh               # as root, 1 to 4 minutes
#   QUICK=1 bench/race_bench.sh       # smoke run, a few seconds
#
# Environment: BUILD [/tmp/build-bench] (release build made if missing),
# SLUICED (use this binary), COUNT [5000] connections per run,
# CONC ["1 32"], PROXY_PORT [22080], KEEP=1 keeps the temporary directory.
# Prints a table; exits 1 if a daemon does not come up or a run fails.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROG=race_bench.sh
. "$ROOT/bench/lib.sh"
BUILD=${BUILD:-/tmp/build-bench}
if [ "${QUICK:-0}" = 1 ]; then
	COUNT=${COUNT:-1000}
else
	COUNT=${COUNT:-5000}
fi
CONC=${CONC:-"1 32"}
PROXY_PORT=${PROXY_PORT:-22080}
TMP=
SERVER_PID=
DAEMON_PID=
FAILED=0
RESULTS=

# A daemon's children die with its master (PDEATHSIG): stopping the
# master by pid (stop_pid, lib.sh) is enough.
cleanup() {
	stop_pid "$DAEMON_PID"
	stop_pid "$SERVER_PID"
	remove_tmp
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_root

build() {
	if [ -z "${SLUICED:-}" ]; then
		meson_setup
		ninja -C "$BUILD" sluiced bench/slbench >&2 ||
		    fail "building in $BUILD failed"
		SLUICED=$BUILD/sluiced
	fi
	[ -x "$SLUICED" ] || fail "SLUICED=$SLUICED is not executable"
	SLBENCH=${SLBENCH:-$(dirname "$SLUICED")/bench/slbench}
	[ -x "$SLBENCH" ] || fail "no slbench at $SLBENCH (set SLBENCH)"
}

# Wait (up to 70 s) until fewer than 4000 sockets are in TIME_WAIT.
drain_time_wait() {
	local i tw
	for i in $(seq 1 70); do
		tw=$(awk '$1 == "TCP:" { for (i = 2; i < NF; i++)
		    if ($i == "tw") print $(i + 1) }' /proc/net/sockstat)
		[ "${tw:-0}" -lt 4000 ] && return 0
		[ "$i" = 1 ] && say "--- waiting for $tw TIME_WAIT sockets to expire"
		sleep 1
	done
	say "race_bench.sh: still $tw sockets in TIME_WAIT; going on"
}

# start_daemon NAME BALANCER EXTRA: config, check, start, wait for an echo.
start_daemon() {
	local conf=$TMP/$1.json
	cat > "$conf" <<EOF
{"domain":"127.0.0.1","port":$PROXY_PORT,"workers":2,"user":"nobody",
 "chroot":"$TMP/empty","log_level":"warn","max_threads":20000,
 "timeout":30,$3
 "balancer":$2}
EOF
	launch_daemon "$conf" "$TMP/$1.log" && return 0
	tail -n 20 "$TMP/$1.log" >&2
	fail "sluiced ($1) did not come up"
}

# run NAME: the cps runs against the running daemon (or direct).
run() {
	local c out via=()
	[ "$1" = direct ] || via=(-s "$PROXY_PORT")
	for c in $CONC; do
		say "--- $1, concurrency $c"
		out=$(timeout -k 5 300 "$SLBENCH" cps "${via[@]}" \
		    -t "$SERVER_PORT" -c "$c" -n "$COUNT" -T 200 -L "$1" 2>&1)
		printf '%s\n' "$out" | grep -v '^RESULT ' >&2
		if printf '%s\n' "$out" | grep -q '^RESULT '; then
			RESULTS="$RESULTS$(printf '%s\n' "$out" | grep '^RESULT ')
"
		else
			FAILED=1
			say "race_bench.sh: $1 concurrency $c gave no result"
		fi
	done
}

LINKS2='[{"name":"A","source":"127.0.0.2"},{"name":"B","source":"127.0.0.3"}]'

build
make_tmp sluice-race-bench
start_server
pick_proxy_port

run direct
start_daemon single '{"links":[{"name":"direct"}]}' ''
run single
stop_pid "$DAEMON_PID"; DAEMON_PID=
drain_time_wait
start_daemon single2 '{"links":[{"name":"A","source":"127.0.0.2"}]}' ''
run single2
stop_pid "$DAEMON_PID"; DAEMON_PID=
drain_time_wait
start_daemon cold "{\"strategy\":\"fastest\",\"links\":$LINKS2}" \
    '"route_cache_ttl":0,'
run cold
stop_pid "$DAEMON_PID"; DAEMON_PID=
drain_time_wait
start_daemon warm "{\"strategy\":\"fastest\",\"links\":$LINKS2}" \
    '"route_cache_ttl":600,'
run warm
stop_pid "$DAEMON_PID"; DAEMON_PID=

{
	echo "sluice race bench, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), git $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')"
	echo "host: $(uname -sr), $(nproc) cores, loadavg $(cut -d' ' -f1-3 /proc/loadavg); sluiced $SLUICED, 2 workers; $COUNT connections per run"
	echo "latency = connect() .. 32-byte echo back (CONNECT + first byte); hs = connect() .. SOCKS5 reply; ms"
	printf '%s' "$RESULTS" | awk "$KV_AWK"'
	BEGIN { printf "  %-8s %5s %6s %5s %8s %8s %8s %8s %8s %8s\n", "path", "conc", "ok", "fail", "conn/s", "p50", "p99", "hs p50", "hs p99", "max" }
	{ kv($0); if (F["test"] != "cps") next
	  printf "  %-8s %5s %6s %5s %8.0f %8.3f %8.3f %8.3f %8.3f %8.2f\n", F["label"], F["conc"], F["ok"], F["fail"], F["cps"], F["p50_ms"], F["p99_ms"], F["hs_p50_ms"], F["hs_p99_ms"], F["max_ms"] }'
}
exit "$FAILED"
