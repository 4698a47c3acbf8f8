/*
 * store_sql_user.c - the SQL store operations on users, aliases and
 * reply addresses
 *
 * Part of the SQL layer of store_sql.c, whose comment gives the schema,
 * the transactions and retries, the failures and who owns what: a user
 * and its login identities; an alias found, revived or made under its
 * unique key, read, listed, changed and counted; one reply address per
 * (alias, sender).  The sql_user_*, sql_identity_add, sql_alias_* and
 * sql_reply_* operations of the backend table; store_sql.h declares them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sql_driver.h"
#include "store_sql.h"
#include "util.h"

/* sql_user_cols, sql_alias_cols, sql_reply_cols - declare the columns of
 * SQL_USER_COLS, SQL_ALIAS_COLS, a reply */
static void
sql_user_cols(struct sql *s, struct user *u)
{
	memset(u, 0, sizeof(*u));
	sql_i64(s, &u->id);
	sql_scol(s, u->queue_id);
	sql_scol(s, u->email);
	sql_scol(s, u->pwhash);
	sql_scol(s, u->totp);
	sql_icol(s, &u->status);
	sql_icol(s, &u->is_admin);
	sql_i64(s, &u->node_id);
	sql_icol(s, &u->disabled_action);
	sql_icol(s, &u->content_policy);
	sql_i64(s, &u->created);
}

static void
sql_alias_cols(struct sql *s, struct alias *a)
{
	memset(a, 0, sizeof(*a));
	sql_scol(s, a->token);
	sql_i64(s, &a->user_id);
	sql_scol(s, a->origin);
	sql_icol(s, &a->status);
	sql_i64(s, &a->created);
	sql_i64(s, &a->updated);
	sql_i64(s, &a->deleted_at);
	sql_i64(s, &a->expires_at);
	sql_col(s, C_BIN, a->context, sizeof(a->context), &a->context_len);
	sql_i64(s, &a->forwarded);
	sql_i64(s, &a->blocked);
	sql_i64(s, &a->replied);
	sql_i64(s, &a->last_seen);
}

static void
sql_reply_cols(struct sql *s, struct reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	sql_scol(s, rep->token);
	sql_scol(s, rep->alias);
	sql_scol(s, rep->sender);
	sql_i64(s, &rep->created);
}

/* sql_user_create_tx - insert the user and its first identity */
static enum store_status
sql_user_create_tx(struct sql *s, const char *email, const char *pwhash,
    const char *queue_id, int64_t now, struct user *u)
{
	enum store_status r;
	char	ident[EMAIL_MAX + 1];

	if ((r = sql_do(s, SQL_USER_INSERT, SQL_S(queue_id), SQL_S(email),
	    SQL_S(pwhash), SQL_I(now))) != STORE_OK)
		return (r == STORE_EXISTS ? STORE_TEMP : r);	/* queue_id */
	memset(u, 0, sizeof(*u));
	u->id = s->last_id;
	bp_strlcpy(u->queue_id, queue_id, sizeof(u->queue_id));
	bp_strlcpy(u->email, email, sizeof(u->email));
	bp_strlcpy(u->pwhash, pwhash, sizeof(u->pwhash));
	u->status = USER_ACTIVE;
	u->created = now;

	bp_strlcpy(ident, email, sizeof(ident));
	bp_lower(ident);
	return (sql_do(s, SQL_IDENT_INSERT, SQL_S(ident), SQL_I(u->id)));
}

/* sql_user_create - a new user whose email is its first identity */
enum store_status
sql_user_create(struct store *st, const char *email, const char *pwhash,
    const char *queue_id, int64_t now, struct user *u)
{
	struct sql *s = SQL(st);
	enum store_status r;

	if ((r = s->d->begin(s, SQL_ATOMIC)) == STORE_OK)
		r = s->d->end(s, sql_user_create_tx(s, email, pwhash,
		    queue_id, now, u));
	return (r);
}

/* sql_user_query - one user by statement id and its key */
static enum store_status
sql_user_query(struct sql *s, enum sql_stmt id, struct sql_arg key,
    struct user *u)
{
	sql_start(s, id, &key, 1);
	sql_user_cols(s, u);
	return (sql_row(s));
}

