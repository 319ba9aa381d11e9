#!/bin/bash
# Connections per second through sluiced with PythTRT's example routing
# versus a single direct link, in the same run (issue 3's figure).
#
#   direct    one direct link
#   pythtrt2  PythTRT's example matchers (balancer port allow-list, the
#             \.intranet.com$ forbid/allow pair) on two direct links:
#             the cost of the routing decision alone
#   pythtrt   PythTRT's example as written: the non-intranet traffic goes
#             through its socks5 link, here a second sluiced (two hops)
#
# Usage (root): SLUICED=build/sluiced SLBENCH=build/bench/slbench \
#               bench/routing_bench.sh [ROUNDS]
# Loopback only; every process it starts is stopped by pid at the end.
set -eu
SLUICED=${SLUICED:-build/sluiced}
SLBENCH=${SLBENCH:-build/bench/slbench}
ROUNDS=${1:-3}
dir=$(mktemp -d /tmp/sl-routing-bench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
srv=$(free_port); pd=$(free_port); p2=$(free_port); pp=$(free_port)
common="\"domain\":\"127.0.0.1\",\"workers\":2,\"user\":\"nobody\",\"chroot\":\"$dir/empty\",\"log_level\":\"warn\",\"max_threads\":20000"
matchers="\"matchers\":[{\"policy\":\"allow\",\"ports\":[80,443,8080,$srv]}]"
re='\\\\.intranet.com$'
cat > "$dir/direct.json" <<JSON
{$common,"port":$pd,"balancer":{"links":[{"name":"direct"}]}}
JSON
cat > "$dir/pythtrt2.json" <<JSON
{$common,"port":$p2,"balancer":{"links":[
 {"name":"lineA","matchers":[{"domains_re":["$re"],"policy":"forbid"}]},
 {"name":"lineB","matchers":[{"domains_re":["$re"],"policy":"allow"}]}],$matchers}}
JSON
cat > "$dir/pythtrt.json" <<JSON
{$common,"port":$pp,"balancer":{"links":[
 {"protocol":"socks5","domain":"127.0.0.1","port":$pd,"matchers":[{"domains_re":["$re"],"policy":"forbid"}]},
 {"matchers":[{"domains_re":["$re"],"policy":"allow"}]}],$matchers}}
JSON
"$SLBENCH" server -p "$srv" -T 600 >/dev/null 2>&1 & pids+=($!)
for c in direct pythtrt2 pythtrt; do
	"$SLUICED" -t -c "$dir/$c.json" >/dev/null
	"$SLUICED" -c "$dir/$c.json" 2>"$dir/$c.log" & pids+=($!)
done
for port in $pd $p2 $pp; do
	"$SLBENCH" probe -s "127.0.0.1:$port" -t "127.0.0.1:$srv" -T 10 >/dev/null
done
printf '%-9s %8s %8s %8s\n' config conn/s p50_ms p99_ms
for ((r = 1; r <= ROUNDS; r++)); do
	for c in "direct $pd" "pythtrt2 $p2" "pythtrt $pp"; do
		set -- $c
		"$SLBENCH" cps -s "127.0.0.1:$2" -t "127.0.0.1:$srv" -c 32 \
		    -n 20000 -L "$1" 2>/dev/null | awk -v l="$1" '/^RESULT/ {
			for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
			printf "%-9s %8.0f %8.3f %8.3f\n", l, f["cps"], f["p50_ms"], f["p99_ms"] }'
	done
done
