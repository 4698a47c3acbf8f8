#!/bin/bash
# api.sh BACKEND - drive a real bipostal-dash over HTTP with curl (TAP)
#
# BACKEND is sqlite (a file in a private directory) or mysql (a fresh
# database made with $BIPOSTAL_TEST_MYSQL_ADMIN, dropped at the end; the
# test fails when that variable is unset).  With mysql, Redis is used too
# when $BIPOSTAL_TEST_REDIS is set, so the SSE stream runs on pub/sub.
# Covers every endpoint and its errors, the authorisation matrix (every
# route of bipostal-dash -R, for no credentials, a bad token, another user,
# an admin user, the server key and the owner), admin-only signup, bad
# inputs, JWTs from an OpenID provider, SSE, TTL expiry, CORS, static
# files and the connection limits.

set -u
backend=${1:?usage: api.sh sqlite|mysql}
: "${top_builddir:?}" "${top_srcdir:?}"
DASH=$top_builddir/bipostal-dash
TOOL=$top_builddir/tests/dash/dash_tool
W=$(mktemp -d /tmp/bp-dash-test.XXXXXX)
n=0
failed=0
pid=
pid2=
dbname=
priv=
SRV=$top_srcdir/tests/lib/servers.sh
. "$top_srcdir/tests/dash/dash_lib.sh"

# tool - the test helper; it exits at once, so leak checks are noise there
tool() {
	ASAN_OPTIONS=detect_leaks=0 "$TOOL" "$@"
}

finish() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$pid2" ] && kill "$pid2" 2>/dev/null && wait "$pid2" 2>/dev/null
	jobs -p | xargs -r kill 2>/dev/null
	if [ -n "$dbname" ]; then
		mysql_admin -e "DROP DATABASE IF EXISTS $dbname" >/dev/null 2>&1
	fi
	[ -n "$priv" ] && "$SRV" stop "$priv" >/dev/null 2>&1
	if [ "$failed" -ne 0 ] && [ -f "$W/log" ]; then
		echo "# daemon log (tail):"
		tail -n 30 "$W/log" | sed 's/^/# /'
	fi
	if [ "$failed" -ne 0 ] && [ -f "$W/log2" ]; then
		echo "# second daemon's log (tail):"
		tail -n 15 "$W/log2" | sed 's/^/# /'
	fi
	rm -rf "$W"
	echo "1..$n"
	[ "$failed" -eq 0 ]
	exit $?
}
trap finish EXIT