/* sql_user_get - by id */
enum store_status
sql_user_get(struct store *st, int64_t id, struct user *u)
{
	return (sql_user_query(SQL(st), SQL_USER_GET,
	    (struct sql_arg)SQL_I(id), u));
}

/* sql_user_by_identity - by login identity (already folded) */
enum store_status
sql_user_by_identity(struct store *st, const char *ident, struct user *u)
{
	return (sql_user_query(SQL(st), SQL_USER_BY_IDENT,
	    (struct sql_arg)SQL_S(ident), u));
}

/* sql_user_by_queue_id - by public queue id */
enum store_status
sql_user_by_queue_id(struct store *st, const char *qid, struct user *u)
{
	return (sql_user_query(SQL(st), SQL_USER_BY_QID,
	    (struct sql_arg)SQL_S(qid), u));
}

/* sql_identity_add - one more login name for an existing user */
enum store_status
sql_identity_add(struct store *st, int64_t user_id, const char *ident)
{
	struct sql *s = SQL(st);
	struct user u;
	enum store_status r;

	if ((r = sql_user_get(st, user_id, &u)) != STORE_OK)
		return (r);
	return (sql_do(s, SQL_IDENT_INSERT, SQL_S(ident), SQL_I(user_id)));
}

/* sql_user_update - the settable fields of u, by u->id */
enum store_status
sql_user_update(struct store *st, const struct user *u)
{
	struct sql *s = SQL(st);

	return (sql_matched(s, sql_do(s, SQL_USER_UPDATE, SQL_S(u->email),
	    SQL_S(u->pwhash), SQL_S(u->totp), SQL_I(u->status),
	    SQL_I(u->is_admin ? 1 : 0), SQL_I(u->disabled_action),
	    SQL_I(u->content_policy), SQL_I(u->id))));
}

/* sql_user_list - every user, by id */
enum store_status
sql_user_list(struct store *st, struct user **out, size_t *n)
{
	struct sql *s = SQL(st);
	struct user u;

	sql_start(s, SQL_USER_LIST, NULL, 0);
	sql_user_cols(s, &u);
	return (sql_list(s, &u, sizeof(u), SIZE_MAX, (void **)out, n));
}

/* sql_alias_status_write - a status change, guarded by "not deleted" */
static enum store_status
sql_alias_status_write(struct sql *s, const char *token,
    enum alias_state state, int64_t now)
{
	return (sql_do(s, SQL_ALIAS_SET_STATUS, SQL_I(state), SQL_I(now),
	    SQL_I(state), SQL_I(now), SQL_S(token)));
}

/* sql_alias_create_tx - find, revive or insert */
static enum store_status
sql_alias_create_tx(struct sql *s, int64_t user_id, const char *origin,
    const char *fresh, int64_t expires_at, int64_t now, struct alias *a,
    int *created)
{
	struct user u;
	enum store_status r;

	*created = 0;
	sql_q(s, SQL_ALIAS_LIVE, SQL_I(user_id), SQL_S(origin));
	sql_alias_cols(s, a);
	r = sql_row(s);
	if (r == STORE_OK && a->expires_at != 0 && a->expires_at <= now) {
		/* expired: it dies for good and a new one is made */
		if ((r = sql_alias_status_write(s, a->token, ALIAS_DELETED,
		    now)) != STORE_OK)
			return (r);
		r = STORE_NOTFOUND;
	}
	if (r == STORE_OK) {
		if (a->status == ALIAS_INACTIVE) {
			if ((r = sql_alias_status_write(s, a->token,
			    ALIAS_ACTIVE, now)) != STORE_OK)
				return (r);
			a->status = ALIAS_ACTIVE;
			a->updated = now;
		}
		return (STORE_OK);
	}
	if (r != STORE_NOTFOUND)
		return (r);

	if ((r = sql_user_get(&s->base, user_id, &u)) != STORE_OK)
		return (r);
	if ((r = sql_do(s, SQL_ALIAS_INSERT, SQL_S(fresh), SQL_I(user_id),
	    SQL_S(origin), SQL_I(now), SQL_I(now),
	    SQL_I(expires_at))) != STORE_OK)
		return (r);
	memset(a, 0, sizeof(*a));
	bp_strlcpy(a->token, fresh, sizeof(a->token));
	a->user_id = user_id;
	bp_strlcpy(a->origin, origin, sizeof(a->origin));
	a->status = ALIAS_ACTIVE;
	a->created = a->updated = now;
	a->expires_at = expires_at;
	*created = 1;
	return (STORE_OK);
}

