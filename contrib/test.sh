#!/bin/sh
# Install dependencies, then build and run the whole test suite twice:
# a normal build and an AddressSanitizer + UndefinedBehaviorSanitizer
# build; then a clang libFuzzer build runs each fuzz harness for a bounded
# time (suite 'fuzz', about a minute on two cores).  Ends with one
# "N passed, N failed, N skipped" line over all three.
set -u
cd "$(dirname "$0")/.."
sh contrib/deps.sh || exit 1

rc=0
run_suite() {
	dir=$1
	shift
	if [ ! -d "$dir" ]; then
		meson setup "$dir" -Dtest_hooks=true "$@" || return 1
	fi
	meson compile -C "$dir" || return 1
	meson test -C "$dir" --print-errorlogs --num-processes 2 \
	    --timeout-multiplier 3
}

run_suite build-test || rc=1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false \
    || rc=1

# libFuzzer: clang, every library instrumented (see fuzz/meson.build).
# Reconfigured every time: a harness that appeared since is picked up.
run_fuzz() {
	rm -f build-fuzz/meson-logs/testlog.json
	if [ -f build-fuzz/meson-private/coredata.dat ]; then
		# clang++ for a build made before sluice had C++.
		CXX=clang++ meson setup --reconfigure build-fuzz \
		    -Dcpp_args=-fsanitize=fuzzer-no-link || return 1
	else
		rm -rf build-fuzz
		CC=clang CXX=clang++ meson setup build-fuzz -Dfuzz=true \
		    -Dtests=disabled -Db_sanitize=address,undefined \
		    -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link \
		    -Dcpp_args=-fsanitize=fuzzer-no-link -Dwerror=false ||
		    return 1
	fi
	# meson test builds only what the harnesses link, not sluiced.
	meson test -C build-fuzz --suite fuzz --print-errorlogs \
	    --num-processes 2
}
run_fuzz || rc=1

python3 - <<'PY'
import json, os
p = f = s = 0
for d in ("build-test", "build-asan", "build-fuzz"):
    path = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(path):
        f += 1
        continue
    for line in open(path):
        r = json.loads(line)
        if r["result"] in ("OK", "EXPECTEDFAIL"):
            p += 1
        elif r["result"] == "SKIP":
            s += 1
        else:
            f += 1
print(f"{p} passed, {f} failed, {s} skipped")
PY
exit $rc
