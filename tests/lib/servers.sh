#!/bin/sh
#
# servers.sh - private MariaDB and Redis servers for the tests
#
#	servers.sh start [DIR]		start both, print the env file path
#	servers.sh stop [DIR]		stop both and remove DIR (kept, after
#					a clean shutdown, if BIPOSTAL_KEEP is set)
#	servers.sh stop-mysql [DIR]	stop MariaDB only (fault injection)
#	servers.sh start-mysql [DIR]	start it again: same port, same data
#	servers.sh kill-mysql [DIR]	kill -9 MariaDB (a crash): its data
#					stays, start-mysql recovers it
#	servers.sh stop-redis [DIR]	stop Redis only
#	servers.sh start-redis [DIR]	start it again on the same port
#	servers.sh kill-redis [DIR]	kill -9 Redis; start-redis restarts it
#	servers.sh status [DIR]		exit 0 if both answer
#
# DIR defaults to $BIPOSTAL_TEST_MYSQLD_DIR for every command but start,
# where it is $BIPOSTAL_TEST_DIR/servers or a fresh mktemp -d.  Both
# servers listen on 127.0.0.1 only, on free ports picked at random in
# 20000-60000, with their data, sockets, pid and log files inside DIR; no
# system service is touched.  MariaDB runs with its grant tables: the
# user bipostal@127.0.0.1 (and @localhost) gets a random password and
# every privilege, CREATE DATABASE included.  Redis keeps nothing on disk.
#
# start writes DIR/env, to be sourced:
#	BIPOSTAL_TEST_MYSQL		mysql://bipostal:PASS@127.0.0.1:PORT/bipostal_test
#	BIPOSTAL_TEST_MYSQL_ADMIN	mysql://bipostal:PASS@127.0.0.1:PORT/
#	BIPOSTAL_TEST_REDIS		redis://127.0.0.1:PORT/0
#	BIPOSTAL_TEST_MYSQLD_DIR	DIR
#	BIPOSTAL_TEST_REDIS_PORT	PORT
#	BIPOSTAL_TEST_MYSQL_PORT	PORT
# and DIR/mysql/client.cnf for `mariadb --defaults-file=DIR/mysql/client.cnf`.
#
# Any server that does not start or answer within its time limit is an
# error: the command prints why (with the server log's tail) and exits 1.

set -u

prog=servers.sh

die()
{
	echo "$prog: error: $*" >&2
	exit 1
}

# pick_port - a free TCP port on 127.0.0.1 in 20000-60000
pick_port()
{
	i=0
	while [ $i -lt 100 ]; do
		p=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		p=$((20000 + p % 40000))
		if [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ]; then
			echo $p
			return 0
		fi
		i=$((i + 1))
	done
	die "no free port found"
}

# find_dir - the servers' directory from $1 or the environment
find_dir()
{
	d=${1:-${BIPOSTAL_TEST_MYSQLD_DIR:-}}
	[ -n "$d" ] || die "no directory: give one or set BIPOSTAL_TEST_MYSQLD_DIR"
	[ -f "$d/ports" ] || die "$d: not a servers.sh directory"
	dir=$(cd "$d" && pwd)
	. "$dir/ports"
}

# log_tail - the end of a server log, for error messages
log_tail()
{
	[ -f "$1" ] && tail -n 15 "$1" | sed 's/^/    /' >&2
}

mysqld_bin()
{
	for b in mariadbd mysqld /usr/sbin/mariadbd /usr/sbin/mysqld; do
		command -v $b >/dev/null 2>&1 && { command -v $b; return; }
	done
	die "mariadbd not found (apt-get install mariadb-server)"
}

# mysql_alive - the server answers on its socket
mysql_alive()
{
	mariadb-admin --defaults-file="$dir/mysql/root.cnf" \
	    --connect-timeout=1 ping >/dev/null 2>&1
}

# try_mysql - start mariadbd from DIR/mysql/my.cnf and wait for it;
# 1 if it exits or does not answer within 30 s
try_mysql()
{
	if [ -f "$dir/mysql/mysqld.pid" ] && \
	    kill -0 "$(cat "$dir/mysql/mysqld.pid")" 2>/dev/null; then
		mysql_alive && return 0
	fi
	rm -f "$dir/mysql/mysqld.pid" "$dir/mysql/mysqld.sock"
	setsid "$(mysqld_bin)" --defaults-file="$dir/mysql/my.cnf" \
	    </dev/null >>"$dir/mysql/stderr.log" 2>&1 &
	mpid=$!
	i=0
	while [ $i -lt 300 ]; do
		if mysql_alive; then
			return 0
		fi
		kill -0 $mpid 2>/dev/null || break	# it gave up
		sleep 0.1
		i=$((i + 1))
	done
	kill -TERM $mpid 2>/dev/null
	echo "$prog: MariaDB log:" >&2
	log_tail "$dir/mysql/error.log"
	log_tail "$dir/mysql/stderr.log"
	return 1
}

