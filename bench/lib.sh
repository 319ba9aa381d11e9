# bench/lib.sh: shell functions shared by bench/run.sh,
# bench/race_bench.sh and bench/sni_bench.sh.  Sourced, not run; it
# starts nothing by itself.
#
# The sourcing script sets PROG (its name, for messages), ROOT, BUILD and
# PROXY_PORT, and keeps its state in TMP, SERVER_PID, SERVER_PORT,
# DAEMON_PID and FAILED; SLUICED and SLBENCH must be set before a server
# or a daemon is started.

say() { printf '%s\n' "$*" >&2; }
fail() { say "$PROG: $*"; exit 1; }

need_root() {
	[ "$(id -u)" = 0 ] ||
	    fail "sluiced must be started as root; run as root"
}

port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# stop_pid PID [TENTHS]: SIGTERM to a process this script started, up to
# TENTHS tenths of a second [150] for it to go, then SIGKILL; reap it.
# Returns 1 when it had to be killed.
stop_pid() {
	local pid=$1 n=${2:-150} i rc=0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 "$n"); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		rc=1
	fi
	wait "$pid" 2>/dev/null
	return $rc
}

# The master's descendants, as a load tool's `mem -m` lists them: $MEM_TOOL
# (slbench or sni_load, set by the sourcing script).
find_kids() {
	DAEMON_KIDS=$("$MEM_TOOL" mem -m "$DAEMON_PID" 2>/dev/null |
	    awk -v m="$DAEMON_PID" '$2 == "pid" && $3 != m { print $3 }')
}

# Stop the daemon we started: SIGTERM to the master, wait with a deadline,
# then SIGKILL; then any child of it (recorded earlier) that outlived it.
stop_daemon() {
	local i pid
	[ -n "$DAEMON_PID" ] || return 0
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		find_kids
		stop_pid "$DAEMON_PID" ||
		    say "$PROG: sluiced $DAEMON_PID ignored SIGTERM for 15 s; SIGKILL"
	fi
	wait "$DAEMON_PID" 2>/dev/null
	for pid in $DAEMON_KIDS; do
		for i in $(seq 1 30); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null &&
		    grep -q '^sluice' "/proc/$pid/comm" 2>/dev/null; then
			say "$PROG: child $pid of sluiced outlived it; SIGKILL"
			kill -KILL "$pid" 2>/dev/null
		fi
	done
	DAEMON_PID=
	DAEMON_KIDS=
}

# Configure $BUILD (a release build) unless it already is.
meson_setup() {
	if [ ! -f "$BUILD/build.ninja" ]; then
		meson setup "$BUILD" "$ROOT" --buildtype=release >&2 ||
		    fail "meson setup $BUILD failed"
	fi
}

# make_tmp NAME: the temporary directory TMP, /tmp/NAME.XXXXXX, with an
# empty TMP/empty for sluiced's chroot.
make_tmp() {
	TMP=$(mktemp -d "/tmp/$1.XXXXXX") || fail "mktemp failed"
	chmod 755 "$TMP"
	mkdir -m 755 "$TMP/empty"
}

# Remove TMP, unless KEEP=1 or the run failed: then keep it and say so.
remove_tmp() {
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		if [ "${KEEP:-0}" = 1 ] || [ "$FAILED" != 0 ]; then
			say "$PROG: logs and configs kept in $TMP"
		else
			rm -rf "$TMP"
		fi
	fi
}

# slbench's test server on a port of its choosing (SERVER_PID,
# SERVER_PORT); it exits with this script or after an hour.
start_server() {
	local i
	"$SLBENCH" server -p 0 -P "$TMP/server.port" -T 3600 -K \
	    > "$TMP/server.log" 2>&1 &
	SERVER_PID=$!
	for i in $(seq 1 50); do
		[ -s "$TMP/server.port" ] && break
		sleep 0.1
	done
	[ -s "$TMP/server.port" ] || fail "slbench server did not start"
	SERVER_PORT=$(cat "$TMP/server.port")
}

# Move PROXY_PORT up to the first of it and the next 20 that nothing
# listens on (or to the last of them).
pick_proxy_port() {
	local i
	for i in $(seq 0 20); do
		port_busy $((PROXY_PORT + i)) || break
	done
	PROXY_PORT=$((PROXY_PORT + i))
}

# launch_daemon CONF LOG: check CONF, start sluiced on it (DAEMON_PID),
# its stderr appended to LOG, and wait until a SOCKS5 CONNECT through
# PROXY_PORT to the server echoes (20 probes of up to 5 s).  Returns 1,
# with FAILED=1, when it does not come up.
launch_daemon() {
	local i
	"$SLUICED" -t -c "$1" >&2 || fail "sluiced -t rejects $1"
	port_busy "$PROXY_PORT" && fail "port $PROXY_PORT is already in use"
	"$SLUICED" -c "$1" 2>> "$2" &
	DAEMON_PID=$!
	for i in $(seq 1 20); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		if timeout 5 "$SLBENCH" probe -s "$PROXY_PORT" \
		    -t "$SERVER_PORT" -T 1 >/dev/null 2>&1; then
			return 0
		fi
	done
	FAILED=1
	return 1
}

# An awk function for the tables: kv(line) puts the key=value fields of
# a RESULT line into the array F.
KV_AWK='
	function kv(line,   i, n, a, p) {
		delete F
		n = split(line, a, " ")
		for (i = 2; i <= n; i++) {
			p = index(a[i], "=")
			if (p > 0) F[substr(a[i], 1, p - 1)] = substr(a[i], p + 1)
		}
	}'

# SLUICED as given, or built in $BUILD (meson_setup, then ninja).
build_sluiced() {
	if [ -n "${SLUICED:-}" ]; then
		[ -x "$SLUICED" ] || fail "SLUICED=$SLUICED is not executable"
	else
		meson_setup
		ninja -C "$BUILD" sluiced >&2 ||
		    fail "building sluiced in $BUILD failed (SLUICED=path uses a daemon built elsewhere)"
		SLUICED=$BUILD/sluiced
	fi
}

# tree_pids ROOT: ROOT and its descendants, found through their ppid.
tree_pids() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
	{
		n = split($0, a, ")")
		split(a[n], f, " ")
		pid = $1 + 0; pp[pid] = f[2] + 0
	}
	END {
		in_tree[root] = 1; grew = 1
		while (grew) {
			grew = 0
			for (p in pp) if (!(p in in_tree) && (pp[p] in in_tree)) {
				in_tree[p] = 1; grew = 1
			}
		}
		for (p in in_tree) if (p in pp) print p
	}'
}

# cpu_ticks PID...: utime + stime + cutime + cstime of those processes,
# in clock ticks.  cutime keeps the CPU of children that exited and were
# reaped in the window (socat forks one per connection, Dante too).
cpu_ticks() {
	local p s=0 t
	for p in "$@"; do
		t=$(awk '{ n = split($0, a, ")"); split(a[n], f, " ")
		    print f[12] + f[13] + f[14] + f[15] }' \
		    "/proc/$p/stat" 2>/dev/null) || continue
		s=$((s + ${t:-0}))
	done
	echo "$s"
}