# mysql_admin ARGS - the mysql client as the admin of $BIPOSTAL_TEST_MYSQL_ADMIN
mysql_admin() {
	local u=${BIPOSTAL_TEST_MYSQL_ADMIN#mysql://}
	local cred=${u%%@*} hp=${u#*@}
	hp=${hp%%/*}
	mysql --protocol=tcp -u "${cred%%:*}" -p"${cred#*:}" -h "${hp%:*}" \
	    -P "${hp##*:}" "$@"
}

# call METHOD PATH [curl args] - sets $code, $body, $hdrs
call() {
	local m=$1 p=$2
	shift 2
	code=$(curl -s -o "$W/body" -D "$W/hdrs" -w '%{http_code}' \
	    --max-time 20 -X "$m" "$@" "$URL$p")
	body=$(cat "$W/body")
	hdrs=$(cat "$W/hdrs")
}

# expect DESCRIPTION CODE [JQ-EXPRESSION] - check the last call
expect() {
	local r=0
	[ "$code" = "$2" ] || r=1
	if [ $r = 0 ] && [ $# -ge 3 ]; then
		echo "$body" | jq -e "$3" >/dev/null 2>&1 || r=1
	fi
	ok $r "$1 ($code)"
	if [ $r != 0 ]; then
		echo "#   want $2 ${3:-}; body: $(head -c 400 "$W/body")"
	fi
}

# error_shape - the last body is a JSON error of the right form
error_shape() {
	echo "$body" | jq -e --argjson c "$code" '(.code == $c) and
	    (.errno | type == "number") and (.error | type == "string") and
	    (.message | type == "string")' >/dev/null 2>&1
	ok $? "$1: JSON error {code,errno,error,message}"
}

# ---- set up a store, keys and a configuration -----------------------------
case $backend in
sqlite)
	mkdir "$W/db"	# its own folder, so the store-down test can take it away
	store="sqlite:$W/db/dash.db"
	redis=
	;;
mysql)
	if [ -z "${BIPOSTAL_TEST_MYSQL_ADMIN:-}" ]; then
		ok 1 "BIPOSTAL_TEST_MYSQL_ADMIN is set (start tests/lib/servers.sh)"
		exit 1
	fi
	dbname=bipostal_dash_$$_$RANDOM
	mysql_admin -e "CREATE DATABASE $dbname"
	ok $? "created database $dbname"
	store="${BIPOSTAL_TEST_MYSQL_ADMIN%/}/$dbname"
	redis=${BIPOSTAL_TEST_REDIS:-}
	if [ -n "$redis" ]; then
		# Rate-limit buckets outlive a run (they are meant to be shared
		# by every dash host): start from empty ones of our own kinds.
		for kind in login signup alias apikey; do
			redis-cli -u "$redis" --scan --pattern \
			    "bipostal:rl:$kind:*" 2>/dev/null |
			    xargs -r redis-cli -u "$redis" DEL >/dev/null
		done
	fi
	;;
*)
	echo "Bail out! unknown backend $backend"
	exit 1
	;;
esac

cd "$W" || exit 1
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > secret
echo "server-key-$RANDOM$RANDOM$RANDOM" > serverkey
chmod 600 secret serverkey
SK=$(cat serverkey)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem \
    2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem \
    2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rogue.pem \
    2>/dev/null
printf '{"keys":[%s,%s]}\n' "$(tool jwk rsa.pem k-rsa)" \
    "$(tool jwk ec.pem k-ec)" > jwks.json
mkdir -p www/css
echo '<!doctype html><title>BIPostal</title>' > www/index.html
echo 'body{}' > www/css/site.css
echo 'outside' > outside.txt
cat > bipostal.conf <<EOF
store = $store
redis = $redis
alias_domain = alias.example
daemon_user = $(id -un)
secret_key_file = $W/secret
server_key_file = $W/serverkey
dash_listen = 127.0.0.1:0
dash_static_dir = $W/www
dash_signup = open
dash_cors_origins = https://app.example
dash_jwks_file = $W/jwks.json
dash_oidc_issuer = https://idp.example
dash_oidc_audience = bipostal
dash_max_body = 64k
dash_conn_timeout = 3s
dash_per_ip_conn = 16
dash_rate_login = 60
dash_rate_signup = 5
dash_rate_alias = 30
queue_max_ttl = 1h
EOF
start_dash bipostal.conf log
ok $? "bipostal-dash answers"
pid=$started_pid
URL=$started_url
PORT=${URL##*:}

# ---- health, version, metrics, static files --------------------------------
call GET /__lbheartbeat__
expect "lbheartbeat" 200
call GET /__heartbeat__
expect "heartbeat checks the store" 200 '.store == "ok"'
call GET /__version__
expect "version" 200 '.version | type == "string"'
call GET /
expect "GET / serves index.html" 200
echo "$hdrs" | grep -qi '^content-type: text/html'
ok $? "index.html is text/html"
call GET /css/site.css
echo "$hdrs" | grep -qi '^content-type: text/css'
ok $? "site.css is text/css"
call GET /../outside.txt --path-as-is
expect "no traversal with .." 404
call GET /%2e%2e/outside.txt --path-as-is
expect "no traversal with %2e%2e" 404
call GET /css/../../outside.txt --path-as-is
expect "no traversal from a subfolder" 404
call GET /nothing.html
expect "missing static file" 404
error_shape "missing file"
call GET /v1/nothing
expect "unknown /v1/ endpoint" 404
call DELETE /v1/me
expect "wrong method" 405
error_shape "405"

# ---- users: signup, admin creation, sessions --------------------------------
SKH="Authorization: BIPostal-Server-Key $SK"
call POST /v1/users -d '{"email":"alice@real.example","password":"alice-password"}'
expect "open signup" 201 '.email == "alice@real.example" and .admin == false'
ALICE_ID=$(echo "$body" | jq -r .id)
ALICE_QID=$(echo "$body" | jq -r .queue_id)
call POST /v1/users -d '{"email":"alice@real.example","password":"other-password"}'
expect "signup twice" 409
call POST /v1/users -d '{"email":"eve@real.example","password":"x","admin":true}'
expect "short password refused" 400
call POST /v1/users -d '{"email":"eve@real.example","password":"eve-password","admin":true}'
expect "signup cannot make an admin" 403
call POST /v1/users -d '{"email":"not an address","password":"whatever1"}'
expect "bad email refused" 400
call POST /v1/users -d '{"email":"spam@real.example","password":"whatever1"}'
expect "signup rate limited (5 per hour per address)" 429
echo "$hdrs" | grep -qi '^retry-after: [0-9]'
ok $? "429 carries Retry-After"
error_shape "429"
call POST /v1/admin/users -H "$SKH" -d '{"email":"bob@real.example","password":"bob-password"}'
expect "admin creates bob with the server key" 201
BOB_ID=$(echo "$body" | jq -r .id)
BOB_QID=$(echo "$body" | jq -r .queue_id)
call POST /v1/admin/users -H "$SKH" -d '{"email":"root@real.example","password":"root-password","admin":true}'
expect "admin creates an admin" 201 '.admin == true'
call POST /v1/admin/users -H "Authorization: BIPostal-Server-Key wrong" -d '{}'
expect "wrong server key" 401

session() {	# session USER PASSWORD -> prints a bearer token
	curl -s -X POST -u "$1:$2" "$URL/v1/session" | jq -r .token
}
call POST /v1/session -u alice@real.example:alice-password
expect "session from Basic" 201 '.token_type == "Bearer" and (.token | length > 20)'
A=$(echo "$body" | jq -r .token)
B=$(session bob@real.example bob-password)
R=$(session root@real.example root-password)
AH="Authorization: Bearer $A"
BH="Authorization: Bearer $B"
RH="Authorization: Bearer $R"
call POST /v1/session -u alice@real.example:wrong-password
expect "wrong password" 401
error_shape "401"
call POST /v1/session -u nobody@real.example:whatever-password
expect "unknown user" 401
call POST /v1/session -H 'Authorization: Basic !!!notbase64'
expect "bad Basic encoding" 401
call POST /v1/session -H "Authorization: Basic $(printf 'no-colon' | base64)"
expect "Basic without a colon" 401
call POST /v1/session
expect "no credentials" 401
call GET /v1/aliases -u alice@real.example:alice-password
expect "Basic is not accepted on API calls" 401

# unknown users cost an argon2 run like known ones
t0=$(date +%s%N)
curl -s -o /dev/null -X POST -u alice@real.example:wrong "$URL/v1/session"
t1=$(date +%s%N)
curl -s -o /dev/null -X POST -u ghost@real.example:wrong "$URL/v1/session"
t2=$(date +%s%N)
known=$(((t1 - t0) / 1000000))
unknown=$(((t2 - t1) / 1000000))
[ "$unknown" -ge $((known / 3)) ]
ok $? "unknown user costs a hash too (known ${known} ms, unknown ${unknown} ms)"

# ---- me and settings ---------------------------------------------------------
call GET /v1/me -H "$AH"
expect "GET /v1/me" 200 ".email == \"alice@real.example\" and .queue_id == \"$ALICE_QID\""
call PATCH /v1/me -H "$AH" -d '{"disabled_action":"reject","content_policy":"keep"}'
expect "PATCH settings" 200 '.disabled_action == "reject" and .content_policy == "keep"'
call PATCH /v1/me -H "$AH" -d '{"disabled_action":"explode"}'
expect "bad setting value" 400
call PATCH /v1/me -H "$AH" -d '{"disabled_action":5}'
expect "wrong type in settings" 400
call PATCH /v1/me -H "$AH" -d '{"colour":"blue"}'
expect "unknown setting" 400
call GET /v1/me -H "$AH"
expect "settings stored" 200 '.disabled_action == "reject" and .content_policy == "keep"'
call PATCH /v1/me -H "$AH" -d '{"disabled_action":"discard"}'
expect "settings back" 200

# ---- aliases ---------------------------------------------------------------
call POST /v1/aliases -H "$AH" -d '{"origin":"Shop.Example","context":"c2VjcmV0","expires_in":86400}'
expect "create alias" 201 '.origin == "shop.example" and .status == "active" and .context == "c2VjcmV0" and (.alias | endswith("@alias.example"))'
TOK=$(echo "$body" | jq -r .token)
call POST /v1/aliases -H "$AH" -d '{"origin":"shop.example"}'
expect "same origin gives the same alias" 200 ".token == \"$TOK\""
call POST /v1/aliases -H "$BH" -d '{"origin":"shop.example"}'
expect "bob gets his own alias" 201 ".token != \"$TOK\""
BTOK=$(echo "$body" | jq -r .token)
call GET /v1/aliases -H "$AH"
expect "list aliases with counters" 200 "(.aliases | length == 1) and .aliases[0].token == \"$TOK\" and (.aliases[0].counters.forwarded == 0)"
call GET /v1/aliases/$TOK -H "$AH"
expect "get own alias" 200 ".token == \"$TOK\""
call GET /v1/aliases/$TOK%40alias.example -H "$AH"
expect "get own alias by address" 200
call GET /v1/aliases/$TOK -H "$BH"
expect "another user's alias is 404" 404
call PATCH /v1/aliases/$TOK -H "$BH" -d '{"status":"inactive"}'
expect "another user cannot patch (404)" 404
call DELETE /v1/aliases/$TOK -H "$BH"
expect "another user cannot delete (404)" 404
call PATCH /v1/aliases/$TOK -H "$AH" -d '{"status":"inactive","context":null,"expires_at":4102444800}'
expect "patch status, context, expiry" 200 '.status == "inactive" and .context == null and .expires_at == 4102444800'
call GET /v1/aliases/$TOK -H "$AH"
expect "patch stored" 200 '.status == "inactive" and .expires_at == 4102444800'
call PATCH /v1/aliases/$TOK -H "$AH" -d '{"status":"deleted"}'
expect "PATCH cannot delete" 400
call PATCH /v1/aliases/$TOK -H "$AH" -d '{"expires_at":"soon"}'
expect "PATCH expires_at of the wrong type" 400
call PATCH /v1/aliases/$TOK -H "$AH" -d '{"status":"active","expires_at":1000000000}'
expect "PATCH expires_at in the past refused" 400 '.message | test("future")'
call GET /v1/aliases/$TOK -H "$AH"
expect "... and nothing changed" 200 '.status == "inactive" and .expires_at == 4102444800'
call PATCH /v1/aliases/$TOK -H "$AH" -d '{"expires_at":0}'
expect "PATCH expires_at 0: never" 200 '.expires_at == 0'
call PATCH /v1/aliases/$TOK -H "$AH" -d '{"expires_at":4102444800}'
expect "PATCH expires_at again" 200 '.expires_at == 4102444800'
call PATCH /v1/aliases/$TOK -H "$AH" -d '{"owner":7}'
expect "PATCH unknown field" 400
call POST /v1/aliases -H "$AH" -d '{"origin":"shop.example"}'
expect "re-asking re-activates" 200 ".token == \"$TOK\" and .status == \"active\""
call POST /v1/aliases -H "$AH" -d '{"origin":5}'
expect "origin of the wrong type" 400
call POST /v1/aliases -H "$AH" -d '{"origin":"bad origin!"}'
expect "malformed origin" 400
call POST /v1/aliases -H "$AH" -d '{}'
expect "missing origin" 400
call POST /v1/aliases -H "$AH" -d '{"origin":"a.example","expires_in":-3}'
expect "negative expires_in" 400
big=$(head -c 5000 /dev/zero | base64 -w0)
call POST /v1/aliases -H "$AH" -d "{\"origin\":\"a.example\",\"context\":\"$big\"}"
expect "context over 4 KiB" 400
ctx=$(head -c 4096 /dev/urandom | base64 -w0)
call POST /v1/aliases -H "$AH" -d "{\"origin\":\"ctx.example\",\"context\":\"$ctx\"}"
expect "context of exactly 4 KiB" 201 ".context == \"$ctx\""
CTXTOK=$(echo "$body" | jq -r .token)
call POST /v1/aliases -H "$AH" -d '{"origin":'
expect "invalid JSON" 400 '.errno == 101'
call POST /v1/aliases -H "$AH" -d '["origin"]'
expect "JSON that is not an object" 400
deep=$(printf '%.0s[' $(seq 200))$(printf '%.0s]' $(seq 200))
call POST /v1/aliases -H "$AH" -d "{\"origin\":\"a.example\",\"x\":$deep}"
expect "deep nesting refused" 400
head -c 100000 /dev/zero | tr '\0' 'a' > huge
call POST /v1/aliases -H "$AH" --data-binary @huge
expect "huge body refused" 413
error_shape "413"
call POST /v1/aliases -H "$AH" -H 'Transfer-Encoding: chunked' --data-binary @huge
expect "huge chunked body refused" 413
hdr=$(head -c 100000 /dev/zero | tr '\0' 'h')
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $hdr" "$URL/__lbheartbeat__")
case $code in 413|431|400) r=0 ;; *) r=1 ;; esac
ok $r "huge header refused ($code)"
call DELETE /v1/aliases/$CTXTOK -H "$AH"
expect "delete alias" 204
call GET /v1/aliases/$CTXTOK -H "$AH"
expect "deleted alias is gone" 404
call POST /v1/aliases -H "$AH" -d '{"origin":"ctx.example"}'
expect "a deleted alias is never handed out again" 201 ".token != \"$CTXTOK\""

# ---- one-click disable (RFC 8058) --------------------------------------------
# The footer of forwarded mail links to the same address as the
# List-Unsubscribe header: a GET (a person, or a link scanner) gets a page
# that changes nothing and whose button POSTs; the POST disables.
SIG=$(tool unsub secret "$TOK")
BROWSER='Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
# html_page DESCRIPTION - the last answer is a self-contained HTML page
html_page() {
	echo "$hdrs" | grep -qi '^content-type: text/html' &&
	    echo "$hdrs" | grep -qi "^content-security-policy: default-src 'none'" &&
	    echo "$hdrs" | grep -qi '^referrer-policy: no-referrer' &&
	    echo "$body" | grep -qi '^<!doctype html>' &&
	    ! echo "$body" | grep -Eqi 'src=|<link|url\(|@import|https?:|<script'
	ok $? "$1: a self-contained HTML page"
}
call GET "/v1/unsubscribe/$TOK?sig=$SIG" -H "$BROWSER"
expect "the link opened in a browser asks first" 200
html_page "confirmation"
echo "$body" | grep -q 'shop\.example' && echo "$body" | grep -qi '<button'
ok $? "the page names the site and has a button"
action=$(echo "$body" | grep -o '<form method="post" action="[^"]*"' | sed 's/.*action="//; s/"$//')
[ "$action" = "$TOK?sig=$SIG" ]
ok $? "the button POSTs to the same address (action=${action:-none})"
call GET /v1/aliases/$TOK -H "$AH"
expect "GET changes nothing (link scanners)" 200 '.status == "active"'
call POST "/v1/unsubscribe/$action" -H "$BROWSER" --data 'List-Unsubscribe=One-Click'
expect "the page's button disables" 200
html_page "done page"
echo "$body" | grep -qi 'disabled'
ok $? "the done page says the alias is disabled"
call GET /v1/aliases/$TOK -H "$AH"
expect "alias disabled by the button" 200 '.status == "inactive"'
call PATCH /v1/aliases/$TOK -H "$AH" -d '{"status":"active"}'
call POST "/v1/unsubscribe/$TOK?sig=$SIG" --data 'List-Unsubscribe=One-Click'
expect "one-click POST (RFC 8058)" 200 '.status == "inactive"'
call GET /v1/aliases/$TOK -H "$AH"
expect "alias disabled by the one-click POST" 200 '.status == "inactive"'
call GET "/v1/unsubscribe/$TOK?sig=$SIG" -H "$BROWSER"
expect "the link of a disabled alias" 200
! echo "$body" | grep -qi '<form' && echo "$body" | grep -qi 'already disabled'
ok $? "the page of a disabled alias says so, without a button"
call POST "/v1/unsubscribe/$TOK?sig=00000000000000000000000000000000"
expect "bad link signature" 403
call POST "/v1/unsubscribe/$TOK"
expect "link without a signature" 403
call POST "/v1/unsubscribe/$BTOK?sig=$SIG"
expect "a signature is bound to its token" 403
call GET "/v1/unsubscribe/$TOK?sig=00000000000000000000000000000000"
expect "GET with a bad signature" 403
html_page "bad signature"
call GET "/v1/unsubscribe/$TOK"
expect "GET without a signature" 403
html_page "no signature"
UNK=$(head -c 400 /dev/urandom | tr -dc 0-9a-z | head -c 50)
call GET "/v1/unsubscribe/$UNK?sig=$(tool unsub secret "$UNK")"
expect "GET for an unknown alias" 404
html_page "unknown alias"
call GET "/v1/unsubscribe/$CTXTOK?sig=$(tool unsub secret "$CTXTOK")"
expect "GET for a deleted alias" 404
call POST "/v1/unsubscribe/$CTXTOK?sig=$(tool unsub secret "$CTXTOK")"
expect "POST for a deleted alias" 404
error_shape "one-click 404"
call POST /v1/aliases -H "$AH" -d '{"origin":"shop.example"}'
expect "re-enabled" 200 '.status == "active"'

# ---- blobs -------------------------------------------------------------------
BLOB=$(tool blob "$store" "$ALICE_ID" "$TOK" "invoice.html" "<script>x</script>")
ok $? "blob stored"
call GET /v1/blobs/$BLOB -H "$AH"
expect "owner downloads the blob" 200
[ "$body" = "<script>x</script>" ] && echo "$hdrs" | grep -qi '^content-type: application/octet-stream' &&
    echo "$hdrs" | grep -qi '^content-disposition: attachment'
ok $? "blob sent as an attachment, never as a page"
call GET /v1/blobs/$BLOB -H "$BH"
expect "another user's blob is 404" 404
call GET /v1/blobs/$BLOB
expect "blob without auth" 401
call GET /v1/blobs/nosuchblob -H "$AH"
expect "unknown blob" 404

# ---- TOTP --------------------------------------------------------------------
call POST /v1/me/totp -H "$BH"
expect "TOTP enrolment" 201 '(.uri | startswith("otpauth://totp/")) and (.secret | length >= 16)'
SECRET=$(echo "$body" | jq -r .secret)
QR=$(echo "$body" | jq -r .qr)
curl -s -o qr.png -D qr.h -H "$BH" "$URL$QR"
grep -qi '^content-type: image/png' qr.h && [ "$(head -c 4 qr.png | od -An -tx1 | tr -d ' ')" = 89504e47 ]
ok $? "QR code is a PNG"
call POST /v1/me/totp/verify -H "$BH" -d "{\"secret\":\"$SECRET\",\"code\":\"000000\"}"
[ "$code" = 401 ] || [ "$(tool totp "$SECRET")" = 000000 ]
ok $? "wrong TOTP code refused ($code)"
call POST /v1/me/totp/verify -H "$BH" -d "{\"secret\":\"$SECRET\",\"code\":\"$(tool totp "$SECRET")\"}"
expect "TOTP verified and enrolled" 200 '.totp == true'
call POST /v1/session -u bob@real.example:bob-password
expect "session needs the TOTP code" 401 '.errno == 109'
call POST /v1/session -u bob@real.example:bob-password -H "X-TOTP: $(tool totp "$SECRET")"
expect "session with X-TOTP" 201
call POST /v1/session -u bob@real.example:bob-password -d "{\"totp\":\"$(tool totp "$SECRET")\"}"
expect "session with a totp field" 201
call POST /v1/session -u bob@real.example:bob-password -H "X-TOTP: $(tool totp "$SECRET" 600)"
expect "session with a stale code" 401
call POST /v1/me/totp -H "$BH"
expect "re-enrolment needs a current code" 401
# A stolen bearer token must not replace an enrolled second factor: verify
# too wants the present code (or the ticket of an enrolment that had it).
NEWSEC=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
call POST /v1/me/totp/verify -H "$BH" -d "{\"secret\":\"$NEWSEC\",\"code\":\"$(tool totp $NEWSEC)\"}"
expect "verify cannot replace an enrolled secret without the present code" 401 '.errno == 109'
call POST /v1/me/totp/verify -H "$BH" -d "{\"secret\":\"$NEWSEC\",\"code\":\"$(tool totp $NEWSEC)\",\"totp\":\"$(tool totp "$SECRET" 600)\"}"
expect "verify with a stale present code" 401 '.errno == 109'
call POST /v1/me/totp/verify -H "$BH" -d "{\"secret\":\"$NEWSEC\",\"code\":\"$(tool totp $NEWSEC)\",\"ticket\":\"1.AAAA\"}"
expect "verify with a forged ticket" 401 '.errno == 109'
call POST /v1/session -u bob@real.example:bob-password -H "X-TOTP: $(tool totp "$SECRET")"
expect "the enrolled secret still signs in" 201
call POST /v1/me/totp -H "$BH" -H "X-TOTP: $(tool totp "$SECRET")"
expect "re-enrolment with the present code" 201 '(.ticket | length > 20) and (.secret | length >= 16)'
SECRET2=$(echo "$body" | jq -r .secret)
TICKET=$(echo "$body" | jq -r .ticket)
call POST /v1/me/totp/verify -H "$BH" -d "{\"secret\":\"$NEWSEC\",\"code\":\"$(tool totp $NEWSEC)\",\"ticket\":\"$TICKET\"}"
expect "a ticket is bound to the secret it was issued with" 401 '.errno == 109'
call POST /v1/me/totp/verify -H "$BH" -d "{\"secret\":\"$SECRET2\",\"code\":\"$(tool totp "$SECRET2")\",\"ticket\":\"$TICKET\"}"
expect "re-enrolment verified with its ticket" 200 '.totp == true'
call POST /v1/session -u bob@real.example:bob-password -H "X-TOTP: $(tool totp "$SECRET2")"
expect "the new secret signs in" 201
call POST /v1/me/totp/verify -H "$BH" -d "{\"secret\":\"$SECRET\",\"code\":\"$(tool totp "$SECRET")\",\"ticket\":\"$TICKET\"}"
expect "a ticket dies once the secret changed" 401 '.errno == 109'
call POST /v1/me/totp/verify -H "$BH" -H "X-TOTP: $(tool totp "$SECRET2")" -d "{\"secret\":\"$SECRET\",\"code\":\"$(tool totp "$SECRET")\"}"
expect "verify with the present code in X-TOTP" 200 '.totp == true'
call POST /v1/session -u bob@real.example:bob-password -H "X-TOTP: $(tool totp "$SECRET")"
expect "back on the first secret" 201
call GET /v1/me/totp/qr?secret=bad -H "$BH"
expect "QR of a malformed secret" 400

# ---- bearer tokens: HS256 and the OpenID provider -----------------------------
now=$(date +%s)
T=$(tool jwt secret HS256 "" "{\"iss\":\"bipostal-dash\",\"sub\":\"$ALICE_ID\",\"exp\":$((now - 10))}")
call GET /v1/me -H "Authorization: Bearer $T"
expect "expired HS256 token" 401
T=$(tool jwt secret HS256 "" "{\"iss\":\"bipostal-dash\",\"sub\":\"$ALICE_ID\",\"exp\":$((now + 300))}")
call GET /v1/me -H "Authorization: Bearer $T"
expect "HS256 token signed with the secret" 200
echo -n wrong-secret-wrong-secret > other
T=$(tool jwt other HS256 "" "{\"iss\":\"bipostal-dash\",\"sub\":\"$ALICE_ID\",\"exp\":$((now + 300))}")
call GET /v1/me -H "Authorization: Bearer $T"
expect "HS256 token with another secret" 401
T=$(tool jwt secret none "" "{\"iss\":\"bipostal-dash\",\"sub\":\"$ALICE_ID\",\"exp\":$((now + 300))}")
call GET /v1/me -H "Authorization: Bearer $T"
expect "alg none" 401
T=$(tool jwt secret none "" "{\"iss\":\"bipostal-dash\",\"sub\":\"$ALICE_ID\",\"exp\":$((now + 300))}")
call GET /v1/me -H "Authorization: Bearer ${T}AAAA"
expect "alg none with a signature" 401
c=${A:${#A}-10:1}
[ "$c" = X ] && c=Y || c=X
call GET /v1/me -H "Authorization: Bearer ${A:0:${#A}-10}$c${A:${#A}-9}"
expect "tampered signature" 401
call GET /v1/me -H "Authorization: Bearer not.a.jwt"
expect "garbage token" 401
call GET /v1/me -H "Authorization: Bearer $A" -H "Authorization: Bearer x"
[ "$code" = 200 ] || [ "$code" = 401 ]
ok $? "duplicate Authorization headers do not crash ($code)"
claims="{\"iss\":\"https://idp.example\",\"aud\":\"bipostal\",\"sub\":\"carol-1\",\"email\":\"carol@real.example\",\"email_verified\":true,\"exp\":$((now + 300))}"
T=$(tool jwt rsa.pem RS256 k-rsa "$claims")
call GET /v1/me -H "Authorization: Bearer $T"
expect "RS256 token from the provider" 200 '.email == "carol@real.example"'
T=$(tool jwt ec.pem ES256 k-ec "$claims")
call GET /v1/me -H "Authorization: Bearer $T"
expect "ES256 token from the provider, same user" 200 '.email == "carol@real.example"'
T=$(tool jwt rogue.pem RS256 k-rsa "$claims")
call GET /v1/me -H "Authorization: Bearer $T"
expect "RS256 with an unknown key" 401
T=$(tool jwt rsa.pem RS256 k-rsa "${claims/bipostal\"/someone-else\"}")
call GET /v1/me -H "Authorization: Bearer $T"
expect "wrong audience" 401
T=$(tool jwt rsa.pem RS256 k-rsa "${claims/idp.example/evil.example}")
call GET /v1/me -H "Authorization: Bearer $T"
expect "wrong issuer" 401
T=$(tool jwt rsa.pem RS256 k-rsa "${claims/\"exp\":$((now + 300))/\"exp\":$((now - 5))}")
call GET /v1/me -H "Authorization: Bearer $T"
expect "expired RS256" 401
T=$(tool jwt rsa.pem RS512 k-rsa "$claims")
call GET /v1/me -H "Authorization: Bearer $T"
expect "wrong algorithm (RS512)" 401
T=$(tool jwt rsa.pem ES256 k-rsa "$claims")
call GET /v1/me -H "Authorization: Bearer $T"
expect "ES256 header on an RSA signature" 401
openssl pkey -in rsa.pem -pubout -out rsa.pub 2>/dev/null
T=$(tool jwt rsa.pub HS256 k-rsa "$claims")
call GET /v1/me -H "Authorization: Bearer $T"
expect "HS256 keyed with the provider's public key" 401

# ---- notification queue (Pushbox) ----------------------------------------------
call POST /v1/queue/$ALICE_QID -H "$SKH" -d '{"data":"first","ttl":600}'
expect "append with the server key" 201 '.index > 0'
I1=$(echo "$body" | jq -r .index)
call POST /v1/queue/$ALICE_QID -H "$SKH" -d '{"data":{"kind":"json"},"ttl":600}'
expect "append JSON data" 201
I2=$(echo "$body" | jq -r .index)
call POST /v1/queue/$ALICE_QID -H "$SKH" -d '{"data":"third","ttl":600}'
expect "append a third" 201
I3=$(echo "$body" | jq -r .index)
call GET "/v1/queue?limit=2" -H "$AH"
expect "read with a limit" 200 "(.messages | length == 2) and .messages[0].data == \"first\" and .last == false and .status == \"new\""
call GET "/v1/queue?index=$I3" -H "$AH"
expect "read from an index" 200 "(.messages | length == 1) and .messages[0].index == $I3 and .last == true"
call POST /v1/queue/$ALICE_QID -H "$SKH" -d '{"data":"x","ttl":99999999}'
expect "TTL over queue_max_ttl" 400
call POST /v1/queue/$ALICE_QID -H "$SKH" -d '{"ttl":5}'
expect "append without data" 400
call POST /v1/queue/nosuchqueue -H "$SKH" -d '{"data":"x"}'
expect "append to an unknown queue" 404
call POST /v1/queue/$ALICE_QID -H "$AH" -d '{"data":"x"}'
expect "a user cannot append" 403
call POST /v1/queue/$ALICE_QID -d '{"data":"x"}'
expect "append without auth" 401
call GET "/v1/queue?index=-1" -H "$AH"
expect "negative index" 400
call GET "/v1/queue?limit=0" -H "$AH"
expect "zero limit" 400
call GET "/v1/queue?index=$I2&limit=1" -H "$AH"
expect "JSON data comes back as its text" 200 '.messages[0].data == "{\"kind\":\"json\"}"'
call POST /v1/queue/$ALICE_QID -H "$SKH" -d '{"data":"brief","ttl":1}'
expect "append with a 1 s TTL" 201
I4=$(echo "$body" | jq -r .index)
sleep 2.2
call GET "/v1/queue?index=$I3" -H "$AH"
expect "expired message is gone (TTL)" 200 "all(.messages[]; .index != $I4) and all(.messages[]; .data != \"brief\")"
call GET "/v1/queue" -H "$BH"
expect "bob's queue is his own" 200 '.messages | length == 0'

# lost: messages the client wanted expired unread
call POST /v1/queue/$BOB_QID -H "$SKH" -d '{"data":"short","ttl":1}'
IS=$(echo "$body" | jq -r .index)
call POST /v1/queue/$BOB_QID -H "$SKH" -d '{"data":"long","ttl":600}'
sleep 2.2
call GET "/v1/queue?index=$IS" -H "$BH"
expect "expired unread messages give status lost" 200 '.status == "lost" and (.messages | length == 1) and .messages[0].data == "long"'

# ---- SSE -------------------------------------------------------------------------
curl -sN --max-time 6 -H "$AH" "$URL/v1/events" > sse.out 2>/dev/null &
ssepid=$!
sleep 1
curl -s -o /dev/null -X POST -H "$AH" -d '{"origin":"sse.example"}' "$URL/v1/aliases"
curl -s -o /dev/null -X POST -H "$SKH" -d '{"data":"ping"}' "$URL/v1/queue/$ALICE_QID"
for i in $(seq 40); do
	grep -q '^event: queue' sse.out && break
	sleep 0.1
done
grep -q '^event: alias' sse.out && grep -q 'sse.example' sse.out
ok $? "SSE client receives the alias event"
grep -q '^event: queue' sse.out
ok $? "SSE client receives the queue event"
kill $ssepid 2>/dev/null
wait $ssepid 2>/dev/null
last=$(grep '^id: ' sse.out | tail -n 1 | cut -d' ' -f2)
curl -sN --max-time 2 -H "$AH" -H "Last-Event-ID: 0" "$URL/v1/events" > sse2.out 2>/dev/null
grep -q "^id: $last\$" sse2.out
ok $? "Last-Event-ID replays missed events"
call GET /v1/events
expect "events without auth" 401
call GET /v1/events -H "$SKH"
expect "events with the server key" 403

# one user's events never reach another user's stream
curl -sN --max-time 5 -H "$AH" "$URL/v1/events" > sse-a.out 2>/dev/null &
ssea=$!
curl -sN --max-time 5 -H "$BH" "$URL/v1/events" > sse-b.out 2>/dev/null &
sseb=$!
sleep 1
curl -s -o /dev/null -X POST -H "$AH" -d '{"origin":"isolated.example"}' "$URL/v1/aliases"
curl -s -o /dev/null -X POST -H "$SKH" -d '{"data":"for-alice-only"}' "$URL/v1/queue/$ALICE_QID"
for i in $(seq 40); do
	grep -q '^event: queue' sse-a.out && break
	sleep 0.1
done
sleep 1
kill $ssea $sseb 2>/dev/null
wait $ssea $sseb 2>/dev/null
grep -q 'isolated.example' sse-a.out && grep -q '^event: queue' sse-a.out
ok $? "SSE: the owner's stream has the alias and queue events"
! grep -q '^event:\|^data:' sse-b.out
ok $? "SSE: another user's stream stays silent ($(grep -c '^event:' sse-b.out) events)"
curl -sN --max-time 2 -H "$BH" -H "Last-Event-ID: 0" "$URL/v1/events" > sse-b2.out 2>/dev/null
grep -q '^event:' sse-b2.out && ! grep -q "isolated.example\|$TOK" sse-b2.out
ok $? "SSE: another user's replay has only their own events"

# ---- legacy /0.5/ ------------------------------------------------------------------
# Two users of their own, so that the alias rate limit of alice is not
# spent here; credentials are Basic (email and password) or a bearer token.
call POST /v1/admin/users -H "$SKH" -d '{"email":"leg1@real.example","password":"leg1-password"}'
expect "legacy: user leg1" 201
call POST /v1/admin/users -H "$SKH" -d '{"email":"leg2@real.example","password":"leg2-password"}'
expect "legacy: user leg2" 201
L1B=(-u leg1@real.example:leg1-password)
L1H="Authorization: Bearer $(session leg1@real.example leg1-password)"
L2H="Authorization: Bearer $(session leg2@real.example leg2-password)"
NEWSUB=/0.5/new_subscription
REMSUB=/0.5/remove_subscription
TOKRE='type == "string" and test("^[0-9a-z]{50,64}$")'

call GET /0.5/new_token
expect "new_token without credentials: a JSON string, 50+ of 0-9a-z" 200 "$TOKRE"
NT1=$(echo "$body" | jq -r .)
[ "$(head -c 1 "$W/body")" = '"' ] && echo "$hdrs" | grep -qi '^content-type: application/json'
ok $? "new_token's body is a bare JSON string, application/json"
call GET /0.5/new_token
expect "new_token again" 200 "$TOKRE"
NT2=$(echo "$body" | jq -r .)
[ -n "$NT1" ] && [ "$NT1" != "$NT2" ]
ok $? "new_token twice gives two different tokens"
call GET /0.5/new_token -H "Authorization: Bearer not-a-token"
expect "new_token reads no credentials (a bad bearer token)" 200 "$TOKRE"
call GET /0.5/new_token -u leg1@real.example:wrong-password
expect "new_token reads no credentials (a wrong password)" 200 "$TOKRE"
call POST /0.5/new_token
expect "new_token is GET only" 405

call POST $NEWSUB "${L1B[@]}" --data-urlencode "token=$NT1" --data-urlencode origin=legacy.example
expect "new_subscription: Basic, a form, new_token's token" 200 ".token == \"$NT1\" and .alias == \"$NT1@alias.example\" and .origin == \"legacy.example\" and .created == true"
call GET /v1/aliases/$NT1 -H "$L1H"
expect "the alias has the client's token and is active" 200 '.status == "active" and .origin == "legacy.example"'
call POST $NEWSUB -H "$L1H" -H 'Content-Type: application/json' -d "{\"token\":\"$NT2\",\"origin\":\"Legacy.Example\"}"
expect "re-subscription (bearer, JSON, a new token) returns the previous alias" 200 ".token == \"$NT1\" and .created == false"
call POST $NEWSUB "${L1B[@]}" -d "token=$NT1&origin=legacy.example"
expect "a retry with the alias's own token returns it" 200 ".token == \"$NT1\" and .created == false"
OWN=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n' | head -c 56)
call POST $NEWSUB -H "$L1H" -d "token=$OWN&origin=own.example"
expect "a token from another source (56 hex digits)" 200 ".token == \"$OWN\" and .created == true"

call POST $NEWSUB -H "$L1H" -d "token=$(echo "$NT2" | tr a-z A-Z)&origin=bad1.example"
expect "a token in upper case" 400 '.message | test("0-9a-z")'
error_shape "bad token 400"
call POST $NEWSUB -H "$L1H" -d "token=${NT2:0:49}&origin=bad2.example"
expect "a token of 49 characters" 400 '.message | test("at least 50")'
call POST $NEWSUB -H "$L1H" --data-urlencode "token=${NT2:0:49}-&origin=bad3.example"
expect "a token with a non-alphanumeric character" 400 '.message | test("0-9a-z")'
call POST $NEWSUB -H "$L1H" -d "token=${NT2}${NT2:0:15}&origin=bad4.example"
expect "a token of 65 characters" 400 '.message | test("at most 64")'
call POST $NEWSUB -H "$L1H" -d "origin=bad5.example"
expect "no token" 400 '.message | test("required")'
call POST $NEWSUB -H "$L1H" -H 'Content-Type: application/json' -d '{"token":12,"origin":"bad6.example"}'
expect "a token that is not a string" 400
call POST $NEWSUB -H "$L2H" -d "token=$NT1&origin=legacy.example"
expect "another user's alias token" 400 '.message | test("already issued")'
call POST $NEWSUB -H "$L1H" -d "token=$NT1&origin=other.example"
expect "the user's own alias token for another origin" 400 '.message | test("already issued")'
call POST /v1/aliases -H "$L1H" -d '{"origin":"gone.example"}'
DT=$(echo "$body" | jq -r .token)
call DELETE /v1/aliases/$DT -H "$L1H"
expect "delete an alias" 204
call POST $NEWSUB -H "$L1H" -d "token=$DT&origin=gone.example"
expect "a deleted alias's token, same user and origin" 400 '.message | test("already issued")'
call POST $NEWSUB -H "$L2H" -d "token=$DT&origin=gone2.example"
expect "a deleted alias's token, another user" 400 '.message | test("already issued")'
call GET /v1/aliases -H "$L2H"
expect "refused tokens made nothing" 200 '.aliases | length == 0'
call POST $NEWSUB -H "$L1H" --data-urlencode "token=$NT2" --data-urlencode "origin=bad origin!"
expect "a bad origin" 400 '.message | test("origin")'

call POST $NEWSUB -d "token=$NT2&origin=x.example"
expect "new_subscription without credentials" 401 '.message | test("Basic")'
error_shape "legacy 401"
echo "$hdrs" | grep -qi '^www-authenticate: Basic'
ok $? "... with WWW-Authenticate: Basic"
call POST $NEWSUB -u leg1@real.example:wrong-password -d "token=$NT2&origin=x.example"
expect "new_subscription with a wrong password" 401
error_shape "legacy wrong password"
call POST $NEWSUB -H "Authorization: Bearer not-a-token" -d "token=$NT2&origin=x.example"
expect "new_subscription with a bad bearer token" 401
call POST $NEWSUB -H "$SKH" -d "token=$NT2&origin=x.example"
expect "new_subscription with the server key" 403
call POST $NEWSUB --data-urlencode "token=$A" -d origin=x.example
expect "the token field is never a bearer token" 401

call POST $REMSUB -H "$L2H" -d "token=$NT1"
expect "remove_subscription of another user's alias" 404
call POST $REMSUB "${L1B[@]}" --data-urlencode "token=$NT1@alias.example"
expect "remove_subscription (Basic, the address) deactivates" 200 ".token == \"$NT1\" and .status == \"inactive\""
call GET /v1/aliases/$NT1 -H "$L1H"
expect "the removed alias is inactive, not deleted" 200 '.status == "inactive"'
call POST $REMSUB -H "$L1H" -d "token=$NT1"
expect "remove_subscription twice" 200 '.status == "inactive"'
call GET /0.5/new_token
NT3=$(echo "$body" | jq -r .)
call POST $NEWSUB "${L1B[@]}" -d "token=$NT3&origin=legacy.example"
expect "subscribe again: the same alias" 200 ".token == \"$NT1\" and .created == false"
call GET /v1/aliases/$NT1 -H "$L1H"
expect "... active again" 200 '.status == "active"'
call POST $NEWSUB -H "$L2H" -d "token=$NT3&origin=legacy.example"
expect "a token not used by a re-subscription stays free" 200 ".token == \"$NT3\" and .created == true"
call POST $REMSUB -H "$L1H" -H 'Content-Type: application/json' -d "{\"token\":\"$NT1\"}"
expect "remove_subscription (bearer, JSON)" 200 '.status == "inactive"'
call POST $NEWSUB -H "$L1H" -H 'Content-Type: application/json' -d "{\"token\":\"$NT1\",\"origin\":\"legacy.example\"}"
expect "subscribe again with the alias's token: the same alias" 200 ".token == \"$NT1\" and .created == false"
call GET /v1/aliases/$NT1 -H "$L1H"
expect "... active again" 200 '.status == "active"'
call POST $REMSUB -d "token=$NT1"
expect "remove_subscription without credentials" 401
error_shape "legacy remove 401"
call POST $REMSUB -u leg1@real.example:wrong-password -d "token=$NT1"
expect "remove_subscription with a wrong password" 401
call POST $REMSUB -H "$L1H"
expect "remove_subscription without a token" 400
call POST $REMSUB -H "$L1H" -d "token=$DT"
expect "remove_subscription of a deleted alias" 404
call POST $REMSUB -H "$L1H" -d "token=$NT2"
expect "remove_subscription of an unknown token" 404
call GET /v1/aliases/$NT1 -H "$L1H"
expect "refused removals changed nothing" 200 '.status == "active"'
call POST /0.5/user_queue -H "$AH"
expect "user_queue without nodes" 503
error_shape "503"

# ---- admin: nodes and users -----------------------------------------------------------
call POST /v1/admin/nodes -H "$SKH" -d '{"host":"q1.example","port":8443,"capacity":100}'
expect "add node q1" 201
N1=$(echo "$body" | jq -r .id)
call POST /v1/admin/nodes -H "$RH" -d '{"host":"q2.example","port":8443,"capacity":100}'
expect "an admin user adds node q2" 201
N2=$(echo "$body" | jq -r .id)
call POST /v1/admin/nodes -H "$SKH" -d '{"host":"q3.example","port":"x","capacity":1}'
expect "node with a bad port" 400
call PATCH /v1/admin/nodes/$N2 -H "$SKH" -d '{"draining":true}'
expect "drain q2" 200 '.draining == true'
call POST /0.5/user_queue -H "$AH"
expect "user_queue assigns a node" 200 ".queue_id == \"$ALICE_QID\" and .host == \"q1.example\" and .port == 8443"
call POST /0.5/user_queue -H "$AH"
expect "the user stays on the node" 200 '.host == "q1.example"'
call POST /0.5/user_queue -u alice@real.example:alice-password
expect "user_queue with Basic: the same queue and node" 200 ".queue_id == \"$ALICE_QID\" and .host == \"q1.example\" and .port == 8443"
call POST /0.5/user_queue -u alice@real.example:wrong-password
expect "user_queue with a wrong password" 401
error_shape "user_queue 401"
call POST /0.5/user_queue
expect "user_queue without credentials" 401
call PATCH /v1/admin/nodes/$N2 -H "$SKH" -d '{"draining":false,"capacity":500}'
expect "undrain and weigh q2" 200 '.capacity == 500'
call PATCH /v1/admin/nodes/$N1 -H "$SKH" -d '{"downed":true}'
expect "down q1" 200 '.downed == true'
call POST /0.5/user_queue -H "$AH"
expect "users of a downed node move" 200 '.host == "q2.example"'
call GET /v1/admin/nodes -H "$SKH"
expect "list nodes" 200 '.nodes | length == 2'
call PATCH /v1/admin/nodes/99999 -H "$SKH" -d '{"downed":true}'
expect "unknown node" 404
call PATCH /v1/admin/nodes/$N1 -H "$SKH" -d '{"weight":"heavy"}'
expect "bad node field" 400
call GET /v1/admin/users -H "$SKH"
expect "list users" 200 '.users | length >= 4'
call GET /v1/admin/users/bob@real.example -H "$SKH"
expect "get user by email" 200 '.totp == true'
call PATCH /v1/admin/users/$BOB_ID -H "$SKH" -d '{"totp":false}'
expect "reset bob's TOTP" 200 '.totp == false'
call PATCH /v1/admin/users/$BOB_ID -H "$SKH" -d '{"status":"revoked"}'
expect "revoke bob" 200 '.status == "revoked"'
call GET /v1/me -H "$BH"
expect "a revoked user's token stops working" 401
call POST /v1/session -u bob@real.example:bob-password
expect "a revoked user cannot log in" 401
call PATCH /v1/admin/users/$BOB_ID -H "$SKH" -d '{"status":"active"}'
expect "reinstate bob" 200
call PATCH /v1/admin/users/$BOB_ID -H "$SKH" -d '{"status":"gone"}'
expect "bad user status" 400
call GET /v1/admin/users/nobody@real.example -H "$SKH"
expect "unknown user" 404

# ---- the authorisation matrix ----------------------------------------------------------
# Every route of the router (bipostal-dash -R) has at least one row, here
# or in a later section; the check at the end fails for a route without
# one, and for a row that names no route.  Principals, in this order: no
# credentials, a bad bearer token, another user (bob), an admin user
# (root), the server key and the owner (alice), last so that a row may end
# with the owner's destructive call.  @P@ in the path or the body becomes
# the principal's name, so rows that create things stay unique.
MX_PRINCIPALS="none bad other admin server owner"
: > "$W/matrix.rows"
matrix() {	# matrix METHOD PATH BODY NONE BAD OTHER ADMIN SERVER OWNER [CURL-ARGS]
	local m=$1 p=$2 d=$3 pr want i=0
	local -a wants auth data
	shift 3
	wants=("$1" "$2" "$3" "$4" "$5" "$6")
	shift 6
	echo "$m ${p%%\?*}" >> "$W/matrix.rows"
	for pr in $MX_PRINCIPALS; do
		want=${wants[$i]}
		i=$((i + 1))
		case $pr in
		none) auth=() ;;
		bad) auth=(-H "Authorization: Bearer not-a-token") ;;
		other) auth=(-H "$BH") ;;
		admin) auth=(-H "$RH") ;;
		server) auth=(-H "$SKH") ;;
		owner) auth=(-H "$AH") ;;
		esac
		data=()
		[ -n "$d" ] && data=(-d "${d//@P@/$pr}")
		call "$m" "${p//@P@/$pr}" "${auth[@]}" "${data[@]}" "$@"
		expect "matrix $m ${p%%\?*}: $pr" "$want"
	done
}
B=$(session bob@real.example bob-password)
BH="Authorization: Bearer $B"
for o in matrix matrix-rm matrix-del; do
	call POST /v1/aliases -H "$AH" -d "{\"origin\":\"$o.example\"}"
	echo "$body" | jq -r .token > "$o.tok"
done
MT=$(cat matrix.tok)
MT1=$(cat matrix-rm.tok)
MT2=$(cat matrix-del.tok)
MSIG=$(tool unsub secret "$MT")
MXTOK=$(printf 'm%.0s' $(seq 50))	# + the principal: a fresh client token
QS=JBSWY3DPEHPK3PXP
#      METHOD PATH BODY                       none bad other admin server owner
matrix GET /__heartbeat__ ""                  200 200 200 200 200 200
matrix GET /__lbheartbeat__ ""                200 200 200 200 200 200
matrix GET /__version__ ""                    200 200 200 200 200 200
matrix GET /metrics ""                        200 200 200 200 200 200
matrix POST /v1/session ""                    401 401 401 401 401 401
matrix GET /0.5/new_token ""                  200 200 200 200 200 200
matrix POST /0.5/user_queue ""                401 401 200 200 403 200
matrix POST /0.5/new_subscription "origin=m-@P@.example&token=$MXTOK@P@" \
                                              401 401 200 200 403 200
matrix POST /0.5/remove_subscription "token=$MT1" \
                                              401 401 404 404 403 200
matrix GET /v1/me ""                          401 401 200 200 403 200
matrix PATCH /v1/me '{}'                      401 401 200 200 403 200
matrix POST /v1/me/totp ""                    401 401 201 201 403 201
matrix POST /v1/me/totp/verify "{\"secret\":\"$QS\"}" \
                                              401 401 400 400 403 400
matrix GET "/v1/me/totp/qr?secret=$QS" ""     401 401 200 200 403 200
matrix GET /v1/aliases ""                     401 401 200 200 403 200
matrix POST /v1/aliases '{"origin":"m2-@P@.example"}' \
                                              401 401 201 201 403 201
matrix GET /v1/aliases/$MT ""                 401 401 404 404 403 200
matrix PATCH /v1/aliases/$MT '{"status":"active"}' \
                                              401 401 404 404 403 200
matrix DELETE /v1/aliases/$MT2 ""             401 401 404 404 403 204
matrix GET /v1/queue ""                       401 401 200 200 403 200
matrix POST /v1/queue/$ALICE_QID '{"data":"m"}' \
                                              401 401 403 403 201 403
matrix GET /v1/events ""                      401 401 200 200 403 200 --max-time 1
matrix GET /v1/blobs/$BLOB ""                 401 401 404 404 403 200
matrix GET "/v1/unsubscribe/$MT?sig=$MSIG" "" \
                                              200 200 200 200 200 200
matrix POST "/v1/unsubscribe/$MT?sig=$MSIG" "" \
                                              200 200 200 200 200 200
matrix GET /v1/admin/users ""                 401 401 403 200 200 403
matrix POST /v1/admin/users '{"email":"m-@P@@real.example","password":"matrix-password"}' \
                                              401 401 403 201 201 403
matrix GET /v1/admin/users/$ALICE_ID ""       401 401 403 200 200 403
matrix PATCH /v1/admin/users/$ALICE_ID '{}'   401 401 403 200 200 403
matrix GET /v1/admin/nodes ""                 401 401 403 200 200 403
matrix POST /v1/admin/nodes '{"host":"m-@P@.example","port":1,"capacity":1}' \
                                              401 401 403 201 201 403
matrix PATCH /v1/admin/nodes/$N2 '{}'         401 401 403 200 200 403

# ---- API keys; password managers as addy.io and SimpleLogin clients ------------------
# The requests are the ones Bitwarden's username generator sends (its
# addy.io and SimpleLogin forwarders), header for header, and the checks
# read the address where it reads it (addy.io: .data.email, SimpleLogin:
# .alias).
JH='Content-Type: application/json'
call POST /v1/api-keys -H "$AH" -d '{"name":"Bitwarden","scope":"create"}'
expect "create an API key (shown once)" 201 '.name == "Bitwarden" and .scope == "create" and (.key | test("^bpk_[0-9a-z]{50}$")) and (.id | type == "number") and .last_used == null'
KEY=$(echo "$body" | jq -r .key)
KID=$(echo "$body" | jq -r .id)
call POST /v1/api-keys -H "$AH" -d '{"name":"full access","scope":"full"}'
expect "create a full-scope key" 201 '.scope == "full"'
FKEY=$(echo "$body" | jq -r .key)
call POST /v1/api-keys -H "$AH" -d '{"name":"m-key"}'
expect "scope defaults to create" 201 '.scope == "create"'
MKID=$(echo "$body" | jq -r .id)
call POST /v1/api-keys -H "$AH" -d '{"name":"x","scope":"admin"}'
expect "unknown scope refused" 400
error_shape "bad scope"
call POST /v1/api-keys -H "$AH" -d '{"scope":"create"}'
expect "a key needs a name" 400
call POST /v1/api-keys -H "$AH" -d '{"name":"tab\there"}'
expect "a name with a control character refused" 400
call GET /v1/api-keys -H "$AH"
expect "list the keys" 200 "(.keys | length == 3) and .keys[0].name == \"Bitwarden\" and .keys[0].id == $KID and (.keys[0].created | type == \"number\") and ([.keys[] | has(\"key\")] | any | not)"
! grep -q "${KEY#bpk_}" "$W/body"
ok $? "the list never shows a key"
call GET /v1/api-keys -H "$BH"
expect "another user's list is empty" 200 '.keys | length == 0'
call DELETE /v1/api-keys/$KID -H "$BH"
expect "another user's key cannot be revoked (404)" 404
call DELETE /v1/api-keys/nonsense -H "$AH"
expect "a malformed key id is 404" 404

# addy.io, as Bitwarden sends it
BW_ADDY=(-H "Authorization: Bearer $KEY" -H "$JH" -H 'X-Requested-With: XMLHttpRequest')
call POST /api/v1/aliases "${BW_ADDY[@]}" -d '{"domain":"alias.example","description":"Website: pm-shop.example. Generated by Bitwarden."}'
expect "Bitwarden (addy.io) gets an alias" 201 '(.data.email | test("^[0-9a-z]{50}@alias\\.example$")) and .data.email == .data.local_part + "@" + .data.domain and .data.active == true and .data.id == .data.local_part and .data.description == "Website: pm-shop.example. Generated by Bitwarden." and (.data.created_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"))'
ADDY=$(echo "$body" | jq -r .data.email)
call POST /api/v1/aliases "${BW_ADDY[@]}" -d '{"domain":"alias.example","description":"Website: pm-shop.example. Generated by Bitwarden."}'
expect "the same site again: the same alias" 201 ".data.email == \"$ADDY\""
call GET /v1/aliases -H "$AH"
expect "it is the owner's alias for that site" 200 "[.aliases[] | select(.origin == \"pm-shop.example\") | .alias] == [\"$ADDY\"]"
call POST /api/v1/aliases "${BW_ADDY[@]}" -d '{"domain":"alias.example","description":"Generated by Bitwarden."}'
expect "no website: an alias" 201 '.data.email | endswith("@alias.example")'
A1=$(echo "$body" | jq -r .data.email)
call POST /api/v1/aliases "${BW_ADDY[@]}" -d '{"domain":"alias.example","description":"Generated by Bitwarden."}'
expect "no website again: a new alias" 201 ".data.email != \"$A1\""
call GET /v1/aliases -H "$AH"
expect "aliases without a site get a site name of their own" 200 "[.aliases[] | select(.alias == \"$A1\") | .origin | test(\"^generated-[0-9a-z]{16}$\")] == [true]"
call POST /api/v1/aliases -H "Authorization: Bearer $KEY" -H "$JH" -H 'Accept: application/json' -d '{"domain":"alias.example","description":null,"format":"random_characters","recipient_ids":[],"local_part":"x"}'
expect "addy.io's other fields are ignored" 201 '.data.description == null'
call POST /api/v1/aliases "${BW_ADDY[@]}" -d '{"domain":"anonaddy.me","description":"Website: x.example."}'
expect "another domain refused, saying which one to use" 400 '.message | contains("alias.example")'
error_shape "wrong domain"
call GET /api/v1/domain-options -H "Authorization: Bearer $KEY" -H 'X-Requested-With: XMLHttpRequest'
expect "addy.io domain options" 200 '.data == ["alias.example"] and .defaultAliasDomain == "alias.example" and .defaultAliasFormat == "random_characters"'

# SimpleLogin, as Bitwarden sends it: the hostname unencoded, maybe a URL
call POST '/api/alias/random/new?hostname=https://www.PM-Site.example/login?next=/a' -g -H "Authentication: $KEY" -H "$JH" -d '{"note":"Generated by Bitwarden."}'
expect "Bitwarden (SimpleLogin) gets an alias" 201 '(.alias | test("^[0-9a-z]{50}@alias\\.example$")) and .email == .alias and .note == "Generated by Bitwarden." and .enabled == true and (.creation_timestamp | type == "number") and (.creation_date | endswith("+00:00"))'
SL=$(echo "$body" | jq -r .alias)
call POST '/api/alias/random/new?hostname=https://www.pm-site.example/other' -g -H "Authentication: $KEY" -H "$JH" -d '{"note":"Generated by Bitwarden."}'
expect "a full URL of the same site: the same alias" 201 ".alias == \"$SL\""
call POST '/api/alias/random/new?hostname=www.pm-site.example' -H "Authentication: $KEY" -H "$JH" -d '{"note":"Generated by Bitwarden."}'
expect "the host alone: the same alias" 201 ".alias == \"$SL\""
call POST '/api/alias/random/new?hostname=https%3A%2F%2Fwww.pm-site.example%3A443%2F' -H "Authentication: $KEY" -H "$JH" -d '{"note":"x"}'
expect "encoded, with a port: the same alias" 201 ".alias == \"$SL\""
call GET /v1/aliases -H "$AH"
expect "its site is the host" 200 "[.aliases[] | select(.alias == \"$SL\") | .origin] == [\"www.pm-site.example\"]"
call POST /api/alias/random/new -H "Authentication: $KEY" -H "$JH" -d '{"note":"Generated by Bitwarden."}'
expect "no hostname: an alias" 201
S1=$(echo "$body" | jq -r .alias)
call POST /api/alias/random/new -H "Authentication: $KEY"
expect "no hostname, no body: a new alias" 201 ".alias != \"$S1\" and .note == null"
call POST '/api/alias/random/new?hostname=pm-bearer.example&mode=uuid' -H "Authorization: Bearer $KEY" -H "$JH" -d '{}'
expect "SimpleLogin's path takes a bearer key too" 201

# the errors: 401 for the key only, JSON, never a redirect
call POST /api/alias/random/new -H "$JH" -d '{"note":"x"}'
expect "no key: 401" 401
error_shape "no key"
! echo "$hdrs" | grep -qi '^location:'
ok $? "no redirect"
call POST /api/alias/random/new -H "Authentication: bpk_nonsense" -d '{}'
expect "a bad key: 401" 401
error_shape "bad key"
call POST /api/v1/aliases -H "Authorization: Bearer bpk_${KEY#bpk_}x" -H "$JH" -d '{}'
expect "a key one character longer: 401" 401
call POST /api/v1/aliases -H "$AH" -H "$JH" -d '{"domain":"alias.example"}'
expect "a session token is no API key on /api/: 401" 401
call GET /v1/aliases -H "Authorization: Bearer $KEY"
expect "a create-scope key on /v1/: 403" 403
error_shape "create scope on /v1/"
call GET /v1/me -H "Authorization: Bearer $KEY"
expect "a create-scope key on /v1/me: 403" 403
call POST /0.5/new_subscription -H "Authorization: Bearer $KEY" -d 'origin=pm-legacy.example'
expect "a create-scope key on the legacy API: 403" 403
call GET /v1/aliases -H "Authorization: Bearer $FKEY"
expect "a full key lists the aliases" 200 "[.aliases[].alias] | index(\"$ADDY\") != null"
call POST /v1/aliases -H "Authorization: Bearer $FKEY" -d '{"origin":"pm-full.example"}'
expect "a full key creates on /v1/aliases" 201
call GET /v1/me -H "Authorization: Bearer $FKEY"
expect "a full key reads /v1/me" 200 '.email == "alice@real.example"'
call PATCH /v1/me -H "Authorization: Bearer $FKEY" -d '{}'
expect "a full key changes no settings" 403
call GET /v1/api-keys -H "Authorization: Bearer $FKEY"
expect "a full key does not manage keys" 403
call POST /v1/api-keys -H "Authorization: Bearer $KEY" -d '{"name":"more"}'
expect "a create key makes no keys" 403
call GET /v1/admin/users -H "Authorization: Bearer $FKEY"
expect "a full key is no admin" 403
call GET /v1/api-keys -H "$AH"
expect "last_used is set" 200 ".keys[] | select(.id == $KID) | .last_used | type == \"number\""

# revoke
call DELETE /v1/api-keys/$KID -H "$AH"
expect "revoke a key" 204
call DELETE /v1/api-keys/$KID -H "$AH"
expect "revoke it again: 404" 404
call POST /api/v1/aliases "${BW_ADDY[@]}" -d '{"domain":"alias.example","description":"Generated by Bitwarden."}'
expect "a revoked key: 401" 401
error_shape "revoked key"
call POST /api/alias/random/new -H "Authentication: $KEY" -d '{}'
expect "a revoked key on SimpleLogin's path: 401" 401
call GET /v1/api-keys -H "$AH"
expect "the revoked key is no longer listed" 200 "[.keys[].id] | index($KID) == null"

# CORS: the preflight needs no key; any origin
call OPTIONS /api/v1/aliases -H 'Origin: chrome-extension://abcdef' -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: authorization,content-type,x-requested-with'
[ "$code" = 204 ] && echo "$hdrs" | grep -qi '^access-control-allow-origin: \*' &&
    echo "$hdrs" | grep -qi '^access-control-allow-methods:.*POST'
ok $? "/api/ preflight: 204, any origin, POST"
ah=$(echo "$hdrs" | grep -i '^access-control-allow-headers:' | tr -d '\r')
r=0
for h in Authorization Authentication Content-Type Accept X-Requested-With X-Requested-From; do
	echo "$ah" | grep -qi "[ :,]$h\(,\|\$\)" || r=1
done
ok $r "/api/ preflight allows the clients' headers ($ah)"
call OPTIONS /api/alias/random/new -H 'Origin: moz-extension://x' -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: authentication,content-type'
[ "$code" = 204 ] && echo "$hdrs" | grep -qi '^access-control-allow-headers:.*Authentication'
ok $? "SimpleLogin path preflight"
call POST /api/alias/random/new -H 'Origin: https://vault.example' -H "Authentication: $FKEY" -H "$JH" -d '{"note":"x"}'
[ "$code" = 201 ] && echo "$hdrs" | grep -qi '^access-control-allow-origin: \*'
ok $? "an /api/ answer carries Access-Control-Allow-Origin: * (a full key works there too)"
call GET /api/v1/nothing -H "Authorization: Bearer $FKEY"
expect "an unknown /api/ path: 404" 404
error_shape "unknown /api/ path"
call GET /api/v1/aliases -H "Authorization: Bearer $FKEY"
expect "a wrong method on /api/: 405" 405
error_shape "405 on /api/"

# the alias rate limit of POST /v1/aliases holds for keys too
call POST /v1/users -H "$SKH" -d '{"email":"pmrl@real.example","password":"pmrl-password"}'
PMRL=$(session pmrl@real.example pmrl-password)
call POST /v1/api-keys -H "Authorization: Bearer $PMRL" -d '{"name":"rl"}'
RLKEY=$(echo "$body" | jq -r .key)
got=
for i in $(seq 35); do
	call POST /api/alias/random/new -H "Authentication: $RLKEY" -H "$JH" -d '{"note":"Generated by Bitwarden."}'
	if [ "$code" = 429 ]; then got=$i; break; fi
done
[ "$got" = 31 ]
ok $? "/api/ alias creation limited to 30 per hour (429 at ${got:-never})"
echo "$hdrs" | grep -qi '^retry-after: [0-9]'
ok $? "the /api/ 429 has Retry-After"
error_shape "/api/ 429"

#      METHOD PATH BODY                       none bad other admin server owner
matrix GET /v1/api-keys ""                    401 401 200 200 403 200
matrix POST /v1/api-keys '{"name":"m-@P@"}'   401 401 201 201 403 201
matrix DELETE /v1/api-keys/$MKID ""           401 401 404 404 403 204
matrix POST /api/v1/aliases '{"domain":"alias.example"}' \
                                              401 401 401 401 401 401
matrix GET /api/v1/domain-options ""          401 401 401 401 401 401
matrix POST /api/alias/random/new '{"note":"m"}' \
                                              401 401 401 401 401 401

# ---- admin-only signup (dash_signup = admin, by SIGHUP) -------------------------------
reload() {	# reload - SIGHUP the daemon; wait for "configuration reloaded"
	local before i
	before=$(grep -c 'configuration reloaded' log)
	kill -HUP "$pid"
	for i in $(seq 50); do
		[ "$(grep -c 'configuration reloaded' log)" -gt "$before" ] &&
		    return 0
		sleep 0.1
	done
	return 1
}
sed -i 's/^dash_signup = open$/dash_signup = admin/' bipostal.conf
reload
ok $? "SIGHUP reloads the configuration (dash_signup = admin)"
matrix POST /v1/users '{"email":"s-@P@@real.example","password":"signup-password"}' \
                                              401 401 403 201 201 403
call POST /v1/users -d '{"email":'
expect "admin-only signup: anonymous is refused before the body is read" 401
call POST /v1/users -H "$RH" -d '{"email":"s-admin2@real.example","password":"signup-password","admin":true}'
expect "admin-only signup: an admin user makes an admin" 201 '.admin == true'
call POST /v1/session -u s-server@real.example:signup-password
expect "the user the server key made signs in" 201
call POST /v1/session -u s-other@real.example:signup-password
expect "the user another user asked for was not made" 401
dave="{\"iss\":\"https://idp.example\",\"aud\":\"bipostal\",\"sub\":\"dave-1\",\"email\":\"dave@real.example\",\"email_verified\":true,\"exp\":$(($(date +%s) + 300))}"
DT=$(tool jwt rsa.pem RS256 k-rsa "$dave")
call GET /v1/me -H "Authorization: Bearer $DT"
expect "admin-only signup: an unknown OpenID user is not created" 401
sed -i 's/^dash_signup = admin$/dash_signup = open/' bipostal.conf
reload
ok $? "SIGHUP back to dash_signup = open"
call GET /v1/me -H "Authorization: Bearer $DT"
expect "open signup: a verified OpenID user is created" 200 '.email == "dave@real.example"'

# ---- node assignment: weights, slow release, full nodes --------------------------------
# store_node_assign: a new user goes to the live node with the most free
# capacity (capacity - load, then the lowest id) among those with released
# slots; when none has one, every live node without one gets
# min(free, max(1, capacity / 10)) slots and the pick runs again.
nuser() {	# nuser NAME - a new user's bearer token (made with the server key)
	local id
	id=$(curl -s -X POST -H "$SKH" -d "{\"email\":\"$1@real.example\",\"password\":\"node-password\"}" \
	    "$URL/v1/admin/users" | jq -r .id)
	tool jwt secret HS256 "" "{\"iss\":\"bipostal-dash\",\"sub\":\"$id\",\"exp\":$(($(date +%s) + 900))}"
}
qhost() {	# qhost TOKEN - the host /0.5/user_queue gives that user
	curl -s -X POST -H "Authorization: Bearer $1" "$URL/0.5/user_queue" | jq -r .host
}
nodef() {	# nodef ID FIELD - one field of one node
	curl -s -H "$SKH" "$URL/v1/admin/nodes" | jq -r ".nodes[] | select(.id == $1) | .$2"
}
addnode() {	# addnode HOST CAPACITY - print the new node's id
	curl -s -X POST -H "$SKH" -d "{\"host\":\"$1\",\"port\":8443,\"capacity\":$2}" \
	    "$URL/v1/admin/nodes" | jq -r .id
}
down() {	# down ID... - take nodes out
	local id
	for id in "$@"; do
		curl -s -o /dev/null -X PATCH -H "$SKH" -d '{"downed":true}' "$URL/v1/admin/nodes/$id"
	done
}
down $(curl -s -H "$SKH" "$URL/v1/admin/nodes" | jq -r '.nodes[].id')
[ "$(curl -s -H "$SKH" "$URL/v1/admin/nodes" | jq '[.nodes[] | select(.downed | not)] | length')" = 0 ]
ok $? "nodes: every earlier node downed"
WA=$(addnode wa.example 20)
WB=$(addnode wb.example 20)
call PATCH /v1/admin/nodes/$WB -H "$SKH" -d '{"capacity":200}'
expect "nodes: weigh wb ten times wa" 200 '.capacity == 200 and .available == 0'
U1=$(nuser node-u1)
h=$(qhost "$U1")
[ "$h" = wb.example ]
ok $? "nodes: a new user goes to the heavier node, not the lower id ($h)"
[ "$(nodef $WA available)" = 2 ] && [ "$(nodef $WB available)" = 19 ] &&
    [ "$(nodef $WB load)" = 1 ]
ok $? "nodes: each live node got a tenth of its capacity (wa $(nodef $WA available), wb $(nodef $WB available) after one)"
call PATCH /v1/admin/nodes/$WA -H "$SKH" -d '{"capacity":2000}'
expect "nodes: weigh wa over wb" 200 '.capacity == 2000 and .available == 2'
h=$(qhost "$(nuser node-u2)")
[ "$h" = wa.example ]
ok $? "nodes: re-weighted, the next new user goes to wa ($h)"
h=$(qhost "$U1")
[ "$h" = wb.example ] && [ "$(nodef $WB load)" = 1 ]
ok $? "nodes: an assigned user stays on their node ($h)"
down $WA $WB
WC=$(addnode wc.example 30)
for i in 1 2 3; do
	h=$(qhost "$(nuser node-c$i)")
	[ "$h" = wc.example ] && [ "$(nodef $WC load)" = $i ] &&
	    [ "$(nodef $WC available)" = $((3 - i)) ]
	ok $? "nodes: user $i of the first batch of 3 on wc (available $(nodef $WC available))"
done
h=$(qhost "$(nuser node-c4)")
[ "$h" = wc.example ] && [ "$(nodef $WC load)" = 4 ] && [ "$(nodef $WC available)" = 2 ]
ok $? "nodes: the user past the batch releases the next one (load $(nodef $WC load), available $(nodef $WC available))"
down $WC
WD=$(addnode wd.example 2)
h1=$(qhost "$(nuser node-d1)")
h2=$(qhost "$(nuser node-d2)")
[ "$h1" = wd.example ] && [ "$h2" = wd.example ] && [ "$(nodef $WD load)" = 2 ]
ok $? "nodes: a node of capacity 2 takes two users, one slot at a time"
call POST /0.5/user_queue -H "Authorization: Bearer $(nuser node-d3)"
expect "nodes: a full node takes nobody more" 503
echo "$hdrs" | grep -qi '^retry-after: [0-9]'
ok $? "nodes: the 503 has Retry-After"
[ "$(nodef $WD load)" = 2 ]
ok $? "nodes: the load never passes the capacity"

# ---- contacts and blocks (dash_contact.c) ----------------------------------------------
# A user of its own (the alias rate limit of alice is spent elsewhere).
call POST /v1/admin/users -H "$SKH" -d '{"email":"con@real.example","password":"con-password"}'
expect "contacts: user con" 201
CH="Authorization: Bearer $(session con@real.example con-password)"
call POST /v1/aliases -H "$CH" -d '{"origin":"contacts.example"}'
expect "contacts: an alias" 201
CT=$(echo "$body" | jq -r .token)
call GET /v1/aliases/$CT/contacts -H "$CH"
expect "contacts: none yet" 200 '.contacts == []'
call POST /v1/aliases/$CT/contacts -H "$CH" -d '{"address":"Someone@Example.COM"}'
expect "contacts: made" 201 '.address == "someone@example.com" and
    (.reply_address | test("^[0-9a-z]{50}@alias\\.example$")) and
    .blocked == false and .created > 0'
CRA=$(echo "$body" | jq -r .reply_address)
call POST /v1/aliases/$CT/contacts -H "$CH" -d '{"address":"someone@example.com"}'
expect "contacts: the same address again, the same reply address" 200 \
    ".reply_address == \"$CRA\""
call POST /v1/aliases/$CT@alias.example/contacts -H "$CH" -d '{"address":"other@example.com"}'
expect "contacts: the alias named by its address" 201 ".reply_address != \"$CRA\""
call GET /v1/aliases/$CT/contacts -H "$CH"
expect "contacts: both listed (by age, then token)" 200 \
    "(.contacts | length) == 2 and ([.contacts[].reply_address] | index(\"$CRA\")) != null"
for bad in '{"address":"not an address"}' '{"address":""}' '{}' \
    '{"address":42}' "{\"address\":\"$CT@alias.example\"}" \
    '{"address":"a@b@c.example"}'; do
	call POST /v1/aliases/$CT/contacts -H "$CH" -d "$bad"
	expect "contacts: bad address $bad" 400 '.errno == 102'
done
call POST /v1/aliases/$CT/contacts -H "$CH" -d 'nope'
expect "contacts: a body that is no JSON" 400
call GET /v1/aliases/$CT/contacts -H "$BH"
expect "contacts: another user's alias" 404
error_shape "contacts: another user's alias"
call POST /v1/aliases/$CT/contacts -H "$BH" -d '{"address":"x@example.com"}'
expect "contacts: make one on another user's alias" 404
call GET /v1/aliases/nosuchalias/contacts -H "$CH"
expect "contacts: unknown alias" 404
call GET /v1/aliases/$CT@other.example/contacts -H "$CH"
expect "contacts: the alias on another domain" 404

call GET /v1/aliases/$CT/blocks -H "$CH"
expect "blocks: none yet" 200 '.blocks == [] and .blocked == 0'
call POST /v1/aliases/$CT/blocks -H "$CH" -d '{"sender":"Spam@X.Example"}'
expect "blocks: an address" 201 '.sender == "spam@x.example" and .id > 0 and .created > 0'
BID=$(echo "$body" | jq -r .id)
call POST /v1/aliases/$CT/blocks -H "$CH" -d '{"sender":"spam@x.example"}'
expect "blocks: the same again" 200 ".id == $BID"
call POST /v1/aliases/$CT/blocks -H "$CH" -d '{"sender":"@Bulk.Example"}'
expect "blocks: a domain" 201 '.sender == "@bulk.example"'
BID2=$(echo "$body" | jq -r .id)
for bad in '{"sender":"nope"}' '{"sender":"@"}' '{"sender":"@a.example:25"}' \
    '{}' '{"sender":7}' '{"sender":"a b@c.example"}'; do
	call POST /v1/aliases/$CT/blocks -H "$CH" -d "$bad"
	expect "blocks: bad sender $bad" 400 '.errno == 102'
done
call GET /v1/aliases/$CT/blocks -H "$CH"
expect "blocks: both listed" 200 \
    "(.blocks | map(.id)) == [$BID, $BID2] and .blocked == 0"
call POST /v1/aliases/$CT/contacts -H "$CH" -d '{"address":"news@bulk.example"}'
expect "contacts: a contact of a blocked domain says so" 201 '.blocked == true'
call POST /v1/aliases/$CT/contacts -H "$CH" -d '{"address":"a@news.bulk.example"}'
expect "contacts: a subdomain is not blocked" 201 '.blocked == false'
call GET /v1/aliases/$CT/contacts -H "$CH"
expect "contacts: the list says which are blocked" 200 \
    '[.contacts[] | select(.blocked) | .address] == ["news@bulk.example"]'
call GET /v1/aliases/$CT/blocks -H "$BH"
expect "blocks: another user's alias" 404
call POST /v1/aliases/$CT/blocks -H "$BH" -d '{"sender":"x@y.example"}'
expect "blocks: add on another user's alias" 404
call DELETE /v1/aliases/$CT/blocks/$BID -H "$BH"
expect "blocks: another user cannot unblock" 404
for bad in abc 0 -1 1x 99999999; do
	call DELETE /v1/aliases/$CT/blocks/$bad -H "$CH"
	expect "blocks: unblock id $bad" 404
done
call DELETE /v1/aliases/$CT/blocks/$BID -H "$CH"
expect "blocks: unblock" 204
call DELETE /v1/aliases/$CT/blocks/$BID -H "$CH"
expect "blocks: unblock again" 404
call GET /v1/aliases/$CT/blocks -H "$CH"
expect "blocks: the domain's alone" 200 "(.blocks | map(.id)) == [$BID2]"
call GET /v1/aliases/$CT/blocks/$BID2 -H "$CH"
expect "blocks: one block has no GET" 405
call DELETE /v1/aliases/$CT -H "$CH"
expect "contacts: delete the alias" 204
call GET /v1/aliases/$CT/contacts -H "$CH"
expect "contacts: of a deleted alias" 404
call POST /v1/aliases/$CT/blocks -H "$CH" -d '{"sender":"x@y.example"}'
expect "blocks: on a deleted alias" 404
call POST /v1/aliases/$MT/blocks -H "$AH" -d '{"sender":"m@matrix.example"}'
MBID=$(echo "$body" | jq -r .id)
#      METHOD PATH BODY                       none bad other admin server owner
matrix GET /v1/aliases/$MT/contacts ""        401 401 404 404 403 200
matrix POST /v1/aliases/$MT/contacts '{"address":"m-@P@@site.example"}' \
                                              401 401 404 404 403 201
matrix GET /v1/aliases/$MT/blocks ""          401 401 404 404 403 200
matrix POST /v1/aliases/$MT/blocks '{"sender":"@P@@spam.example"}' \
                                              401 401 404 404 403 201
matrix DELETE /v1/aliases/$MT/blocks/$MBID "" 401 401 404 404 403 204

# ---- CORS ------------------------------------------------------------------------------------
call GET /v1/aliases -H "$AH" -H 'Origin: https://app.example'
echo "$hdrs" | grep -qi '^access-control-allow-origin: https://app.example'
ok $? "CORS: a configured origin is allowed"
call GET /v1/aliases -H "$AH" -H 'Origin: https://evil.example'
! echo "$hdrs" | grep -qi '^access-control-allow-origin'
ok $? "CORS: another origin is not"
call OPTIONS /v1/aliases -H 'Origin: https://app.example' -H 'Access-Control-Request-Method: POST'
[ "$code" = 204 ] && echo "$hdrs" | grep -qi '^access-control-allow-methods:.*POST'
ok $? "CORS preflight"

# ---- concurrent creations (SQLite: shared commits; 12 < dash_per_ip_conn) ---------------------
call POST /v1/users -H "$SKH" -d '{"email":"cc@real.example","password":"cc-password"}'
CC=$(session cc@real.example cc-password)
mkdir -p "$W/cc"
pids=
for i in $(seq 6); do
	curl -s -o "$W/cc/same$i" -w '%{http_code}\n' --max-time 20 -X POST \
	    -H "Authorization: Bearer $CC" -d '{"origin":"same.example"}' \
	    "$URL/v1/aliases" >"$W/cc/same$i.code" &
	pids="$pids $!"
	curl -s -o "$W/cc/own$i" -w '%{http_code}\n' --max-time 20 -X POST \
	    -H "Authorization: Bearer $CC" -d "{\"origin\":\"cc$i.example\"}" \
	    "$URL/v1/aliases" >"$W/cc/own$i.code" &
	pids="$pids $!"
done
wait $pids
[ "$(cat "$W"/cc/same*.code | grep -c 201)" = 1 ] &&
    [ "$(cat "$W"/cc/same*.code | grep -c 200)" = 5 ]
ok $? "6 creations at once for one site: one 201, five 200"
[ "$(cat "$W"/cc/same[0-9] | jq -r .token | sort -u | wc -l)" = 1 ]
ok $? "... all with the same alias"
[ "$(cat "$W"/cc/own*.code | grep -c 201)" = 6 ] &&
    [ "$(cat "$W"/cc/own[0-9] | jq -r .token | sort -u | wc -l)" = 6 ]
ok $? "6 creations at once for six sites: six new aliases"
call GET /v1/aliases -H "Authorization: Bearer $CC"
expect "... and the list holds the seven" 200 '(.aliases | length) == 7'
call GET /v1/events -H "Authorization: Bearer $CC" -H 'Last-Event-ID: 0' --max-time 2
[ "$(printf '%s\n' "$body" | grep -c '"event":"created"')" = 7 ]
ok $? "... each with its one created event"

# ---- one kept-open connection sees every change (kept answers, kept tokens) -----------------
call POST /v1/users -H "$SKH" -d '{"email":"ka@real.example","password":"ka-password"}'
KA=$(session ka@real.example ka-password)
call POST /v1/aliases -H "Authorization: Bearer $KA" -d '{"origin":"kept.example"}'
KT=$(echo "$body" | jq -r .token)
cat > "$W/keepalive.py" <<'PY'
# one HTTP/1.1 connection; "get" lines issue GET /v1/aliases on it, other
# lines run as shell commands between the requests
import http.client, json, subprocess, sys
port, token, script = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
for step in script:
    if step != "get":
        subprocess.run(step, shell=True, check=True)
        continue
    c.request("GET", "/v1/aliases", headers={"Authorization": "Bearer " + token})
    r = c.getresponse()
    b = r.read()
    if r.status != 200:
        print(r.status)
        continue
    print(r.status, " ".join(a["status"] for a in json.loads(b)["aliases"]))
PY
CTLC="$top_builddir/bipostalctl -c bipostal.conf"
PATCHA="curl -s -o /dev/null -X PATCH -H 'Authorization: Bearer $KA' -d '{\"status\":\"active\"}' $URL/v1/aliases/$KT"
python3 "$W/keepalive.py" "$PORT" "$KA" get get "$CTLC alias disable $KT@alias.example >/dev/null" get \
    "$PATCHA" get "$CTLC user revoke ka@real.example >/dev/null" get >"$W/ka.out" 2>"$W/ka.err"
ok $? "kept-open connection: requests and commands between them ran"
[ "$(sed -n 1p "$W/ka.out")" = "200 active" ] && [ "$(sed -n 2p "$W/ka.out")" = "200 active" ]
ok $? "... the list twice, the same"
[ "$(sed -n 3p "$W/ka.out")" = "200 inactive" ]
ok $? "... disabled by bipostalctl (another process): the next answer says so"
[ "$(sed -n 4p "$W/ka.out")" = "200 active" ]
ok $? "... enabled over another connection: the next answer says so"
[ "$(sed -n 5p "$W/ka.out")" = 401 ]
ok $? "... the user revoked by bipostalctl: the same token is refused at once"
[ "$(wc -l <"$W/ka.out")" = 5 ] || sed 's/^/#   /' "$W/ka.out" "$W/ka.err"

# ---- rate limits -------------------------------------------------------------------------------
call POST /v1/users -H "$SKH" -d '{"email":"rl@real.example","password":"rl-password"}'
RL=$(session rl@real.example rl-password)
got=
for i in $(seq 40); do
	call POST /v1/aliases -H "Authorization: Bearer $RL" -d "{\"origin\":\"rl$i.example\"}"
	if [ "$code" = 429 ]; then got=$i; break; fi
done
[ "$got" = 31 ]
ok $? "alias creation limited to 30 per hour (429 at ${got:-never})"
echo "$hdrs" | grep -qi '^retry-after: [0-9]'
ok $? "alias 429 has Retry-After"
got=
for i in $(seq 70); do
	call POST /v1/session -u rl@real.example:bad
	if [ "$code" = 429 ]; then got=$i; break; fi
done
[ -n "$got" ]
ok $? "login attempts rate limited (429 after $got)"
echo "$hdrs" | grep -qi '^retry-after: [1-9][0-9]*'
ok $? "login 429 has Retry-After ($(echo "$hdrs" | grep -i '^retry-after' | tr -d '\r'))"
error_shape "login 429"

# ---- connection limits ------------------------------------------------------------------------
start=$(date +%s)
timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; cat <&3 >/dev/null"
rc=$?
el=$(( $(date +%s) - start ))
[ $rc = 0 ] && [ $el -le 6 ]
ok $? "an idle connection is closed by the timeout (after ${el} s)"
holders=
for i in $(seq 16); do
	(exec 3<>/dev/tcp/127.0.0.1/$PORT; sleep 2.5) 2>/dev/null &
	holders="$holders $!"
done
sleep 0.5
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/__lbheartbeat__")
[ "$code" != 200 ]
ok $? "the 17th connection from one address is refused ($code)"
wait $holders
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/__lbheartbeat__")
[ "$code" = 200 ]
ok $? "connections accepted again once the others left"

# ---- the store goes away: /__heartbeat__ answers 503 ----------------------------------------
# heartbeat_is CODE - poll /__heartbeat__ at $URL for up to 10 s
heartbeat_is() {
	local i
	for i in $(seq 50); do
		call GET /__heartbeat__
		[ "$code" = "$1" ] && return 0
		sleep 0.2
	done
	return 1
}
case $backend in
sqlite)
	# Open handles outlive a rename; the reload drops the pooled ones, so
	# the next request must open the file, whose folder is gone.
	mv "$W/db" "$W/db.away"
	reload
	ok $? "SIGHUP drops the pooled store handles"
	call GET /__heartbeat__
	expect "heartbeat with the database gone" 503
	error_shape "heartbeat 503"
	echo "$hdrs" | grep -qi '^retry-after: [0-9]'
	ok $? "heartbeat 503 has Retry-After"
	call GET /v1/me -H "$AH"
	expect "an API call with the database gone" 503 '.errno == 201'
	call GET /__lbheartbeat__
	expect "lbheartbeat does not touch the store" 200
	mv "$W/db.away" "$W/db"
	heartbeat_is 200
	expect "heartbeat recovers with the database back" 200 '.store == "ok"'
	;;
mysql)
	# The shared MariaDB serves other tests: stop a private one instead.
	priv=$(mktemp -d /tmp/bp-dash-srv.XXXXXX)
	chmod 755 "$priv"
	"$SRV" start "$priv" > "$W/priv.log" 2>&1
	ok $? "a private MariaDB for the store-down test"
	padmin=$(. "$priv/env" && echo "$BIPOSTAL_TEST_MYSQL_ADMIN")
	BIPOSTAL_TEST_MYSQL_ADMIN=$padmin mysql_admin -e "CREATE DATABASE bipostal_hb"
	sed -e "s|^store = .*|store = ${padmin%/}/bipostal_hb|" \
	    -e 's|^redis = .*|redis =|' bipostal.conf > hb.conf
	start_dash hb.conf log2
	ok $? "a second dash on the private MariaDB answers"
	pid2=$started_pid
	URL1=$URL
	URL=$started_url
	heartbeat_is 200
	expect "second dash on the private MariaDB: heartbeat" 200 '.store == "ok"'
	"$SRV" stop-mysql "$priv" >> "$W/priv.log" 2>&1
	ok $? "private MariaDB stopped"
	heartbeat_is 503
	expect "heartbeat with MariaDB down" 503 '.status == "error"'
	call GET /v1/me -H "$AH"
	expect "an API call with MariaDB down" 503 '.errno == 201'
	"$SRV" start-mysql "$priv" >> "$W/priv.log" 2>&1
	ok $? "private MariaDB started again"
	heartbeat_is 200
	expect "heartbeat recovers with MariaDB back" 200 '.store == "ok"'
	kill "$pid2"
	wait "$pid2"
	ok $? "second dash stops cleanly"
	pid2=
	! grep -q 'AddressSanitizer\|runtime error' log2
	ok $? "second dash: no sanitizer reports"
	URL=$URL1
	;;
esac

# ---- metrics, and the daemon survived ------------------------------------------------------
call GET /metrics
expect "metrics" 200
echo "$body" | grep -q '^bipostal_dash_requests_total{route="aliases",code="200"} [0-9]'
ok $? "metrics count requests per route"
kill -0 "$pid" 2>/dev/null
ok $? "the daemon is still running"

# ---- every route has matrix rows, every row a route ---------------------------------------
"$DASH" -R > routes
ok $? "bipostal-dash -R lists the router"
[ "$(wc -l < routes)" -ge 30 ]
ok $? "the router has $(wc -l < routes) routes"
: > route.re
while read -r m pat auth; do
	re="^$m $(printf '%s' "$pat" | sed 's/[.]/\\./g; s/[*]/[^\/]+/g')\$"
	echo "$re" >> route.re
	grep -Eq "$re" matrix.rows
	ok $? "route $m $pat ($auth) has authorisation matrix rows"
done < routes
bad=$(grep -Evf route.re matrix.rows)
[ -z "$bad" ]
ok $? "every matrix row is a route of the router${bad:+ (not: $bad)}"
! grep -q 'AddressSanitizer\|runtime error' log
ok $? "no sanitizer reports"
