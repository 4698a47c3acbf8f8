#!/bin/sh
# postmapd-bench.sh - bipostal-postmapd lookups/s, p50 and p99 against the
# SQLite and MariaDB stores, beside redis-benchmark GET, in one run
#
#	bench/postmapd-bench.sh [-d SECONDS] [-a ALIASES] [-w WORKERS]
#	    [-s "sqlite mysql"] [-t CACHE_TTL]
#
# -t sets postmapd_cache_ttl (e.g. 500ms; default 0, no cache): with it
# the figures show reused answers, not store lookups.
#
# Run from a build directory (or set top_builddir); needs the built
# bipostal-postmapd, bipostalctl and bench/socketmap_load, redis-server,
# redis-benchmark and MariaDB (a private one is started with
# tests/lib/servers.sh unless BIPOSTAL_TEST_MYSQL_ADMIN is already set).
# Everything runs on 127.0.0.1 on free ports, in a temporary directory.
# For each concurrency (1, 8, 64 persistent connections) it prints the
# figures of each store and of Redis GET, and the ratio postmapd/Redis.
# Compare figures only within one run: client, daemon and Redis share the
# machine's cores.

set -u
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
secs=5
naliases=200
workers=
stores="sqlite mysql"
ttl=0
while getopts d:a:w:s:t: o; do
	case $o in
	d) secs=$OPTARG ;;
	a) naliases=$OPTARG ;;
	w) workers="-w $OPTARG" ;;	# bipostal-postmapd -w
	s) stores=$OPTARG ;;
	t) ttl=$OPTARG ;;
	*) echo "usage: $0 [-d SECONDS] [-a ALIASES] [-w WORKERS]" >&2; exit 2 ;;
	esac
done
for f in bipostal-postmapd bipostalctl bench/socketmap_load; do
	[ -x "$top_builddir/$f" ] || {
		echo "$0: $top_builddir/$f not built (run make, or set top_builddir)" >&2
		exit 1
	}
done
. "$top_srcdir/tests/lib/postfix.sh"	# pf_free_port

D=$(mktemp -d /tmp/postmapd-bench.XXXXXX)
PIDS=
started_servers=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	[ -n "$started_servers" ] &&
	    "$top_srcdir/tests/lib/servers.sh" stop "$started_servers" >/dev/null 2>&1
	rm -rf "$D"
}
trap cleanup EXIT INT TERM

case $stores in *mysql*) usemysql=1 ;; *) usemysql= ;; esac
if [ -n "$usemysql" ] && [ -z "${BIPOSTAL_TEST_MYSQL_ADMIN:-}" ]; then
	envf=$("$top_srcdir/tests/lib/servers.sh" start "$D/servers") || {
		echo "$0: cannot start MariaDB/Redis" >&2
		exit 1
	}
	started_servers="$D/servers"
	. "$envf"
fi
DB=bipostal_bench_$$
if [ -n "$usemysql" ]; then
	mariadb --defaults-file="$BIPOSTAL_TEST_MYSQLD_DIR/mysql/client.cnf" \
	    -e "CREATE DATABASE $DB" || exit 1
fi

# one store, its aliases in $D/NAME.keys, a daemon on $port
setup() {	# setup NAME URI
	port=$(pf_free_port)
	cat >"$D/$1.conf" <<CONF
store = $2
alias_domain = alias.test
postmapd_listen = inet:127.0.0.1:$port
postmapd_timeout = 5s
postmapd_max_conn = 4096
postmapd_cache_ttl = $ttl
daemon_user =
CONF
	ctl="$top_builddir/bipostalctl -c $D/$1.conf"
	$ctl migrate >/dev/null 2>&1 || { echo "$1: migrate failed" >&2; exit 1; }
	$ctl user add owner@real.test >/dev/null 2>&1
	i=0
	: >"$D/$1.keys"
	while [ $i -lt "$naliases" ]; do
		$ctl alias add owner@real.test "site$i.test" >>"$D/$1.keys" 2>/dev/null
		i=$((i + 1))
	done
	"$top_builddir/bipostal-postmapd" -c "$D/$1.conf" -f $workers \
	    2>"$D/$1.log" &
	PIDS="$PIDS $!"
	i=0
	while ! ss -Htln "sport = :$port" | grep -q . && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	[ $i -lt 100 ] || {
		echo "$0: bipostal-postmapd ($1) did not start:" >&2
		cat "$D/$1.log" >&2
		exit 1
	}
	eval "port_$1=$port"
}

for s in $stores; do
	case $s in
	sqlite) setup sqlite "sqlite:$D/store.db" ;;
	mysql) setup mysql "${BIPOSTAL_TEST_MYSQL_ADMIN%/}/$DB" ;;
	*) echo "$0: unknown store $s" >&2; exit 2 ;;
	esac
done

rport=$(pf_free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no \
    >"$D/redis.log" 2>&1 &
PIDS="$PIDS $!"
sleep 0.5
redis-cli -p "$rport" set key:__rand_int__ owner@real.test >/dev/null

echo "# bipostal-postmapd ${workers:-(default workers)} cache_ttl=$ttl vs redis-benchmark GET, ${secs}s per point, $naliases aliases, $(nproc) CPUs, load $(cut -d" " -f1-3 /proc/loadavg)"
printf '%-6s %-8s %12s %9s %9s %8s\n' conns target lookups/s p50_ms p99_ms ratio
for c in 1 8 64; do
	# Redis first: about as many requests as postmapd does in $secs
	rcsv=$(redis-benchmark -p "$rport" -t get -c "$c" -n $((secs * 20000)) \
	    --csv 2>/dev/null | grep '^"GET"')
	rrps=$(echo "$rcsv" | cut -d, -f2 | tr -d '"')
	r50=$(echo "$rcsv" | cut -d, -f5 | tr -d '"')
	r99=$(echo "$rcsv" | cut -d, -f7 | tr -d '"')
	printf '%-6s %-8s %12.0f %9s %9s %8s\n' "$c" redis "$rrps" "$r50" "$r99" 1.00
	for s in $stores; do
		eval "port=\$port_$s"
		out=$("$top_builddir/bench/socketmap_load" -p "$port" -c "$c" \
		    -d "$secs" -k "$D/$s.keys")
		rps=$(echo "$out" | sed 's/.*rps=\([0-9.]*\).*/\1/')
		p50=$(echo "$out" | sed 's/.*p50_ms=\([0-9.]*\).*/\1/')
		p99=$(echo "$out" | sed 's/.*p99_ms=\([0-9.]*\).*/\1/')
		err=$(echo "$out" | sed 's/.*errors=\([0-9]*\).*/\1/')
		ratio=$(awk -v a="$rps" -v b="$rrps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
		printf '%-6s %-8s %12.0f %9s %9s %8s%s\n' "$c" "$s" "$rps" "$p50" \
		    "$p99" "$ratio" "$([ "${err:-1}" = 0 ] || echo "  errors=$err")"
	done
done
[ -n "$usemysql" ] && mariadb --defaults-file="$BIPOSTAL_TEST_MYSQLD_DIR/mysql/client.cnf" \
    -e "DROP DATABASE $DB" >/dev/null 2>&1
exit 0
