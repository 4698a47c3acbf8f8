/*
 * contract.c - the store contract: one body run against any backend
 *
 *	contract STORE-URI		(or env BIPOSTAL_TEST_STORE)
 *
 * The wrappers sqlite.test and mysql.test give it a fresh, empty store
 * (a new file, a new database); some counts below assume that.  Every case
 * goes through the public store_* calls only, so the same expectations
 * hold for every backend.  Prints TAP.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "passwd.h"
#include "store.h"
#include "token.h"
#include "util.h"
#include "../lib/tap.h"

#define NPROC	8

static const char *uri;
static struct store *st;
static char sfx[TOKEN_LEN + 1];	/* makes names unique per run */

/* is_token - TOKEN_LEN characters of [0-9a-z] */
static int
is_token(const char *t)
{
	size_t	i;

	for (i = 0; t[i] != '\0'; i++)
		if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' &&
		    t[i] <= 'z')))
			return (0);
	return (i == TOKEN_LEN);
}

/* upper - an upper-case copy (static buffer) */
static const char *
upper(const char *s)
{
	static char buf[512];
	size_t	i;

	for (i = 0; s[i] != '\0' && i < sizeof(buf) - 1; i++)
		buf[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 32) :
		    s[i];
	buf[i] = '\0';
	return (buf);
}

/* test_open_race - NPROC processes open the fresh store at once: all
 * succeed, whoever creates the tables */
static void
test_open_race(void)
{
	int	go[2], res[2], i, status, good = 0;
	char	c;
	pid_t	pid;

	if (pipe(go) < 0 || pipe(res) < 0)
		bail("pipe");
	for (i = 0; i < NPROC; i++) {
		if ((pid = fork()) < 0)
			bail("fork");
		if (pid == 0) {
			struct store *cs;
			enum store_status s;
			const char *why;

			close(go[1]);
			close(res[0]);
			(void)read(go[0], &c, 1);
			cs = store_open(uri, &s, &why);
			c = cs != NULL && store_ping(cs) == STORE_OK ? 'o' : '!';
			if (cs == NULL)
				fprintf(stderr, "open: %s: %s\n",
				    store_strstatus(s), why);
			(void)write(res[1], &c, 1);
			store_close(cs);
			_exit(0);
		}
	}
	close(go[0]);
	close(res[1]);
	close(go[1]);
	for (i = 0; i < NPROC; i++)
		if (read(res[0], &c, 1) == 1 && c == 'o')
			good++;
	close(res[0]);
	for (i = 0; i < NPROC; i++)
		wait(&status);
	is_int(good, NPROC, "%d processes open the fresh store at once",
	    NPROC);
}

static void
test_open(void)
{
	enum store_status s;
	const char *why;

	why = "";
	st = store_open("nosuch:/x", &s, &why);
	ok(st == NULL && s == STORE_PERM, "unknown scheme refused (%s)", why);
	st = store_open(uri, &s, &why);
	if (st == NULL)
		bail("store_open %s: %s: %s", uri, store_strstatus(s), why);
	is_int(store_migrate(st), STORE_OK, "migrate again is a no-op");
	is_int(store_ping(st), STORE_OK, "ping");
}

static struct user u1, u2, u3;

static void
test_users(void)
{
	struct user u, *list;
	char	email[128], ident[128], pw[PWHASH_MAX + 1];
	size_t	n, i;
	int	seen;

	ok(passwd_hash("secret", pw, sizeof(pw)) == 0, "password hashed");
	snprintf(email, sizeof(email), "Alice.%s@Example.ORG", sfx);
	is_int(store_user_create(st, email, pw, &u1), STORE_OK, "user create");
	ok(u1.id > 0 && is_token(u1.queue_id), "user has id and queue id");
	is_str(u1.email, email, "email kept as given");
	is_int(store_user_create(st, email, "", &u), STORE_EXISTS,
	    "same email again: exists");
	is_int(store_user_create(st, upper(email), "", &u), STORE_EXISTS,
	    "same email other case: exists");
	snprintf(email, sizeof(email), "bob.%s@example.net", sfx);
	is_int(store_user_create(st, email, "", &u2), STORE_OK, "second user");
	snprintf(email, sizeof(email), "carol.%s@example.net", sfx);
	is_int(store_user_create(st, email, "", &u3), STORE_OK, "third user");
	ok(u1.id != u2.id && strcmp(u1.queue_id, u2.queue_id) != 0,
	    "users differ");

	is_int(store_user_create(st, "no-at-sign", "", &u), STORE_INVALID,
	    "email without @ invalid");
	is_int(store_user_create(st, "a b@example.org", "", &u), STORE_INVALID,
	    "email with space invalid");
	is_int(store_user_create(st, "<a@example.org>", "", &u), STORE_INVALID,
	    "email with brackets invalid");

	memset(&u, 0, sizeof(u));
	is_int(store_user_get(st, u1.id, &u), STORE_OK, "user get");
	ok(u.id == u1.id && strcmp(u.email, u1.email) == 0 &&
	    strcmp(u.pwhash, pw) == 0 && u.status == USER_ACTIVE &&
	    u.created > 0, "user get fields");
	ok(passwd_verify(u.pwhash, "secret") == 1, "stored hash verifies");
	is_int(store_user_get(st, 999999999, &u), STORE_NOTFOUND,
	    "unknown user id: not found");
	is_int(store_user_by_identity(st, upper(u1.email), &u), STORE_OK,
	    "user by identity, any case");
	is_int(u.id, u1.id, "right user by identity");
	snprintf(ident, sizeof(ident), "nobody.%s@example.org", sfx);
	is_int(store_user_by_identity(st, ident, &u), STORE_NOTFOUND,
	    "unknown identity: not found");
	is_int(store_user_by_queue_id(st, upper(u1.queue_id), &u), STORE_OK,
	    "user by queue id, upper case");
	is_int(u.id, u1.id, "right user by queue id");
	is_int(store_user_by_queue_id(st, "no+such", &u), STORE_NOTFOUND,
	    "malformed queue id: not found");

	snprintf(ident, sizeof(ident), "OIDC|https://id.example/%s", sfx);
	is_int(store_identity_add(st, u1.id, ident), STORE_OK, "identity add");
	is_int(store_user_by_identity(st, ident, &u), STORE_OK,
	    "user by added identity");
	is_int(u.id, u1.id, "added identity is the user's");
	is_int(store_identity_add(st, u2.id, ident), STORE_EXISTS,
	    "identity taken by another user: exists");
	is_int(store_identity_add(st, u2.id, u1.email), STORE_EXISTS,
	    "another user's email as identity: exists");
	is_int(store_identity_add(st, 999999999, "x@example.org"),
	    STORE_NOTFOUND, "identity for unknown user: not found");
	is_int(store_identity_add(st, u1.id, "with space"), STORE_INVALID,
	    "identity with space invalid");

	u = u1;
	u.disabled_action = DISABLED_REJECT;
	u.content_policy = CONTENT_KEEP;
	u.is_admin = 1;
	bp_strlcpy(u.totp, "JBSWY3DPEHPK3PXP", sizeof(u.totp));
	is_int(store_user_update(st, &u), STORE_OK, "user update");
	is_int(store_user_get(st, u1.id, &u), STORE_OK, "user get again");
	ok(u.disabled_action == DISABLED_REJECT &&
	    u.content_policy == CONTENT_KEEP && u.is_admin == 1 &&
	    strcmp(u.totp, "JBSWY3DPEHPK3PXP") == 0, "settings kept");
	u1 = u;
	u.id = 999999999;
	is_int(store_user_update(st, &u), STORE_NOTFOUND,
	    "update unknown user: not found");
	u = u1;
	u.disabled_action = 7;
	is_int(store_user_update(st, &u), STORE_INVALID,
	    "update with bad setting invalid");

	is_int(store_user_revoke(st, u3.id), STORE_OK, "revoke");
	is_int(store_user_get(st, u3.id, &u), STORE_OK, "get revoked");
	is_int(u.status, USER_REVOKED, "revoked status");
	is_int(store_user_revoke(st, 999999999), STORE_NOTFOUND,
	    "revoke unknown: not found");

	is_int(store_user_list(st, &list, &n), STORE_OK, "user list");
	for (i = 0, seen = 0; i < n; i++)
		if (list[i].id == u1.id || list[i].id == u2.id ||
		    list[i].id == u3.id)
			seen++;
	is_int(seen, 3, "list holds the three users");
	free(list);
}

static char tok_a[TOKEN_MAX + 1], tok_deleted[TOKEN_MAX + 1];
static char tok_expired[TOKEN_MAX + 1];

