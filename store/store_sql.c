/*
 * store_sql.c - every store operation, written once in SQL
 *
 * The backends "sqlite" and "mysql" are this one set of operations over
 * a driver each (sql_driver.h: sql_sqlite.c, sql_mysql.c), as Postfix
 * keeps its logic above dict_*.c.  Here are the statements, the
 * algorithms and the transactions they need; the driver runs them.
 * Where the dialects differ a driver gives its own text for a statement
 * (sql_text); the parameters are the same, in the same order.
 *
 * Schema: each driver brings the migrations of sql/<engine>/NNN_*.sql,
 * compiled in by sql/local.mk.  Open reads the version the store records
 * in schema_version; when it is behind, it takes the driver's lock, reads
 * again (another process may have migrated meanwhile) and applies the
 * missing ones in order, recording each.
 *
 * Transactions: every read-modify-write runs inside the driver's begin /
 * end (enum sql_tx says what it needs).  Creating an alias or a reply
 * address looks, then inserts under a unique key; a lost race (STORE_EXISTS)
 * or a lock conflict the driver flags is tried again, up to SQL_TRIES
 * times, and a node assignment caught in a deadlock likewise.
 *
 * Node assignment: a user stays on its node unless the node is downed or
 * removed.  Otherwise the candidates are the nodes neither downed nor
 * draining with released slots (available > 0) and room (current_load <
 * capacity); the one with the most free capacity (capacity - current_load,
 * then lowest id) wins, its current_load goes up by one and its available
 * down by one.  When no candidate is left, slots are released slowly, as
 * Tokenserver does: available = min(capacity - current_load,
 * max(1, capacity / 10)) on each node that ran out, and the pick is tried
 * again.  No candidate at all: STORE_NOTFOUND.
 *
 * Failures: the driver maps and logs them; STORE_NOTFOUND is answered
 * only when a query ran and found no row.
 *
 * Ownership: arrays returned by the *_list and *_read calls are new
 * (free(), or qmsgs_free / blob_free for their data).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sql_driver.h"
#include "util.h"

#define SQL_TRIES	4

/* Standard SQL as SQLite reads it; a driver's dialect overrides. */
static const char *const sql_common[SQL_NSTMT] = {
	[SQL_PING] = "SELECT count(*) FROM schema_version",

	[SQL_USER_INSERT] = "INSERT INTO users (queue_id, email, pwhash, "
	    "created) VALUES (?, ?, ?, ?)",
	[SQL_IDENT_INSERT] = "INSERT INTO identities (ident, user_id) "
	    "VALUES (?, ?)",
	[SQL_USER_GET] = "SELECT " SQL_USER_COLS " FROM users u WHERE u.id = ?",
	[SQL_USER_BY_IDENT] = "SELECT " SQL_USER_COLS " FROM identities i "
	    "JOIN users u ON u.id = i.user_id WHERE i.ident = ?",
	[SQL_USER_BY_QID] = "SELECT " SQL_USER_COLS " FROM users u "
	    "WHERE u.queue_id = ?",
	[SQL_USER_UPDATE] = "UPDATE users SET email = ?, pwhash = ?, "
	    "totp = ?, status = ?, is_admin = ?, disabled_action = ?, "
	    "content_policy = ? WHERE id = ?",
	[SQL_USER_LIST] = "SELECT " SQL_USER_COLS " FROM users u ORDER BY u.id",
	[SQL_USER_NODE] = "SELECT node_id FROM users WHERE id = ?",
	[SQL_USER_SET_NODE] = "UPDATE users SET node_id = ? WHERE id = ?",

	[SQL_ALIAS_LIVE] = "SELECT " SQL_ALIAS_COLS " FROM aliases "
	    "WHERE user_id = ? AND origin = ? AND status <> 2",
	[SQL_ALIAS_INSERT] = "INSERT INTO aliases (token, user_id, origin, "
	    "status, created, updated, expires_at) VALUES (?, ?, ?, 0, ?, ?, ?)",
	[SQL_ALIAS_GET] = "SELECT " SQL_ALIAS_COLS " FROM aliases WHERE token = ?",
	[SQL_ALIAS_ROUTE] = "SELECT a.status, a.expires_at, a.user_id, "
	    "u.status, u.disabled_action, u.content_policy, u.email, a.origin "
	    "FROM aliases a JOIN users u ON u.id = a.user_id "
	    "WHERE a.token = ?",
	[SQL_ALIAS_LIST] = "SELECT " SQL_ALIAS_COLS " FROM aliases "
	    "WHERE user_id = ? AND status <> 2 ORDER BY created, token",
	[SQL_ALIAS_STATUS] = "SELECT status FROM aliases WHERE token = ?",
	[SQL_ALIAS_SET_STATUS] = "UPDATE aliases SET status = ?, updated = ?, "
	    "deleted_at = CASE WHEN ? = 2 THEN ? ELSE 0 END "
	    "WHERE token = ? AND status <> 2",
	[SQL_ALIAS_SET_CONTEXT] = "UPDATE aliases SET context = ?, "
	    "updated = ? WHERE token = ? AND status <> 2",
	[SQL_ALIAS_SET_EXPIRY] = "UPDATE aliases SET expires_at = ?, "
	    "updated = ? WHERE token = ? AND status <> 2",
	[SQL_ALIAS_COUNT_FORWARDED] = "UPDATE aliases SET forwarded = "
	    "forwarded + 1, last_seen = ? WHERE token = ?",
	[SQL_ALIAS_COUNT_BLOCKED] = "UPDATE aliases SET blocked = "
	    "blocked + 1, last_seen = ? WHERE token = ?",
	[SQL_ALIAS_COUNT_REPLIED] = "UPDATE aliases SET replied = "
	    "replied + 1, last_seen = ? WHERE token = ?",

	[SQL_REPLY_FIND] = "SELECT token, alias, sender, created FROM replies "
	    "WHERE alias = ? AND sender = ?",
	[SQL_REPLY_INSERT] = "INSERT INTO replies (token, alias, sender, "
	    "created) VALUES (?, ?, ?, ?)",
	[SQL_REPLY_GET] = "SELECT token, alias, sender, created FROM replies "
	    "WHERE token = ?",

	[SQL_QUEUE_NEXT] = "UPDATE users SET queue_idx = queue_idx + 1 "
	    "WHERE id = ? RETURNING queue_idx",
	[SQL_QUEUE_INSERT] = "INSERT INTO queue (user_id, idx, expires_at, "
	    "data) VALUES (?, ?, ?, ?)",
	[SQL_QUEUE_READ] = "SELECT idx, expires_at, data FROM queue "
	    "WHERE user_id = ? AND idx >= ? AND expires_at > ? "
	    "ORDER BY idx LIMIT ?",
	[SQL_QUEUE_FIRST] = "SELECT min(idx) FROM queue "
	    "WHERE user_id = ? AND expires_at > ?",

	[SQL_BLOB_INSERT] = "INSERT INTO blobs (id, user_id, alias, name, "
	    "type, size, data, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[SQL_BLOB_GET] = "SELECT id, user_id, alias, name, type, expires_at, "
	    "data FROM blobs WHERE id = ? AND expires_at > ?",

	[SQL_NODE_INSERT] = "INSERT INTO nodes (host, port, capacity) "
	    "VALUES (?, ?, ?)",
	[SQL_NODE_UPDATE] = "UPDATE nodes SET host = ?, port = ?, "
	    "capacity = ?, available = ?, downed = ?, draining = ? "
	    "WHERE id = ?",
	[SQL_NODE_LIST] = "SELECT " SQL_NODE_COLS " FROM nodes ORDER BY id",
	[SQL_NODE_GET] = "SELECT " SQL_NODE_COLS " FROM nodes WHERE id = ?",
	[SQL_NODE_PICK] = "SELECT " SQL_NODE_COLS " FROM nodes WHERE "
	    SQL_NODE_PICKABLE " AND available > 0 "
	    "ORDER BY capacity - current_load DESC, id LIMIT 1",
	[SQL_NODE_RELEASE] = "UPDATE nodes SET available = "
	    "min(capacity - current_load, max(1, capacity / 10)) WHERE "
	    SQL_NODE_PICKABLE " AND available <= 0",
	[SQL_NODE_TAKE] = "UPDATE nodes SET current_load = current_load + 1, "
	    "available = CASE WHEN available > 0 THEN available - 1 ELSE 0 END "
	    "WHERE id = ?",
	[SQL_NODE_DROP] = "UPDATE nodes SET current_load = CASE WHEN "
	    "current_load > 0 THEN current_load - 1 ELSE 0 END WHERE id = ?",

	[SQL_EVENT_INSERT] = "INSERT INTO events (user_id, type, data, "
	    "created) VALUES (?, ?, ?, ?)",
	[SQL_EVENT_READ] = "SELECT id, user_id, type, data, created "
	    "FROM events WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?",

	[SQL_PURGE_REPLIES] = "DELETE FROM replies WHERE alias IN (SELECT "
	    "token FROM aliases WHERE status = 2 AND deleted_at <= ?)",
	[SQL_PURGE_ALIASES] = "DELETE FROM aliases WHERE status = 2 "
	    "AND deleted_at <= ?",
	[SQL_PURGE_QUEUE] = "DELETE FROM queue WHERE expires_at <= ?",
	[SQL_PURGE_BLOBS] = "DELETE FROM blobs WHERE expires_at <= ?",
	[SQL_PURGE_EVENTS] = "DELETE FROM events WHERE created <= ?",
	[SQL_PURGE_RATES] = "DELETE FROM rate_limits WHERE start <= ?",

	[SQL_USAGE_BLOBS] = "SELECT coalesce(sum(size), 0) FROM blobs "
	    "WHERE user_id = ? AND expires_at > ?",
	[SQL_USAGE_QUEUE] = "SELECT count(*) FROM queue "
	    "WHERE user_id = ? AND expires_at > ?",
	[SQL_USAGE_REPLIES] = "SELECT count(*) FROM aliases a "
	    "JOIN replies r ON r.alias = a.token WHERE a.user_id = ?",
	/* (key, now, n, window, window); count first: some engines
	 * assign left to right */
	[SQL_RATE_HIT] = "INSERT INTO rate_limits (key, start, count) "
	    "VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
	    "count = CASE WHEN start + ? <= excluded.start "
	    "THEN excluded.count ELSE count + excluded.count END, "
	    "start = CASE WHEN start + ? <= excluded.start "
	    "THEN excluded.start ELSE start END RETURNING count, start",
	[SQL_RATE_GET] = "SELECT count, start FROM rate_limits WHERE key = ?",
};

