#!/usr/bin/env bash
#
# bench/tunnel_bench.sh: the reverse tunnels' cost (issue 10, "Performance").
# One run, one load generator (slbench), three paths to the same origin
# (slbench's server):
#
#   direct  client -> origin
#   tunnel  client -> server sluiced (socks5) -> agent link -> TLS tunnel
#           -> agent sluiced -> origin
#   ssh -L  client -> ssh -L port -> sshd (loopback) -> origin, our own
#           sshd on a free port; `ssh -D` (SOCKS5, the same cycle as the
#           tunnel's) is a fourth row for connections/s
#
# What it measures, each row REPS times, a round's rows back to back so
# noise hits them alike (medians reported):
#   - throughput of 1 and of 8 streams (STREAMS), up and down, Gbit/s,
#     and the relay's CPU seconds per GB (both sluiced trees; sshd + ssh);
#   - connections/s with CONC in flight: connect, SOCKS5 CONNECT (ssh -L
#     and direct: none), 64-byte echo, close; p99 in ms;
#   - memory per idle stream: HOLD_N sessions held open through the
#     tunnel, (Pss with - Pss before) / HOLD_N over every process of both
#     sluiced trees;
#   - memory per idle agent: AGENTS agents of the same name, the server's
#     tunnel process's Pss (and anonymous Pss) with AGENTS minus with 1,
#     divided by AGENTS - 1.
#
#   bench/tunnel_bench.sh            # as root; about 4 minutes
#   QUICK=1 bench/tunnel_bench.sh    # under a minute
#
# Environment (defaults in brackets): BUILD [/tmp/build-bench], SLUICED,
# DURATION [5; QUICK 1], REPS [3; QUICK 1], STREAMS ["1 8"], DIRS
# ["up down"], CONC [50], HOLD_N [1000], AGENTS [8; QUICK 4], PROXY_PORT
# [24080: socks, +1 tunnel, +2 sshd, +3 ssh -L, +4 ssh -D], NETNS=0 (the
# host's loopback instead of a namespace of our own), NO_INSTALL=1 (no
# apt-get for openssh; its rows are then skipped), KEEP=1.
#
# Everything runs on loopback in a network namespace of its own (ephemeral
# ports 10000-65535), so the cps runs' TIME_WAIT sockets and other work's
# daemons do not interfere.  Every process it starts is stopped by pid.
# Writes the tables to stdout and to bench/results/tunnel-latest.txt.
set -u

PROG=tunnel_bench.sh
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
BUILD=${BUILD:-/tmp/build-bench}
if [ "${QUICK:-0}" = 1 ]; then
	DURATION=${DURATION:-1}
	REPS=${REPS:-1}
	AGENTS=${AGENTS:-4}
else
	DURATION=${DURATION:-5}
	REPS=${REPS:-3}
	AGENTS=${AGENTS:-8}
fi
STREAMS=${STREAMS:-1 8}
DIRS=${DIRS:-up down}
CONC=${CONC:-50}
HOLD_N=${HOLD_N:-1000}
PROXY_PORT=${PROXY_PORT:-24080}
HZ=$(getconf CLK_TCK)
RESDIR=$ROOT/bench/results

need_root
if [ -z "${TB_NS:-}" ] && [ "${NETNS:-1}" = 1 ]; then
	ns=sltunnel-$$
	ip netns add "$ns" ||
	    fail "ip netns add $ns failed (NETNS=0: the host's loopback)"
	ip netns exec "$ns" ip link set lo up
	ip netns exec "$ns" sysctl -q -w \
	    net.ipv4.ip_local_port_range="10000 65535"
	TB_NS=$ns ip netns exec "$ns" bash "$0" "$@"
	rc=$?
	ip netns del "$ns"
	exit $rc
fi

SOCKS_PORT=$PROXY_PORT
TUN_PORT=$((PROXY_PORT + 1))
SSHD_PORT=$((PROXY_PORT + 2))
SSHL_PORT=$((PROXY_PORT + 3))
SSHD_D_PORT=$((PROXY_PORT + 4))
TMP=
FAILED=0
SERVER_PID=
SRV_PID=
AGENT_PID=
EXTRA_AGENTS=
SSHD_PID=
SSH_PID=
HOLDER_PID=
RESULTS=
NOTES=

