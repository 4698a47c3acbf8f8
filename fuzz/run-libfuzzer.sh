#!/bin/sh
# run-libfuzzer.sh - build every libFuzzer target with clang and run each
# for a bounded time on a scratch copy of its corpus; TAP out.
#
#	fuzz/run-libfuzzer.sh [SECONDS]      (default $FUZZ_SECONDS or 20)
#
# Run from a configured build directory (make fuzz-NAME must work there).
# Each target starts from fuzz/corpus/NAME plus the test inputs of its
# kind: the bad-input catalogue's rows (tests/badinput/run.py --seeds:
# socketmap frames for netstring, config files for conf, HTTP bodies for
# json, Authorization credentials for auth, SMTP message bodies for
# rewrite) and, for rewrite, tests/milter/corpus.  New inputs stay in a
# scratch directory; a crash leaves its reproducer in the build directory
# and fails the target.  Each target's TAP line gives its executions and
# their rate, the seeds libFuzzer kept and the coverage reached.
#
# FUZZ_TARGETS="netstring conf" runs only those targets; FUZZ_LOG_DIR=DIR
# keeps each target's libFuzzer log there (DIR/NAME.log), for long runs.
set -u
secs=${1:-${FUZZ_SECONDS:-20}}
top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
n=0 failed=0
scratch=$(mktemp -d /tmp/bipostal-fuzz.XXXXXX)
if ! python3 "$top/tests/badinput/run.py" --seeds "$scratch/seeds" \
    >"$scratch/seeds.log" 2>&1; then
	echo "not ok 1 - seeds from tests/badinput/catalogue.tsv"
	sed 's/^/# /' "$scratch/seeds.log"
	echo "1..1"
	exit 1
fi
echo "# seeds from the catalogue: $(cat "$scratch/seeds.log")"
# every fuzz-NAME named on a .PHONY line of fuzz/local.mk
all=$(sed -n 's/^\.PHONY://p' "$top/fuzz/local.mk" | tr ' \t' '\n\n' |
    sed -n 's/^fuzz-\([a-z0-9_]*\)$/\1/p')
for target in ${FUZZ_TARGETS:-$all}; do
	n=$((n + 1))
	bin=fuzz/${target}_fuzz-libfuzzer
	if ! make -s "fuzz-$target" >"$scratch/$target.build" 2>&1; then
		echo "not ok $n - $target: clang build failed"
		sed 's/^/# /' "$scratch/$target.build" | tail -5
		failed=$((failed + 1))
		continue
	fi
	mkdir -p "$scratch/$target"
	corpus=
	for c in "$top/fuzz/corpus/$target" "$scratch/seeds/$target"; do
		[ -d "$c" ] && corpus="$corpus $c"
	done
	[ "$target" = rewrite ] && corpus="$corpus $top/tests/milter/corpus"
	# whole messages and documents: gumbo checks each tag against the
	# stack of open elements, so an input's cost grows with the square
	# of its nesting, and the fuzzer finds deep nesting first.  1 KiB of
	# HTML still nests 300 deep; only the 4 KiB cap on the end tags we
	# add is out of its reach, and 2 KiB of message reach it (as does
	# fuzz/corpus/html/deep.html, replayed whole by make check).  2 KiB
	# hold a message of three levels of parts with an HTML body.  Each
	# runs about twice as many inputs a second as 4 KiB would.
	case $target in
	html)		maxlen=1024 ;;
	rewrite)	maxlen=2048 ;;
	*)		maxlen=65536 ;;
	esac
	# shellcheck disable=SC2086 # $corpus is a list of directories
	"$bin" -max_total_time="$secs" -max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix="$PWD/fuzz-$target-" "$scratch/$target" $corpus \
	    >"$scratch/$target.log" 2>&1
	rc=$?
	[ -n "${FUZZ_LOG_DIR:-}" ] && cp "$scratch/$target.log" "$FUZZ_LOG_DIR/$target.log"
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$scratch/$target.log")
	rate=$(sed -n 's/.*DONE .* exec\/s: \([0-9]*\) .*/\1/p' "$scratch/$target.log")
	seeds=$(sed -n 's/.*INITED .*corp: \([0-9]*\)\/.*/\1/p' "$scratch/$target.log" | head -1)
	cov=$(grep -E '^#[0-9]+' "$scratch/$target.log" | tail -1 |
	    sed -n 's/.* cov: \([0-9]*\) .*corp: \([0-9]*\)\/.*/\1 edges, corpus \2/p')
	if [ $rc -eq 0 ]; then
		echo "ok $n - $target: ${runs:-?} executions in ${secs} s" \
		    "(${rate:-?}/s), max_len $maxlen, no crash" \
		    "(${seeds:-?} seeds kept; ${cov:-?})"
	else
		echo "not ok $n - $target: crash (exit $rc)"
		grep -E 'ERROR|SUMMARY|artifact' "$scratch/$target.log" | head -5 | sed 's/^/# /'
		failed=$((failed + 1))
	fi
done
rm -rf "$scratch"
echo "1..$n"
[ $failed -eq 0 ]