/* The engines: the backend store.c picks by scheme, and its driver. */
static const struct sql_engine {
	const struct store_backend *be;
	const struct sql_driver *d;
} sql_engines[] = {
	{ &store_sqlite_backend, &sql_sqlite_driver },
	{ &store_mysql_backend, &sql_mysql_driver },
};
#define SQL_NENGINES	(sizeof(sql_engines) / sizeof(sql_engines[0]))

#define SQL(store)	((struct sql *)(store))

enum sql_kind { C_I64, C_INT, C_STR, C_BIN, C_NEW };

/* sql_text - the text of statement id for driver d */
const char *
sql_text(const struct sql_driver *d, enum sql_stmt id)
{
	if (d->dialect != NULL && d->dialect[id] != NULL)
		return (d->dialect[id]);
	return (sql_common[id]);
}

/* sql_engine - the engine whose scheme uri has; NULL if none */
static const struct sql_engine *
sql_engine(const char *uri)
{
	size_t	i, n;

	for (i = 0; uri != NULL && i < SQL_NENGINES; i++) {
		n = strlen(sql_engines[i].d->name);
		if (strncmp(uri, sql_engines[i].d->name, n) == 0 &&
		    uri[n] == ':')
			return (&sql_engines[i]);
	}
	return (NULL);
}