static void
test_aliases(void)
{
	struct alias a, b, *list;
	struct alias_route rt;
	char	key[200], big[CONTEXT_MAX + 1];
	size_t	n, i;
	int	created, found;

	is_int(store_alias_create(st, u1.id, "Shop.Example", 0, &a, &created),
	    STORE_OK, "alias create");
	ok(created == 1 && is_token(a.token), "new alias, a token");
	is_str(a.origin, "shop.example", "origin folded");
	ok(a.status == ALIAS_ACTIVE && a.user_id == u1.id && a.created > 0,
	    "alias fields");
	bp_strlcpy(tok_a, a.token, sizeof(tok_a));

	is_int(store_alias_create(st, u1.id, "shop.example", 0, &b, &created),
	    STORE_OK, "same user and origin again");
	is_str(b.token, tok_a, "same token back");
	is_int(created, 0, "not created");

	is_int(store_alias_set_status(st, tok_a, ALIAS_INACTIVE), STORE_OK,
	    "disable");
	is_int(store_alias_get(st, tok_a, &b), STORE_OK, "get disabled");
	is_int(b.status, ALIAS_INACTIVE, "inactive");
	is_int(store_alias_create(st, u1.id, "SHOP.example", 0, &b, &created),
	    STORE_OK, "ask again for a disabled alias");
	ok(strcmp(b.token, tok_a) == 0 && created == 0 &&
	    b.status == ALIAS_ACTIVE, "same token, re-activated");
	is_int(store_alias_get(st, tok_a, &b), STORE_OK, "get re-activated");
	is_int(b.status, ALIAS_ACTIVE, "active in the store");

	is_int(store_alias_create(st, u2.id, "shop.example", 0, &b, &created),
	    STORE_OK, "other user, same origin");
	ok(created == 1 && strcmp(b.token, tok_a) != 0,
	    "other user gets another token");

	is_int(store_alias_route(st, upper(tok_a), &rt), STORE_OK,
	    "route upper-case token");
	snprintf(key, sizeof(key), "%s@Alias.Example", upper(tok_a));
	is_int(store_alias_route(st, key, &rt), STORE_OK,
	    "route TOKEN@Domain");
	ok(rt.user_id == u1.id && rt.status == ALIAS_ACTIVE &&
	    strcmp(rt.email, u1.email) == 0 &&
	    strcmp(rt.origin, "shop.example") == 0 &&
	    rt.disabled_action == DISABLED_REJECT &&
	    rt.content_policy == CONTENT_KEEP &&
	    rt.user_status == USER_ACTIVE, "route fields");
	is_int(store_alias_get(st, upper(tok_a), &b), STORE_OK,
	    "get upper-case token");

	/* unknown and malformed keys */
	is_int(store_alias_get(st, "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcd",
	    &b), STORE_NOTFOUND, "get unknown: not found");
	is_int(store_alias_route(st, "zzzz@alias.example", &rt),
	    STORE_NOTFOUND, "route unknown: not found");
	memset(key, 'a', 65);
	key[65] = '\0';
	is_int(store_alias_get(st, key, &b), STORE_NOTFOUND,
	    "65 characters: not found");
	is_int(store_alias_route(st, key, &rt), STORE_NOTFOUND,
	    "route 65 characters: not found");
	key[64] = '\0';
	is_int(store_alias_get(st, key, &b), STORE_NOTFOUND,
	    "64 characters, unknown: not found");
	is_int(store_alias_get(st, "", &b), STORE_NOTFOUND, "empty: not found");
	is_int(store_alias_route(st, "", &rt), STORE_NOTFOUND,
	    "route empty: not found");
	is_int(store_alias_route(st, "@alias.example", &rt), STORE_NOTFOUND,
	    "route empty local part: not found");
	is_int(store_alias_get(st, "abc+def", &b), STORE_NOTFOUND,
	    "'+' in token: not found");
	is_int(store_alias_get(st, "abc%def", &b), STORE_NOTFOUND,
	    "'%%' in token: not found");
	is_int(store_alias_route(st, "abc'; DROP TABLE aliases; --", &rt),
	    STORE_NOTFOUND, "SQL in token: not found");
	is_int(store_alias_get(st, NULL, &b), STORE_NOTFOUND, "NULL: not found");
	is_int(store_alias_create(st, u1.id, "bad origin", 0, &b, &created),
	    STORE_INVALID, "origin with space invalid");
	is_int(store_alias_create(st, u1.id, "", 0, &b, &created),
	    STORE_INVALID, "empty origin invalid");
	memset(big, 'o', ORIGIN_MAX + 1);
	big[ORIGIN_MAX + 1] = '\0';
	is_int(store_alias_create(st, u1.id, big, 0, &b, &created),
	    STORE_INVALID, "origin too long invalid");
	big[ORIGIN_MAX] = '\0';
	is_int(store_alias_create(st, u1.id, big, 0, &b, &created),
	    STORE_OK, "origin of ORIGIN_MAX ok");
	is_int(store_alias_create(st, 999999999, "x.example", 0, &b, &created),
	    STORE_NOTFOUND, "alias for unknown user: not found");

	/* context */
	for (i = 0; i < CONTEXT_MAX + 1; i++)
		big[i] = (char)(i * 7);
	is_int(store_alias_set_context(st, tok_a, big, CONTEXT_MAX), STORE_OK,
	    "context of 4096 bytes");
	is_int(store_alias_get(st, tok_a, &b), STORE_OK, "get with context");
	ok(b.context_len == CONTEXT_MAX &&
	    memcmp(b.context, big, CONTEXT_MAX) == 0, "context round trip");
	is_int(store_alias_set_context(st, tok_a, big, CONTEXT_MAX + 1),
	    STORE_INVALID, "context of 4097 bytes invalid");
	is_int(store_alias_set_context(st, tok_a, "", 0), STORE_OK,
	    "empty context");
	is_int(store_alias_get(st, tok_a, &b), STORE_OK, "get empty context");
	is_int(b.context_len, 0, "context emptied");
	is_int(store_alias_set_context(st, "nosuchalias", "x", 1),
	    STORE_NOTFOUND, "context of unknown: not found");

	/* expiry */
	is_int(store_alias_set_expiry(st, tok_a, bp_now() + 3600), STORE_OK,
	    "set expiry");
	is_int(store_alias_get(st, tok_a, &b), STORE_OK, "get with expiry");
	ok(b.expires_at > bp_now(), "expiry kept");
	is_int(store_alias_create(st, u1.id, "shop.example", 0, &b, &created),
	    STORE_OK, "ask again before expiry");
	is_str(b.token, tok_a, "same token before expiry");
	is_int(store_alias_set_expiry(st, tok_a, 0), STORE_OK, "never expire");
	is_int(store_alias_set_expiry(st, tok_a, -5), STORE_INVALID,
	    "negative expiry invalid");

	is_int(store_alias_create(st, u1.id, "expire.example", 0, &a,
	    &created), STORE_OK, "alias to expire");
	bp_strlcpy(tok_expired, a.token, sizeof(tok_expired));
	is_int(store_alias_set_expiry(st, tok_expired, bp_now() - 10),
	    STORE_OK, "expire it");
	is_int(store_alias_route(st, tok_expired, &rt), STORE_OK,
	    "route expired: found, for the caller to judge");
	ok(rt.expires_at != 0 && rt.expires_at < bp_now(),
	    "route shows expiry");
	is_int(store_alias_create(st, u1.id, "expire.example", 0, &b,
	    &created), STORE_OK, "ask again after expiry");
	ok(created == 1 && strcmp(b.token, tok_expired) != 0,
	    "expired alias replaced by a new one");
	is_int(store_alias_get(st, tok_expired, &b), STORE_OK, "get expired");
	is_int(b.status, ALIAS_DELETED, "expired alias is now deleted");

	/* delete: never handed out again */
	is_int(store_alias_create(st, u2.id, "gone.example", 0, &a, &created),
	    STORE_OK, "alias to delete");
	bp_strlcpy(tok_deleted, a.token, sizeof(tok_deleted));
	is_int(store_alias_set_status(st, tok_deleted, ALIAS_DELETED),
	    STORE_OK, "delete");
	is_int(store_alias_set_status(st, tok_deleted, ALIAS_DELETED),
	    STORE_OK, "delete again is fine");
	is_int(store_alias_get(st, tok_deleted, &b), STORE_OK, "get deleted");
	ok(b.status == ALIAS_DELETED && b.deleted_at > 0,
	    "deleted with its time");
	is_int(store_alias_route(st, tok_deleted, &rt), STORE_OK,
	    "route deleted: found");
	is_int(rt.status, ALIAS_DELETED, "route says deleted");
	is_int(store_alias_set_status(st, tok_deleted, ALIAS_ACTIVE),
	    STORE_INVALID, "re-enable deleted: invalid");
	is_int(store_alias_set_context(st, tok_deleted, "x", 1),
	    STORE_INVALID, "context of deleted: invalid");
	is_int(store_alias_create(st, u2.id, "gone.example", 0, &b, &created),
	    STORE_OK, "ask again after delete");
	ok(created == 1 && strcmp(b.token, tok_deleted) != 0,
	    "deleted alias never re-issued");
	is_int(store_alias_set_status(st, "nosuchalias", ALIAS_INACTIVE),
	    STORE_NOTFOUND, "status of unknown: not found");
	is_int(store_alias_set_status(st, tok_a, 9), STORE_INVALID,
	    "bad status invalid");

	is_int(store_alias_list(st, u2.id, &list, &n), STORE_OK, "alias list");
	for (i = 0, found = 0; i < n; i++) {
		if (strcmp(list[i].token, tok_deleted) == 0)
			found = -100;
		if (list[i].user_id != u2.id)
			found = -100;
		found++;
	}
	is_int(found, 2, "list: live aliases only, the user's only");
	free(list);

	/* counters */
	is_int(store_alias_count(st, tok_a, COUNT_FORWARDED), STORE_OK,
	    "count forwarded");
	is_int(store_alias_count(st, tok_a, COUNT_FORWARDED), STORE_OK,
	    "count forwarded again");
	is_int(store_alias_count(st, tok_a, COUNT_BLOCKED), STORE_OK,
	    "count blocked");
	is_int(store_alias_count(st, tok_a, COUNT_REPLIED), STORE_OK,
	    "count replied");
	is_int(store_alias_get(st, tok_a, &b), STORE_OK, "get counters");
	ok(b.forwarded == 2 && b.blocked == 1 && b.replied == 1 &&
	    b.last_seen > 0, "counters and last seen");
	is_int(store_alias_count(st, "nosuchalias", COUNT_FORWARDED),
	    STORE_NOTFOUND, "count unknown: not found");
}

