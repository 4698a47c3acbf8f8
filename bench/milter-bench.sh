#!/bin/sh
# milter-bench.sh - messages/s through Postfix + bipostal-postmapd +
# bipostal-milter against the same Postfix with a reference milter that
# only buffers and replaces the body (bench/passthru_milter) and a static
# lmdb map, in one run; then the milter's RSS across many messages.
#
#	bench/milter-bench.sh [-m MESSAGES] [-s SESSIONS] [-l BYTES]
#	    [-r ROUNDS] [-R RSS_MESSAGES]
#
# Run from a build directory (or set top_builddir); needs the built
# bipostal-milter, bipostal-postmapd, bipostalctl, bench/passthru_milter,
# and Postfix with postfix-lmdb.  smtp-source plays the site, smtp-sink
# (started by tests/lib/postfix.sh) every mailbox.  A run is: ROUNDS
# alternating rounds of MESSAGES messages of BYTES bytes over SESSIONS
# parallel SMTP sessions to each of the two MX instances, timed from the
# first connection until the last message is relayed to the sink
# (status=sent in the maillog).  Prints msg/s per round, the best of each,
# and the ratio bipostal/reference; then, with -R N, N more messages
# through bipostal-milter with its RSS sampled every N/10.  Environment:
# BENCH_MAP=lmdb gives the bipostal instance the reference's static map
# (the milter alone); BENCH_CONF adds lines to bipostal.conf.  Compare
# figures only within one run: everything shares the machine's cores.

set -u
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
msgs=2000
sessions=20
size=2048
rounds=2
rssmsgs=0
while getopts m:s:l:r:R: o; do
	case $o in
	m) msgs=$OPTARG ;;
	s) sessions=$OPTARG ;;
	l) size=$OPTARG ;;
	r) rounds=$OPTARG ;;
	R) rssmsgs=$OPTARG ;;
	*) echo "usage: $0 [-m MESSAGES] [-s SESSIONS] [-l BYTES] [-r ROUNDS] [-R RSS_MESSAGES]" >&2
	   exit 2 ;;
	esac
done
for f in bipostal-milter bipostal-postmapd bipostalctl bench/passthru_milter; do
	[ -x "$top_builddir/$f" ] || {
		echo "$0: $top_builddir/$f not built (run make, or set top_builddir)" >&2
		exit 1
	}
done
. "$top_srcdir/tests/lib/postfix.sh"

D=$(mktemp -d /tmp/milter-bench.XXXXXX)
chmod 755 "$D"
PIDS=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	pf_stop "$D/full"
	pf_stop "$D/ref"
	[ -n "${KEEP:-}" ] || rm -rf "$D"
}
trap cleanup EXIT INT TERM

mkdir -p "$D/db"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$D/db/secret"
chmod 600 "$D/db/secret"
MAPPORT=$(pf_free_port) && MPORT=$(pf_free_port) && RPORT=$(pf_free_port) || exit 1
cat >"$D/bipostal.conf" <<CONF
store = sqlite:$D/db/store.db
alias_domain = alias.test
postmapd_listen = inet:127.0.0.1:$MAPPORT
milter_socket = inet:$MPORT@127.0.0.1
milter_template_dir = $top_srcdir/milter/templates
secret_key_file = $D/db/secret
dash_url = https://dash.test
daemon_user =
milter_rate_alias = 100000000
${BENCH_CONF:-}
CONF
ctl() { "$top_builddir/bipostalctl" -c "$D/bipostal.conf" "$@"; }
ctl migrate >/dev/null 2>&1
ctl user add owner@real.test >/dev/null || exit 1
ALIAS=$(ctl alias add owner@real.test shop.test) || exit 1

"$top_builddir/bipostal-postmapd" -c "$D/bipostal.conf" -f 2>"$D/postmapd.log" &
PIDS="$PIDS $!"
"$top_builddir/bipostal-milter" -c "$D/bipostal.conf" -f 2>"$D/milter.log" &
MLPID=$!
PIDS="$PIDS $MLPID"
"$top_builddir/bench/passthru_milter" "inet:$RPORT@127.0.0.1" &
PIDS="$PIDS $!"
sleep 1