/* sql_start - make id the current statement, with its n parameters */
static void
sql_start(struct sql *s, enum sql_stmt id, const struct sql_arg *a, size_t n)
{
	s->ncol = 0;
	s->d->start(s, id, a, n);
}

/* sql_q - sql_start with the parameters listed: SQL_I, SQL_S, SQL_B */
#define sql_q(s, id, ...)	sql_start((s), (id),			\
	(const struct sql_arg[]){ __VA_ARGS__ },			\
	sizeof((const struct sql_arg[]){ __VA_ARGS__ }) / sizeof(struct sql_arg))

/* sql_col - where the next result column goes: C_I64 an int64_t, C_INT an
 * int (or enum), C_STR a char[size] (NUL-terminated, cut), C_BIN size
 * bytes and their count in *lenp, C_NEW a new NUL-terminated copy into
 * the pointer at dst, its length in *lenp */
static void
sql_col(struct sql *s, enum sql_kind kind, void *dst, size_t size,
    size_t *lenp)
{
	struct sql_col *c = &s->col[s->ncol++];

	c->kind = kind;
	c->dst = dst;
	c->size = size;
	c->lenp = lenp;
}

#define sql_i64(s, p)		sql_col((s), C_I64, (p), 0, NULL)
#define sql_icol(s, p)		sql_col((s), C_INT, (p), 0, NULL)
#define sql_scol(s, b)		sql_col((s), C_STR, (b), sizeof(b), NULL)

/* sql_read - the current row into the declared columns */
static void
sql_read(struct sql *s)
{
	const struct sql_driver *d = s->d;
	struct sql_col *c;
	size_t	n;
	char	*p;
	int	i;

	for (i = 0; i < s->ncol; i++) {
		c = &s->col[i];
		switch (c->kind) {
		case C_I64:
			*(int64_t *)c->dst = d->col_int(s, i);
			break;
		case C_INT:
			*(int *)c->dst = (int)d->col_int(s, i);
			break;
		case C_STR:
			n = d->col_copy(s, i, c->dst, c->size - 1);
			((char *)c->dst)[n < c->size ? n : c->size - 1] = '\0';
			break;
		case C_BIN:
			n = d->col_copy(s, i, c->dst, c->size);
			*c->lenp = n < c->size ? n : c->size;
			break;
		case C_NEW:
			n = d->col_copy(s, i, NULL, 0);
			p = xmalloc(n + 1);
			(void)d->col_copy(s, i, p, n);
			p[n] = '\0';
			memcpy(c->dst, &p, sizeof(p));
			*c->lenp = n;
			break;
		}
	}
}

/* sql_run - run the current statement, which returns no row */
static enum store_status
sql_run(struct sql *s)
{
	enum store_status r = s->d->step(s);

	s->d->done(s);
	return (r == STORE_NOTFOUND ? STORE_OK : r);
}

/* sql_row - one row into the declared columns: OK, NOTFOUND or failure */
static enum store_status
sql_row(struct sql *s)
{
	enum store_status r = s->d->step(s);

	if (r == STORE_OK)
		sql_read(s);
	s->d->done(s);
	return (r);
}

/* sql_list - up to max rows, each read into *tmp (size sz) and appended
 * to a new array; on failure nothing is kept (C_NEW data freed too) */
static enum store_status
sql_list(struct sql *s, void *tmp, size_t sz, size_t max, void **out,
    size_t *n)
{
	char	*v = NULL, *p;
	size_t	 cap = 0, k;
	enum store_status r = STORE_NOTFOUND;
	int	 i;

	*n = 0;
	while (*n < max && (r = s->d->step(s)) == STORE_OK) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sz);
		}
		sql_read(s);
		memcpy(v + (*n)++ * sz, tmp, sz);
	}
	s->d->done(s);
	if (r != STORE_OK && r != STORE_NOTFOUND) {
		for (i = 0; i < s->ncol; i++)
			for (k = 0; s->col[i].kind == C_NEW && k < *n; k++) {
				memcpy(&p, v + k * sz + ((char *)s->col[i].dst -
				    (char *)tmp), sizeof(p));
				free(p);
			}
		free(v);
		v = NULL;
		*n = 0;
	}
	*out = v;
	return (r == STORE_NOTFOUND ? STORE_OK : r);
}

/* sql_matched - after an update r of one row: NOTFOUND if none matched */
static enum store_status
sql_matched(struct sql *s, enum store_status r)
{
	return (r == STORE_OK && s->changes == 0 ? STORE_NOTFOUND : r);
}

