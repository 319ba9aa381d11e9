#!/bin/bash
# Connections per second through sluiced with and without `limits`, in
# the same run (issue 13's "cost of the per-client limit lookup"):
#
#   none     no limits at all
#   limits   every session check on the root and on the listener, with
#            bounds no run reaches: max_sessions, max_sessions_per_client
#            and new_sessions_per_second_per_client (the shared per-client
#            table, twice: config and listener), so every connection pays
#            for the lookups, the counts and the token, and none is refused
#
# Both daemons run side by side, 2 workers each; the rounds alternate so
# drift on the machine hits both alike.  slbench cps: connect, SOCKS5
# greeting + CONNECT, 32-byte echo, close; concurrency 32.
#
# Usage (root): SLUICED=build/sluiced SLBENCH=build/bench/slbench \
#               bench/limits_bench.sh [ROUNDS] [COUNT]
# Loopback only; every process it starts is stopped by pid at the end.
set -eu
SLUICED=${SLUICED:-build/sluiced}
SLBENCH=${SLBENCH:-build/bench/slbench}
ROUNDS=${1:-3}
COUNT=${2:-20000}
dir=$(mktemp -d /tmp/sl-limits-bench.XXXXXX)
mkdir -m 755 "$dir/empty"
chmod 755 "$dir"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "limits_bench.sh: run as root" >&2; exit 1; }
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
srv=$(free_port); pn=$(free_port); pl=$(free_port)
common="\"workers\":2,\"user\":\"nobody\",\"chroot\":\"$dir/empty\",\"log_level\":\"warn\",\"max_threads\":20000"
big='"max_sessions": 1000000, "max_sessions_per_client": 1000000, "new_sessions_per_second_per_client": 1000000'
cat > "$dir/none.json" <<JSON
{$common,"listen":["127.0.0.1:$pn"]}
JSON
cat > "$dir/limits.json" <<JSON
{$common,"limits":{$big},
 "listeners":[{"kind":"socks5","listen":"127.0.0.1:$pl","limits":{$big}}]}
JSON
"$SLBENCH" server -p "$srv" -T 600 >/dev/null 2>&1 & pids+=($!)
for c in none limits; do
	"$SLUICED" -t -c "$dir/$c.json" >/dev/null
	"$SLUICED" -c "$dir/$c.json" 2>"$dir/$c.log" & pids+=($!)
done
for port in $pn $pl; do
	"$SLBENCH" probe -s "127.0.0.1:$port" -t "127.0.0.1:$srv" -T 10 >/dev/null
done
printf '%-7s %5s %8s %8s %8s %6s\n' config round conn/s p50_ms p99_ms fail
for ((r = 1; r <= ROUNDS; r++)); do
	for c in "none $pn" "limits $pl"; do
		set -- $c
		"$SLBENCH" cps -s "127.0.0.1:$2" -t "127.0.0.1:$srv" -c 32 \
		    -n "$COUNT" -L "$1" 2>/dev/null | awk -v l="$1" -v r="$r" '
		    /^RESULT/ {
			for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
			printf "%-7s %5d %8.0f %8.3f %8.3f %6d\n", l, r, f["cps"],
			    f["p50_ms"], f["p99_ms"], f["fail"] }'
	done
done
if grep -q "limit .* reached" "$dir/limits.log"; then
	echo "limits_bench.sh: a limit was reached; the figures are not" \
	    "the lookup's cost" >&2
	exit 1
fi