mkdir -p "$D/ref/etc" "$D/pm"
printf '%s owner@real.test\n' "$ALIAS" >"$D/ref/etc/virtual"
: >"$D/pm/main.cf"
postmap -c "$D/pm" "lmdb:$D/ref/etc/virtual" || exit 1
# BENCH_MAP=lmdb: the bipostal instance resolves the alias with the same
# static map as the reference, to measure the milter alone
fullextra=
[ "${BENCH_MAP:-socketmap}" = lmdb ] &&
    fullextra="virtual_alias_maps = lmdb:$D/ref/etc/virtual"
PF_MAP_PORT=$MAPPORT PF_MILTER="inet:127.0.0.1:$MPORT" PF_EXTRA="$fullextra" \
    pf_start "$D/full" || exit 1
FULL=$PF_SMTP_PORT
PF_MAP_PORT=$MAPPORT PF_MILTER="inet:127.0.0.1:$RPORT" \
    PF_EXTRA="virtual_alias_maps = lmdb:$D/ref/etc/virtual" pf_start "$D/ref" || exit 1
REF=$PF_SMTP_PORT

# sent DIR - messages relayed to the sink so far
sent() {
	_c=$(grep -c 'relay=127.0.0.1.*status=sent' "$1/maillog" 2>/dev/null)
	echo "${_c:-0}"
}

# round DIR PORT N - msg/s for N messages, to stdout
round() {
	_before=$(sent "$1")
	_t0=$(date +%s.%N)
	smtp-source -s "$sessions" -m "$3" -l "$size" -f bounces@site.test \
	    -t "$ALIAS" "127.0.0.1:$2" || return 1
	_want=$((_before + $3))
	_i=0
	while [ "$(sent "$1")" -lt "$_want" ]; do
		sleep 0.1
		_i=$((_i + 1))
		[ $_i -gt 6000 ] && { echo "timeout" >&2; return 1; }
	done
	_t1=$(date +%s.%N)
	echo "$3 $_t0 $_t1" | awk '{ printf "%.1f\n", $1 / ($3 - $2) }'
	find "$1/sink" -type f -delete 2>/dev/null
}

echo "# milter-bench: $msgs messages of $size bytes, $sessions sessions, $rounds rounds, $(nproc) cores, bipostal map ${BENCH_MAP:-socketmap}"
# warm up both paths (store, caches, Postfix processes)
round "$D/ref" "$REF" 200 >/dev/null && round "$D/full" "$FULL" 200 >/dev/null || exit 1
best_ref=0
best_full=0
r=1
while [ $r -le "$rounds" ]; do
	a=$(round "$D/ref" "$REF" "$msgs") || exit 1
	b=$(round "$D/full" "$FULL" "$msgs") || exit 1
	echo "round $r: reference $a msg/s, bipostal $b msg/s"
	best_ref=$(echo "$best_ref $a" | awk '{ print ($2 > $1) ? $2 : $1 }')
	best_full=$(echo "$best_full $b" | awk '{ print ($2 > $1) ? $2 : $1 }')
	r=$((r + 1))
done
echo "best: reference $best_ref msg/s, bipostal $best_full msg/s, ratio $(echo "$best_full $best_ref" | awk '{ printf "%.2f", $1 / $2 }')"
grep -q 'action=forward' "$D/milter.log" || echo "warning: no forward logged by the milter"

if [ "$rssmsgs" -gt 0 ]; then
	step=$((rssmsgs / 10))
	done_=0
	echo "rss: $(ps -o rss= -p "$MLPID") KiB after warm-up"
	while [ $done_ -lt "$rssmsgs" ]; do
		rate=$(round "$D/full" "$FULL" "$step") || exit 1
		done_=$((done_ + step))
		echo "rss: $(ps -o rss= -p "$MLPID") KiB after $done_ messages ($rate msg/s)"
	done
fi
