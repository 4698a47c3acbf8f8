# postfix.sh - a private Postfix on loopback, for tests (source it)
#
#	. "$top_srcdir/tests/lib/postfix.sh"
#	PF_DOMAIN=alias.test PF_MAP_PORT=$port pf_start "$dir"   # the MX
#	swaks --server 127.0.0.1:$PF_SMTP_PORT --to tok@alias.test ...
#	pf_wait_sink "$dir" 1 10 && grep -l owner@real.test "$dir"/sink/*
#	pf_stop "$dir"
#
# pf_start DIR builds DIR/etc/main.cf from test settings plus
# postfix-conf/main.cf exactly as shipped, with only the alias domain and
# the ports substituted, and DIR/etc/master.cf from the stock master.cf
# (smtpd moved to a free port, chroot off) plus postfix-conf/master.cf.
# Everything the instance delivers goes to an smtp-sink that writes one
# file per message into DIR/sink/.  Environment read by pf_start:
#	PF_DOMAIN	alias domain (default alias.test)
#	PF_MAP_PORT	bipostal-postmapd port (replaces 10044)
#	PF_MILTER	milter socket, e.g. inet:127.0.0.1:PORT (replaces
#			inet:127.0.0.1:10045); unset or empty: no milter
#			(smtpd_milters and non_smtpd_milters are then
#			emptied with postconf -e)
#	PF_ROLE		mx (default) or relay: a plain relay instance that
#			sends everything to 127.0.0.1:PF_NEXTHOP_PORT, to
#			play the sending site (its queue retries; flush it
#			with pf_flush)
#	PF_EXTRA	more main.cf settings, one "name = value" a line,
#			set with postconf -e (they replace earlier ones)
# and it sets PF_SMTP_PORT (its smtpd) and PF_SINK_PORT.
#
# Other functions: pf_free_port, pf_stop DIR, pf_flush DIR, pf_sink_count
# DIR, pf_wait_sink DIR N SECONDS, pf_wait_log DIR REGEX SECONDS,
# pf_queue_count DIR.  Every function returns non-zero on failure and
# says why on stderr; none exits the calling test.

PF_LIB_DIR=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}

# pf_free_port - a free TCP port on 127.0.0.1 in 20000-60000
pf_free_port() {
	_pf_i=0
	while [ $_pf_i -lt 100 ]; do
		_pf_p=$(( $(od -An -N2 -tu2 /dev/urandom) % 40000 + 20000 ))
		if ! ss -Htan "( sport = :$_pf_p or dport = :$_pf_p )" \
		    2>/dev/null | grep -q .; then
			echo "$_pf_p"
			return 0
		fi
		_pf_i=$((_pf_i + 1))
	done
	echo "pf_free_port: no free port" >&2
	return 1
}

# pf_sink_start DIR PORT - smtp-sink writing each message to DIR/sink/
pf_sink_start() {
	mkdir -p "$1/sink"
	chown postfix "$1/sink" 2>/dev/null
	if [ "$(id -u)" -eq 0 ]; then
		smtp-sink -u postfix -d "$1/sink/%M." "127.0.0.1:$2" 100 \
		    >"$1/sink.log" 2>&1 &
	else
		smtp-sink -d "$1/sink/%M." "127.0.0.1:$2" 100 \
		    >"$1/sink.log" 2>&1 &
	fi
	echo $! >"$1/sink.pid"
	_pf_i=0
	while [ $_pf_i -lt 100 ]; do
		ss -Htln "sport = :$2" 2>/dev/null | grep -q . && return 0
		sleep 0.1
		_pf_i=$((_pf_i + 1))
	done
	echo "pf_sink_start: smtp-sink did not start: $(cat "$1/sink.log")" >&2
	return 1
}

# pf_start DIR - configure and start a private instance in DIR.  Its
# ports are picked at random while other tests pick theirs: when the
# instance does not come up, it is stopped and tried again on new ports
# (three times in all), each failure said on stderr.
pf_start() {
	_pf_try=1
	while ! _pf_start_once "$1"; do
		pf_stop "$1"
		[ $_pf_try -ge 3 ] && return 1
		_pf_try=$((_pf_try + 1))
		echo "pf_start: trying again on other ports" >&2
	done
	return 0
}

