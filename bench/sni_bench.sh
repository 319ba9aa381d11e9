#!/usr/bin/env bash
#
# bench/sni_bench.sh: SNI routing on loopback (issue 9's figure).
# Connections per second through sluiced's `sni` listener with 10,000
# services, through HAProxy in `mode tcp` routing by req.ssl_sni over a map
# of the same 10,000 names, and directly, in the same run; and the memory
# 10,000 services cost.  See bench/README.md, "SNI routing".
#
#   bench/sni_bench.sh           # as root; full run, about 2 minutes
#   QUICK=1 bench/sni_bench.sh   # about 40 s
#
# Environment (defaults in brackets):
#   BUILD       build directory [/tmp/build-bench] (release, as run.sh)
#   SLUICED     use this sluiced binary instead of building one
#   HAPROXY     the haproxy binary [haproxy]; installed with apt-get when
#               missing, unless NO_INSTALL=1; without it, no HAProxy row
#   DURATION    seconds per measurement [10; QUICK: 3]
#   REPS        repetitions, medians reported [3]
#   CONC        connections in flight [50]
#   NSVC        services (names) [10000]
#   SPLICE      true|false: sluiced's "splice" [unset: its default]
#   PROXY_PORT  first port tried for sluiced [21443]; HAProxy takes the
#               next free one
#   KEEP=1      keep the temporary directory (configs, logs)
#
# Writes the tables to stdout and to bench/results/sni_latest.txt.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROG=sni_bench.sh
. "$ROOT/bench/lib.sh"
BUILD=${BUILD:-/tmp/build-bench}
if [ "${QUICK:-0}" = 1 ]; then
	DURATION=${DURATION:-3}
else
	DURATION=${DURATION:-10}
fi
REPS=${REPS:-3}
CONC=${CONC:-50}
NSVC=${NSVC:-10000}
PROXY_PORT=${PROXY_PORT:-21443}
HAPROXY=${HAPROXY:-haproxy}
WORKERS=2

RESDIR=$ROOT/bench/results
TMP=
FAILED=0
BACKEND_PID=
DAEMON_PID=
DAEMON_KIDS=
HAP_PID=
RESULTS=

# ---------------------------------------------------------------- processes
stop_haproxy() {
	stop_pid "$HAP_PID" 100 || say "$PROG: haproxy $HAP_PID killed"
	HAP_PID=
}

cleanup() {
	stop_daemon
	stop_haproxy
	stop_pid "$BACKEND_PID" 50
	remove_tmp
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- build
SNI_SRC=("$ROOT/bench/sni_load.c" "$ROOT/bench/slbench_proc.c")

build() {
	local f newer=0
	build_sluiced
	mkdir -p "$BUILD/bench-standalone" || fail "mkdir $BUILD failed"
	SNI_LOAD=$BUILD/bench-standalone/sni_load
	MEM_TOOL=$SNI_LOAD
	for f in "${SNI_SRC[@]}" "$ROOT/bench/slbench.h"; do
		[ "$f" -nt "$SNI_LOAD" ] && newer=1
	done
	if [ ! -x "$SNI_LOAD" ] || [ $newer = 1 ]; then
		${CC:-cc} -std=gnu11 -O2 -D_GNU_SOURCE -Wall -Wextra -Werror \
		    -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
		    -Wformat=2 -Wpointer-arith -o "$SNI_LOAD" "${SNI_SRC[@]}" ||
		    fail "building sni_load failed"
	fi
}

# HAProxy is a benchmark-only peer, not one of sluice's dependencies:
# install it when missing, or run without its row.
find_haproxy() {
	if ! command -v "$HAPROXY" >/dev/null 2>&1 &&
	    [ "${NO_INSTALL:-0}" != 1 ] && command -v apt-get >/dev/null; then
		say "$PROG: installing haproxy (apt-get install -y haproxy)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y \
		    --no-install-recommends haproxy >&2 ||
		    say "$PROG: apt-get install haproxy failed"
	fi
	if ! command -v "$HAPROXY" >/dev/null 2>&1; then
		say "$PROG: no haproxy ($HAPROXY): the HAProxy row is SKIPPED"
		HAPROXY=
		HAP_VERSION="not run (no haproxy)"
		return
	fi
	HAP_VERSION=$("$HAPROXY" -v 2>/dev/null | head -n 1)
	case $HAP_VERSION in
	*"version 2.6"*) ;;
	*) say "$PROG: note: $HAP_VERSION is not HAProxy 2.6" ;;
	esac
}