static void
test_replies(void)
{
	struct reply r1, r2, r3, r;
	struct alias a;

	is_int(store_reply_get_or_create(st, tok_a, "Bob@Site.Example", &r1),
	    STORE_OK, "reply create");
	ok(is_token(r1.token) && strcmp(r1.alias, tok_a) == 0,
	    "reply token for the alias");
	is_str(r1.sender, "bob@site.example", "sender folded");
	is_int(store_reply_get_or_create(st, upper(tok_a), "bob@site.example",
	    &r2), STORE_OK, "reply again");
	is_str(r2.token, r1.token, "same reply token for same sender");
	is_int(store_reply_get_or_create(st, tok_a, "eve@site.example", &r3),
	    STORE_OK, "reply for another sender");
	ok(strcmp(r3.token, r1.token) != 0, "different sender, other token");
	is_int(store_reply_get(st, upper(r1.token), &r), STORE_OK,
	    "reply get");
	ok(strcmp(r.alias, tok_a) == 0 &&
	    strcmp(r.sender, "bob@site.example") == 0, "reply resolves");
	is_int(store_reply_get(st, "nosuchreply", &r), STORE_NOTFOUND,
	    "unknown reply: not found");
	is_int(store_reply_get(st, "bad+reply", &r), STORE_NOTFOUND,
	    "malformed reply: not found");
	is_int(store_reply_get_or_create(st, "nosuchalias", "a@b.example",
	    &r), STORE_NOTFOUND, "reply for unknown alias: not found");
	is_int(store_reply_get_or_create(st, tok_a, "not an address", &r),
	    STORE_INVALID, "bad sender invalid");
	is_int(store_reply_get_or_create(st, tok_deleted, "a@b.example", &r),
	    STORE_INVALID, "reply for deleted alias: invalid");
	is_int(store_reply_get_or_create(st, tok_expired, "a@b.example", &r),
	    STORE_INVALID, "reply for expired (so deleted) alias: invalid");

	/* a reply on an alias deleted afterwards, for purge to count */
	is_int(store_alias_create(st, u2.id, "replied.example", 0, &a, NULL),
	    STORE_OK, "alias with a reply");
	is_int(store_reply_get_or_create(st, a.token, "x@y.example", &r),
	    STORE_OK, "its reply");
	is_int(store_alias_set_status(st, a.token, ALIAS_DELETED), STORE_OK,
	    "delete it");
	is_int(store_reply_get(st, r.token, &r), STORE_OK,
	    "reply of a deleted alias resolves until purged");
}

/* test_apikeys - made with a key shown once and stored as its hash;
 * found by the hash, listed without the key, revoked by its owner only */
static void
test_apikeys(void)
{
	struct apikey k1, k2, k, *list = NULL;
	char	key1[APIKEY_LEN + 1], key2[APIKEY_LEN + 1], h[APIKEY_HASH_LEN + 1];
	char	longname[APIKEY_NAME_MAX + 2];
	size_t	n = 0;

	is_int(store_apikey_create(st, u1.id, "Bitwarden", APIKEY_CREATE,
	    key1, sizeof(key1), &k1), STORE_OK, "apikey create");
	ok(strncmp(key1, APIKEY_PREFIX, strlen(APIKEY_PREFIX)) == 0 &&
	    strlen(key1) == APIKEY_LEN && is_token(key1 + 4),
	    "the key is the prefix and a token");
	ok(k1.id > 0 && k1.user_id == u1.id && k1.scope == APIKEY_CREATE &&
	    strcmp(k1.name, "Bitwarden") == 0 && k1.created > 0 &&
	    k1.last_used == 0 && k1.revoked == 0, "its row");
	is_int(store_apikey_hash(key1, h), 0, "hash the key");
	is_str(k1.hash, h, "the row holds the key's SHA-256, not the key");
	ok(strstr(k1.hash, key1 + 4) == NULL, "no key in the row");
	is_int(store_apikey_create(st, u1.id, "full key", APIKEY_FULL,
	    key2, sizeof(key2), &k2), STORE_OK, "a second key, full scope");
	ok(strcmp(key1, key2) != 0 && k2.id != k1.id, "a different key");

	is_int(store_apikey_find_by_hash(st, h, &k), STORE_OK,
	    "find by hash");
	ok(k.id == k1.id && k.user_id == u1.id && k.scope == APIKEY_CREATE &&
	    strcmp(k.name, "Bitwarden") == 0, "finds the key's row");
	is_int(store_apikey_hash(key2, h), 0, "hash the second key");
	is_int(store_apikey_find_by_hash(st, h, &k), STORE_OK,
	    "find the second");
	ok(k.id == k2.id && k.scope == APIKEY_FULL, "full scope kept");
	h[0] = h[0] == '0' ? '1' : '0';
	is_int(store_apikey_find_by_hash(st, h, &k), STORE_NOTFOUND,
	    "another hash: not found");
	is_int(store_apikey_find_by_hash(st, "ABC", &k), STORE_NOTFOUND,
	    "malformed hash: not found");
	is_int(store_apikey_find_by_hash(st, k1.hash, &k), STORE_OK,
	    "find again");
	for (n = 0; n < APIKEY_HASH_LEN; n++)
		h[n] = (char)(k1.hash[n] >= 'a' ? k1.hash[n] - 32 : k1.hash[n]);
	h[APIKEY_HASH_LEN] = '\0';
	ok(strcmp(h, k1.hash) == 0 || store_apikey_find_by_hash(st, h, &k) ==
	    STORE_NOTFOUND, "upper-case hash: not found");

	is_int(store_apikey_touch(st, k1.id), STORE_OK, "touch");
	is_int(store_apikey_find_by_hash(st, k1.hash, &k), STORE_OK,
	    "find after touch");
	ok(k.last_used > 0, "last_used set");
	is_int(store_apikey_touch(st, k1.id), STORE_OK,
	    "touch again within the minute");
	is_int(store_apikey_touch(st, 0), STORE_NOTFOUND, "touch id 0");

	is_int(store_apikey_list(st, u1.id, &list, &n), STORE_OK, "list");
	ok(n == 2 && list[0].id == k1.id && list[1].id == k2.id &&
	    list[0].last_used > 0 && list[1].last_used == 0,
	    "both keys, oldest first, with last_used");
	free(list);
	list = NULL;
	is_int(store_apikey_list(st, u2.id, &list, &n), STORE_OK,
	    "another user's list");
	ok(n == 0 && list == NULL, "holds none of them");
	free(list);

	is_int(store_apikey_revoke(st, u2.id, k1.id), STORE_NOTFOUND,
	    "another user cannot revoke the key");
	is_int(store_apikey_find_by_hash(st, k1.hash, &k), STORE_OK,
	    "still live");
	is_int(store_apikey_revoke(st, u1.id, k1.id), STORE_OK, "revoke");
	is_int(store_apikey_find_by_hash(st, k1.hash, &k), STORE_NOTFOUND,
	    "a revoked key is not found");
	is_int(store_apikey_revoke(st, u1.id, k1.id), STORE_NOTFOUND,
	    "revoke twice: not found");
	is_int(store_apikey_revoke(st, u1.id, 987654321), STORE_NOTFOUND,
	    "revoke an unknown id: not found");
	list = NULL;
	is_int(store_apikey_list(st, u1.id, &list, &n), STORE_OK,
	    "list after revoke");
	ok(n == 1 && list[0].id == k2.id, "the revoked key is gone");
	free(list);

	is_int(store_apikey_create(st, 987654321, "x", APIKEY_CREATE, key1,
	    sizeof(key1), &k), STORE_NOTFOUND, "no such user: not found");
	is_int(store_apikey_create(st, u1.id, "", APIKEY_CREATE, key1,
	    sizeof(key1), &k), STORE_INVALID, "empty name: invalid");
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	is_int(store_apikey_create(st, u1.id, longname, APIKEY_CREATE, key1,
	    sizeof(key1), &k), STORE_INVALID, "name too long: invalid");
	is_int(store_apikey_create(st, u1.id, "tab\there", APIKEY_CREATE,
	    key1, sizeof(key1), &k), STORE_INVALID, "control in name: invalid");
	is_int(store_apikey_create(st, u1.id, "x", (enum apikey_scope)7, key1,
	    sizeof(key1), &k), STORE_INVALID, "unknown scope: invalid");
	is_int(store_apikey_create(st, u1.id, "x", APIKEY_CREATE, key1,
	    APIKEY_LEN, &k), STORE_INVALID, "short key buffer: invalid");
}