/* sql_alias_create - the user's live alias for origin, or a new one; a
 * lost race on the unique key is answered by looking again */
enum store_status
sql_alias_create(struct store *st, int64_t user_id, const char *origin,
    const char *fresh, int64_t expires_at, int64_t now, struct alias *a,
    int *created)
{
	struct sql *s = SQL(st);
	enum store_status r = STORE_TEMP;
	int	try;

	for (try = 0; try < SQL_TRIES; try++) {
		s->conflict = 0;
		if ((r = s->d->begin(s, SQL_GUARDED)) != STORE_OK)
			return (r);
		r = s->d->end(s, sql_alias_create_tx(s, user_id, origin,
		    fresh, expires_at, now, a, created));
		if (!sql_again(s, r))
			return (r);
	}
	return (STORE_TEMP);
}

/* sql_alias_get - one alias by token, whatever its status */
enum store_status
sql_alias_get(struct store *st, const char *token, struct alias *a)
{
	struct sql *s = SQL(st);

	sql_q(s, SQL_ALIAS_GET, SQL_S(token));
	sql_alias_cols(s, a);
	return (sql_row(s));
}

/* sql_alias_route - alias joined to its user, in one query */
enum store_status
sql_alias_route(struct store *st, const char *token, struct alias_route *rt)
{
	struct sql *s = SQL(st);

	memset(rt, 0, sizeof(*rt));
	sql_q(s, SQL_ALIAS_ROUTE, SQL_S(token));
	sql_icol(s, &rt->status);
	sql_i64(s, &rt->expires_at);
	sql_i64(s, &rt->user_id);
	sql_icol(s, &rt->user_status);
	sql_icol(s, &rt->disabled_action);
	sql_icol(s, &rt->content_policy);
	sql_scol(s, rt->email);
	sql_scol(s, rt->origin);
	return (sql_row(s));
}

/* sql_alias_list - the user's live aliases, oldest first */
enum store_status
sql_alias_list(struct store *st, int64_t user_id, struct alias **out,
    size_t *n)
{
	struct sql *s = SQL(st);
	struct alias *a = xmalloc(sizeof(*a));
	enum store_status r;

	sql_q(s, SQL_ALIAS_LIST, SQL_I(user_id));
	sql_alias_cols(s, a);
	r = sql_list(s, a, sizeof(*a), SIZE_MAX, (void **)out, n);
	free(a);
	return (r);
}

/* sql_alias_changed - after an update r guarded by "status <> 2": OK if
 * a row matched, NOTFOUND if there is no such alias, INVALID if it is
 * deleted (a deleted alias never changes again; deleting it twice is OK
 * when ok_if_deleted) */
static enum store_status
sql_alias_changed(struct sql *s, enum store_status r, const char *token,
    int ok_if_deleted)
{
	int	status;

	if (r != STORE_OK || s->changes > 0)
		return (r);
	sql_q(s, SQL_ALIAS_STATUS, SQL_S(token));
	sql_icol(s, &status);
	if ((r = sql_row(s)) != STORE_OK)
		return (r);
	if (status == ALIAS_DELETED)
		return (ok_if_deleted ? STORE_OK : STORE_INVALID);
	return (STORE_OK);	/* unchanged value: still fine */
}

/* sql_alias_set_status - active, inactive or deleted (for good) */
enum store_status
sql_alias_set_status(struct store *st, const char *token,
    enum alias_state state, int64_t now)
{
	struct sql *s = SQL(st);

	return (sql_alias_changed(s, sql_alias_status_write(s, token, state,
	    now), token, state == ALIAS_DELETED));
}