# start_mysql - try_mysql or die
start_mysql()
{
	try_mysql || die "MariaDB did not answer on port $MYSQL_PORT"
}

# stop_pid - TERM the process in a pid file, wait, then KILL
stop_pid()
{
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || { rm -f "$1"; return 0; }
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		if [ $i -ge 300 ]; then
			kill -KILL "$pid" 2>/dev/null
			sleep 0.2
			break
		fi
		sleep 0.1
		i=$((i + 1))
	done
	rm -f "$1"
}

# kill_pid - KILL the process in a pid file and wait for it
kill_pid()
{
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2>/dev/null
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	rm -f "$1"
}

stop_mysql()
{
	stop_pid "$dir/mysql/mysqld.pid"
}

redis_alive()
{
	[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]
}

# try_redis - start redis-server on its port and wait; 1 on failure
try_redis()
{
	command -v redis-server >/dev/null 2>&1 || \
	    die "redis-server not found (apt-get install redis-server)"
	redis_alive && return 0
	redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
	    --daemonize yes --dir "$dir/redis" \
	    --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log" \
	    --save "" --appendonly no --protected-mode yes \
	    --unixsocket "$dir/redis/redis.sock" --unixsocketperm 700 \
	    >/dev/null 2>&1 || {
		log_tail "$dir/redis/redis.log"
		return 1
	}
	i=0
	while [ $i -lt 100 ]; do
		redis_alive && return 0
		sleep 0.1
		i=$((i + 1))
	done
	stop_pid "$dir/redis/redis.pid"
	log_tail "$dir/redis/redis.log"
	return 1
}

start_redis()
{
	try_redis || die "Redis did not answer on port $REDIS_PORT"
}

stop_redis()
{
	stop_pid "$dir/redis/redis.pid"
}

# write_ports - record the ports, for the commands that come later
write_ports()
{
	cat >"$dir/ports" <<EOF
MYSQL_PORT=$MYSQL_PORT
REDIS_PORT=$REDIS_PORT
EOF
}

# write_mycnf - the server's option file
write_mycnf()
{
	cat >"$dir/mysql/my.cnf" <<EOF
[mariadbd]
$user_opt
datadir = $dir/mysql/data
tmpdir = $dir/mysql/tmp
socket = $dir/mysql/mysqld.sock
pid-file = $dir/mysql/mysqld.pid
log-error = $dir/mysql/error.log
port = $MYSQL_PORT
bind-address = 127.0.0.1
skip-name-resolve
skip-log-bin
performance-schema = OFF
max-connections = 300
innodb-buffer-pool-size = 32M
innodb-log-file-size = 8M
innodb-flush-log-at-trx-commit = 2
innodb-doublewrite = 0
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
EOF
}