/* test_contacts_blocks - an alias's contacts are its reply addresses;
 * blocks of an address or a whole domain (exactly), any case */
static void
test_contacts_blocks(void)
{
	struct reply *rl, r;
	struct block b, b2, b3, *bl;
	struct alias a;
	size_t	 n, i;
	int	 created = -1, seen = 0;
	int64_t	 id = 0;

	is_int(store_alias_create(st, u2.id, "contacts.example", 0, &a, NULL),
	    STORE_OK, "alias for contacts");
	is_int(store_reply_list(st, a.token, &rl, &n), STORE_OK,
	    "no contacts yet");
	is_int(n, 0, "... none");
	free(rl);
	is_int(store_reply_get_or_create(st, a.token, "Carol@Shop.Example", &r),
	    STORE_OK, "a contact");
	is_int(store_reply_get_or_create(st, a.token, "dave@shop.example", &r),
	    STORE_OK, "another");
	is_int(store_reply_list(st, upper(a.token), &rl, &n), STORE_OK,
	    "contacts listed");
	is_int(n, 2, "... two");
	for (i = 0; i < n; i++)
		seen += strcmp(rl[i].alias, a.token) == 0 && is_token(rl[i].token)
		    && (strcmp(rl[i].sender, "carol@shop.example") == 0 ||
		    strcmp(rl[i].sender, "dave@shop.example") == 0);
	is_int(seen, 2, "... each with its reply token and folded address");
	free(rl);
	is_int(store_reply_list(st, "bad+token", &rl, &n), STORE_NOTFOUND,
	    "contacts of a malformed alias: not found");

	is_int(store_block_add(st, a.token, "Spam@X.Example", &b, &created),
	    STORE_OK, "block an address");
	ok(b.id > 0 && created == 1 && strcmp(b.pattern, "spam@x.example") == 0
	    && strcmp(b.alias, a.token) == 0 && b.created > 0,
	    "... new, folded, with an id");
	is_int(store_block_add(st, upper(a.token), "spam@x.example", &b2,
	    &created), STORE_OK, "block it again");
	ok(b2.id == b.id && created == 0, "... the same block");
	is_int(store_block_add(st, a.token, "@Bulk.Example", &b3, NULL),
	    STORE_OK, "block a domain");
	ok(b3.id != b.id && strcmp(b3.pattern, "@bulk.example") == 0,
	    "... its own block");
	is_int(store_block_add(st, a.token, "not an address", &b2, NULL),
	    STORE_INVALID, "malformed pattern invalid");
	is_int(store_block_add(st, a.token, "@", &b2, NULL), STORE_INVALID,
	    "empty domain invalid");
	is_int(store_block_add(st, a.token, "@a.example:25", &b2, NULL),
	    STORE_INVALID, "domain with a port invalid");
	is_int(store_block_add(st, a.token, "a@b@c.example", &b2, NULL),
	    STORE_INVALID, "two @ invalid");
	is_int(store_block_add(st, "nosuchalias", "a@b.example", &b2, NULL),
	    STORE_NOTFOUND, "block on unknown alias: not found");
	is_int(store_block_add(st, tok_deleted, "a@b.example", &b2, NULL),
	    STORE_INVALID, "block on deleted alias: invalid");

	is_int(store_block_match(st, a.token, "spam@x.example", &id), STORE_OK,
	    "blocked address matches");
	is_int(id, b.id, "... by its block");
	is_int(store_block_match(st, upper(a.token), "SPAM@x.EXAMPLE", NULL),
	    STORE_OK, "whatever the case");
	is_int(store_block_match(st, a.token, "ham@x.example", NULL),
	    STORE_NOTFOUND, "another address of its domain does not");
	is_int(store_block_match(st, a.token, "anyone@BULK.example", &id),
	    STORE_OK, "an address of a blocked domain matches");
	is_int(id, b3.id, "... by the domain's block");
	is_int(store_block_match(st, a.token, "x@news.bulk.example", NULL),
	    STORE_NOTFOUND, "a subdomain of a blocked domain does not");
	is_int(store_block_match(st, a.token, "x@bulk.example.org", NULL),
	    STORE_NOTFOUND, "nor a longer domain");
	is_int(store_block_match(st, a.token, "", NULL), STORE_NOTFOUND,
	    "the null sender is never blocked");
	is_int(store_block_match(st, tok_a, "spam@x.example", NULL),
	    STORE_NOTFOUND, "another alias is not blocked");
	ok(store_block_covers("@bulk.example", "A@Bulk.Example") &&
	    store_block_covers("spam@x.example", "Spam@X.example") &&
	    !store_block_covers("@bulk.example", "a@sub.bulk.example") &&
	    !store_block_covers("spam@x.example", "") ,
	    "store_block_covers: the same rule");

	is_int(store_block_list(st, a.token, &bl, &n), STORE_OK, "blocks listed");
	ok(n == 2 && bl[0].id == b.id && bl[1].id == b3.id,
	    "... two, oldest first");
	free(bl);
	is_int(store_block_remove(st, tok_a, b.id), STORE_NOTFOUND,
	    "unblock through another alias: not found");
	is_int(store_block_remove(st, a.token, b.id), STORE_OK, "unblock");
	is_int(store_block_remove(st, a.token, b.id), STORE_NOTFOUND,
	    "unblock again: not found");
	is_int(store_block_remove(st, a.token, 0), STORE_NOTFOUND,
	    "unblock id 0: not found");
	is_int(store_block_match(st, a.token, "spam@x.example", NULL),
	    STORE_NOTFOUND, "unblocked address passes");
	is_int(store_block_list(st, a.token, &bl, &n), STORE_OK,
	    "blocks listed again");
	ok(n == 1 && bl[0].id == b3.id, "... the domain's alone");
	free(bl);
}

/* test_block_purge - a dropped alias takes its blocks with it */
static void
test_block_purge(void)
{
	struct purge_counts c;
	struct alias a;
	struct block b, *bl;
	size_t	 n;

	is_int(store_alias_create(st, u2.id, "blocked-gone.example", 0, &a,
	    NULL), STORE_OK, "alias with a block to purge");
	is_int(store_block_add(st, a.token, "@gone.example", &b, NULL),
	    STORE_OK, "its block");
	is_int(store_alias_set_status(st, a.token, ALIAS_DELETED), STORE_OK,
	    "delete it");
	is_int(store_purge(st, 0, 1000000, &c), STORE_OK, "purge");
	ok(c.blocks >= 1, "its block purged (%ld)", c.blocks);
	is_int(store_block_list(st, a.token, &bl, &n), STORE_OK,
	    "blocks of the purged alias");
	is_int(n, 0, "... none");
	free(bl);
}

/*
 * Short TTLs are whole seconds counted from a whole-second clock: a TTL of
 * 1 can run out between an append and the read right after it.
 */
#define SHORT_TTL	2

static int64_t q_idx[4];
static char blob_live[TOKEN_MAX + 1], blob_short[TOKEN_MAX + 1];

/* test_alias_batch - calls between store_batch_begin and store_batch_end
 * answer as they would alone, each failing alone, and all are kept */
static void
test_alias_batch(void)
{
	struct user u3, u4, scratch;
	struct alias a, b[4];
	char	email[80];
	int	created[4], c;
	int64_t	id;

	snprintf(email, sizeof(email), "batch3-%d@real.example", (int)getpid());
	is_int(store_user_create(st, email, "", &u3), STORE_OK, "batch user 3");
	snprintf(email, sizeof(email), "batch4-%d@real.example", (int)getpid());
	is_int(store_user_create(st, email, "", &u4), STORE_OK, "batch user 4");
	is_int(store_alias_create(st, u3.id, "old.example", 0, &a, &c),
	    STORE_OK, "an alias made alone");
	is_int(store_alias_set_status(st, a.token, ALIAS_INACTIVE), STORE_OK,
	    "... and disabled");

	is_int(store_batch_begin(st), STORE_OK, "batch begin");
	is_int(store_alias_create(st, u3.id, "Batch.Example", 0, &b[0],
	    &created[0]), STORE_OK, "batch: create");
	is_int(store_alias_create(st, u3.id, "batch.example", 0, &b[1],
	    &created[1]), STORE_OK, "batch: the same site again");
	is_int(store_alias_create(st, u4.id, "batch.example", 0, &b[2],
	    &created[2]), STORE_OK, "batch: another user, the same site");
	is_int(store_alias_create(st, 999999999, "batch.example", 0, &b[3],
	    &created[3]), STORE_NOTFOUND, "batch: unknown user, not found");
	is_int(store_alias_create(st, u3.id, "old.example", 0, &a, &c),
	    STORE_OK, "batch: ask again for the disabled alias");
	is_int(store_event_append(st, u3.id, "alias", "{}", &id), STORE_OK,
	    "batch: an event");
	is_int(store_user_create(st, email, "", &scratch), STORE_EXISTS,
	    "batch: a refused call fails alone");
	is_int(store_batch_end(st), STORE_OK, "batch end");
	ok(created[0] == 1 && created[1] == 0 &&
	    strcmp(b[0].token, b[1].token) == 0,
	    "batch: the same site twice, one alias");
	ok(created[2] == 1 && strcmp(b[2].token, b[0].token) != 0,
	    "batch: another user, another alias");
	ok(c == 0 && a.status == ALIAS_ACTIVE, "batch: re-activated");
	is_int(store_alias_get(st, b[0].token, &a), STORE_OK,
	    "batch: committed");
	is_int(store_alias_get(st, b[2].token, &a), STORE_OK,
	    "batch: the other user's committed");
	is_int(store_alias_create(st, u3.id, "old.example", 0, &a, &c),
	    STORE_OK, "after the batch");
	ok(c == 0 && a.status == ALIAS_ACTIVE, "... the re-activation stayed");
	is_int(store_alias_create(st, u4.id, "BATCH.example", 0, &a, &c),
	    STORE_OK, "alone after the batch");
	ok(c == 0 && strcmp(a.token, b[2].token) == 0,
	    "... the batch's alias back");
	is_int(store_batch_begin(st), STORE_OK, "an empty batch");
	is_int(store_batch_end(st), STORE_OK, "... ends");
}