/* sql_again - after a failed try: is another worth it */
static int
sql_again(struct sql *s, enum store_status r)
{
	return (r == STORE_EXISTS || (r == STORE_TEMP && s->conflict));
}

/* sql_user_cols, sql_alias_cols, sql_node_cols, sql_reply_cols - declare
 * the columns of SQL_USER_COLS, SQL_ALIAS_COLS, SQL_NODE_COLS, a reply */
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
sql_node_cols(struct sql *s, struct node *n)
{
	memset(n, 0, sizeof(*n));
	sql_i64(s, &n->id);
	sql_scol(s, n->host);
	sql_icol(s, &n->port);
	sql_icol(s, &n->capacity);
	sql_icol(s, &n->load);
	sql_icol(s, &n->available);
	sql_icol(s, &n->downed);
	sql_icol(s, &n->draining);
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

/* sql_version - the schema version, with a word when it is newer than
 * the program's */
static enum store_status
sql_version(struct sql *s, int *version)
{
	const struct sql_driver *d = s->d;
	int	latest = d->migrations[d->nmigrations - 1].version;
	enum store_status r;

	if ((r = d->version(s, version)) == STORE_OK && *version > latest)
		log_warn("%s %s: schema version %d is newer than this "
		    "program's %d", d->name, s->where, *version, latest);
	return (r);
}

/* sql_migrate_tx - under the lock: the migrations the store lacks.  The
 * version is written as a number and the name is one of our file names
 * ([0-9a-z_]): no text from outside goes into the SQL. */
static enum store_status
sql_migrate_tx(struct sql *s)
{
	const struct sql_driver *d = s->d;
	const struct sql_migration *m;
	char	 rec[200];
	int	 version;
	enum store_status r;

	if ((r = d->script(s, d->version_table)) != STORE_OK ||
	    (r = d->version(s, &version)) != STORE_OK)
		return (r);
	for (m = d->migrations; m < d->migrations + d->nmigrations; m++) {
		if (m->version <= version)
			continue;
		if (strspn(m->name, "0123456789abcdefghijklmnopqrstuvwxyz_") !=
		    strlen(m->name))
			log_panic("migration name %.100s", m->name);
		snprintf(rec, sizeof(rec), "INSERT INTO schema_version "
		    "(version, name, applied) VALUES (%d, '%s', %lld)",
		    m->version, m->name, (long long)bp_now());
		if ((r = d->script(s, m->sql)) != STORE_OK ||
		    (r = d->script(s, rec)) != STORE_OK) {
			log_error("%s %s: migration %s failed", d->name,
			    s->where, m->name);
			return (r);
		}
		log_info("%s %s: schema migrated to version %d (%s)", d->name,
		    s->where, m->version, m->name);
	}
	return (STORE_OK);
}

/* sql_migrate_db - bring the schema up to date */
static enum store_status
sql_migrate_db(struct sql *s)
{
	const struct sql_driver *d = s->d;
	enum store_status r;
	int	version;

	if ((r = sql_version(s, &version)) == STORE_OK &&
	    version < d->migrations[d->nmigrations - 1].version &&
	    (r = d->lock(s)) == STORE_OK)
		r = d->unlock(s, sql_migrate_tx(s));
	return (r == STORE_EXISTS ? STORE_PERM : r);
}

/* sql_open - the driver for the scheme, connected, migrated, prepared */
static struct store *
sql_open(const char *uri, enum store_status *status, const char **why)
{
	const struct sql_engine *e = sql_engine(uri);
	struct sql *s;

	if (e == NULL) {
		*status = STORE_PERM;
		*why = "no SQL driver for this URI scheme";
		return (NULL);
	}
	if ((s = e->d->open(uri, status, why)) == NULL)
		return (NULL);
	s->base.be = e->be;
	s->d = e->d;
	if ((*status = sql_migrate_db(s)) != STORE_OK)
		*why = *status == STORE_TEMP ? "cannot reach the store now" :
		    "cannot create or upgrade the tables";
	else if ((*status = s->d->prepare(s)) != STORE_OK)
		*why = *status == STORE_TEMP ? "cannot reach the store now" :
		    "cannot prepare statements (schema mismatch?)";
	if (*status == STORE_OK)
		return (&s->base);
	s->d->close(s);
	return (NULL);
}

/* sql_close - the driver frees the handle */
static void
sql_close(struct store *st)
{
	if (st != NULL)
		SQL(st)->d->close(SQL(st));
}

/* sql_caps - what the engine uri names can do */
static unsigned
sql_caps(const char *uri)
{
	const struct sql_engine *e = sql_engine(uri);

	return (e != NULL ? e->d->caps : 0);
}

/* sql_missing - a store file that is not there */
static int
sql_missing(const char *uri)
{
	const struct sql_engine *e = sql_engine(uri);

	return (e != NULL && e->d->missing != NULL && e->d->missing(uri));
}

/* sql_migrate - migrations ran at open; look again */
static enum store_status
sql_migrate(struct store *st)
{
	return (sql_migrate_db(SQL(st)));
}

/* sql_batch_begin, sql_batch_end - where the driver has batches */
static enum store_status
sql_batch_begin(struct store *st)
{
	struct sql *s = SQL(st);

	return (s->d->batch_begin ? s->d->batch_begin(s) : STORE_OK);
}

static enum store_status
sql_batch_end(struct store *st)
{
	struct sql *s = SQL(st);

	return (s->d->batch_end ? s->d->batch_end(s) : STORE_OK);
}

/* sql_mark - where the driver can tell */
static enum store_status
sql_mark(struct store *st, uint64_t *mark)
{
	struct sql *s = SQL(st);

	return (s->d->mark ? s->d->mark(s, mark) : STORE_PERM);
}

/* sql_ping - one cheap query */
static enum store_status
sql_ping(struct store *st)
{
	struct sql *s = SQL(st);
	int64_t	n;
	enum store_status r;

	sql_start(s, SQL_PING, NULL, 0);
	sql_i64(s, &n);
	r = sql_row(s);
	return (r == STORE_NOTFOUND ? STORE_PERM : r);
}

/* sql_user_create_tx - insert the user and its first identity */
static enum store_status
sql_user_create_tx(struct sql *s, const char *email, const char *pwhash,
    const char *queue_id, int64_t now, struct user *u)
{
	enum store_status r;
	char	ident[EMAIL_MAX + 1];

	sql_q(s, SQL_USER_INSERT, SQL_S(queue_id), SQL_S(email), SQL_S(pwhash),
	    SQL_I(now));
	if ((r = sql_run(s)) != STORE_OK)
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
	sql_q(s, SQL_IDENT_INSERT, SQL_S(ident), SQL_I(u->id));
	return (sql_run(s));
}

/* sql_user_create - a new user whose email is its first identity */
static enum store_status
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
static enum store_status
sql_user_get(struct store *st, int64_t id, struct user *u)
{
	return (sql_user_query(SQL(st), SQL_USER_GET,
	    (struct sql_arg)SQL_I(id), u));
}

/* sql_user_by_identity - by login identity (already folded) */
static enum store_status
sql_user_by_identity(struct store *st, const char *ident, struct user *u)
{
	return (sql_user_query(SQL(st), SQL_USER_BY_IDENT,
	    (struct sql_arg)SQL_S(ident), u));
}

/* sql_user_by_queue_id - by public queue id */
static enum store_status
sql_user_by_queue_id(struct store *st, const char *qid, struct user *u)
{
	return (sql_user_query(SQL(st), SQL_USER_BY_QID,
	    (struct sql_arg)SQL_S(qid), u));
}

/* sql_identity_add - one more login name for an existing user */
static enum store_status
sql_identity_add(struct store *st, int64_t user_id, const char *ident)
{
	struct sql *s = SQL(st);
	struct user u;
	enum store_status r;

	if ((r = sql_user_get(st, user_id, &u)) != STORE_OK)
		return (r);
	sql_q(s, SQL_IDENT_INSERT, SQL_S(ident), SQL_I(user_id));
	return (sql_run(s));
}

/* sql_user_update - the settable fields of u, by u->id */
static enum store_status
sql_user_update(struct store *st, const struct user *u)
{
	struct sql *s = SQL(st);

	sql_q(s, SQL_USER_UPDATE, SQL_S(u->email), SQL_S(u->pwhash),
	    SQL_S(u->totp), SQL_I(u->status), SQL_I(u->is_admin ? 1 : 0),
	    SQL_I(u->disabled_action), SQL_I(u->content_policy),
	    SQL_I(u->id));
	return (sql_matched(s, sql_run(s)));
}

/* sql_user_list - every user, by id */
static enum store_status
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
	sql_q(s, SQL_ALIAS_SET_STATUS, SQL_I(state), SQL_I(now),
	    SQL_I(state), SQL_I(now), SQL_S(token));
	return (sql_run(s));
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
	sql_q(s, SQL_ALIAS_INSERT, SQL_S(fresh), SQL_I(user_id), SQL_S(origin),
	    SQL_I(now), SQL_I(now), SQL_I(expires_at));
	if ((r = sql_run(s)) != STORE_OK)
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
static enum store_status
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
static enum store_status
sql_alias_get(struct store *st, const char *token, struct alias *a)
{
	struct sql *s = SQL(st);

	sql_q(s, SQL_ALIAS_GET, SQL_S(token));
	sql_alias_cols(s, a);
	return (sql_row(s));
}

/* sql_alias_route - alias joined to its user, in one query */
static enum store_status
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
static enum store_status
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
static enum store_status
sql_alias_set_status(struct store *st, const char *token,
    enum alias_state state, int64_t now)
{
	struct sql *s = SQL(st);

	return (sql_alias_changed(s, sql_alias_status_write(s, token, state,
	    now), token, state == ALIAS_DELETED));
}

/* sql_alias_set_context - replace the opaque context */
static enum store_status
sql_alias_set_context(struct store *st, const char *token,
    const unsigned char *ctx, size_t len, int64_t now)
{
	struct sql *s = SQL(st);

	sql_q(s, SQL_ALIAS_SET_CONTEXT, SQL_B(ctx, len), SQL_I(now),
	    SQL_S(token));
	return (sql_alias_changed(s, sql_run(s), token, 0));
}

/* sql_alias_set_expiry - 0 = never */
static enum store_status
sql_alias_set_expiry(struct store *st, const char *token, int64_t expires_at,
    int64_t now)
{
	struct sql *s = SQL(st);

	sql_q(s, SQL_ALIAS_SET_EXPIRY, SQL_I(expires_at), SQL_I(now),
	    SQL_S(token));
	return (sql_alias_changed(s, sql_run(s), token, 0));
}

/* sql_alias_count - one more forwarded, blocked or replied; last_seen */
static enum store_status
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
	sql_q(s, count_stmt[c], SQL_I(now), SQL_S(token));
	return (sql_matched(s, sql_run(s)));
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

	sql_q(s, SQL_REPLY_INSERT, SQL_S(fresh), SQL_S(alias), SQL_S(sender),
	    SQL_I(now));
	if ((r = sql_run(s)) != STORE_OK)
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
static enum store_status
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
static enum store_status
sql_reply_get(struct store *st, const char *token, struct reply *rep)
{
	struct sql *s = SQL(st);

	sql_q(s, SQL_REPLY_GET, SQL_S(token));
	sql_reply_cols(s, rep);
	return (sql_row(s));
}

/* sql_queue_tx - take the user's next index (as a row, or as the id the
 * update left) and insert */
static enum store_status
sql_queue_tx(struct sql *s, int64_t user_id, const char *data, size_t len,
    int64_t expires_at, int64_t *idx)
{
	enum store_status r;

	sql_q(s, SQL_QUEUE_NEXT, SQL_I(user_id));
	if (s->d->flags & SQL_RETURNING) {
		sql_i64(s, idx);
		if ((r = sql_row(s)) != STORE_OK)
			return (r);
	} else {
		if ((r = sql_run(s)) != STORE_OK)
			return (r);
		if (s->changes == 0)
			return (STORE_NOTFOUND);
		*idx = s->last_id;
	}
	sql_q(s, SQL_QUEUE_INSERT, SQL_I(user_id), SQL_I(*idx),
	    SQL_I(expires_at), SQL_B(data, len));
	return (sql_run(s));
}

/* sql_queue_append - a message at the user's next index */
static enum store_status
sql_queue_append(struct store *st, int64_t user_id, const char *data,
    size_t len, int64_t expires_at, int64_t *idx)
{
	struct sql *s = SQL(st);
	enum store_status r;

	if ((r = s->d->begin(s, SQL_ATOMIC)) != STORE_OK)
		return (r);
	r = s->d->end(s, sql_queue_tx(s, user_id, data, len, expires_at, idx));
	return (r == STORE_EXISTS ? STORE_TEMP : r);
}

/* sql_queue_read_tx - the first live index, then the rows */
static enum store_status
sql_queue_read_tx(struct sql *s, int64_t user_id, int64_t from_idx,
    int limit, int64_t now, struct qmsg **out, size_t *n, int64_t *first)
{
	struct qmsg m;
	enum store_status r;

	sql_q(s, SQL_QUEUE_FIRST, SQL_I(user_id), SQL_I(now));
	sql_i64(s, first);			/* NULL reads as 0 */
	if ((r = sql_row(s)) != STORE_OK)
		return (r);

	sql_q(s, SQL_QUEUE_READ, SQL_I(user_id), SQL_I(from_idx), SQL_I(now),
	    SQL_I(limit));
	memset(&m, 0, sizeof(m));
	sql_i64(s, &m.idx);
	sql_i64(s, &m.expires_at);
	sql_col(s, C_NEW, &m.data, 0, &m.len);
	return (sql_list(s, &m, sizeof(m), (size_t)limit, (void **)out, n));
}

/* sql_queue_read - live messages from from_idx, and the first live index,
 * from one snapshot */
static enum store_status
sql_queue_read(struct store *st, int64_t user_id, int64_t from_idx,
    int limit, int64_t now, struct qmsg **out, size_t *n, int64_t *first_idx)
{
	struct sql *s = SQL(st);
	enum store_status r;

	if ((r = s->d->begin(s, SQL_SNAPSHOT)) != STORE_OK)
		return (r);
	r = s->d->end(s, sql_queue_read_tx(s, user_id, from_idx, limit, now,
	    out, n, first_idx));
	if (r != STORE_OK) {		/* the rows came, the commit failed */
		qmsgs_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return (r);
}

/* sql_blob_put - insert; b->id is fresh */
static enum store_status
sql_blob_put(struct store *st, const struct blob *b)
{
	struct sql *s = SQL(st);
	enum store_status r;

	sql_q(s, SQL_BLOB_INSERT, SQL_S(b->id), SQL_I(b->user_id),
	    SQL_S(b->alias), SQL_S(b->name), SQL_S(b->type),
	    SQL_I((int64_t)b->size), SQL_B(b->data, b->size),
	    SQL_I(b->expires_at));
	r = sql_run(s);
	return (r == STORE_EXISTS ? STORE_TEMP : r);
}

/* sql_blob_get - a live blob with new data */
static enum store_status
sql_blob_get(struct store *st, const char *id, int64_t now, struct blob *b)
{
	struct sql *s = SQL(st);

	memset(b, 0, sizeof(*b));
	sql_q(s, SQL_BLOB_GET, SQL_S(id), SQL_I(now));
	sql_scol(s, b->id);
	sql_i64(s, &b->user_id);
	sql_scol(s, b->alias);
	sql_scol(s, b->name);
	sql_scol(s, b->type);
	sql_i64(s, &b->expires_at);
	sql_col(s, C_NEW, &b->data, 0, &b->size);
	return (sql_row(s));
}

/* sql_node_add - a new node with no slots released yet */
static enum store_status
sql_node_add(struct store *st, const char *host, int port, int capacity,
    int64_t *id)
{
	struct sql *s = SQL(st);
	enum store_status r;

	sql_q(s, SQL_NODE_INSERT, SQL_S(host), SQL_I(port), SQL_I(capacity));
	if ((r = sql_run(s)) == STORE_OK)
		*id = s->last_id;
	return (r);
}

/* sql_node_update - host, port, capacity, available, downed, draining */
static enum store_status
sql_node_update(struct store *st, const struct node *n)
{
	struct sql *s = SQL(st);

	sql_q(s, SQL_NODE_UPDATE, SQL_S(n->host), SQL_I(n->port),
	    SQL_I(n->capacity), SQL_I(n->available), SQL_I(n->downed ? 1 : 0),
	    SQL_I(n->draining ? 1 : 0), SQL_I(n->id));
	return (sql_matched(s, sql_run(s)));
}

/* sql_node_list - every node, by id */
static enum store_status
sql_node_list(struct store *st, struct node **out, size_t *n)
{
	struct sql *s = SQL(st);
	struct node t;

	sql_start(s, SQL_NODE_LIST, NULL, 0);
	sql_node_cols(s, &t);
	return (sql_list(s, &t, sizeof(t), SIZE_MAX, (void **)out, n));
}

/* sql_node_run - a node statement with an id (0: none) and a node row
 * (NULL: none) */
static enum store_status
sql_node_run(struct sql *s, enum sql_stmt id, int64_t key, struct node *n)
{
	struct sql_arg a = SQL_I(key);

	sql_start(s, id, &a, key != 0);
	if (n == NULL)
		return (sql_run(s));
	sql_node_cols(s, n);
	return (sql_row(s));
}

/* sql_node_assign_tx - keep or move the user */
static enum store_status
sql_node_assign_tx(struct sql *s, int64_t user_id, struct node *n)
{
	enum store_status r;
	int64_t	old;

	sql_q(s, SQL_USER_NODE, SQL_I(user_id));
	sql_i64(s, &old);
	if ((r = sql_row(s)) != STORE_OK)
		return (r);
	if (old != 0) {
		r = sql_node_run(s, SQL_NODE_GET, old, n);
		if (r == STORE_OK && !n->downed)
			return (STORE_OK);		/* stays */
		if (r == STORE_OK)
			r = sql_node_run(s, SQL_NODE_DROP, old, NULL);
		if (r != STORE_OK && r != STORE_NOTFOUND)
			return (r);
	}
	if ((r = sql_node_run(s, SQL_NODE_PICK, 0, n)) == STORE_NOTFOUND &&
	    (r = sql_node_run(s, SQL_NODE_RELEASE, 0, NULL)) == STORE_OK)
		r = sql_node_run(s, SQL_NODE_PICK, 0, n);
	if (r != STORE_OK ||
	    (r = sql_node_run(s, SQL_NODE_TAKE, n->id, NULL)) != STORE_OK)
		return (r);
	sql_q(s, SQL_USER_SET_NODE, SQL_I(n->id), SQL_I(user_id));
	if ((r = sql_run(s)) != STORE_OK)
		return (r);
	n->load++;
	if (n->available > 0)
		n->available--;
	return (STORE_OK);
}

/* sql_node_assign - the user's node, assigning one if needed; a deadlock
 * with another host assigning at the same time is tried again */
static enum store_status
sql_node_assign(struct store *st, int64_t user_id, struct node *n)
{
	struct sql *s = SQL(st);
	enum store_status r = STORE_TEMP;
	int	try;

	for (try = 0; try < SQL_TRIES; try++) {
		s->conflict = 0;
		if ((r = s->d->begin(s, SQL_ATOMIC)) != STORE_OK)
			return (r);
		r = s->d->end(s, sql_node_assign_tx(s, user_id, n));
		if (r != STORE_TEMP || !s->conflict)
			break;
	}
	return (r == STORE_EXISTS ? STORE_TEMP : r);
}

/* sql_event_append - one event; *id is global and increasing */
static enum store_status
sql_event_append(struct store *st, int64_t user_id, const char *type,
    const char *data, int64_t now, int64_t *id)
{
	struct sql *s = SQL(st);
	enum store_status r;

	sql_q(s, SQL_EVENT_INSERT, SQL_I(user_id), SQL_S(type), SQL_S(data),
	    SQL_I(now));
	if ((r = sql_run(s)) != STORE_OK)
		return (r == STORE_EXISTS ? STORE_TEMP : r);
	*id = s->last_id;
	return (STORE_OK);
}

/* sql_event_read - the user's events after after_id, oldest first */
static enum store_status
sql_event_read(struct store *st, int64_t user_id, int64_t after_id,
    int limit, struct event **out, size_t *n)
{
	struct sql *s = SQL(st);
	struct event *t = xcalloc(1, sizeof(*t));
	enum store_status r;

	sql_q(s, SQL_EVENT_READ, SQL_I(user_id), SQL_I(after_id), SQL_I(limit));
	sql_i64(s, &t->id);
	sql_i64(s, &t->user_id);
	sql_scol(s, t->type);
	sql_scol(s, t->data);
	sql_i64(s, &t->created);
	r = sql_list(s, t, sizeof(*t), (size_t)limit, (void **)out, n);
	free(t);
	return (r);
}

/* sql_purge_tx - every DELETE, in one transaction */
static enum store_status
sql_purge_tx(struct sql *s, int64_t now, int64_t retention, int64_t horizon,
    struct purge_counts *c)
{
	const struct {
		enum sql_stmt	 id;
		int64_t		 bound;
		long		*count;
	} step[] = {
		{ SQL_PURGE_REPLIES, now - retention, &c->replies },
		{ SQL_PURGE_ALIASES, now - retention, &c->aliases },
		{ SQL_PURGE_QUEUE, now, &c->qmsgs },
		{ SQL_PURGE_BLOBS, now, &c->blobs },
		{ SQL_PURGE_EVENTS, now - horizon, &c->events },
		{ SQL_PURGE_RATES, now - STORE_RATE_KEEP, &c->rates },
	};
	enum store_status r;
	size_t	i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < sizeof(step) / sizeof(step[0]); i++) {
		sql_q(s, step[i].id, SQL_I(step[i].bound));
		if ((r = sql_run(s)) != STORE_OK)
			return (r);
		*step[i].count = (long)s->changes;
	}
	return (STORE_OK);
}

/* sql_purge - deleted aliases past retention, expired rows, old events */
static enum store_status
sql_purge(struct store *st, int64_t now, int64_t retention, int64_t horizon,
    struct purge_counts *c)
{
	struct sql *s = SQL(st);
	enum store_status r;

	if ((r = s->d->begin(s, SQL_ATOMIC)) != STORE_OK)
		return (r);
	r = s->d->end(s, sql_purge_tx(s, now, retention, horizon, c));
	return (r == STORE_EXISTS ? STORE_TEMP : r);
}

/* sql_usage - what the user keeps: parts, notifications, reply addresses */
static enum store_status
sql_usage(struct store *st, int64_t user_id, int64_t now,
    struct store_usage *u)
{
	const struct {
		enum sql_stmt	 id;
		int64_t		*out;
	} q[] = {
		{ SQL_USAGE_BLOBS, &u->blob_bytes },
		{ SQL_USAGE_QUEUE, &u->queue_msgs },
		{ SQL_USAGE_REPLIES, &u->replies },
	};
	const struct sql_arg a[] = { SQL_I(user_id), SQL_I(now) };
	struct sql *s = SQL(st);
	enum store_status r;
	size_t	i;

	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		sql_start(s, q[i].id, a, q[i].id == SQL_USAGE_REPLIES ? 1 : 2);
		sql_i64(s, q[i].out);
		if ((r = sql_row(s)) != STORE_OK)
			return (r);
	}
	return (STORE_OK);
}

