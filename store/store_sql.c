/*
 * store_sql.c - every store operation, written once in SQL: the statements,
 * the engines, open and the schema, and the backend table
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
 * The operations are in store_sql_user.c (users, aliases, reply addresses)
 * and store_sql_queue.c (queue, blobs, nodes, events, purge, usage, rates);
 * the helpers they share, and their names, are in store_sql.h.
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
#include "store_sql.h"
#include "util.h"

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

	/* purge: one batch of at most ? rows a statement (sql_purge);
	 * an alias goes deleted_at or expires_at past the retention */
	[SQL_PURGE_REPLIES] = "DELETE FROM replies WHERE rowid IN (SELECT "
	    "r.rowid FROM replies r JOIN aliases a ON a.token = r.alias "
	    "WHERE " SQL_ALIAS_GONE " LIMIT ?)",
	[SQL_PURGE_ALIASES] = "DELETE FROM aliases WHERE rowid IN (SELECT "
	    "rowid FROM aliases WHERE " SQL_ALIAS_GONE " LIMIT ?)",
	[SQL_PURGE_QUEUE] = "DELETE FROM queue WHERE rowid IN (SELECT rowid "
	    "FROM queue WHERE expires_at <= ? LIMIT ?)",
	[SQL_PURGE_BLOBS] = "DELETE FROM blobs WHERE rowid IN (SELECT rowid "
	    "FROM blobs WHERE expires_at <= ? LIMIT ?)",
	[SQL_PURGE_EVENTS] = "DELETE FROM events WHERE rowid IN (SELECT rowid "
	    "FROM events WHERE created <= ? LIMIT ?)",
	[SQL_PURGE_RATES] = "DELETE FROM rate_limits WHERE key IN (SELECT key "
	    "FROM rate_limits WHERE start <= ? LIMIT ?)",

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

	/* API keys (store_sql_apikey.c) */
	[SQL_APIKEY_INSERT] = "INSERT INTO api_keys (user_id, name, scope, "
	    "hash, created) VALUES (?, ?, ?, ?, ?)",
	[SQL_APIKEY_LIST] = "SELECT " SQL_APIKEY_COLS " FROM api_keys "
	    "WHERE user_id = ? AND revoked = 0 ORDER BY id",
	[SQL_APIKEY_REVOKE] = "UPDATE api_keys SET revoked = ? "
	    "WHERE id = ? AND user_id = ? AND revoked = 0",
	[SQL_APIKEY_FIND] = "SELECT " SQL_APIKEY_COLS " FROM api_keys "
	    "WHERE hash = ? AND revoked = 0",
	/* (now, id, now - 60) */
	[SQL_APIKEY_TOUCH] = "UPDATE api_keys SET last_used = ? "
	    "WHERE id = ? AND last_used <= ?",

	/* contacts (an alias's reply addresses) and blocks */
	[SQL_REPLY_LIST] = "SELECT token, alias, sender, created FROM replies "
	    "WHERE alias = ? ORDER BY created, token",
	[SQL_BLOCK_FIND] = "SELECT id, alias, pattern, created FROM blocks "
	    "WHERE alias = ? AND pattern = ?",
	[SQL_BLOCK_INSERT] = "INSERT INTO blocks (alias, pattern, created) "
	    "VALUES (?, ?, ?)",
	[SQL_BLOCK_LIST] = "SELECT id, alias, pattern, created FROM blocks "
	    "WHERE alias = ? ORDER BY id",
	[SQL_BLOCK_DELETE] = "DELETE FROM blocks WHERE id = ? AND alias = ?",
	/* (alias, sender, "@" domain) */
	[SQL_BLOCK_MATCH] = "SELECT id FROM blocks WHERE alias = ? AND "
	    "pattern IN (?, ?) ORDER BY id LIMIT 1",
	[SQL_PURGE_BLOCKS] = "DELETE FROM blocks WHERE id IN (SELECT "
	    "b.id FROM blocks b JOIN aliases a ON a.token = b.alias "
	    "WHERE " SQL_ALIAS_GONE " LIMIT ?)",
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

/* sql_text - the text of statement id for driver d (or of its own) */
const char *
sql_text(const struct sql_driver *d, int id)
{
	if (id >= SQL_NSTMT)
		return (d->own[id - SQL_NSTMT]);
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
void
sql_start(struct sql *s, enum sql_stmt id, const struct sql_arg *a, size_t n)
{
	s->ncol = 0;
	s->d->start(s, id, a, n);
}

/* sql_col - where the next result column goes: C_I64 an int64_t, C_INT an
 * int (or enum), C_STR a char[size] (NUL-terminated, cut), C_BIN size
 * bytes and their count in *lenp, C_NEW a new NUL-terminated copy into
 * the pointer at dst, its length in *lenp */
void
sql_col(struct sql *s, enum sql_kind kind, void *dst, size_t size,
    size_t *lenp)
{
	struct sql_col *c = &s->col[s->ncol++];

	c->kind = kind;
	c->dst = dst;
	c->size = size;
	c->lenp = lenp;
}

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
enum store_status
sql_run(struct sql *s)
{
	enum store_status r = s->d->step(s);

	s->d->done(s);
	return (r == STORE_NOTFOUND ? STORE_OK : r);
}

/* sql_row - one row into the declared columns: OK, NOTFOUND or failure */
enum store_status
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
enum store_status
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

/* sql_exec - run statement id (one of the driver's own) without
 * parameters or rows */
enum store_status
sql_exec(struct sql *s, int id)
{
	s->d->start(s, (enum sql_stmt)id, NULL, 0);
	return (sql_run(s));
}

/* sql_matched - after an update r of one row: NOTFOUND if none matched */
enum store_status
sql_matched(struct sql *s, enum store_status r)
{
	return (r == STORE_OK && s->changes == 0 ? STORE_NOTFOUND : r);
}

/* sql_again - after a failed try: is another worth it */
int
sql_again(struct sql *s, enum store_status r)
{
	return (r == STORE_EXISTS || (r == STORE_TEMP && s->conflict));
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

/* sql_file - the store's file, or NULL */
static const char *
sql_file(const char *uri)
{
	const struct sql_engine *e = sql_engine(uri);

	return (e != NULL && e->d->file != NULL ? e->d->file(uri) : NULL);
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

#define SQL_BACKEND(scheme) {						\
	.name = scheme, .open = sql_open, .close = sql_close,		\
	.batch_begin = sql_batch_begin, .batch_end = sql_batch_end,	\
	.mark = sql_mark, .migrate = sql_migrate, .ping = sql_ping,	\
	.caps = sql_caps, .file = sql_file,			\
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
	.apikey_create = sql_apikey_create, .apikey_list = sql_apikey_list, \
	.apikey_revoke = sql_apikey_revoke,				\
	.apikey_find_by_hash = sql_apikey_find_by_hash,		\
	.apikey_touch = sql_apikey_touch,				\
	.reply_list = sql_reply_list, .block_add = sql_block_add,	\
	.block_list = sql_block_list, .block_remove = sql_block_remove,	\
	.block_match = sql_block_match,					\
}

const struct store_backend store_sqlite_backend = SQL_BACKEND("sqlite");
const struct store_backend store_mysql_backend = SQL_BACKEND("mysql");