/* test_mark - equal marks while nothing changes; a new one after a write
 * on this handle or another (SQLite); never equal where the backend cannot
 * tell */
static void
test_mark(void)
{
	struct store *other;
	struct alias a;
	enum store_status s;
	const char *why;
	struct user u;
	char	email[80];
	uint64_t m1, m2, m3;
	int	c;

	if ((store_caps(uri) & STORE_CAP_MARK) == 0) {
		is_int(store_mark(st, &m1), STORE_PERM,
		    "mark: this backend cannot tell (PERM)");
		return;
	}
	snprintf(email, sizeof(email), "mark-%d@real.example", (int)getpid());
	is_int(store_user_create(st, email, "", &u), STORE_OK, "mark: a user");
	is_int(store_mark(st, &m1), STORE_OK, "mark");
	is_int(store_mark(st, &m2), STORE_OK, "mark again");
	ok(m1 == m2, "mark: nothing changed, the same mark");
	is_int(store_alias_get(st, "nosuchtoken", &a), STORE_NOTFOUND,
	    "mark: a read");
	is_int(store_mark(st, &m2), STORE_OK, "mark after a read");
	ok(m1 == m2, "... still the same");
	is_int(store_alias_create(st, u.id, "mark.example", 0, &a, &c), STORE_OK,
	    "mark: a write on this handle");
	is_int(store_mark(st, &m2), STORE_OK, "mark after it");
	ok(m1 != m2, "... a new mark");
	if ((other = store_open(uri, &s, &why)) == NULL)
		bail("store_open %s: %s", uri, why);
	is_int(store_alias_set_status(other, a.token, ALIAS_INACTIVE), STORE_OK,
	    "mark: a write on another handle");
	is_int(store_mark(st, &m3), STORE_OK, "mark after that");
	ok(m3 != m2, "... a new mark");
	is_int(store_alias_set_status(other, a.token, ALIAS_ACTIVE), STORE_OK,
	    "mark: another write there");
	is_int(store_mark(st, &m1), STORE_OK, "mark after that");
	ok(m1 != m3 && m1 != m2, "... yet another mark");
	store_close(other);
}

static void
test_queue_blobs_before(void)
{
	struct qmsg *m;
	struct blob b, g;
	unsigned char data[1000];
	char	big[QUEUE_DATA_MAX + 1];
	size_t	n, i;
	int64_t	first, idx;

	is_int(store_queue_append(st, u1.id, "{\"n\":1}", 7, SHORT_TTL,
	    &q_idx[0]),
	    STORE_OK, "queue append (short ttl)");
	is_int(store_queue_append(st, u1.id, "{\"n\":2}", 7, 3600, &q_idx[1]),
	    STORE_OK, "queue append");
	is_int(store_queue_append(st, u1.id, "{\"n\":3}", 7, 3600, &q_idx[2]),
	    STORE_OK, "queue append");
	is_int(store_queue_append(st, u1.id, "{\"n\":4}", 7, SHORT_TTL,
	    &q_idx[3]),
	    STORE_OK, "queue append (short ttl)");
	ok(q_idx[0] > 0 && q_idx[0] < q_idx[1] && q_idx[1] < q_idx[2] &&
	    q_idx[2] < q_idx[3], "indexes strictly increase");
	is_int(store_queue_append(st, u2.id, "{}", 2, 60, &idx), STORE_OK,
	    "another user's queue");
	is_int(store_queue_read(st, u1.id, 0, 10, &m, &n, &first), STORE_OK,
	    "queue read");
	ok(n == 4 && first == q_idx[0] && m[0].idx == q_idx[0] &&
	    m[3].idx == q_idx[3], "all four, first index");
	ok(n == 4 && m[1].len == 7 && strcmp(m[1].data, "{\"n\":2}") == 0 &&
	    m[1].expires_at > bp_now(), "message data");
	qmsgs_free(m, n);
	is_int(store_queue_read(st, u1.id, q_idx[1], 1, &m, &n, &first),
	    STORE_OK, "queue read from index, limit 1");
	ok(n == 1 && m[0].idx == q_idx[1] && first == q_idx[0],
	    "one message from the index");
	qmsgs_free(m, n);
	is_int(store_queue_read(st, u1.id, q_idx[3] + 1, 10, &m, &n, &first),
	    STORE_OK, "read past the end");
	is_int(n, 0, "nothing past the end");
	qmsgs_free(m, n);
	is_int(store_queue_append(st, 999999999, "{}", 2, 60, &idx),
	    STORE_NOTFOUND, "append for unknown user: not found");
	is_int(store_queue_append(st, u1.id, "", 0, 60, &idx), STORE_INVALID,
	    "empty message invalid");
	memset(big, 'x', sizeof(big));
	is_int(store_queue_append(st, u1.id, big, QUEUE_DATA_MAX + 1, 60,
	    &idx), STORE_INVALID, "message over QUEUE_DATA_MAX invalid");
	is_int(store_queue_append(st, u1.id, big, QUEUE_DATA_MAX, 3600,
	    &idx), STORE_OK, "message of QUEUE_DATA_MAX ok");
	is_int(store_queue_append(st, u1.id, "{}", 2, 0, &idx), STORE_INVALID,
	    "ttl 0 invalid");
	is_int(store_queue_read(st, u1.id, 0, 0, &m, &n, &first),
	    STORE_INVALID, "limit 0 invalid");
	is_int(store_queue_read(st, 999999999, 0, 10, &m, &n, &first),
	    STORE_OK, "read unknown user: ok, empty");
	ok(n == 0 && first == 0, "no messages, first index 0");
	qmsgs_free(m, n);

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i % 251);	/* includes NULs */
	memset(&b, 0, sizeof(b));
	b.user_id = u1.id;
	bp_strlcpy(b.alias, tok_a, sizeof(b.alias));
	bp_strlcpy(b.name, "report 2026.pdf", sizeof(b.name));
	bp_strlcpy(b.type, "application/pdf", sizeof(b.type));
	b.data = data;
	b.size = sizeof(data);
	is_int(store_blob_put(st, &b, 3600), STORE_OK, "blob put");
	ok(is_token(b.id), "blob id is a token");
	bp_strlcpy(blob_live, b.id, sizeof(blob_live));
	is_int(store_blob_get(st, upper(b.id), &g), STORE_OK, "blob get");
	ok(g.size == sizeof(data) && memcmp(g.data, data, g.size) == 0 &&
	    strcmp(g.name, "report 2026.pdf") == 0 &&
	    strcmp(g.type, "application/pdf") == 0 && g.user_id == u1.id &&
	    strcmp(g.alias, tok_a) == 0, "blob round trip");
	blob_free(&g);
	blob_free(NULL);
	is_int(store_blob_put(st, &b, SHORT_TTL), STORE_OK,
	    "blob put (short ttl)");
	bp_strlcpy(blob_short, b.id, sizeof(blob_short));
	ok(strcmp(blob_short, blob_live) != 0, "fresh id per put");
	is_int(store_blob_get(st, "nosuchblob", &g), STORE_NOTFOUND,
	    "unknown blob: not found");
	b.size = 11 * 1024 * 1024;
	is_int(store_blob_put(st, &b, 60), STORE_INVALID, "huge blob invalid");
	b.size = sizeof(data);
	is_int(store_blob_put(st, &b, 0), STORE_INVALID, "blob ttl 0 invalid");
	bp_strlcpy(b.type, "bad type", sizeof(b.type));
	is_int(store_blob_put(st, &b, 60), STORE_INVALID,
	    "blob type with space invalid");
}

/* test_usage_rate - what a user keeps (the quotas read it) follows
 * appends, puts and new reply addresses; a rate-limit window counts hits
 * per key and refuses past the limit */
static char rate_key[64];