# ---------------------------------------------------------------- set-up
# A real ClientHello (OpenSSL's, through Python's ssl module) for
# s0.bench.test; sni_load puts each other name in it.
make_hello() {
	python3 - "$TMP/hello.bin" <<'EOF' || fail "cannot make a ClientHello"
import ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(inc, out, server_hostname="s0.bench.test")
try:
    tls.do_handshake()
except ssl.SSLWantReadError:
    pass
open(sys.argv[1], "wb").write(out.read())
EOF
}

start_backend() {
	local i
	"$SNI_LOAD" server -p 0 -P "$TMP/backend.port" -T 3600 -K \
	    > "$TMP/backend.log" 2>&1 &
	BACKEND_PID=$!
	for i in $(seq 1 50); do
		[ -s "$TMP/backend.port" ] && break
		sleep 0.1
	done
	[ -s "$TMP/backend.port" ] || fail "the backend did not start"
	BACKEND_PORT=$(cat "$TMP/backend.port")
}

# sluice_conf N: a config with services s0..s(N-1).bench.test.
sluice_conf() {
	local conf=$TMP/sluiced-$1.json splice=
	[ -n "${SPLICE:-}" ] && splice="\"splice\": $SPLICE,"
	{
		printf '{"listeners": [{"name": "tls", "kind": "sni", "listen": "127.0.0.1:%s"}],\n' "$SLUICE_PORT"
		printf ' "workers": %s, "user": "nobody", "chroot": "%s/empty", %s\n' "$WORKERS" "$TMP" "$splice"
		printf ' "log_level": "warn", "max_threads": 20000, "timeout": 30,\n "services": {\n'
		awk -v n="$1" -v p="$BACKEND_PORT" 'BEGIN { for (i = 0; i < n; i++)
		    printf "%s  \"s%d.bench.test\": {\"addr\": \"127.0.0.1\", \"tlsport\": %d}", i ? ",\n" : "", i, p }'
		printf '\n}}\n'
	} > "$conf"
	echo "$conf"
}

# haproxy_conf N: the same names in a map file, one backend.
haproxy_conf() {
	local conf=$TMP/haproxy-$1.cfg map=$TMP/sni-$1.map
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++)
	    printf "s%d.bench.test bk\n", i }' > "$map"
	cat > "$conf" <<EOF
global
	nbthread $WORKERS
	maxconn 8000
defaults
	mode tcp
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend sni
	bind 127.0.0.1:$HAP_PORT
	tcp-request inspect-delay 5s
	tcp-request content accept if { req_ssl_hello_type 1 }
	use_backend %[req.ssl_sni,lower,map($map,bk_none)]
backend bk
	server s1 127.0.0.1:$BACKEND_PORT
backend bk_none
EOF
	echo "$conf"
}

# probe PORT N: 20 hellos (s0..s19, or s0 when N is 1) answered, within
# 30 s.
probe() {
	timeout -k 5 40 "$SNI_LOAD" probe -t "$1" -H "$TMP/hello.bin" \
	    -N "$2" -n 20 -T 30 >&2
}

# start_sluiced N: sluiced with N services (DAEMON_PID), answering.
start_sluiced() {
	local conf log=$TMP/sluiced-$1.log
	conf=$(sluice_conf "$1")
	"$SLUICED" -t -c "$conf" >&2 || fail "sluiced -t rejects $conf"
	port_busy "$SLUICE_PORT" && fail "port $SLUICE_PORT is in use"
	"$SLUICED" -c "$conf" 2>> "$log" &
	DAEMON_PID=$!
	if ! probe "$SLUICE_PORT" "$1" || ! kill -0 "$DAEMON_PID" 2>/dev/null
	then
		FAILED=1
		say "$PROG: sluiced with $1 services did not come up; its log:"
		tail -n 20 "$log" >&2
		stop_daemon
		return 1
	fi
	find_kids
	say "sluiced pid $DAEMON_PID ($1 services), children:" $DAEMON_KIDS
}

# start_haproxy N: our own haproxy in the foreground (HAP_PID), answering.
start_haproxy() {
	local conf log=$TMP/haproxy-$1.log
	conf=$(haproxy_conf "$1")
	"$HAPROXY" -c -q -f "$conf" >&2 || fail "haproxy -c rejects $conf"
	port_busy "$HAP_PORT" && fail "port $HAP_PORT is in use"
	"$HAPROXY" -f "$conf" -db > "$log" 2>&1 &
	HAP_PID=$!
	if ! probe "$HAP_PORT" "$1" || ! kill -0 "$HAP_PID" 2>/dev/null; then
		FAILED=1
		say "$PROG: haproxy with $1 names did not come up; its log:"
		tail -n 20 "$log" >&2
		stop_haproxy
		return 1
	fi
	say "haproxy pid $HAP_PID ($1 names)"
}