# ---------------------------------------------------------------- processes
# stop_tree PID: stop a process we started (SIGTERM, deadline, SIGKILL),
# then any of its children (sshd's per-connection ones) that outlive it.
stop_tree() {
	local root=$1 kids p i
	[ -n "$root" ] || return 0
	kids=$(tree_pids "$root" | grep -vx "$root")
	stop_pid "$root" 150 || say "$PROG: $root ignored SIGTERM; killed"
	for p in $kids; do
		kill -TERM "$p" 2>/dev/null || continue
		for i in $(seq 1 30); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
	done
}

cleanup() {
	local p
	[ -n "$HOLDER_PID" ] && stop_pid "$HOLDER_PID" 20
	for p in $EXTRA_AGENTS $AGENT_PID $SRV_PID $SSH_PID $SSHD_PID; do
		stop_tree "$p"
	done
	[ -n "$SERVER_PID" ] && stop_pid "$SERVER_PID" 20
	remove_tmp
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_port PORT TENTHS: until something listens on PORT.
wait_port() {
	local i
	for i in $(seq 1 "$2"); do
		port_busy "$1" && return 0
		sleep 0.1
	done
	return 1
}

# mem_tree PID...: "PSS ANON" in KiB, summed over those processes and all
# their descendants: smaps_rollup's Pss, and Pss_Anon + Pss_Shmem (ANON,
# the memory not backed by files: Pss also moves when other processes on
# the machine map or unmap the same libraries, by up to a few MiB).
mem_tree() {
	local r p
	for r in "$@"; do
		for p in $(tree_pids "$r"); do
			cat "/proc/$p/smaps_rollup" 2>/dev/null
		done
	done | awk '$1 == "Pss:" { p += $2 }
	    $1 == "Pss_Anon:" || $1 == "Pss_Shmem:" { a += $2 }
	    END { printf "%d %d\n", p, a }'
}

# add_result KEY=VALUE...: one more RESULT line.
add_result() {
	RESULTS="${RESULTS}RESULT $*
"
}

# relay_pids ROW: the processes whose CPU counts for ROW.
relay_pids() {
	case $1 in
	tunnel)	tree_pids "$SRV_PID"; tree_pids "$AGENT_PID" ;;
	ssh*)	tree_pids "$SSHD_PID"; echo "$SSH_PID" ;;
	esac
}

# ---------------------------------------------------------------- setup
build_sluiced
meson_setup
ninja -C "$BUILD" bench/slbench >&2 || fail "building slbench failed"
SLBENCH=$BUILD/bench/slbench
MEM_TOOL=$SLBENCH
make_tmp sluice-tunnel
ulimit -n "$(ulimit -Hn)" || fail "cannot raise RLIMIT_NOFILE"
for p in $SOCKS_PORT $TUN_PORT $SSHD_PORT $SSHL_PORT $SSHD_D_PORT; do
	port_busy "$p" && fail "port $p is in use (PROXY_PORT=...)"
done
start_server
openssl rand -hex 32 > "$TMP/lab.secret" || fail "openssl rand failed"
chmod 600 "$TMP/lab.secret"

