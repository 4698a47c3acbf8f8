/*
 * store_sql_apikey.c - the SQL store operations on API keys
 *
 * Part of the SQL layer of store_sql.c, whose comment gives the schema,
 * the transactions, the failures and who owns what: a key inserted for
 * an existing user, listed, revoked, found by its hash and marked used.
 * The sql_apikey_* operations of the backend table; store_sql.h declares
 * them.  The key itself never comes here: store_apikey.c makes it and
 * hands down its hash.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sql_driver.h"
#include "store_sql.h"
#include "util.h"

#define SQL_APIKEY_TOUCH_EVERY	60	/* seconds between last_used writes */

/* sql_apikey_cols - declare the columns of SQL_APIKEY_COLS */
static void
sql_apikey_cols(struct sql *s, struct apikey *k)
{
	memset(k, 0, sizeof(*k));
	sql_i64(s, &k->id);
	sql_i64(s, &k->user_id);
	sql_scol(s, k->name);
	sql_icol(s, &k->scope);
	sql_scol(s, k->hash);
	sql_i64(s, &k->created);
	sql_i64(s, &k->last_used);
	sql_i64(s, &k->revoked);
}

/* sql_apikey_create_tx - the user must exist; then the row */
static enum store_status
sql_apikey_create_tx(struct sql *s, int64_t user_id, const char *name,
    enum apikey_scope scope, const char *hash, int64_t now, struct apikey *k)
{
	struct user u;
	enum store_status r;

	if ((r = sql_user_get(&s->base, user_id, &u)) != STORE_OK)
		return (r);
	if ((r = sql_do(s, SQL_APIKEY_INSERT, SQL_I(user_id), SQL_S(name),
	    SQL_I(scope), SQL_S(hash), SQL_I(now))) != STORE_OK)
		return (r == STORE_EXISTS ? STORE_TEMP : r);	/* the hash */
	memset(k, 0, sizeof(*k));
	k->id = s->last_id;
	k->user_id = user_id;
	bp_strlcpy(k->name, name, sizeof(k->name));
	k->scope = scope;
	bp_strlcpy(k->hash, hash, sizeof(k->hash));
	k->created = now;
	return (STORE_OK);
}

/* sql_apikey_create - a new key row for user_id */
enum store_status
sql_apikey_create(struct store *st, int64_t user_id, const char *name,
    enum apikey_scope scope, const char *hash, int64_t now, struct apikey *k)
{
	struct sql *s = SQL(st);
	enum store_status r;

	if ((r = s->d->begin(s, SQL_ATOMIC)) == STORE_OK)
		r = s->d->end(s, sql_apikey_create_tx(s, user_id, name, scope,
		    hash, now, k));
	return (r);
}

/* sql_apikey_list - the user's live keys, by id */
enum store_status
sql_apikey_list(struct store *st, int64_t user_id, struct apikey **out,
    size_t *n)
{
	struct sql *s = SQL(st);
	struct apikey k;

	sql_q(s, SQL_APIKEY_LIST, SQL_I(user_id));
	sql_apikey_cols(s, &k);
	return (sql_list(s, &k, sizeof(k), SIZE_MAX, (void **)out, n));
}

/* sql_apikey_revoke - only the owner's live key matches */
enum store_status
sql_apikey_revoke(struct store *st, int64_t user_id, int64_t id, int64_t now)
{
	struct sql *s = SQL(st);

	return (sql_matched(s, sql_do(s, SQL_APIKEY_REVOKE, SQL_I(now),
	    SQL_I(id), SQL_I(user_id))));
}

/* sql_apikey_find_by_hash - the live key with this hash */
enum store_status
sql_apikey_find_by_hash(struct store *st, const char *hash, struct apikey *k)
{
	struct sql *s = SQL(st);

	sql_q(s, SQL_APIKEY_FIND, SQL_S(hash));
	sql_apikey_cols(s, k);
	return (sql_row(s));
}

/* sql_apikey_touch - last_used = now, unless written in the last minute
 * (then nothing matches, and that is fine) */
enum store_status
sql_apikey_touch(struct store *st, int64_t id, int64_t now)
{
	struct sql *s = SQL(st);

	return (sql_do(s, SQL_APIKEY_TOUCH, SQL_I(now), SQL_I(id),
	    SQL_I(now - SQL_APIKEY_TOUCH_EVERY)));
}
