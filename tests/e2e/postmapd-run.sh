#!/bin/sh
# postmapd-run.sh - bipostal-postmapd end to end through a private Postfix
#
#	postmapd-run.sh sqlite | mysql
#
# Sourced by postmapd.test (SQLite) and postmapd-mysql.test (MariaDB from
# tests/lib/servers.sh: BIPOSTAL_TEST_MYSQL_ADMIN and
# BIPOSTAL_TEST_MYSQLD_DIR must be set, else the test fails).  The MX is a
# private Postfix configured with postfix-conf/ as shipped (tests/lib/
# postfix.sh), without a milter; a second private Postfix plays the
# sending site, so that a deferred message is retried from a real queue.
# Aliases are made with bipostalctl.  TAP on stdout.

set -u
backend=$1
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib/postfix.sh"

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$1"; then ok "$2"; else nok "$2"; fi; }
bail() { echo "Bail out! $*"; cleanup; exit 1; }

D=$(mktemp -d /tmp/postmapd-e2e.XXXXXX)
chmod 755 "$D"
echo "# directory $D"
PMPID=
cleanup() {
	[ -n "$PMPID" ] && kill "$PMPID" 2>/dev/null
	pf_stop "$D/mx"
	pf_stop "$D/site"
	[ "$backend" = mysql ] && [ -n "${BIPOSTAL_TEST_MYSQLD_DIR:-}" ] &&
	    "$top_srcdir/tests/lib/servers.sh" start-mysql >/dev/null 2>&1
	[ -n "${DB:-}" ] && mariadb --defaults-file="$BIPOSTAL_TEST_MYSQLD_DIR/mysql/client.cnf" \
	    -e "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
}
trap cleanup EXIT

# The daemon becomes "nobody" when run as root, so that an unreadable
# store file is unreadable to it; bipostalctl runs as nobody too.
asuser=
duser=
if [ "$(id -u)" -eq 0 ]; then
	duser=nobody
	asuser="setpriv --reuid=nobody --regid=nogroup --clear-groups"
fi
mkdir -p "$D/db"
[ -n "$duser" ] && chown "$duser" "$D/db"

case $backend in
sqlite)
	STORE="sqlite:$D/db/store.db"
	;;
mysql)
	[ -n "${BIPOSTAL_TEST_MYSQL_ADMIN:-}" ] && [ -n "${BIPOSTAL_TEST_MYSQLD_DIR:-}" ] ||
	    bail "BIPOSTAL_TEST_MYSQL_ADMIN / BIPOSTAL_TEST_MYSQLD_DIR not set (source tests/lib/servers.sh's env)"
	DB=bipostal_pm_e2e_$$
	mariadb --defaults-file="$BIPOSTAL_TEST_MYSQLD_DIR/mysql/client.cnf" \
	    -e "CREATE DATABASE $DB" || bail "cannot create database $DB"
	STORE="${BIPOSTAL_TEST_MYSQL_ADMIN%/}/$DB"
	;;
*)
	bail "usage: postmapd-run.sh sqlite|mysql"
	;;
esac

MAPPORT=$(pf_free_port) || bail "no port"
cat >"$D/bipostal.conf" <<CONF
store = $STORE
alias_domain = alias.test
postmapd_listen = inet:127.0.0.1:$MAPPORT
postmapd_timeout = 2s
daemon_user = $duser
CONF
chmod 644 "$D/bipostal.conf"

ctl() { $asuser "$top_builddir/bipostalctl" -c "$D/bipostal.conf" "$@"; }

ctl migrate >"$D/ctl.log" 2>&1 || bail "bipostalctl migrate failed: $(cat "$D/ctl.log")"
ctl user add owner@real.test >>"$D/ctl.log" 2>&1 || bail "user add failed"
ACT=$(ctl alias add owner@real.test active.test 2>>"$D/ctl.log")
DIS=$(ctl alias add owner@real.test disabled.test 2>>"$D/ctl.log")
DEL=$(ctl alias add owner@real.test deleted.test 2>>"$D/ctl.log")
LATER=$(ctl alias add owner@real.test later.test 2>>"$D/ctl.log")
EXP=$(ctl alias add owner@real.test expired.test 2>>"$D/ctl.log")
[ -n "$ACT" ] && [ -n "$DIS" ] && [ -n "$DEL" ] && [ -n "$LATER" ] &&
    [ -n "$EXP" ] || bail "alias add failed: $(cat "$D/ctl.log")"