_pf_start_once() {
	_pf_d=$1
	_pf_dom=${PF_DOMAIN:-alias.test}
	mkdir -p "$_pf_d/etc" "$_pf_d/spool" "$_pf_d/data" || return 1
	chmod 755 "$_pf_d"
	chown postfix "$_pf_d/data" 2>/dev/null
	PF_SMTP_PORT=$(pf_free_port) || return 1
	PF_SINK_PORT=$(pf_free_port) || return 1
	pf_sink_start "$_pf_d" "$PF_SINK_PORT" || return 1

	cat >"$_pf_d/etc/main.cf" <<PFEOF
# private test instance (tests/lib/postfix.sh)
compatibility_level = 3.6
queue_directory = $_pf_d/spool
data_directory = $_pf_d/data
syslog_name = pf-$(basename "$_pf_d")
myhostname = mx.$_pf_dom
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
relayhost = [127.0.0.1]:$PF_SINK_PORT
smtp_dns_support_level = disabled
maillog_file = $_pf_d/maillog
maillog_file_prefixes = $_pf_d
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connect_timeout = 5s
PFEOF
	if [ "${PF_ROLE:-mx}" = relay ]; then
		postconf -c "$_pf_d/etc" -e \
		    "relayhost = [127.0.0.1]:$PF_NEXTHOP_PORT" || return 1
	else
		echo "# ---- postfix-conf/main.cf as shipped ----" \
		    >>"$_pf_d/etc/main.cf"
		sed -e "s/alias\.example/$_pf_dom/g" \
		    -e "s/127\.0\.0\.1:10044/127.0.0.1:${PF_MAP_PORT:-10044}/g" \
		    -e "s/inet:127\.0\.0\.1:10045/${PF_MILTER:-inet:127.0.0.1:10045}/g" \
		    "$PF_LIB_DIR/postfix-conf/main.cf" >>"$_pf_d/etc/main.cf"
		echo "# ---- end of postfix-conf/main.cf ----" \
		    >>"$_pf_d/etc/main.cf"
		if [ -z "${PF_MILTER:-}" ]; then
			postconf -c "$_pf_d/etc" -e "smtpd_milters =" \
			    "non_smtpd_milters =" || return 1
		fi
	fi
	if [ -n "${PF_EXTRA:-}" ]; then
		# one "name = value" per line, set in place (no duplicates)
		printf '%s\n' "$PF_EXTRA" | while IFS= read -r _pf_l; do
			[ -n "$_pf_l" ] && postconf -c "$_pf_d/etc" -e "$_pf_l"
		done
	fi

	sed -e "s/^smtp      inet  n       -       y       -       -       smtpd/127.0.0.1:$PF_SMTP_PORT inet n - n - - smtpd/" \
	    -e 's/^\(\S\+\s\+\S\+\s\+\S\+\s\+\S\+\s\+\)y/\1n/' \
	    /etc/postfix/master.cf >"$_pf_d/etc/master.cf"
	if [ "${PF_ROLE:-mx}" != relay ]; then
		cat "$PF_LIB_DIR/postfix-conf/master.cf" >>"$_pf_d/etc/master.cf"
	fi
	grep -q "^127.0.0.1:$PF_SMTP_PORT " "$_pf_d/etc/master.cf" || {
		echo "pf_start: cannot place smtpd in master.cf" >&2
		return 1
	}
	postfix -c "$_pf_d/etc" check >"$_pf_d/check.log" 2>&1 || {
		echo "pf_start: postfix check failed:" >&2
		cat "$_pf_d/check.log" >&2
		return 1
	}
	postfix -c "$_pf_d/etc" start >"$_pf_d/start.log" 2>&1 || {
		echo "pf_start: postfix start failed:" >&2
		cat "$_pf_d/start.log" >&2
		return 1
	}
	_pf_i=0
	while [ $_pf_i -lt 100 ]; do
		ss -Htln "sport = :$PF_SMTP_PORT" 2>/dev/null | grep -q . &&
		    return 0
		sleep 0.1
		_pf_i=$((_pf_i + 1))
	done
	echo "pf_start: smtpd does not listen on $PF_SMTP_PORT:" >&2
	tail -5 "$_pf_d/maillog" >&2 2>/dev/null
	return 1
}

# pf_stop DIR - stop the instance and its sink; returns once the master
# process is gone ("postfix stop" only signals it)
pf_stop() {
	_pf_m=$(tr -d ' ' <"$1/spool/pid/master.pid" 2>/dev/null)
	postfix -c "$1/etc" stop >/dev/null 2>&1
	_pf_i=0
	while [ -n "$_pf_m" ] && [ $_pf_i -lt 100 ] &&
	    kill -0 "$_pf_m" 2>/dev/null; do
		sleep 0.1
		_pf_i=$((_pf_i + 1))
	done
	if [ -f "$1/sink.pid" ]; then
		kill "$(cat "$1/sink.pid")" 2>/dev/null
		rm -f "$1/sink.pid"
	fi
	return 0
}

# pf_flush DIR - retry every deferred message now
pf_flush() {
	postqueue -c "$1/etc" -f
}

# pf_queue_count DIR - messages in the queue
pf_queue_count() {
	find "$1/spool/incoming" "$1/spool/active" "$1/spool/deferred" \
	    "$1/spool/hold" -type f 2>/dev/null | wc -l
}

# pf_sink_count DIR - messages the sink received
pf_sink_count() {
	find "$1/sink" -type f 2>/dev/null | wc -l
}

# pf_wait_sink DIR N SECONDS - wait until the sink holds N messages
pf_wait_sink() {
	_pf_i=0
	while [ $_pf_i -lt $(($3 * 10)) ]; do
		[ "$(pf_sink_count "$1")" -ge "$2" ] && return 0
		sleep 0.1
		_pf_i=$((_pf_i + 1))
	done
	return 1
}

# pf_wait_log DIR REGEX SECONDS - wait until the maillog matches REGEX
pf_wait_log() {
	_pf_i=0
	while [ $_pf_i -lt $(($3 * 10)) ]; do
		grep -Eq "$2" "$1/maillog" 2>/dev/null && return 0
		sleep 0.1
		_pf_i=$((_pf_i + 1))
	done
	return 1
}