# sluiced_conf FILE agent|server [WORKERS]
sluiced_conf() {
	local common="\"workers\":${3:-2},\"user\":\"nobody\",
 \"chroot\":\"$TMP/empty\",\"log_level\":\"warn\",\"max_threads\":20000,
 \"max_handshakes\":2000,\"idle_timeout\":3600,\"timeout\":30"
	if [ "$2" = server ]; then
		cat > "$1" <<EOF
{"listeners":[
 {"name":"agents","kind":"tunnel","listen":"127.0.0.1:$TUN_PORT",
  "max_streams":4096,
  "agents":[{"name":"lab","secret_file":"$TMP/lab.secret"}]},
 {"name":"socks","kind":"socks5","listen":"127.0.0.1:$SOCKS_PORT"}],
 $common,
 "balancer":{"links":[{"name":"lab","protocol":"agent","agent":"lab"}]}}
EOF
	else
		cat > "$1" <<EOF
{"agent":{"server":"127.0.0.1:$TUN_PORT","name":"lab",
  "secret_file":"$TMP/lab.secret","max_streams":4096,
  "allow":[{"ips":["127.0.0.0/8"],"ports":[$SERVER_PORT]}]},
 $common}
EOF
	fi
	"$SLUICED" -t -c "$1" >&2 || fail "sluiced -t rejects $1"
}

# agents_up N: until the server's tunnel process has logged N agents
# connected (the daemons log at warn, so count the tunnel's own lines in
# `sluicectl`-free form: the ESTABLISHED connections to the tunnel port).
agents_up() {
	local i n
	for i in $(seq 1 200); do
		n=$(ss -Htn state established "( sport = :$TUN_PORT )" |
		    wc -l)
		[ "$n" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

start_tunnel() {
	local i
	sluiced_conf "$TMP/server.json" server
	sluiced_conf "$TMP/agent.json" agent
	"$SLUICED" -c "$TMP/server.json" 2>> "$TMP/sluiced-server.log" &
	SRV_PID=$!
	wait_port "$TUN_PORT" 100 || fail "server sluiced did not listen"
	"$SLUICED" -c "$TMP/agent.json" 2>> "$TMP/sluiced-agent.log" &
	AGENT_PID=$!
	agents_up 1 || fail "the agent did not connect (logs in $TMP)"
	for i in $(seq 1 20); do
		timeout 5 "$SLBENCH" probe -s "$SOCKS_PORT" -t "$SERVER_PORT" \
		    -T 1 >/dev/null 2>&1 && return 0
	done
	FAILED=1
	fail "no echo through the tunnel (logs in $TMP)"
}

# start_ssh: our own sshd on SSHD_PORT (host key and root's authorized
# key in TMP), and one ssh client with -L SSHL_PORT and -D SSHD_D_PORT.
start_ssh() {
	local s=$TMP/ssh
	if ! command -v /usr/sbin/sshd >/dev/null || ! command -v ssh >/dev/null
	then
		[ "${NO_INSTALL:-0}" = 1 ] && return 1
		apt-get install -y openssh-server openssh-client >&2 ||
		    return 1
	fi
	mkdir -m 700 "$s" && mkdir -p -m 755 /run/sshd || return 1
	ssh-keygen -q -t ed25519 -N '' -f "$s/host" &&
	    ssh-keygen -q -t ed25519 -N '' -f "$s/id" || return 1
	cp "$s/id.pub" "$s/authorized_keys"
	cat > "$s/sshd_config" <<EOF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $s/host
PidFile none
AuthorizedKeysFile $s/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
MaxSessions 100
MaxStartups 100
LogLevel ERROR
EOF
	/usr/sbin/sshd -D -e -f "$s/sshd_config" 2>> "$s/sshd.log" &
	SSHD_PID=$!
	wait_port "$SSHD_PORT" 100 || return 1
	ssh -F /dev/null -N -v -i "$s/id" -p "$SSHD_PORT" \
	    -o BatchMode=yes -o StrictHostKeyChecking=no \
	    -o UserKnownHostsFile="$s/known_hosts" \
	    -o ExitOnForwardFailure=yes \
	    -L "127.0.0.1:$SSHL_PORT:127.0.0.1:$SERVER_PORT" \
	    -D "127.0.0.1:$SSHD_D_PORT" root@127.0.0.1 2> "$s/ssh.log" &
	SSH_PID=$!
	wait_port "$SSHL_PORT" 100 && wait_port "$SSHD_D_PORT" 50 || return 1
	SSH_CIPHER=$(sed -n 's/.*kex: server->client cipher: \([^ ]*\).*/\1/p' \
	    "$s/ssh.log" | head -n 1)
}

start_tunnel
SSH_CIPHER=
SSH_ROWS="sshL"
if start_ssh; then
	SSH_ROWS="sshL sshD"
else
	NOTES="${NOTES}ssh rows not run: sshd or ssh did not come up (see $TMP/ssh)
"
	SSH_ROWS=
	FAILED=1
fi

# ---------------------------------------------------------------- runs
# daemons_alive: both sluiced masters still run; otherwise say how each
# ended (its wait status) and note it.
daemons_alive() {
	local p rc ok=0
	for p in "$SRV_PID" "$AGENT_PID"; do
		kill -0 "$p" 2>/dev/null && continue
		wait "$p" 2>/dev/null
		rc=$?
		ok=1
		NOTES="${NOTES}sluiced $p ($([ "$p" = "$SRV_PID" ] &&
		    echo server || echo agent)) ended during $ROW $MEAS round"
		NOTES="$NOTES $REP, wait status $rc; restarted, run repeated
"
	done
	return $ok
}

