#!/bin/bash
# dash-bench.sh - wrk against bipostal-dash beside nginx, in the same run
#
#	bench/dash-bench.sh [DURATION] [CONNECTIONS]
#
# Starts a private nginx (Debian nginx-light) on a free port serving one
# static file the size of a typical alias list, and a bipostal-dash on
# SQLite in a scratch directory; then runs wrk on
#	nginx GET /aliases.json         the reference (before and after the
#	                                dash's reads: the mean of the two)
#	dash  GET /v1/aliases           authenticated (bearer), 20 aliases
#	dash  POST /v1/aliases          one new alias per request
# and prints requests/s and the ratios.  Goals: reads >= 0.5 x nginx,
# >= 5000 creations/s on SQLite.  Build without sanitizers for figures
# that mean anything: DASH=/path/to/bipostal-dash overrides the binary.
# Exit 0 when both goals are met, 1 otherwise.

set -u
dur=${1:-10s}
conns=${2:-32}
here=$(cd "$(dirname "$0")" && pwd)
DASH=${DASH:-${top_builddir:-.}/bipostal-dash}
W=$(mktemp -d /tmp/bp-dash-bench.XXXXXX)
chmod 755 "$W"
pids=

cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	[ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null
	sleep 0.3
	rm -rf "$W"
}
trap cleanup EXIT

free_port() {
	local p
	while :; do
		p=$(shuf -i 20000-60000 -n 1)
		if ! (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

# rps - requests/s from wrk's output
rps() {
	awk '/^Requests\/sec:/ { print int($2) }'
}

threads=$(nproc)
[ "$threads" -gt 4 ] && threads=4

# ---- nginx ------------------------------------------------------------------
NPORT=$(free_port)
mkdir -p "$W/www" "$W/ngx"
cat > "$W/nginx.conf" <<NGX
worker_processes auto;
pid $W/nginx.pid;
error_log $W/ngx/error.log;
daemon on;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $W/ngx/body;
	proxy_temp_path $W/ngx/proxy;
	fastcgi_temp_path $W/ngx/fcgi;
	uwsgi_temp_path $W/ngx/uwsgi;
	scgi_temp_path $W/ngx/scgi;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$NPORT;
		root $W/www;
		default_type application/json;
	}
}
NGX

# ---- dash ---------------------------------------------------------------------
PORT=$(free_port)
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$W/secret"
chmod 600 "$W/secret"
cat > "$W/bipostal.conf" <<EOF2
store = sqlite:$W/dash.db
alias_domain = alias.example
daemon_user = $(id -un)
secret_key_file = $W/secret
dash_listen = 127.0.0.1:$PORT
dash_static_dir = $W/www
dash_signup = open
dash_per_ip_conn = 10000
dash_rate_alias = 100000000
dash_rate_signup = 1000
dash_rate_login = 1000
EOF2
"$DASH" -f -c "$W/bipostal.conf" > "$W/dash.log" 2>&1 &
pids="$pids $!"
URL=http://127.0.0.1:$PORT
for i in $(seq 50); do
	curl -s -o /dev/null "$URL/__lbheartbeat__" && break
	sleep 0.1
done
curl -s -o /dev/null -X POST "$URL/v1/users" \
    -d '{"email":"bench@real.example","password":"bench-password"}'
TOKEN=$(curl -s -X POST -u bench@real.example:bench-password \
    "$URL/v1/session" | sed 's/.*"token":"\([^"]*\)".*/\1/')
for i in $(seq 20); do
	curl -s -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" \
	    -d "{\"origin\":\"site$i.example\"}" "$URL/v1/aliases"
done
curl -s -H "Authorization: Bearer $TOKEN" "$URL/v1/aliases" > "$W/www/aliases.json"
size=$(stat -c %s "$W/www/aliases.json")
nginx -c "$W/nginx.conf" -e "$W/ngx/error.log" 2>/dev/null ||
    nginx -c "$W/nginx.conf" || { echo "nginx did not start"; exit 1; }
sleep 0.3

echo "# wrk -t$threads -c$conns -d$dur on $(nproc) CPUs; response body $size bytes"
# nginx before and after the dash's reads, the reference their mean
ngx1=$(wrk -t"$threads" -c"$conns" -d"$dur" "http://127.0.0.1:$NPORT/aliases.json" | rps)
echo "nginx  GET /aliases.json        ${ngx1} req/s"
rd=$(wrk -t"$threads" -c"$conns" -d"$dur" -H "Authorization: Bearer $TOKEN" \
    "$URL/v1/aliases" | rps)
echo "dash   GET /v1/aliases          ${rd} req/s"
ngx2=$(wrk -t"$threads" -c"$conns" -d"$dur" "http://127.0.0.1:$NPORT/aliases.json" | rps)
echo "nginx  GET /aliases.json        ${ngx2} req/s (again)"
ngx=$(( (ngx1 + ngx2) / 2 ))
out=$(BENCH_TOKEN=$TOKEN wrk -t"$threads" -c"$conns" -d"$dur" \
    -s "$here/dash-create.lua" "$URL")
cr=$(echo "$out" | rps)
echo "dash   POST /v1/aliases         ${cr} req/s ($(echo "$out" | grep non2xx | head -1))"
n=$(curl -s -H "Authorization: Bearer $TOKEN" "$URL/v1/aliases" | grep -o '"token"' | wc -l)
echo "aliases in the store after the run: $n"
ratio=$(awk -v a="$rd" -v b="$ngx" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
echo "ratio  reads / nginx            ${ratio} (goal >= 0.5)"
echo "ratio  creations / 5000         $(awk -v a="$cr" 'BEGIN { printf "%.2f", a / 5000 }') (goal >= 1)"
awk -v r="$ratio" -v c="$cr" 'BEGIN { exit !(r >= 0.5 && c >= 5000) }'