ctl alias disable "$DIS" >>"$D/ctl.log" 2>&1 || bail "alias disable failed"
ctl alias delete "$DEL" >>"$D/ctl.log" 2>&1 || bail "alias delete failed"
# bipostalctl sets no expiry (the dash does): expire one alias in SQL
expire="UPDATE aliases SET expires_at = $(($(date +%s) - 60)) WHERE token = '${EXP%@*}'"
if [ "$backend" = sqlite ]; then
	$asuser sqlite3 "$D/db/store.db" "$expire"
else
	mariadb --defaults-file="$BIPOSTAL_TEST_MYSQLD_DIR/mysql/client.cnf" \
	    "$DB" -e "$expire"
fi || bail "cannot expire an alias"
UNKNOWN=0123456789abcdefghij0123456789abcdefghij01234567@alias.test

"$top_builddir/bipostal-postmapd" -c "$D/bipostal.conf" -f -v \
    2>"$D/postmapd.log" &
PMPID=$!
i=0
while ! ss -Htln "sport = :$MAPPORT" | grep -q . && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ $i -lt 50 ] || bail "bipostal-postmapd did not start: $(cat "$D/postmapd.log")"
if [ -n "$duser" ]; then
	check '[ "$(ps -o user= -p $PMPID)" = nobody ]' \
	    "daemon dropped root for daemon_user"
fi

PF_DOMAIN=alias.test PF_MAP_PORT=$MAPPORT pf_start "$D/mx" ||
    bail "cannot start the MX Postfix"
MX=$PF_SMTP_PORT
PF_ROLE=relay PF_NEXTHOP_PORT=$MX pf_start "$D/site" ||
    bail "cannot start the sending Postfix"
SITE=$PF_SMTP_PORT

# Postfix's own socketmap client, each alias state
pq() { postmap -c "$D/mx/etc" -q "$1" "socketmap:inet:127.0.0.1:$MAPPORT:alias"; }
check '[ "$(pq "$ACT")" = owner@real.test ]' "postmap -q: active alias -> owner"
check '[ "$(pq "$(echo "$ACT" | tr a-z A-Z)")" = owner@real.test ]' \
    "postmap -q: upper-case key -> owner"
check '[ "$(pq "$DIS")" = blocked@discard.bipostal.invalid ]' \
    "postmap -q: disabled alias -> discard address"
check 'pq "$DEL" >/dev/null; [ $? -eq 1 ]' "postmap -q: deleted alias: not found"
check 'pq "$EXP" >/dev/null; [ $? -eq 1 ]' "postmap -q: expired alias: not found"
check 'pq "$UNKNOWN" >/dev/null; [ $? -eq 1 ]' "postmap -q: unknown alias: not found"
check 'pq "$(echo "$ACT" | sed s/alias.test/other.test/)" >/dev/null; [ $? -eq 1 ]' \
    "postmap -q: other domain: not found"

send() {	# send PORT TO -> swaks transcript in $D/swaks.out
	swaks --server "127.0.0.1:$1" --from shop@site.test --to "$2" \
	    --header "Subject: test $n" --timeout 20 >"$D/swaks.out" 2>&1
	cat "$D/swaks.out" >>"$D/swaks.all"
}

# active: delivered to the owner's real address
send "$MX" "$ACT"
check 'grep -q "^<-  250 .*queued as" "$D/swaks.out"' "active alias: accepted"
check 'pf_wait_sink "$D/mx" 1 20' "active alias: delivered"
check 'grep -q "^X-Rcpt-Args: <owner@real.test>" "$D"/mx/sink/*' \
    "delivered to the real address"

