#!/bin/sh
# Build every libFuzzer harness and run each for SECONDS (default 60):
#
#   fuzz/run.sh [SECONDS]        # from the top of the tree, after the
#                                # README's test command (clang installed)
#
# Prints one line per harness (result, executions, executions/s, new
# corpus units found) and a total in CPU-minutes; exits non-zero when any
# harness crashed, leaked, tripped a sanitizer or timed out.  Reproducers
# stay in build-fuzz/fuzz/artifacts/NAME/.  The build is the one CI uses
# (contrib/test.sh): clang, every library instrumented.
set -u
cd "$(dirname "$0")/.."
secs=${1:-60}
case "$secs" in
''|*[!0-9]*) echo "usage: fuzz/run.sh [SECONDS]" >&2; exit 2 ;;
esac

if [ -f build-fuzz/meson-private/coredata.dat ]; then
	meson setup --reconfigure build-fuzz >/dev/null || exit 1
else
	rm -rf build-fuzz
	CC=clang CXX=clang++ meson setup build-fuzz -Dfuzz=true \
	    -Dtests=disabled -Db_sanitize=address,undefined -Db_lundef=false \
	    -Dc_args=-fsanitize=fuzzer-no-link \
	    -Dcpp_args=-fsanitize=fuzzer-no-link -Dwerror=false >/dev/null ||
	    exit 1
fi
rm -f build-fuzz/meson-logs/testlog.json
FUZZ_TIME=$secs meson test -C build-fuzz --suite fuzz --num-processes 2 \
    >/dev/null 2>&1
rc=$?

# One line per harness from meson's log: libFuzzer's final stats.
python3 - "$secs" <<'PY'
import json, re, sys
secs = int(sys.argv[1])
total = 0.0
bad = 0
for line in open("build-fuzz/meson-logs/testlog.json"):
    r = json.loads(line)
    out = (r.get("stdout") or "") + (r.get("stderr") or "")
    def stat(name):
        m = re.findall(r"stat::%s:\s*(\d+)" % name, out)
        return int(m[-1]) if m else 0
    execs = stat("number_of_executed_units")
    persec = stat("average_exec_per_sec")
    new = stat("new_units_added")
    ok = r["result"] == "OK"
    bad += not ok
    total += r.get("duration", secs) / 60.0
    print("%-22s %-5s %10d execs %8d/s %5d new" % (
        r["name"], "ok" if ok else "FAIL", execs, persec, new))
print("%d harnesses, %.1f CPU-minutes, %d failed" % (
    sum(1 for _ in open("build-fuzz/meson-logs/testlog.json")), total, bad))
PY
exit $rc
