# dash_lib.sh - shell helpers for the dash tests (sourced)
#
#	ok STATUS DESCRIPTION	one TAP line; counts $n and $failed
#	free_port		a free loopback port below the ephemeral range
#	start_dash CONF LOG	start $DASH on a free port (see below)
#
# The caller sets n=0, failed=0 and DASH (the bipostal-dash binary).

ok() {	# ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

# free_port - a port no socket uses, below the ephemeral range (where the
# local end of some client's connection could take it at any time)
free_port() {
	local p low
	low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ "${low:-0}" -gt 21000 ] || low=32768
	while :; do
		p=$(shuf -i 20000-$((low - 1)) -n 1)
		if [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ] &&
		    ! (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

# start_dash CONF LOG - start a dash on a free port (written into CONF's
# dash_listen), trying other ports if it cannot listen; sets $started_pid
# and $started_url, or fails
start_dash() {
	local try i
	for try in 1 2 3; do
		started_url=http://127.0.0.1:$(free_port)
		sed -i "s|^dash_listen = .*|dash_listen = ${started_url#http://}|" "$1"
		"$DASH" -f -c "$1" >> "$2" 2>&1 &
		started_pid=$!
		for i in $(seq 50); do
			curl -s -o /dev/null "$started_url/__lbheartbeat__" && return 0
			kill -0 "$started_pid" 2>/dev/null || break
			sleep 0.2
		done
		kill "$started_pid" 2>/dev/null
		wait "$started_pid" 2>/dev/null
		echo "# $1, try $try: $(tail -n 1 "$2")"
	done
	started_pid=
	return 1
}