static void
test_usage_rate(void)
{
	struct store_usage u0, u;
	struct blob b;
	struct reply r;
	unsigned char data[300];
	char	 sender[80];
	int64_t	 idx;
	long	 retry;
	int	 i;

	is_int(store_usage(st, u1.id, &u0), STORE_OK, "usage");
	ok(u0.blob_bytes >= 2000 && u0.queue_msgs >= 4 && u0.replies >= 1,
	    "usage counts blobs (%lld bytes), messages (%lld), replies (%lld)",
	    (long long)u0.blob_bytes, (long long)u0.queue_msgs,
	    (long long)u0.replies);
	memset(&b, 0, sizeof(b));
	memset(data, 'b', sizeof(data));
	b.user_id = u1.id;
	bp_strlcpy(b.alias, tok_a, sizeof(b.alias));
	bp_strlcpy(b.name, "usage.bin", sizeof(b.name));
	bp_strlcpy(b.type, "application/octet-stream", sizeof(b.type));
	b.data = data;
	b.size = sizeof(data);
	is_int(store_blob_put(st, &b, 3600), STORE_OK, "usage: blob put");
	is_int(store_queue_append(st, u1.id, "{}", 2, SHORT_TTL, &idx),
	    STORE_OK, "usage: queue append");
	snprintf(sender, sizeof(sender), "usage-%s@site.example", sfx);
	is_int(store_reply_get_or_create(st, tok_a, sender, &r), STORE_OK,
	    "usage: a new reply address");
	{
		struct reply f;

		is_int(store_reply_find(st, upper(tok_a), sender, &f), STORE_OK,
		    "reply find: the existing one");
		is_str(f.token, r.token, "reply find: the same token");
		is_int(store_reply_find(st, tok_a, "nobody-yet@site.example", &f),
		    STORE_NOTFOUND, "reply find: none yet, none made");
	}
	is_int(store_usage(st, u1.id, &u), STORE_OK, "usage again");
	ok(u.blob_bytes == u0.blob_bytes + 300 &&
	    u.queue_msgs == u0.queue_msgs + 1 && u.replies == u0.replies + 1,
	    "usage grew by the blob, the message and the reply address");
	is_int(store_usage(st, 999999999, &u), STORE_OK, "usage of nobody");
	ok(u.blob_bytes == 0 && u.queue_msgs == 0 && u.replies == 0,
	    "nobody keeps nothing");
	is_int(store_usage(st, 0, &u), STORE_INVALID, "usage of user 0 invalid");

	snprintf(rate_key, sizeof(rate_key), "contract:%s", sfx);
	for (i = 1; i <= 3; i++)
		is_int(store_rate_hit(st, rate_key, 3, SHORT_TTL, &retry),
		    STORE_OK, "rate: hit %d of 3 allowed", i);
	is_int(store_rate_hit(st, rate_key, 3, SHORT_TTL, &retry),
	    STORE_EXISTS, "rate: hit 4 of 3 refused");
	ok(retry >= 1 && retry <= SHORT_TTL, "rate: retry after %ld s", retry);
	is_int(store_rate_hit(st, "contract:other", 1000, SHORT_TTL, &retry),
	    STORE_OK, "rate: another key counts alone");
	is_int(store_rate_hit(st, "bad key", 3, 60, &retry), STORE_INVALID,
	    "rate: a key with a space invalid");
	is_int(store_rate_hit(st, rate_key, 3, 0, &retry), STORE_INVALID,
	    "rate: window 0 invalid");
	{
		char	 k2[80];
		long	 cnt = -1;

		snprintf(k2, sizeof(k2), "contract:batch:%s", sfx);
		is_int(store_rate_peek(st, k2, 60, &cnt, &retry), STORE_OK,
		    "rate peek: a key never hit");
		is_int(cnt, 0, "rate peek: no hits yet");
		is_int(store_rate_add(st, k2, 5, 60), STORE_OK,
		    "rate add: five at once");
		is_int(store_rate_add(st, k2, 2, 60), STORE_OK, "rate add: two more");
		is_int(store_rate_peek(st, k2, 60, &cnt, &retry), STORE_OK,
		    "rate peek");
		ok(cnt == 7 && retry >= 1 && retry <= 60,
		    "rate peek: 7 hits, %ld s left", retry);
		is_int(store_rate_hit(st, k2, 7, 60, &retry), STORE_EXISTS,
		    "rate hit after a batch: the eighth is refused");
		is_int(store_rate_add(st, k2, 0, 60), STORE_INVALID,
		    "rate add of 0 invalid");
	}
}

static void
test_queue_blobs_after(void)
{
	long	 retry;

	struct qmsg *m;
	struct blob g;
	size_t	n;
	int64_t	first;

	is_int(store_queue_read(st, u1.id, 0, 10, &m, &n, &first), STORE_OK,
	    "queue read after ttl");
	ok(n == 3 && m[0].idx == q_idx[1] && m[1].idx == q_idx[2],
	    "expired messages skipped");
	is_int(first, q_idx[1], "first index moved past the expired one");
	qmsgs_free(m, n);
	is_int(store_blob_get(st, blob_short, &g), STORE_NOTFOUND,
	    "expired blob: not found");
	is_int(store_blob_get(st, blob_live, &g), STORE_OK, "live blob stays");
	blob_free(&g);
	is_int(store_rate_hit(st, rate_key, 3, SHORT_TTL, &retry), STORE_OK,
	    "rate: a new window, allowed again");
}

static void
test_nodes(void)
{
	struct node n, *list;
	size_t	cnt, i;
	int64_t	a, b, c;
	int	loadb = -1;

	is_int(store_node_list(st, &list, &cnt), STORE_OK, "node list");
	if (cnt == 0)
		is_int(store_node_assign(st, u1.id, &n), STORE_NOTFOUND,
		    "no node: not found");
	free(list);

	is_int(store_node_add(st, "q1.example", 8080, 10, &a), STORE_OK,
	    "node add small");
	is_int(store_node_add(st, "q2.example", 8080, 100, &b), STORE_OK,
	    "node add big");
	is_int(store_node_add(st, "q2.example", 8080, 5, &c), STORE_EXISTS,
	    "same host and port: exists");
	is_int(store_node_add(st, "bad host", 80, 5, &c), STORE_INVALID,
	    "bad host invalid");
	is_int(store_node_add(st, "q3.example", 0, 5, &c), STORE_INVALID,
	    "port 0 invalid");

	is_int(store_node_assign(st, u1.id, &n), STORE_OK, "assign");
	is_int(n.id, b, "most free capacity chosen");
	ok(n.load == 1 && n.available == 9,
	    "load 1, a tenth of the capacity released, one taken");
	is_int(store_node_assign(st, u1.id, &n), STORE_OK, "assign again");
	ok(n.id == b && n.load == 1, "stays on its node, load unchanged");
	is_int(store_user_get(st, u1.id, &u1), STORE_OK, "user get");
	is_int(u1.node_id, b, "user records its node");

	/* drain the big node: new users go elsewhere, old ones stay */
	memset(&n, 0, sizeof(n));
	n.id = b;
	bp_strlcpy(n.host, "q2.example", sizeof(n.host));
	n.port = 8080;
	n.capacity = 100;
	n.available = 9;
	n.draining = 1;
	is_int(store_node_update(st, &n), STORE_OK, "drain big node");
	is_int(store_node_assign(st, u2.id, &n), STORE_OK, "assign other user");
	is_int(n.id, a, "draining node skipped");
	is_int(store_node_assign(st, u1.id, &n), STORE_OK, "assign first user");
	is_int(n.id, b, "draining node keeps its users");

	/* down it: its users move */
	n.downed = 1;
	is_int(store_node_update(st, &n), STORE_OK, "down big node");
	is_int(store_node_assign(st, u1.id, &n), STORE_OK, "assign after down");
	is_int(n.id, a, "moved off the downed node");
	is_int(store_node_list(st, &list, &cnt), STORE_OK, "node list");
	for (i = 0; i < cnt; i++)
		if (list[i].id == b)
			loadb = list[i].load;
	is_int(loadb, 0, "downed node's load released");
	free(list);
	n.id = 999999999;
	is_int(store_node_update(st, &n), STORE_NOTFOUND,
	    "update unknown node: not found");
	is_int(store_node_assign(st, 999999999, &n), STORE_NOTFOUND,
	    "assign unknown user: not found");
}

/* node_get - node id as node_list shows it */
static int
node_get(int64_t id, struct node *out)
{
	struct node *list;
	size_t	cnt, i;
	int	found = 0;

	if (store_node_list(st, &list, &cnt) != STORE_OK)
		return (0);
	for (i = 0; i < cnt; i++)
		if (list[i].id == id) {
			*out = list[i];
			found = 1;
		}
	free(list);
	return (found);
}

/* test_node_batches - capacity is released a tenth at a time, when the
 * released slots run out; a node's new slots wait for the next release;
 * re-weighting (capacity) changes where a fresh user goes.  Runs after
 * test_nodes, whose nodes are downed first. */
