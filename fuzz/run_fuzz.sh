#!/bin/sh
# Run one libFuzzer harness for a bounded time, as the 'fuzz' test suite
# does:  run_fuzz.sh HARNESS SEED_DIR ARTIFACT_DIR [libFuzzer flags...]
#
# The harness works on a scratch copy of its seeds, so what it finds never
# lands in the source tree, and starts from a fixed seed (FUZZ_SEED), so a
# run is repeatable up to timing.  A crash, leak, sanitizer report or
# timeout fails the test; its input is saved in ARTIFACT_DIR, and
# `HARNESS ARTIFACT_DIR/crash-...` replays it.
set -eu
bin=$1
seeds=$2
artifacts=$3
shift 3
time=${FUZZ_TIME:-${FUZZ_TIME_DEFAULT:-20}}

work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 143' INT TERM
if [ -d "$seeds" ]; then
	cp -R "$seeds"/. "$work"/
fi
mkdir -p "$artifacts"

# UBSan only prints by default; a report must fail the run.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
rc=0
# libFuzzer's own failure code is 77, which meson would count as a skip.
"$bin" -max_total_time="$time" -rss_limit_mb=1024 -timeout=5 \
    -error_exitcode=1 -timeout_exitcode=2 \
    -seed="${FUZZ_SEED:-1}" -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$@" "$work" || rc=$?
if [ "$rc" -eq 77 ]; then
	rc=1
fi
if [ "$rc" -ne 0 ]; then
	echo "run_fuzz.sh: $(basename "$bin") failed (exit $rc);" \
	    "reproducer in $artifacts/" >&2
	ls -l "$artifacts" >&2
fi
exit "$rc"