# unknown and deleted: 550 5.1.1 during RCPT
send "$MX" "$UNKNOWN"
check 'grep -q "^<\*\* 550 5.1.1" "$D/swaks.out"' "unknown alias: 550 5.1.1"
send "$MX" "$DEL"
check 'grep -q "^<\*\* 550 5.1.1" "$D/swaks.out"' "deleted alias: 550 5.1.1"
send "$MX" "$EXP"
check 'grep -q "^<\*\* 550 5.1.1" "$D/swaks.out"' "expired alias: 550 5.1.1"

# disabled (owner's default: discard): accepted, never delivered
send "$MX" "$DIS"
check 'grep -q "^<-  250 .*queued as" "$D/swaks.out"' "disabled alias: accepted (250)"
check 'pf_wait_log "$D/mx" "orig_to=<$DIS>.*status=sent \(disabled-alias\)" 20' \
    "disabled alias: discarded by the discard transport"
check '[ "$(pf_sink_count "$D/mx")" -eq 1 ]' "disabled alias: nothing delivered"

# the store goes away: 451 4.3.0; the site's queue delivers after recovery
if [ "$backend" = sqlite ]; then
	# The directory, not the file: SQLite reuses an open descriptor of
	# a file that another connection of the process has locked, so a
	# chmod of the file alone is not seen while the daemon runs.
	chmod 000 "$D/db"
	sleep 2.5	# postmapd re-opens its store handles every 2 s
else
	"$top_srcdir/tests/lib/servers.sh" stop-mysql >/dev/null 2>&1 ||
	    nok "servers.sh stop-mysql"
fi
send "$MX" "$ACT"
check 'grep -q "^<\*\* 451 4.3.0" "$D/swaks.out"' "store unreachable: 451 4.3.0"
send "$SITE" "$ACT"
check 'grep -q "^<-  250 .*queued as" "$D/swaks.out"' "site queues a message while the store is down"
check 'pf_wait_log "$D/site" "status=deferred.*451 4.3.0" 20' \
    "site's delivery deferred with 451 4.3.0"
check '[ "$(pf_sink_count "$D/mx")" -eq 1 ]' "nothing delivered while the store is down"
if [ "$backend" = sqlite ]; then
	chmod 755 "$D/db"
else
	"$top_srcdir/tests/lib/servers.sh" start-mysql >/dev/null 2>&1 ||
	    nok "servers.sh start-mysql"
fi
sleep 0.5
pf_flush "$D/site"
check 'pf_wait_sink "$D/mx" 2 30' "after recovery and postqueue -f: delivered"

# disabled with bipostalctl: the very next message is not delivered
send "$MX" "$LATER"
check 'pf_wait_sink "$D/mx" 3 20' "alias before disable: delivered"
ctl alias disable "$LATER" >>"$D/ctl.log" 2>&1
send "$MX" "$LATER"
check 'grep -q "^<-  250 .*queued as" "$D/swaks.out"' "just disabled: accepted"
check 'pf_wait_log "$D/mx" "orig_to=<$LATER>.*status=sent \(disabled-alias\)" 20' \
    "just disabled: the very next message is discarded"
check '[ "$(pf_sink_count "$D/mx")" -eq 3 ]' "just disabled: not delivered"

# owner chooses reject: 550 5.1.1 for the disabled alias
ctl user set owner@real.test disabled_action=reject >>"$D/ctl.log" 2>&1
check 'pq "$DIS" >/dev/null; [ $? -eq 1 ]' \
    "postmap -q: disabled alias, owner rejects: not found"
check '[ "$(pq "$ACT")" = owner@real.test ]' \
    "postmap -q: the owner's active alias still -> owner"
send "$MX" "$DIS"
check 'grep -q "^<\*\* 550 5.1.1" "$D/swaks.out"' "disabled, owner rejects: 550 5.1.1"

# SIGTERM: clean exit
kill "$PMPID"
wait "$PMPID"
check '[ $? -eq 0 ]' "SIGTERM: exit 0"
PMPID=

echo "1..$n"
[ $failed -eq 0 ]