static void
test_node_batches(void)
{
	struct node n, *list;
	struct user u[9];
	char	email[128];
	size_t	cnt, i;
	int64_t	c, d;
	int	good;

	is_int(store_node_list(st, &list, &cnt), STORE_OK, "node list");
	for (i = 0, good = 1; i < cnt; i++) {
		list[i].downed = 1;
		if (store_node_update(st, &list[i]) != STORE_OK)
			good = 0;
	}
	free(list);
	ok(good, "earlier nodes downed");
	for (i = 0, good = 1; i < 9; i++) {
		snprintf(email, sizeof(email), "batch%zu.%s@example.org", i,
		    sfx);
		if (store_user_create(st, email, "", &u[i]) != STORE_OK)
			good = 0;
	}
	ok(good, "nine fresh users");

	is_int(store_node_add(st, "q4.example", 8080, 30, &c), STORE_OK,
	    "node of capacity 30: batches of 3");
	ok(node_get(c, &n) && n.available == 0 && n.load == 0,
	    "a new node has no slot released yet");
	for (i = 0, good = 1; i < 3; i++)
		if (store_node_assign(st, u[i].id, &n) != STORE_OK ||
		    n.id != c)
			good = 0;
	ok(good, "three users on it");
	ok(node_get(c, &n) && n.load == 3 && n.available == 0,
	    "first batch of 3 used up (load %d, available %d)", n.load,
	    n.available);
	is_int(store_node_assign(st, u[3].id, &n), STORE_OK, "a fourth user");
	ok(n.id == c && node_get(c, &n) && n.load == 4 && n.available == 2,
	    "next batch of 3 released, one taken (load %d, available %d)",
	    n.load, n.available);

	is_int(store_node_add(st, "q5.example", 8080, 30, &d), STORE_OK,
	    "a second node, capacity 30");
	is_int(store_node_assign(st, u[4].id, &n), STORE_OK, "fifth user");
	is_int(n.id, c, "the new node waits for a release: old node's slot");
	is_int(store_node_assign(st, u[5].id, &n), STORE_OK, "sixth user");
	is_int(n.id, c, "... and its last released slot");
	is_int(store_node_assign(st, u[6].id, &n), STORE_OK, "seventh user");
	is_int(n.id, d, "both released a batch: most free capacity wins");
	ok(node_get(c, &n) && n.load == 6 && n.available == 3,
	    "the old node got its batch too (load %d, available %d)", n.load,
	    n.available);

	/* re-weight: the empty-ish node shrinks below the other's room */
	ok(node_get(d, &n), "second node");
	n.capacity = 5;
	is_int(store_node_update(st, &n), STORE_OK,
	    "re-weight the second node down to 5");
	is_int(store_node_assign(st, u[7].id, &n), STORE_OK, "eighth user");
	is_int(n.id, c, "re-weighted down: the fresh user goes to the other");
	ok(node_get(d, &n), "second node again");
	n.capacity = 1000;
	is_int(store_node_update(st, &n), STORE_OK,
	    "re-weight the second node up to 1000");
	is_int(store_node_assign(st, u[8].id, &n), STORE_OK, "ninth user");
	is_int(n.id, d, "re-weighted up: the fresh user goes to it");
	is_int(store_node_assign(st, u[7].id, &n), STORE_OK,
	    "eighth user again");
	is_int(n.id, c, "re-weighting moves nobody already placed");
}

static void
test_events(void)
{
	struct event *v;
	size_t	n;
	int64_t	e1, e2, e3, e4;
	char	big[EVENT_DATA_MAX + 2];

	is_int(store_event_append(st, u1.id, "alias", "{\"a\":1}", &e1),
	    STORE_OK, "event append");
	is_int(store_event_append(st, u2.id, "queue", "{\"b\":1}", &e2),
	    STORE_OK, "event for another user");
	is_int(store_event_append(st, u1.id, "mail", "{\"a\":2}", &e3),
	    STORE_OK, "event append");
	is_int(store_event_append(st, u1.id, "alias", "{\"a\":3}", &e4),
	    STORE_OK, "event append");
	ok(e1 < e2 && e2 < e3 && e3 < e4, "event ids increase");
	is_int(store_event_read(st, u1.id, 0, 10, &v, &n), STORE_OK,
	    "event read");
	ok(n == 3 && v[0].id == e1 && v[1].id == e3 && v[2].id == e4 &&
	    strcmp(v[1].type, "mail") == 0 &&
	    strcmp(v[1].data, "{\"a\":2}") == 0 && v[0].user_id == u1.id &&
	    v[0].created > 0, "the user's events, in order");
	free(v);
	is_int(store_event_read(st, u1.id, e1, 1, &v, &n), STORE_OK,
	    "event read after, limit 1");
	ok(n == 1 && v[0].id == e3, "next event");
	free(v);
	memset(big, 'x', sizeof(big));
	big[EVENT_DATA_MAX + 1] = '\0';
	is_int(store_event_append(st, u1.id, "alias", big, &e1), STORE_INVALID,
	    "event data too long invalid");
	is_int(store_event_append(st, u1.id, "Bad Type", "{}", &e1),
	    STORE_INVALID, "bad event type invalid");
}

/* test_purge - run after the pause: aliases deleted before it are past a
 * retention of SHORT_TTL seconds, one deleted now is not */
static void
test_purge(void)
{
	struct purge_counts c;
	struct alias a, fresh;
	struct reply r, fresh_r;
	struct event *v;
	size_t	n;

	is_int(store_alias_create(st, u2.id, "fresh-gone.example", 0, &fresh,
	    NULL), STORE_OK, "alias to delete just before purging");
	is_int(store_reply_get_or_create(st, fresh.token, "z@site.example",
	    &fresh_r), STORE_OK, "its reply");
	is_int(store_alias_set_status(st, fresh.token, ALIAS_DELETED),
	    STORE_OK, "delete it now");

	is_int(store_purge(st, SHORT_TTL, 1000000, &c), STORE_OK,
	    "purge with a retention of %d s", SHORT_TTL);
	ok(c.aliases >= 2, "aliases deleted before the pause purged (%ld)",
	    c.aliases);
	ok(c.replies >= 1, "their replies purged (%ld)", c.replies);
	ok(c.qmsgs >= 2, "expired messages purged (%ld)", c.qmsgs);
	ok(c.blobs >= 1, "expired blobs purged (%ld)", c.blobs);
	is_int(c.events, 0, "recent events kept");
	is_int(store_alias_get(st, tok_deleted, &a), STORE_NOTFOUND,
	    "alias deleted before the pause: gone");
	is_int(store_alias_get(st, fresh.token, &a), STORE_OK,
	    "alias deleted just now: kept for the retention period");
	is_int(a.status, ALIAS_DELETED, "... still deleted");
	is_int(store_reply_get(st, fresh_r.token, &r), STORE_OK,
	    "... and its reply kept");
	is_int(store_alias_get(st, tok_a, &a), STORE_OK, "live alias stays");
	is_int(store_reply_get_or_create(st, tok_a, "bob@site.example", &r),
	    STORE_OK, "live reply stays");
	is_int(store_purge(st, SHORT_TTL, 1000000, &c), STORE_OK,
	    "purge again, same retention");
	ok(c.aliases == 0 && c.replies == 0 && c.qmsgs == 0 && c.blobs == 0,
	    "nothing more: the fresh deletion is still kept");

	is_int(store_purge(st, 0, 1000000, &c), STORE_OK,
	    "purge with retention 0");
	ok(c.aliases == 1 && c.replies == 1,
	    "the fresh deletion and its reply purged (%ld, %ld)", c.aliases,
	    c.replies);
	is_int(store_alias_get(st, fresh.token, &a), STORE_NOTFOUND,
	    "fresh deletion gone");
	is_int(store_reply_get(st, fresh_r.token, &r), STORE_NOTFOUND,
	    "its reply gone");
	is_int(store_purge(st, 0, 1000000, &c), STORE_OK, "purge again");
	ok(c.aliases == 0 && c.replies == 0 && c.qmsgs == 0 && c.blobs == 0,
	    "nothing left to purge");
	is_int(store_purge(st, 1000000, 0, &c), STORE_OK,
	    "purge events with horizon 0");
	ok(c.events >= 4, "events purged (%ld)", c.events);
	is_int(store_event_read(st, u1.id, 0, 10, &v, &n), STORE_OK,
	    "event read after purge");
	is_int(n, 0, "no events left");
	free(v);
	is_int(store_purge(st, -1, 0, &c), STORE_INVALID,
	    "negative retention invalid");
}

/* test_alias_token - an alias with the token the client chose */
static void
test_alias_token(void)
{
	struct alias a, b;
	struct reply r;
	char	 t1[TOKEN_MAX + 1], t2[TOKEN_MAX + 1];
	int	 created = -1;

	token_new(t1, sizeof(t1));
	token_new(t2, sizeof(t2));
	is_int(store_alias_create_token(st, u1.id, "chosen.example", t1, 0, &a,
	    &created), STORE_OK, "alias with a chosen token");
	ok(created == 1 && strcmp(a.token, t1) == 0, "... it has that token");
	is_int(store_alias_create_token(st, u1.id, "chosen.example", t1, 0, &b,
	    &created), STORE_OK, "the same again: the user's own live alias");
	ok(created == 0 && strcmp(b.token, t1) == 0, "... answered as it is");
	is_int(store_alias_create_token(st, u1.id, "chosen.example", t2, 0, &b,
	    &created), STORE_OK, "another token, same site: the live alias");
	ok(created == 0 && strcmp(b.token, t1) == 0, "... the other token "
	    "unused");
	is_int(store_alias_create_token(st, u2.id, "chosen.example", t1, 0, &b,
	    NULL), STORE_EXISTS, "another user, an issued token: EXISTS");
	is_int(store_alias_create_token(st, u1.id, "other.example", t1, 0, &b,
	    NULL), STORE_EXISTS, "the same user, another site: EXISTS");
	is_int(store_reply_get_or_create(st, t1, "c@site.example", &r),
	    STORE_OK, "a reply address");
	is_int(store_alias_create_token(st, u2.id, "reply.example", r.token, 0,
	    &b, NULL), STORE_EXISTS, "a reply address's token: EXISTS");
	is_int(store_alias_set_status(st, t1, ALIAS_DELETED), STORE_OK,
	    "delete it");
	is_int(store_alias_create_token(st, u1.id, "chosen.example", t1, 0, &b,
	    NULL), STORE_EXISTS, "a deleted alias's token: EXISTS");
	is_int(store_alias_create_token(st, u1.id, "chosen.example", "short", 0,
	    &b, NULL), STORE_INVALID, "a short token: INVALID");
	t2[0] = 'A';
	is_int(store_alias_create_token(st, u1.id, "chosen.example", t2, 0, &b,
	    NULL), STORE_INVALID, "upper case: INVALID");
	t2[0] = '-';
	is_int(store_alias_create_token(st, u1.id, "chosen.example", t2, 0, &b,
	    NULL), STORE_INVALID, "a '-': INVALID");
	is_int(store_alias_create_token(st, u1.id, "chosen.example", NULL, 0, &b,
	    NULL), STORE_INVALID, "no token: INVALID");
}