# restart_tunnel: stop whatever is left of both daemons, start both again.
restart_tunnel() {
	say "$PROG: a sluiced died; logs:"
	tail -n 20 "$TMP"/sluiced-*.log >&2
	stop_tree "$AGENT_PID"
	stop_tree "$SRV_PID"
	AGENT_PID=
	SRV_PID=
	start_tunnel
}

# measure_once ROW MEAS CMD...: run the client CMD with a time limit; keep
# its RESULT line with row=, rep=, meas=, relay_cpu_s= (the relay's CPU)
# and tunnel_procs_cpu_s= (the two tunnel processes' part of it).
# Returns 1, keeping nothing, when a sluiced died meanwhile.
measure_once() {
	local row=$1 meas=$2 out rc c0=0 c1=0 t0=0 t1=0 pids tp p line
	shift 2
	say "--- $row $meas (round $REP)"
	pids=$(relay_pids "$row")
	tp=$(for p in $pids; do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = sluice-tunnel ] &&
		    echo "$p"
	done)
	[ -n "$pids" ] && c0=$(cpu_ticks $pids) && t0=$(cpu_ticks $tp)
	out=$(timeout -k 5 $((DURATION + 60)) "$@" 2>&1)
	rc=$?
	[ -n "$pids" ] && c1=$(cpu_ticks $pids) && t1=$(cpu_ticks $tp)
	printf '%s\n' "$out" | grep -v '^RESULT ' >&2
	ROW=$row MEAS=$meas daemons_alive || return 1
	line=$(printf '%s\n' "$out" | grep '^RESULT ' | head -n 1)
	if [ -z "$line" ]; then
		FAILED=1
		say "$PROG: $row $meas: no result (exit $rc)"
		return 0
	fi
	RESULTS="$RESULTS$line row=$row rep=$REP meas=$meas$(awk \
	    -v c=$((c1 - c0)) -v t=$((t1 - t0)) -v hz="$HZ" 'BEGIN {
	    printf " relay_cpu_s=%.3f tunnel_procs_cpu_s=%.3f", c / hz, t / hz }')
"
}

# measure ROW MEAS CMD...: measure_once; if a sluiced died, restart both
# and run it once more.
measure() {
	measure_once "$@" && return 0
	restart_tunnel
	measure_once "$@" && return 0
	FAILED=1
	restart_tunnel
}

# via ROW: the client's options for ROW (proxy and target).
via() {
	case $1 in
	direct)	echo "-t $SERVER_PORT" ;;
	tunnel)	echo "-s $SOCKS_PORT -t $SERVER_PORT" ;;
	sshL)	echo "-t $SSHL_PORT" ;;
	sshD)	echo "-s $SSHD_D_PORT -t $SERVER_PORT" ;;
	esac
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)
for REP in $(seq 1 "$REPS"); do
	for n in $STREAMS; do
		for d in $DIRS; do
			for row in direct tunnel ${SSH_ROWS%% *}; do
				# shellcheck disable=SC2046
				measure "$row" "tput$n" "$SLBENCH" tput \
				    $(via "$row") -n "$n" -T "$DURATION" \
				    -d "$d" -S "$SERVER_PID" -L "$row"
			done
		done
	done
	for row in direct tunnel $SSH_ROWS; do
		# shellcheck disable=SC2046
		measure "$row" cps "$SLBENCH" cps $(via "$row") -c "$CONC" \
		    -n 1000000 -T "$DURATION" -b 64 -S "$SERVER_PID" -L "$row"
	done