# mem LABEL PID NAMES: Pss of PID's tree, and its private memory (Uss:
# Private_Clean + Private_Dirty, which other processes' use of the same
# libraries does not move), into a RESULT line.
mem() {
	local out pids p uss=0
	out=$("$SNI_LOAD" mem -m "$2" -L "$1")
	printf '%s\n' "$out" | grep -v '^RESULT ' >&2
	pids=$(printf '%s\n' "$out" | awk '$2 == "pid" { print $3 }')
	for p in $pids; do
		uss=$((uss + $(awk '/^Private_(Clean|Dirty):/ { s += $2 }
		    END { print s + 0 }' "/proc/$p/smaps_rollup" 2>/dev/null)))
	done
	say "  $1 total Uss $uss KiB"
	RESULTS="$RESULTS$(printf '%s\n' "$out" | grep '^RESULT ') uss_kib=$uss names=$3
"
}

# ---------------------------------------------------------------- runs
# measure LABEL PORT [PID]: one run of DURATION seconds.
measure() {
	local out rc mopt=()
	[ -n "${3:-}" ] && mopt=(-m "$3")
	say "--- $1 (round $REP)"
	out=$(timeout -k 5 $((DURATION + 30)) "$SNI_LOAD" run -t "$2" \
	    -H "$TMP/hello.bin" -N "$NSVC" -c "$CONC" -T "$DURATION" \
	    -S "$BACKEND_PID" "${mopt[@]}" -L "$1" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -v '^RESULT ' >&2
	if printf '%s\n' "$out" | grep -q '^RESULT '; then
		RESULTS="$RESULTS$(printf '%s\n' "$out" | grep '^RESULT ') rep=$REP
"
	else
		FAILED=1
		say "$PROG: $1: no result (exit $rc)"
	fi
}

# ---------------------------------------------------------------- tables
table() {
	awk "$KV_AWK"'
	function med(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n == 0 ? 0 : (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
	}
	{ kv($0) }
	F["test"] == "sni" {
		l = F["label"]
		if (!(l in runs)) order[++no] = l
		runs[l]++
		cps[l] = cps[l] " " F["cps"]; p50[l] = p50[l] " " F["p50_ms"]
		p99[l] = p99[l] " " F["p99_ms"]; us[l] = us[l] " " F["proxy_us_per_conn"]
		pc[l] = pc[l] " " F["proxy_cpu_pct"]; oth[l] = oth[l] " " F["other_pct"]
		fails[l] += F["fail"]; conc = F["conc"]; names = F["names"]
	}
	F["test"] == "mem" { pss[F["label"]] = F["pss_kib"]; uss[F["label"]] = F["uss_kib"]
		procs[F["label"]] = F["procs"]; if (F["names"] > 1) nsvc = F["names"] }
	END {
		if (no > 0) {
			printf "Connections per second, SNI routing (%s names, %s in flight): medians of the rounds\n", names, conc
			print "  cycle: connect, ClientHello (sK.bench.test, K = 0, 1, 2, ...), 64-byte reply from the backend, close"
			print "  proxy% = CPU of the proxy (sluiced: master + workers + resolver) / wall time; other% = the rest of the machine (noise)"
			printf "  %-8s %6s %9s %19s %8s %8s %8s %10s %7s %5s\n", "path", "rounds", "conn/s", "(min..max)", "p50 ms", "p99 ms", "proxy%", "proxyus/c", "other%", "fail"
			for (i = 1; i <= no; i++) { l = order[i]
				n = split(substr(cps[l], 2), a, " "); lo = hi = a[1]
				for (j = 2; j <= n; j++) { if (a[j] + 0 < lo + 0) lo = a[j]; if (a[j] + 0 > hi + 0) hi = a[j] }
				m[l] = med(cps[l])
				printf "  %-8s %6d %9.0f %19s %8.3f %8.3f %8s %10s %7.0f %5d\n", l, runs[l], m[l], sprintf("(%.0f..%.0f)", lo, hi), med(p50[l]), med(p99[l]), l == "direct" ? "-" : sprintf("%.0f", med(pc[l])), l == "direct" ? "-" : sprintf("%.1f", med(us[l])), med(oth[l]), fails[l] }
			uh = med(us["haproxy"]); cr = uh > 0 ? med(us["sluiced"]) / uh : 0
			if (m["haproxy"] > 0 && m["sluiced"] > 0)
				printf "  sluiced / haproxy conn/s = %.2f (target: >= 1.00); proxy CPU per connection, sluiced / haproxy = %.2f\n", m["sluiced"] / m["haproxy"], cr
			print ""
		}
		print "Memory of the routing table: with 1 name and with N, after 20 probes; sum over the process tree, KiB"
		print "  Pss shares library pages with every other process on the machine, so it moves with them; Uss (private) does not"
		printf "  %-8s %5s %9s %9s %9s %10s %9s %9s %9s %10s\n", "proxy", "procs", "Pss 1", "Pss N", "delta", "B/service", "Uss 1", "Uss N", "delta", "B/service"
		split("sluiced haproxy", ps, " ")
		for (i = 1; i <= 2; i++) { p = ps[i]
			if (!((p "-1") in pss) || !((p "-N") in pss)) { printf "  %-8s not measured\n", p; continue }
			d = pss[p "-N"] - pss[p "-1"]; du = uss[p "-N"] - uss[p "-1"]
			printf "  %-8s %5s %9d %9d %9d %10.0f %9d %9d %9d %10.0f\n", p, procs[p "-N"], pss[p "-1"], pss[p "-N"], d, d * 1024 / (nsvc - 1), uss[p "-1"], uss[p "-N"], du, du * 1024 / (nsvc - 1) }
	}'
}

# ---------------------------------------------------------------- main
need_root
build
find_haproxy
command -v python3 >/dev/null || fail "python3 is needed for the ClientHello"
make_tmp sni-bench
mkdir -p "$RESDIR"
make_hello
start_backend
say "backend pid $BACKEND_PID on 127.0.0.1:$BACKEND_PORT"
pick_proxy_port
SLUICE_PORT=$PROXY_PORT
PROXY_PORT=$((SLUICE_PORT + 1))
pick_proxy_port
HAP_PORT=$PROXY_PORT
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)

# Memory first, each on a fresh process; the one with NSVC names stays
# for the rounds.
say "=== memory"
if start_sluiced 1; then
	mem sluiced-1 "$DAEMON_PID" 1
	stop_daemon
fi
start_sluiced "$NSVC" && mem sluiced-N "$DAEMON_PID" "$NSVC"
if [ -n "$HAPROXY" ]; then
	if start_haproxy 1; then
		mem haproxy-1 "$HAP_PID" 1
		stop_haproxy
	fi
	start_haproxy "$NSVC" && mem haproxy-N "$HAP_PID" "$NSVC"
fi

say "=== connections: $REPS rounds of $DURATION s each, $CONC in flight"
for REP in $(seq 1 "$REPS"); do
	measure direct "$BACKEND_PORT"
	[ -n "$DAEMON_PID" ] && measure sluiced "$SLUICE_PORT" "$DAEMON_PID"
	[ -n "$HAP_PID" ] && measure haproxy "$HAP_PORT" "$HAP_PID"
done
if [ -n "$DAEMON_PID" ] && ! kill -0 "$DAEMON_PID" 2>/dev/null; then
	FAILED=1
	say "$PROG: sluiced died during the runs"
fi
if [ -n "$HAP_PID" ] && ! kill -0 "$HAP_PID" 2>/dev/null; then
	FAILED=1
	say "$PROG: haproxy died during the runs"
fi
stop_daemon
stop_haproxy

{
	echo "sluice SNI bench, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), git $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')"
	echo "host: $(uname -sr), $(nproc) cores, loadavg before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "sluiced: $SLUICED, workers=$WORKERS${SPLICE:+, splice=$SPLICE}; haproxy: $HAP_VERSION, nbthread $WORKERS"
	echo "params: DURATION=$DURATION REPS=$REPS CONC=$CONC NSVC=$NSVC; took $(( $(date +%s) - START )) s"
	echo
	printf '%s' "$RESULTS" | table
	echo
	echo "raw:"
	printf '%s' "$RESULTS"
} > "$RESDIR/sni_latest.txt"
cat "$RESDIR/sni_latest.txt"
[ "$FAILED" = 0 ] || say "$PROG: some runs failed; see above"
exit "$FAILED"
