#!/bin/sh
# Install dependencies, then build and run the whole test suite twice:
# a normal build and an AddressSanitizer + UndefinedBehaviorSanitizer
# build.  Ends with one "N passed, N failed, N skipped" line.
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

python3 - <<'PY'
import json, os
p = f = s = 0
for d in ("build-test", "build-asan"):
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