done

# ---------------------------------------------------------------- memory
# Idle streams: HOLD_N sessions through the tunnel, held by a small
# holder (scale_bench.sh's) until its stdin closes.
sleep 2
read -r pss0 anon0 <<< "$(mem_tree "$SRV_PID" "$AGENT_PID")"
mkfifo "$TMP/holdin"
python3 "$ROOT/bench/scale_holder.py" "$SOCKS_PORT" "$SERVER_PORT" \
    "$HOLD_N" "$TMP/held" < "$TMP/holdin" 2> "$TMP/holder.log" &
HOLDER_PID=$!
exec 8> "$TMP/holdin"
for i in $(seq 1 1200); do
	[ -s "$TMP/held" ] && break
	kill -0 "$HOLDER_PID" 2>/dev/null || break
	sleep 0.1
done
if [ -s "$TMP/held" ]; then
	sleep 2
	read -r pss1 anon1 <<< "$(mem_tree "$SRV_PID" "$AGENT_PID")"
	srvtree=$(mem_tree "$SRV_PID")
	agtree=$(mem_tree "$AGENT_PID")
	add_result test=idle_streams held="$HOLD_N" pss0_kib="$pss0" \
	    pss1_kib="$pss1" anon0_kib="$anon0" anon1_kib="$anon1" \
	    server_tree="${srvtree// /,}" agent_tree="${agtree// /,}"
else
	FAILED=1
	NOTES="${NOTES}idle streams: $HOLD_N not held ($(tail -n 1 "$TMP/holder.log"))
"
fi
exec 8>&-
stop_pid "$HOLDER_PID" 50
HOLDER_PID=
sleep 1
read -r pss2 anon2 <<< "$(mem_tree "$SRV_PID" "$AGENT_PID")"
add_result test=idle_streams_closed pss_kib="$pss2" anon_kib="$anon2"

# Idle agents: AGENTS - 1 more agents of the same name (1 worker each);
# the growth of the server's tunnel process per connection.
tunnel_proc() {
	local p
	for p in $(tree_pids "$SRV_PID"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = sluice-tunnel ] &&
		    echo "$p" && return 0
	done
}
TPROC=$(tunnel_proc)
read -r tp0 ta0 <<< "$(mem_tree "$TPROC")"
read -r sp0 sa0 <<< "$(mem_tree "$SRV_PID")"
sluiced_conf "$TMP/agent1.json" agent 1
for k in $(seq 2 "$AGENTS"); do
	"$SLUICED" -c "$TMP/agent1.json" 2>> "$TMP/agent-$k.log" &
	EXTRA_AGENTS="$EXTRA_AGENTS $!"
done
if agents_up "$AGENTS"; then
	sleep 2
	read -r tp1 ta1 <<< "$(mem_tree "$TPROC")"
	read -r sp1 sa1 <<< "$(mem_tree "$SRV_PID")"
	one=$(mem_tree "${EXTRA_AGENTS##* }")
	add_result test=idle_agents agents="$AGENTS" \
	    tunnel_pss0_kib="$tp0" tunnel_pss1_kib="$tp1" \
	    tunnel_anon0_kib="$ta0" tunnel_anon1_kib="$ta1" \
	    server_pss0_kib="$sp0" server_pss1_kib="$sp1" \
	    server_anon0_kib="$sa0" server_anon1_kib="$sa1" \
	    agent_daemon="${one// /,}"
else
	FAILED=1
	NOTES="${NOTES}idle agents: fewer than $AGENTS connected
"
fi
for p in $EXTRA_AGENTS; do
	stop_tree "$p"