/* sql_alias_set_context - replace the opaque context */
enum store_status
sql_alias_set_context(struct store *st, const char *token,
    const unsigned char *ctx, size_t len, int64_t now)
{
	struct sql *s = SQL(st);

	return (sql_alias_changed(s, sql_do(s, SQL_ALIAS_SET_CONTEXT,
	    SQL_B(ctx, len), SQL_I(now), SQL_S(token)), token, 0));
}

/* sql_alias_set_expiry - 0 = never */
enum store_status
sql_alias_set_expiry(struct store *st, const char *token, int64_t expires_at,
    int64_t now)
{
	struct sql *s = SQL(st);

	return (sql_alias_changed(s, sql_do(s, SQL_ALIAS_SET_EXPIRY,
	    SQL_I(expires_at), SQL_I(now), SQL_S(token)), token, 0));
}

/* sql_alias_count - one more forwarded, blocked or replied; last_seen */
enum store_status
sql_alias_count(struct store *st, const char *token, enum alias_counter c,
    int64_t now)
{
	static const enum sql_stmt count_stmt[] = {
		[COUNT_FORWARDED] = SQL_ALIAS_COUNT_FORWARDED,
		[COUNT_BLOCKED] = SQL_ALIAS_COUNT_BLOCKED,
		[COUNT_REPLIED] = SQL_ALIAS_COUNT_REPLIED,
	};
	struct sql *s = SQL(st);

	if ((unsigned)c > COUNT_REPLIED)
		return (STORE_INVALID);
	return (sql_matched(s, sql_do(s, count_stmt[c], SQL_I(now),
	    SQL_S(token))));
}

/* sql_reply_tx - find the reply token, or make it (fresh not NULL) */
static enum store_status
sql_reply_tx(struct sql *s, const char *alias, const char *sender,
    const char *fresh, int64_t now, struct reply *rep)
{
	enum store_status r;
	int	status;

	sql_q(s, SQL_REPLY_FIND, SQL_S(alias), SQL_S(sender));
	sql_reply_cols(s, rep);
	if ((r = sql_row(s)) != STORE_NOTFOUND || fresh == NULL)
		return (r);

	sql_q(s, SQL_ALIAS_STATUS, SQL_S(alias));
	sql_icol(s, &status);
	if ((r = sql_row(s)) != STORE_OK)
		return (r);
	if (status == ALIAS_DELETED)
		return (STORE_INVALID);

	if ((r = sql_do(s, SQL_REPLY_INSERT, SQL_S(fresh), SQL_S(alias),
	    SQL_S(sender), SQL_I(now))) != STORE_OK)
		return (r);
	memset(rep, 0, sizeof(*rep));
	bp_strlcpy(rep->token, fresh, sizeof(rep->token));
	bp_strlcpy(rep->alias, alias, sizeof(rep->alias));
	bp_strlcpy(rep->sender, sender, sizeof(rep->sender));
	rep->created = now;
	return (STORE_OK);
}

/* sql_reply_get_or_create - one reply token per (alias, sender); with
 * fresh NULL only the existing one, or NOTFOUND; a lost race is answered
 * by reading the winner's row */
enum store_status
sql_reply_get_or_create(struct store *st, const char *alias,
    const char *sender, const char *fresh, int64_t now, struct reply *rep)
{
	struct sql *s = SQL(st);
	enum store_status r;
	int	try;

	for (try = 0; try < SQL_TRIES; try++) {
		s->conflict = 0;
		if ((r = s->d->begin(s, SQL_GUARDED)) != STORE_OK)
			return (r);
		r = s->d->end(s, sql_reply_tx(s, alias, sender, fresh, now,
		    rep));
		if (!sql_again(s, r))
			return (r);
	}
	return (STORE_TEMP);
}

/* sql_reply_get - resolve a reply token */
enum store_status
sql_reply_get(struct store *st, const char *token, struct reply *rep)
{
	struct sql *s = SQL(st);

	sql_q(s, SQL_REPLY_GET, SQL_S(token));
	sql_reply_cols(s, rep);
	return (sql_row(s));
}
