#!/bin/sh
# setup.sh - on a running system, the users and addresses the catalogue's
# socketmap, HTTP and SMTP rows name; prints the BADINPUT_* variables
# run.py reads, as shell assignments:
#
#	eval "$(tests/badinput/setup.sh CONF CTL DASH SMTP SINK OWNER PASSWORD)"
#
# CONF, CTL: the configuration and the bipostalctl that reads it; DASH,
# SMTP: host:port of bipostal-dash and of Postfix; SINK: the directory
# where delivered messages land; OWNER, PASSWORD: an existing user who
# signs in.  It makes two aliases of OWNER ({ALIAS}, {ALIAS2}), another
# user's alias ({OTHER}), a disabled alias of a user who chose reject
# ({DISABLED}), and mails {ALIAS} to learn a reply address ({REPLY}) from
# the forwarded copy.  Exit 1, saying why on stderr, if a step fails.
set -u
conf=$1 ctl_bin=$2 dash=$3 smtp=$4 sink=$5 owner=$6 password=$7
ctl() { "$ctl_bin" -c "$conf" "$@"; }
die() { echo "setup.sh: $*" >&2; exit 1; }
alias1=$(ctl alias add "$owner" shop.example) || die "alias add $owner"
alias2=$(ctl alias add "$owner" second.example) || die "alias add $owner"
bearer=$(curl -s -u "$owner:$password" -X POST "http://$dash/v1/session" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])') ||
    die "no bearer token for $owner"
ctl user add other@real.test >/dev/null 2>&1
other=$(ctl alias add other@real.test other.example) || die "alias add other"
ctl user add rejecter@real.test >/dev/null 2>&1
ctl user set rejecter@real.test disabled_action=reject || die "user set"
disabled=$(ctl alias add rejecter@real.test rejecting.example) &&
    ctl alias disable "$disabled" || die "a disabled alias"
subject="reply address $$"
swaks --server "$smtp" --from news@shop.example --to "$alias1" \
    --header "Subject: $subject" --body 'hello' >/dev/null 2>&1 ||
    die "swaks to $alias1 failed"
i=0 reply=
while [ $i -lt 300 ] && [ -z "$reply" ]; do
	f=$(grep -l "^Subject: $subject" "$sink"/* 2>/dev/null | head -1)
	[ -n "$f" ] && reply=$(sed -n 's/^From: .*<\([0-9a-z]*@[^>]*\)>.*/\1/p' "$f" | head -1)
	[ -n "$reply" ] || sleep 0.1
	i=$((i + 1))
done
[ -n "$reply" ] || die "no forwarded message gave a reply address"
cat <<VARS
BADINPUT_ALIAS='$alias1'
BADINPUT_ALIAS2='$alias2'
BADINPUT_OWNER='$owner'
BADINPUT_BEARER='$bearer'
BADINPUT_OTHER='$other'
BADINPUT_DISABLED='$disabled'
BADINPUT_REPLY='$reply'
export BADINPUT_ALIAS BADINPUT_ALIAS2 BADINPUT_OWNER BADINPUT_BEARER BADINPUT_OTHER BADINPUT_DISABLED BADINPUT_REPLY
VARS