/* sql_rate_get - the window of key */
static enum store_status
sql_rate_get(struct sql *s, const char *key, int64_t *count, int64_t *start)
{
	sql_q(s, SQL_RATE_GET, SQL_S(key));
	sql_i64(s, count);
	sql_i64(s, start);
	return (sql_row(s));
}

/* sql_rate_tx - count n hits, then read the window (in the same row where
 * the engine answers writes with rows) */
static enum store_status
sql_rate_tx(struct sql *s, const char *key, long n, long window,
    int64_t now, int64_t *count, int64_t *start)
{
	enum store_status r;

	sql_q(s, SQL_RATE_HIT, SQL_S(key), SQL_I(now), SQL_I(n), SQL_I(window),
	    SQL_I(window));
	if (s->d->flags & SQL_RETURNING) {
		sql_i64(s, count);
		sql_i64(s, start);
		r = sql_row(s);
	} else if ((r = sql_run(s)) == STORE_OK)
		r = sql_rate_get(s, key, count, start);
	return (r == STORE_NOTFOUND || r == STORE_EXISTS ? STORE_TEMP : r);
}

/* sql_rate_hit - n more hits of key in its window (n = 0: only read) */
static enum store_status
sql_rate_hit(struct store *st, const char *key, long n, long window,
    int64_t now, long *count, int64_t *start)
{
	struct sql *s = SQL(st);
	int64_t	c = 0;
	enum store_status r;

	if (n == 0) {
		if ((r = sql_rate_get(s, key, &c, start)) == STORE_NOTFOUND) {
			*start = now;
			r = STORE_OK;
		}
	} else if (s->d->flags & SQL_RETURNING)
		r = sql_rate_tx(s, key, n, window, now, &c, start);
	else if ((r = s->d->begin(s, SQL_ATOMIC)) == STORE_OK)
		r = s->d->end(s, sql_rate_tx(s, key, n, window, now, &c,
		    start));
	*count = (long)c;
	return (r);
}