done
EXTRA_AGENTS=
T1=$(date +%s)

# ---------------------------------------------------------------- report
table() {
	awk -v reps="$REPS" -v streams="$STREAMS" -v dirs="$DIRS" \
	    -v rows="direct tunnel $SSH_ROWS" -v held="$HOLD_N" \
	    -v agents="$AGENTS" -v conc="$CONC" "$KV_AWK"'
	function add(k, v) { V[k, ++N[k]] = v }
	function max0(x) { return x > 0 ? x : 0 }
	function med(k,   n, i, j, t, a) {
		n = N[k]; if (n == 0) return ""
		for (i = 1; i <= n; i++) a[i] = V[k, i]
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function cell(k, f) { return N[k] ? sprintf(f, med(k)) : "-" }
	# slbench counts the relay (not given with -m) in other_pct.
	/^RESULT / { kv($0); if ("other_pct" in F && F["secs"] > 0)
		add("other", max0(F["other_pct"] - 100 * F["relay_cpu_s"] / F["secs"])) }
	/^RESULT test=tput / { r = F["row"]; k = F["streams"] SUBSEP F["dir"] SUBSEP r
		add("g" SUBSEP k, F["gbps"])
		if (r != "direct" && F["gbps"] > 0)
			add("c" SUBSEP k, F["relay_cpu_s"] / (F["bytes"] / 1e9))
		if (r == "tunnel" && F["relay_cpu_s"] > 0)
			add("tshare", 100 * F["tunnel_procs_cpu_s"] / F["relay_cpu_s"]) }
	/^RESULT test=cps / { r = F["row"]; add("cps" SUBSEP r, F["cps"])
		add("p99" SUBSEP r, F["p99_ms"]); add("fail" SUBSEP r, F["fail"] - F["conc"])
		if (r != "direct" && F["ok"] > 0)
			add("us" SUBSEP r, F["relay_cpu_s"] * 1e6 / F["ok"]) }
	/^RESULT test=idle_streams / { S = 1; s0 = F["pss0_kib"]; s1 = F["pss1_kib"]
		a0 = F["anon0_kib"]; a1 = F["anon1_kib"]; st = F["server_tree"]; at = F["agent_tree"] }
	/^RESULT test=idle_streams_closed / { sc = F["pss_kib"] }
	/^RESULT test=idle_agents / { A = 1; split("tunnel_pss0_kib tunnel_pss1_kib tunnel_anon0_kib tunnel_anon1_kib server_pss0_kib server_pss1_kib server_anon0_kib server_anon1_kib agent_daemon", ks, " ")
		for (i in ks) G[ks[i]] = F[ks[i]] }
	END {
		nr = split(rows, R, " "); ns = split(streams, SN, " "); nd = split(dirs, D, " ")
		printf "Processes other than the client, the origin and the relay took a median %s%% CPU (of 200%%) during the runs\n\n", cell("other", "%.0f")
		printf "Throughput (Gbit/s; relay CPU s/GB in brackets), medians of %d\n", reps
		printf "%-16s", ""; for (i = 1; i <= nr; i++) if (R[i] != "sshD") printf " %18s", R[i] == "sshL" ? "ssh -L" : R[i]
		printf " %10s %10s\n", "tun/direct", "tun/ssh"
		for (s = 1; s <= ns; s++) for (d = 1; d <= nd; d++) {
			lbl = SN[s] " stream" (SN[s] + 0 > 1 ? "s " : " ") D[d]
			printf "%-16s", lbl
			for (i = 1; i <= nr; i++) { if (R[i] == "sshD") continue
				k = SN[s] SUBSEP D[d] SUBSEP R[i]
				c = R[i] == "direct" ? "" : " [" cell("c" SUBSEP k, "%.2f") "]"
				printf " %18s", cell("g" SUBSEP k, "%.2f") c }
			t = med("g" SUBSEP SN[s] SUBSEP D[d] SUBSEP "tunnel")
			x = med("g" SUBSEP SN[s] SUBSEP D[d] SUBSEP "direct")
			y = med("g" SUBSEP SN[s] SUBSEP D[d] SUBSEP "sshL")
			rx = x > 0 ? sprintf("%.2f", t / x) : "-"
			ry = y > 0 ? sprintf("%.2f", t / y) : "-"
			printf " %10s %10s\n", rx, ry
		}
		printf "The two tunnel processes (TLS and the multiplexer) took %s%% of the tunnel row'"'"'s CPU\n", cell("tshare", "%.0f")
		printf "\nConnections/s, %d in flight, connect + (SOCKS5 CONNECT) + 64-byte echo + close\n", conc
		printf "%-10s %10s %8s %6s %12s\n", "path", "conn/s", "p99_ms", "fail", "relay_us/c"
		for (i = 1; i <= nr; i++) printf "%-10s %10s %8s %6s %12s\n",
		    R[i] == "sshL" ? "ssh -L" : R[i] == "sshD" ? "ssh -D" : R[i],
		    cell("cps" SUBSEP R[i], "%.0f"), cell("p99" SUBSEP R[i], "%.2f"),
		    cell("fail" SUBSEP R[i], "%d"), R[i] == "direct" ? "-" : cell("us" SUBSEP R[i], "%.0f")
		printf "\nMemory per idle stream (%d held through the tunnel; both sluiced trees)\n", held
		if (S) {
			printf "  anon+shmem Pss before %d KiB, held %d KiB: %.2f KiB per stream\n",
			    a0, a1, (a1 - a0) / held
			printf "  (all Pss before %d KiB, held %d KiB, after close %d KiB: %.2f KiB per stream)\n",
			    s0, s1, sc, (s1 - s0) / held
			split(st, u, ","); split(at, v, ",")
			printf "  held: server tree Pss %d KiB, agent tree Pss %d KiB\n", u[1], v[1]
		} else print "  not measured"
		printf "\nMemory per idle agent (%d agents named lab; the server tunnel process)\n", agents
		if (A) {
			n = agents - 1
			printf "  tunnel process anon+shmem Pss %d -> %d KiB: %.1f KiB per agent\n",
			    G["tunnel_anon0_kib"], G["tunnel_anon1_kib"], (G["tunnel_anon1_kib"] - G["tunnel_anon0_kib"]) / n
			printf "  whole server tree anon+shmem Pss %d -> %d KiB: %.1f KiB per agent\n",
			    G["server_anon0_kib"], G["server_anon1_kib"], (G["server_anon1_kib"] - G["server_anon0_kib"]) / n
			printf "  (all Pss of the tunnel process %d -> %d KiB, moved by the agents sharing the binary'"'"'s pages)\n",
			    G["tunnel_pss0_kib"], G["tunnel_pss1_kib"]
			split(G["agent_daemon"], w, ",")
			printf "  one agent daemon itself (1 worker): Pss %d KiB, anon+shmem %d KiB\n", w[1], w[2]
		} else print "  not measured"
	}'
}

mkdir -p "$RESDIR" || fail "mkdir $RESDIR failed"
{
	echo "tunnel_bench.sh $(date -u '+%Y-%m-%d %H:%M UTC'), git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '+changes'), $(nproc) cores, load before $LOAD0, runs took $((T1 - T0)) s"
	echo "QUICK=${QUICK:-0} DURATION=$DURATION REPS=$REPS STREAMS=\"$STREAMS\" CONC=$CONC HOLD_N=$HOLD_N AGENTS=$AGENTS netns=${TB_NS:-none}"
	echo "sluiced: $SLUICED (2 workers per end, splice default, TLS 1.3 PSK tunnel)"
	echo "ssh: $(ssh -V 2>&1), cipher ${SSH_CIPHER:-?}"
	echo
	printf '%s' "$RESULTS" | table
	[ -n "$NOTES" ] && printf '\nNotes:\n%s' "$NOTES"
	echo
	printf '%s' "$RESULTS"
} | tee "$RESDIR/tunnel-latest.txt"
exit "$FAILED"
