#!/bin/sh
# run-libfuzzer.sh - build every libFuzzer target with clang and run each
# for a bounded time on a scratch copy of its corpus; TAP out.
#
#	fuzz/run-libfuzzer.sh [SECONDS]      (default $FUZZ_SECONDS or 20)
#
# Run from a configured build directory (make fuzz-NAME must work there).
# New inputs stay in a scratch directory; a crash leaves its reproducer in
# the build directory and fails the target.
set -u
secs=${1:-${FUZZ_SECONDS:-20}}
top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
n=0 failed=0
scratch=$(mktemp -d /tmp/bipostal-fuzz.XXXXXX)
# every fuzz-NAME named on a .PHONY line of fuzz/local.mk
for target in $(sed -n 's/^\.PHONY://p' "$top/fuzz/local.mk" | tr ' \t' '\n\n' |
    sed -n 's/^fuzz-\([a-z0-9_]*\)$/\1/p'); do
	n=$((n + 1))
	bin=fuzz/${target}_fuzz-libfuzzer
	if ! make -s "fuzz-$target" >"$scratch/$target.build" 2>&1; then
		echo "not ok $n - $target: clang build failed"
		sed 's/^/# /' "$scratch/$target.build" | tail -5
		failed=$((failed + 1))
		continue
	fi
	mkdir -p "$scratch/$target"
	corpus=$top/fuzz/corpus/$target
	[ -d "$corpus" ] || corpus=
	"$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix="$PWD/fuzz-$target-" "$scratch/$target" $corpus \
	    >"$scratch/$target.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$scratch/$target.log")
	if [ $rc -eq 0 ]; then
		echo "ok $n - $target: ${runs:-?} executions in ${secs} s, no crash"
	else
		echo "not ok $n - $target: crash (exit $rc)"
		grep -E 'ERROR|SUMMARY|artifact' "$scratch/$target.log" | head -5 | sed 's/^/# /'
		failed=$((failed + 1))
	fi
done
rm -rf "$scratch"
echo "1..$n"
[ $failed -eq 0 ]