#define SQL_BACKEND(scheme) {						\
	.name = scheme, .open = sql_open, .close = sql_close,		\
	.batch_begin = sql_batch_begin, .batch_end = sql_batch_end,	\
	.mark = sql_mark, .migrate = sql_migrate, .ping = sql_ping,	\
	.caps = sql_caps, .missing = sql_missing,			\
	.user_create = sql_user_create, .user_get = sql_user_get,	\
	.user_by_identity = sql_user_by_identity,			\
	.user_by_queue_id = sql_user_by_queue_id,			\
	.identity_add = sql_identity_add, .user_update = sql_user_update, \
	.user_list = sql_user_list, .alias_create = sql_alias_create,	\
	.alias_get = sql_alias_get, .alias_route = sql_alias_route,	\
	.alias_list = sql_alias_list,					\
	.alias_set_status = sql_alias_set_status,			\
	.alias_set_context = sql_alias_set_context,			\
	.alias_set_expiry = sql_alias_set_expiry,			\
	.alias_count = sql_alias_count,					\
	.reply_get_or_create = sql_reply_get_or_create,			\
	.reply_get = sql_reply_get, .queue_append = sql_queue_append,	\
	.queue_read = sql_queue_read, .blob_put = sql_blob_put,		\
	.blob_get = sql_blob_get, .node_add = sql_node_add,		\
	.node_update = sql_node_update, .node_list = sql_node_list,	\
	.node_assign = sql_node_assign,					\
	.event_append = sql_event_append, .event_read = sql_event_read,	\
	.purge = sql_purge, .usage = sql_usage, .rate_hit = sql_rate_hit, \
}

const struct store_backend store_sqlite_backend = SQL_BACKEND("sqlite");
const struct store_backend store_mysql_backend = SQL_BACKEND("mysql");