# cmd_start - make DIR, initialise MariaDB, start both, write DIR/env
cmd_start()
{
	if [ -n "${1:-}" ]; then
		mkdir -p "$1" || die "cannot create $1"
		dir=$1
	elif [ -n "${BIPOSTAL_TEST_DIR:-}" ]; then
		mkdir -p "$BIPOSTAL_TEST_DIR" || die "cannot create $BIPOSTAL_TEST_DIR"
		dir=$(mktemp -d "$BIPOSTAL_TEST_DIR/servers.XXXXXX") || die mktemp
	else
		dir=$(mktemp -d "${TMPDIR:-/tmp}/bipostal-servers.XXXXXX") || die mktemp
	fi
	dir=$(cd "$dir" && pwd)
	[ -e "$dir/ports" ] && die "$dir: servers already set up there"
	command -v mariadb-install-db >/dev/null 2>&1 || \
	    die "mariadb-install-db not found (apt-get install mariadb-server)"
	mkdir -p "$dir/mysql/data" "$dir/mysql/tmp" "$dir/redis" || die mkdir
	# DIR may be shared with other tests (daemons that drop privileges
	# need to traverse it): only the servers' own folders are private
	chmod 700 "$dir/mysql" "$dir/redis"

	MYSQL_PORT=$(pick_port)
	REDIS_PORT=$(pick_port)
	while [ "$REDIS_PORT" = "$MYSQL_PORT" ]; do
		REDIS_PORT=$(pick_port)
	done
	pass=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
	write_ports
	user_opt=
	[ "$(id -u)" = 0 ] && user_opt="user = root"
	write_mycnf
	cat >"$dir/mysql/root.cnf" <<EOF
[client]
user = root
password =
socket = $dir/mysql/mysqld.sock
EOF
	cat >"$dir/mysql/client.cnf" <<EOF
[client]
user = bipostal
password = $pass
host = 127.0.0.1
port = $MYSQL_PORT
protocol = tcp
EOF
	chmod 600 "$dir/mysql/client.cnf" "$dir/mysql/root.cnf"

	# root@localhost with no password, reachable only through the
	# private socket; the tests use the bipostal user over TCP
	iuser=
	[ "$(id -u)" = 0 ] && iuser=--user=root
	mariadb-install-db --defaults-file="$dir/mysql/my.cnf" $iuser \
	    --datadir="$dir/mysql/data" \
	    --auth-root-authentication-method=normal --skip-test-db \
	    --skip-name-resolve >"$dir/mysql/install.log" 2>&1 || {
		log_tail "$dir/mysql/install.log"
		die "mariadb-install-db failed in $dir/mysql/data"
	}
	# a port taken between pick_port and bind: try others
	n=0
	until try_mysql; do
		n=$((n + 1))
		[ $n -lt 3 ] || die "MariaDB did not start (see $dir/mysql)"
		MYSQL_PORT=$(pick_port)
		echo "$prog: retrying MariaDB on port $MYSQL_PORT" >&2
		write_ports
		write_mycnf
	done
	sed -i "s/^port = .*/port = $MYSQL_PORT/" "$dir/mysql/client.cnf"
	mariadb --defaults-file="$dir/mysql/root.cnf" -e "
	    CREATE USER 'bipostal'@'127.0.0.1' IDENTIFIED BY '$pass';
	    CREATE USER 'bipostal'@'localhost' IDENTIFIED BY '$pass';
	    GRANT ALL PRIVILEGES ON *.* TO 'bipostal'@'127.0.0.1' WITH GRANT OPTION;
	    GRANT ALL PRIVILEGES ON *.* TO 'bipostal'@'localhost' WITH GRANT OPTION;
	    CREATE DATABASE bipostal_test CHARACTER SET utf8mb4;
	    FLUSH PRIVILEGES;" >>"$dir/mysql/install.log" 2>&1 || {
		log_tail "$dir/mysql/install.log"
		die "cannot create the bipostal user"
	}
	mariadb --defaults-file="$dir/mysql/client.cnf" -e "SELECT 1" \
	    >/dev/null 2>&1 || die "bipostal@127.0.0.1 cannot log in over TCP"
	n=0
	until try_redis; do
		n=$((n + 1))
		[ $n -lt 3 ] || die "Redis did not start (see $dir/redis)"
		REDIS_PORT=$(pick_port)
		echo "$prog: retrying Redis on port $REDIS_PORT" >&2
		write_ports
	done

	cat >"$dir/env" <<EOF
export BIPOSTAL_TEST_MYSQL='mysql://bipostal:$pass@127.0.0.1:$MYSQL_PORT/bipostal_test'
export BIPOSTAL_TEST_MYSQL_ADMIN='mysql://bipostal:$pass@127.0.0.1:$MYSQL_PORT/'
export BIPOSTAL_TEST_REDIS='redis://127.0.0.1:$REDIS_PORT/0'
export BIPOSTAL_TEST_MYSQLD_DIR='$dir'
export BIPOSTAL_TEST_MYSQL_PORT='$MYSQL_PORT'
export BIPOSTAL_TEST_REDIS_PORT='$REDIS_PORT'
EOF
	chmod 600 "$dir/env"
	echo "$dir/env"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
start)
	cmd_start "$@"
	;;
stop)
	find_dir "$@"
	if [ -z "${BIPOSTAL_KEEP:-}" ]; then
		# the data goes away: no need for a clean shutdown
		kill_pid "$dir/mysql/mysqld.pid"
		kill_pid "$dir/redis/redis.pid"
		rm -rf "$dir"
	else
		stop_mysql
		stop_redis
	fi
	;;
stop-mysql)
	find_dir "$@"
	stop_mysql
	;;
start-mysql)
	find_dir "$@"
	start_mysql
	;;
kill-mysql)
	# no clean shutdown: InnoDB recovers at the next start; try_mysql
	# removes the stale pid and socket files
	find_dir "$@"
	kill_pid "$dir/mysql/mysqld.pid"
	;;
stop-redis)
	find_dir "$@"
	stop_redis
	;;
start-redis)
	find_dir "$@"
	start_redis
	;;
kill-redis)
	find_dir "$@"
	kill_pid "$dir/redis/redis.pid"
	;;
status)
	find_dir "$@"
	mysql_alive || die "MariaDB on port $MYSQL_PORT does not answer"
	redis_alive || die "Redis on port $REDIS_PORT does not answer"
	;;
*)
	echo "usage: $prog start|stop|stop-mysql|start-mysql|kill-mysql|stop-redis|start-redis|kill-redis|status [DIR]" >&2
	exit 2
	;;
esac
exit 0
