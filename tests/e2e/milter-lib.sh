# milter-lib.sh - the setup the milter's end-to-end tests share (source it)
#
#	. "$top_srcdir/tests/e2e/milter-lib.sh"
#	ml_setup NAME		# $D, a SQLite store, the secret, bipostal.conf
#	ctl user add owner@real.test; seed counts TOKEN
#	ML_DASH=1 ml_start	# bipostal-postmapd, bipostal-milter (and the dash)
#	ml_postfix		# the MX, postfix-conf/ as shipped: $MX
#	check 'COMMAND' "what"; ok/nok "what"; ml_done
#
# ml_setup writes $D/bipostal.conf (alias_domain alias.test, dash_url the
# dash's own address, redis = $ML_REDIS when that is set) and makes the
# store.  As root every daemon runs as
# nobody (daemon_user), and ctl/seed too, so that the store stays theirs.
# ml_start waits until each daemon listens; ml_postfix starts Postfix
# with PF_EXTRA taken from the environment.  Cleanup (on exit) stops
# everything; KEEP=1 keeps $D.  TAP: ok, nok, check, bail, ml_done.

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$1"; then ok "$2"; else nok "$2"; fi; }
bail() { echo "Bail out! $*"; ml_cleanup; exit 1; }
ml_done() { echo "1..$n"; [ $failed -eq 0 ]; }

ML_PIDS=
ml_cleanup() {
	for _ml_p in $ML_PIDS; do
		kill "$_ml_p" 2>/dev/null
	done
	[ -n "${D:-}" ] && [ -d "$D/mx" ] && pf_stop "$D/mx"
	[ -n "${KEEP:-}" ] || { [ -n "${D:-}" ] && rm -rf "$D"; }
}

# ml_setup NAME - directory, secret, configuration, store
ml_setup() {
	D=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 755 "$D"
	echo "# directory $D"
	trap ml_cleanup EXIT
	asuser=
	duser=
	if [ "$(id -u)" -eq 0 ]; then
		duser=nobody
		asuser="setpriv --reuid=nobody --regid=nogroup --clear-groups"
	fi
	mkdir -p "$D/db"
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$D/db/secret"
	chmod 600 "$D/db/secret"
	[ -n "$duser" ] && chown -R "$duser" "$D/db"
	MAPPORT=$(pf_free_port) || bail "no port"
	MPORT=$(pf_free_port) || bail "no port"
	DPORT=$(pf_free_port) || bail "no port"
	DASH=http://127.0.0.1:$DPORT
	cat >"$D/bipostal.conf" <<CONF
store = sqlite:$D/db/store.db
alias_domain = alias.test
postmapd_listen = inet:127.0.0.1:$MAPPORT
milter_socket = inet:$MPORT@127.0.0.1
milter_template_dir = $top_srcdir/milter/templates
secret_key_file = $D/db/secret
dash_listen = 127.0.0.1:$DPORT
dash_url = $DASH
dash_static_dir = $top_srcdir/dash/www
daemon_user = $duser
redis = ${ML_REDIS:-}
# a Redis shared with other tests shares its login buckets (per address)
dash_rate_login = 100000
CONF
	chmod 644 "$D/bipostal.conf"
	ctl migrate >"$D/ctl.log" 2>&1 || bail "bipostalctl migrate: $(cat "$D/ctl.log")"
}

ctl() { $asuser "$top_builddir/bipostalctl" -c "$D/bipostal.conf" "$@"; }
seed() { $asuser "$top_builddir/tests/milter/seed" "$D/bipostal.conf" "$@"; }

# ml_listening PORT... - wait (10 s at most) until every port listens
ml_listening() {
	_ml_i=0
	for _ml_port in "$@"; do
		while ! ss -Htln "sport = :$_ml_port" | grep -q . &&
		    [ $_ml_i -lt 100 ]; do
			sleep 0.1
			_ml_i=$((_ml_i + 1))
		done
	done
	[ $_ml_i -lt 100 ]
}

# ml_start - the daemons; ML_DASH=1 adds bipostal-dash
ml_start() {
	"$top_builddir/bipostal-postmapd" -c "$D/bipostal.conf" -f \
	    2>"$D/postmapd.log" &
	ML_PIDS="$ML_PIDS $!"
	"$top_builddir/bipostal-milter" -c "$D/bipostal.conf" -f \
	    2>"$D/milter.log" &
	MLPID=$!
	ML_PIDS="$ML_PIDS $MLPID"
	_ml_ports="$MAPPORT $MPORT"
	if [ "${ML_DASH:-0}" = 1 ]; then
		"$top_builddir/bipostal-dash" -c "$D/bipostal.conf" -f \
		    2>"$D/dash.log" &
		ML_PIDS="$ML_PIDS $!"
		_ml_ports="$_ml_ports $DPORT"
	fi
	# shellcheck disable=SC2086
	ml_listening $_ml_ports || bail "daemons did not start: $(cat "$D"/*.log)"
}

# ml_postfix - the MX with postfix-conf/ as shipped (PF_EXTRA applies)
ml_postfix() {
	PF_DOMAIN=alias.test PF_MAP_PORT=$MAPPORT PF_MILTER="inet:127.0.0.1:$MPORT" \
	    pf_start "$D/mx" || bail "cannot start the MX Postfix"
	MX=$PF_SMTP_PORT
}

# ml_wait CMD SECONDS - until CMD succeeds
ml_wait() {
	_ml_i=0
	while [ $_ml_i -lt $(($2 * 10)) ]; do
		eval "$1" && return 0
		sleep 0.1
		_ml_i=$((_ml_i + 1))
	done
	return 1
}