/* test_purge_expired - an expired alias joins the deleted ones after the
 * retention, its reply addresses with it; a purge of more rows than one
 * batch (SQL_PURGE_BATCH, 1000) takes them all and counts them all */
static void
test_purge_expired(void)
{
	struct purge_counts c;
	struct alias ex, a;
	struct reply r, got;
	int64_t	 idx;
	int	 i, bad = 0;

	is_int(store_alias_create(st, u2.id, "expiring.example",
	    (int64_t)time(NULL) + 1, &ex, NULL), STORE_OK,
	    "alias expiring in 1 s");
	is_int(store_reply_get_or_create(st, ex.token, "y@site.example", &r),
	    STORE_OK, "its reply");
	for (i = 0; i < 2100; i++)
		if (store_queue_append(st, u3.id, "{}", 2, 1, &idx) != STORE_OK)
			bad++;
	is_int(bad, 0, "2100 messages with a TTL of 1 s");
	sleep(2);
	is_int(store_purge(st, 1000000, 1000000, &c), STORE_OK,
	    "purge, long retention");
	is_int(c.qmsgs, 2100, "the 2100 expired messages purged, in batches");
	is_int(store_alias_get(st, ex.token, &a), STORE_OK,
	    "the expired alias kept for the retention period");
	is_int(store_purge(st, 0, 1000000, &c), STORE_OK,
	    "purge, retention 0");
	ok(c.aliases == 1 && c.replies == 1,
	    "the expired alias and its reply purged (%ld, %ld)", c.aliases,
	    c.replies);
	is_int(store_alias_get(st, ex.token, &a), STORE_NOTFOUND,
	    "expired alias gone");
	is_int(store_reply_get(st, r.token, &got), STORE_NOTFOUND,
	    "its reply gone");
	is_int(store_purge(st, 0, 1000000, &c), STORE_OK, "purge again");
	ok(c.aliases == 0 && c.replies == 0 && c.qmsgs == 0,
	    "idempotent: nothing left");
}

/* race - NPROC processes, each with its own connection, start together */
static void
test_race(void)
{
	int	go[2], res[2], i, status, nok = 0, nexists = 0, same = 1;
	char	buf[NPROC][TOKEN_MAX + 2], email[128];
	struct alias *list;
	struct user u;
	size_t	n;
	pid_t	pid;

	if (pipe(go) < 0 || pipe(res) < 0)
		bail("pipe");
	snprintf(email, sizeof(email), "race.%s@example.org", sfx);
	for (i = 0; i < NPROC; i++) {
		if ((pid = fork()) < 0)
			bail("fork");
		if (pid == 0) {
			struct store *cs;
			struct alias a;
			struct user cu;
			enum store_status s;
			char	out[TOKEN_MAX + 3], c;
			const char *why;

			close(go[1]);
			close(res[0]);
			cs = store_open(uri, &s, &why);
			(void)read(go[0], &c, 1);	/* EOF: everyone goes */
			memset(out, 0, sizeof(out));
			if (cs == NULL)
				out[0] = '!';
			else {
				s = store_user_create(cs, email, "", &cu);
				out[0] = s == STORE_OK ? 'o' :
				    s == STORE_EXISTS ? 'e' : '!';
				s = store_alias_create(cs, u3.id,
				    "race.example", 0, &a, NULL);
				if (s == STORE_OK)
					memcpy(out + 1, a.token, TOKEN_LEN);
				else
					out[1] = '!';
			}
			(void)write(res[1], out, TOKEN_LEN + 1);
			store_close(cs);
			_exit(0);
		}
	}
	close(go[0]);
	close(res[1]);
	close(go[1]);		/* start */
	for (i = 0; i < NPROC; i++) {
		memset(buf[i], 0, sizeof(buf[i]));
		if (read(res[0], buf[i], TOKEN_LEN + 1) != TOKEN_LEN + 1)
			buf[i][0] = '!';
		if (buf[i][0] == 'o')
			nok++;
		if (buf[i][0] == 'e')
			nexists++;
		if (strcmp(buf[i] + 1, buf[0] + 1) != 0 ||
		    !is_token(buf[i] + 1))
			same = 0;
	}
	close(res[0]);
	for (i = 0; i < NPROC; i++)
		wait(&status);
	ok(nok == 1 && nexists == NPROC - 1,
	    "%d racing user creations: one made (%d), others exist (%d)",
	    NPROC, nok, nexists);
	ok(same, "%d racing alias creations all got the same token", NPROC);
	is_int(store_alias_list(st, u3.id, &list, &n), STORE_OK,
	    "list after race");
	is_int(n, 1, "exactly one alias");
	free(list);
	is_int(store_user_by_identity(st, email, &u), STORE_OK,
	    "raced user exists once");
}

/* test_storm - NPROC processes write at once, shared and own origins:
 * every call succeeds (lock waits and deadlocks are the backend's to
 * absorb) and each shared origin still has one alias */
#define STORM	20
static void
test_storm(void)
{
	int	res[2], i, k, status, good = 0;
	char	c, origin[64];
	struct alias *list;
	size_t	n;
	pid_t	pid;

	if (pipe(res) < 0)
		bail("pipe");
	for (i = 0; i < NPROC; i++) {
		if ((pid = fork()) < 0)
			bail("fork");
		if (pid == 0) {
			struct store *cs;
			struct alias a;
			enum store_status s;
			const char *why;

			close(res[0]);
			c = 'o';
			if ((cs = store_open(uri, &s, &why)) == NULL)
				c = '!';
			for (k = 0; cs != NULL && k < STORM; k++) {
				snprintf(origin, sizeof(origin),
				    "storm-%d.example", k);
				if ((s = store_alias_create(cs, u3.id, origin, 0,
				    &a, NULL)) != STORE_OK) {
					fprintf(stderr, "storm %s: %s\n", origin,
					    store_strstatus(s));
					c = '!';
				}
				snprintf(origin, sizeof(origin),
				    "storm-%d-%d.example", i, k);
				if ((s = store_alias_create(cs, u3.id, origin, 0,
				    &a, NULL)) != STORE_OK) {
					fprintf(stderr, "storm %s: %s\n", origin,
					    store_strstatus(s));
					c = '!';
				}
			}
			(void)write(res[1], &c, 1);
			store_close(cs);
			_exit(0);
		}
	}
	close(res[1]);
	for (i = 0; i < NPROC; i++)
		if (read(res[0], &c, 1) == 1 && c == 'o')
			good++;
	close(res[0]);
	for (i = 0; i < NPROC; i++)
		wait(&status);
	is_int(good, NPROC, "%d processes x %d creations at once: all succeed",
	    NPROC, 2 * STORM);
	is_int(store_alias_list(st, u3.id, &list, &n), STORE_OK,
	    "list after the storm");
	is_int(n, 1 + STORM + NPROC * STORM,
	    "one alias per shared origin, one per own origin");
	free(list);
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_open("contract", 1);
	log_verbose = getenv("BIPOSTAL_TEST_VERBOSE") != NULL;
	uri = argc > 1 ? argv[1] : getenv("BIPOSTAL_TEST_STORE");
	if (uri == NULL || *uri == '\0')
		bail("usage: contract STORE-URI (or BIPOSTAL_TEST_STORE)");
	if (token_new(sfx, sizeof(sfx)) < 0)
		bail("token_new");
	sfx[8] = '\0';
	diag("store %.*s", (int)strcspn(uri, ":"), uri);

	test_open_race();
	test_open();
	test_users();
	test_aliases();
	test_alias_batch();
	test_mark();
	test_replies();
	test_apikeys();
	test_contacts_blocks();
	test_queue_blobs_before();
	test_usage_rate();
	test_nodes();
	test_node_batches();
	test_events();
	test_race();
	test_storm();
	sleep(SHORT_TTL + 1);	/* let the short TTLs run out */
	test_queue_blobs_after();
	test_purge();
	test_purge_expired();
	test_alias_token();
	test_block_purge();
	store_close(st);
	return (tap_done());
}
