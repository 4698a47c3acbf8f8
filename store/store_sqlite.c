/*
 * store_sqlite.c - the SQLite store backend (the embedded default)
 *
 * URI: sqlite:/path/file.db (sqlite:///path/file.db is accepted too).
 * Several processes (postmapd, milter, dash, bipostalctl) open the same
 * file at once: the database runs in WAL mode, every connection waits up
 * to SQLITE_BUSY_MS for a lock, and every read-modify-write runs in a
 * BEGIN IMMEDIATE transaction, so writers queue instead of failing half
 * way.  Statements are prepared once, at open, and reset after each use so
 * that no read transaction stays open between calls.
 *
 * A database file that is not there yet is made mode 0600 (it holds
 * password hashes and TOTP secrets), whatever the umask; SQLite gives the
 * -wal and -shm files the mode of the database file.  Whoever makes it
 * owns it: run "bipostalctl migrate" as daemon_user.  An existing file
 * keeps its mode.
 *
 * Schema: the migrations in sql/sqlite/NNN_*.sql are compiled in (see
 * sql/local.mk); open applies those the file has not seen yet, each in
 * one transaction recorded in the schema_version table.
 *
 * Failures: busy, locked, I/O, cannot open, disk full and out of memory
 * are STORE_TEMP; anything else SQLite reports (no such table, corrupt,
 * read-only, misuse) is STORE_PERM.  Each failure is logged once, here.
 * STORE_NOTFOUND is answered only when a query ran and found no row.
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
 * Ownership: arrays returned by the *_list and *_read calls are new
 * (free(), or qmsgs_free / blob_free for their data).
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "util.h"

#define SQLITE_BUSY_MS	5000

struct sq_migration {
	int		 version;
	const char	*name;
	const char	*sql;
};

static const struct sq_migration sq_migrations[] = {
#include "sql/sqlite_migrations.h"
};
#define SQ_NMIGRATIONS	(sizeof(sq_migrations) / sizeof(sq_migrations[0]))

#define USER_COLS	"u.id, u.queue_id, u.email, u.pwhash, u.totp, u.status, " \
			"u.is_admin, u.node_id, u.disabled_action, " \
			"u.content_policy, u.created"
#define ALIAS_COLS	"token, user_id, origin, status, created, updated, " \
			"deleted_at, expires_at, context, forwarded, blocked, " \
			"replied, last_seen"
#define NODE_COLS	"id, host, port, capacity, current_load, available, " \
			"downed, draining"
#define NODE_PICKABLE	"downed = 0 AND draining = 0 AND current_load < capacity"

enum sq_stmt {
	SQ_BEGIN, SQ_COMMIT, SQ_ROLLBACK, SQ_SAVEPOINT, SQ_RELEASE,
	SQ_ROLLBACK_TO, SQ_PING, SQ_DATA_VERSION,
	SQ_USER_INSERT, SQ_IDENT_INSERT, SQ_USER_GET, SQ_USER_BY_IDENT,
	SQ_USER_BY_QID, SQ_USER_UPDATE, SQ_USER_LIST, SQ_USER_NODE,
	SQ_USER_SET_NODE,
	SQ_ALIAS_LIVE, SQ_ALIAS_INSERT, SQ_ALIAS_GET, SQ_ALIAS_ROUTE,
	SQ_ALIAS_LIST, SQ_ALIAS_STATUS, SQ_ALIAS_SET_STATUS,
	SQ_ALIAS_SET_CONTEXT, SQ_ALIAS_SET_EXPIRY, SQ_ALIAS_COUNT_FORWARDED,
	SQ_ALIAS_COUNT_BLOCKED, SQ_ALIAS_COUNT_REPLIED,
	SQ_REPLY_FIND, SQ_REPLY_INSERT, SQ_REPLY_GET,
	SQ_QUEUE_NEXT, SQ_QUEUE_INSERT, SQ_QUEUE_READ, SQ_QUEUE_FIRST,
	SQ_BLOB_INSERT, SQ_BLOB_GET,
	SQ_NODE_INSERT, SQ_NODE_UPDATE, SQ_NODE_LIST, SQ_NODE_GET,
	SQ_NODE_PICK, SQ_NODE_RELEASE, SQ_NODE_TAKE, SQ_NODE_DROP,
	SQ_EVENT_INSERT, SQ_EVENT_READ,
	SQ_PURGE_REPLIES, SQ_PURGE_ALIASES, SQ_PURGE_QUEUE, SQ_PURGE_BLOBS,
	SQ_PURGE_EVENTS, SQ_PURGE_RATES,
	SQ_USAGE_BLOBS, SQ_USAGE_QUEUE, SQ_USAGE_REPLIES, SQ_RATE_HIT,
	SQ_RATE_GET,
	SQ_NSTMT
};

static const char *const sq_sql[SQ_NSTMT] = {
	[SQ_BEGIN] = "BEGIN IMMEDIATE",
	[SQ_COMMIT] = "COMMIT",
	[SQ_ROLLBACK] = "ROLLBACK",
	[SQ_SAVEPOINT] = "SAVEPOINT one",
	[SQ_RELEASE] = "RELEASE one",
	[SQ_ROLLBACK_TO] = "ROLLBACK TO one",
	[SQ_PING] = "SELECT count(*) FROM schema_version",
	[SQ_DATA_VERSION] = "PRAGMA data_version",

	[SQ_USER_INSERT] = "INSERT INTO users (queue_id, email, pwhash, "
	    "created) VALUES (?, ?, ?, ?)",
	[SQ_IDENT_INSERT] = "INSERT INTO identities (ident, user_id) "
	    "VALUES (?, ?)",
	[SQ_USER_GET] = "SELECT " USER_COLS " FROM users u WHERE u.id = ?",
	[SQ_USER_BY_IDENT] = "SELECT " USER_COLS " FROM identities i "
	    "JOIN users u ON u.id = i.user_id WHERE i.ident = ?",
	[SQ_USER_BY_QID] = "SELECT " USER_COLS " FROM users u "
	    "WHERE u.queue_id = ?",
	[SQ_USER_UPDATE] = "UPDATE users SET email = ?, pwhash = ?, totp = ?, "
	    "status = ?, is_admin = ?, disabled_action = ?, content_policy = ? "
	    "WHERE id = ?",
	[SQ_USER_LIST] = "SELECT " USER_COLS " FROM users u ORDER BY u.id",
	[SQ_USER_NODE] = "SELECT node_id FROM users WHERE id = ?",
	[SQ_USER_SET_NODE] = "UPDATE users SET node_id = ? WHERE id = ?",

	[SQ_ALIAS_LIVE] = "SELECT " ALIAS_COLS " FROM aliases "
	    "WHERE user_id = ? AND origin = ? AND status != 2",
	[SQ_ALIAS_INSERT] = "INSERT INTO aliases (token, user_id, origin, "
	    "status, created, updated, expires_at) VALUES (?, ?, ?, 0, ?, ?, ?)",
	[SQ_ALIAS_GET] = "SELECT " ALIAS_COLS " FROM aliases WHERE token = ?",
	[SQ_ALIAS_ROUTE] = "SELECT a.status, a.expires_at, a.user_id, "
	    "u.status, u.disabled_action, u.content_policy, u.email, a.origin "
	    "FROM aliases a JOIN users u ON u.id = a.user_id "
	    "WHERE a.token = ?",
	[SQ_ALIAS_LIST] = "SELECT " ALIAS_COLS " FROM aliases "
	    "WHERE user_id = ? AND status != 2 ORDER BY created, token",
	[SQ_ALIAS_STATUS] = "SELECT status FROM aliases WHERE token = ?",
	[SQ_ALIAS_SET_STATUS] = "UPDATE aliases SET status = ?1, updated = ?2, "
	    "deleted_at = CASE WHEN ?1 = 2 THEN ?2 ELSE 0 END "
	    "WHERE token = ?3 AND status != 2",
	[SQ_ALIAS_SET_CONTEXT] = "UPDATE aliases SET context = ?, updated = ? "
	    "WHERE token = ? AND status != 2",
	[SQ_ALIAS_SET_EXPIRY] = "UPDATE aliases SET expires_at = ?, "
	    "updated = ? WHERE token = ? AND status != 2",
	[SQ_ALIAS_COUNT_FORWARDED] = "UPDATE aliases SET forwarded = "
	    "forwarded + 1, last_seen = ? WHERE token = ?",
	[SQ_ALIAS_COUNT_BLOCKED] = "UPDATE aliases SET blocked = "
	    "blocked + 1, last_seen = ? WHERE token = ?",
	[SQ_ALIAS_COUNT_REPLIED] = "UPDATE aliases SET replied = "
	    "replied + 1, last_seen = ? WHERE token = ?",

	[SQ_REPLY_FIND] = "SELECT token, alias, sender, created FROM replies "
	    "WHERE alias = ? AND sender = ?",
	[SQ_REPLY_INSERT] = "INSERT INTO replies (token, alias, sender, "
	    "created) VALUES (?, ?, ?, ?)",
	[SQ_REPLY_GET] = "SELECT token, alias, sender, created FROM replies "
	    "WHERE token = ?",

	[SQ_QUEUE_NEXT] = "UPDATE users SET queue_idx = queue_idx + 1 "
	    "WHERE id = ? RETURNING queue_idx",
	[SQ_QUEUE_INSERT] = "INSERT INTO queue (user_id, idx, expires_at, "
	    "data) VALUES (?, ?, ?, ?)",
	[SQ_QUEUE_READ] = "SELECT idx, expires_at, data FROM queue "
	    "WHERE user_id = ? AND idx >= ? AND expires_at > ? "
	    "ORDER BY idx LIMIT ?",
	[SQ_QUEUE_FIRST] = "SELECT min(idx) FROM queue "
	    "WHERE user_id = ? AND expires_at > ?",

	[SQ_BLOB_INSERT] = "INSERT INTO blobs (id, user_id, alias, name, "
	    "type, size, data, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[SQ_BLOB_GET] = "SELECT id, user_id, alias, name, type, expires_at, "
	    "data FROM blobs WHERE id = ? AND expires_at > ?",

	[SQ_NODE_INSERT] = "INSERT INTO nodes (host, port, capacity) "
	    "VALUES (?, ?, ?)",
	[SQ_NODE_UPDATE] = "UPDATE nodes SET host = ?, port = ?, "
	    "capacity = ?, available = ?, downed = ?, draining = ? "
	    "WHERE id = ?",
	[SQ_NODE_LIST] = "SELECT " NODE_COLS " FROM nodes ORDER BY id",
	[SQ_NODE_GET] = "SELECT " NODE_COLS " FROM nodes WHERE id = ?",
	[SQ_NODE_PICK] = "SELECT " NODE_COLS " FROM nodes WHERE "
	    NODE_PICKABLE " AND available > 0 "
	    "ORDER BY capacity - current_load DESC, id LIMIT 1",
	[SQ_NODE_RELEASE] = "UPDATE nodes SET available = "
	    "min(capacity - current_load, max(1, capacity / 10)) WHERE "
	    NODE_PICKABLE " AND available <= 0",
	[SQ_NODE_TAKE] = "UPDATE nodes SET current_load = current_load + 1, "
	    "available = max(available - 1, 0) WHERE id = ?",
	[SQ_NODE_DROP] = "UPDATE nodes SET current_load = "
	    "max(current_load - 1, 0) WHERE id = ?",

	[SQ_EVENT_INSERT] = "INSERT INTO events (user_id, type, data, "
	    "created) VALUES (?, ?, ?, ?)",
	[SQ_EVENT_READ] = "SELECT id, user_id, type, data, created FROM events "
	    "WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?",

	[SQ_PURGE_REPLIES] = "DELETE FROM replies WHERE alias IN (SELECT token "
	    "FROM aliases WHERE status = 2 AND deleted_at <= ?)",
	[SQ_PURGE_ALIASES] = "DELETE FROM aliases WHERE status = 2 "
	    "AND deleted_at <= ?",
	[SQ_PURGE_QUEUE] = "DELETE FROM queue WHERE expires_at <= ?",
	[SQ_PURGE_BLOBS] = "DELETE FROM blobs WHERE expires_at <= ?",
	[SQ_PURGE_EVENTS] = "DELETE FROM events WHERE created <= ?",
	[SQ_PURGE_RATES] = "DELETE FROM rate_limits WHERE start <= ?",

	[SQ_USAGE_BLOBS] = "SELECT coalesce(sum(size), 0) FROM blobs "
	    "WHERE user_id = ? AND expires_at > ?",
	[SQ_USAGE_QUEUE] = "SELECT count(*) FROM queue "
	    "WHERE user_id = ? AND expires_at > ?",
	[SQ_USAGE_REPLIES] = "SELECT count(*) FROM aliases a "
	    "JOIN replies r ON r.alias = a.token WHERE a.user_id = ?",
	[SQ_RATE_HIT] = "INSERT INTO rate_limits (key, start, count) "
	    "VALUES (?1, ?2, ?4) ON CONFLICT(key) DO UPDATE SET "
	    "count = CASE WHEN start + ?3 <= ?2 THEN ?4 ELSE count + ?4 END, "
	    "start = CASE WHEN start + ?3 <= ?2 THEN ?2 ELSE start END "
	    "RETURNING count, start",
	[SQ_RATE_GET] = "SELECT count, start FROM rate_limits WHERE key = ?",
};

struct store_sqlite {
	struct store	 base;		/* first: &s->base is the store */
	sqlite3		*db;
	char		*path;
	sqlite3_stmt	*st[SQ_NSTMT];
	int		 sp;		/* savepoints open inside a batch */
};

#define SQ(store)	((struct store_sqlite *)(store))

/* sq_map - the store status for an SQLite result code */
static enum store_status
sq_map(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return (STORE_OK);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_FULL:
	case SQLITE_NOMEM:
	case SQLITE_INTERRUPT:
	case SQLITE_PROTOCOL:
		return (STORE_TEMP);
	case SQLITE_CONSTRAINT:
		return (STORE_EXISTS);
	default:
		return (STORE_PERM);
	}
}

/* sq_fail - log one failed call and map it; constraint errors are the
 * caller's business and are not logged */
static enum store_status
sq_fail(struct store_sqlite *s, int rc, const char *what)
{
	enum store_status st = sq_map(rc);

	if (st != STORE_EXISTS)
		log_error("sqlite %s: %s: %s (%d)", s->path, what,
		    sqlite3_errmsg(s->db), rc);
	return (st);
}

/* sq_stmt - a prepared statement, reset and unbound, ready for binds */
static sqlite3_stmt *
sq_stmt(struct store_sqlite *s, enum sq_stmt id)
{
	sqlite3_stmt *st = s->st[id];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return (st);
}

/* sq_run - step a statement that returns no row to completion */
static enum store_status
sq_run(struct store_sqlite *s, sqlite3_stmt *st, const char *what)
{
	int	rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return (sq_fail(s, rc, what));
	return (STORE_OK);
}

/* sq_row - step once: STORE_OK with a row, NOTFOUND without, or failure.
 * The caller reads the row and calls sqlite3_reset. */
static enum store_status
sq_row(struct store_sqlite *s, sqlite3_stmt *st, const char *what)
{
	int	rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return (STORE_OK);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return (STORE_NOTFOUND);
	return (sq_fail(s, rc, what));
}

/* sq_begin - BEGIN IMMEDIATE: take the write lock now, waiting if busy;
 * inside a batch (a transaction already open), a savepoint instead */
static enum store_status
sq_begin(struct store_sqlite *s)
{
	enum store_status r;

	if (sqlite3_get_autocommit(s->db) != 0)
		return (sq_run(s, sq_stmt(s, SQ_BEGIN), "begin"));
	if ((r = sq_run(s, sq_stmt(s, SQ_SAVEPOINT), "savepoint")) ==
	    STORE_OK)
		s->sp++;
	return (r);
}

/* sq_end - commit if r is STORE_OK, else roll back; returns the outcome.
 * For a savepoint: release it, or undo what it covers. */
static enum store_status
sq_end(struct store_sqlite *s, enum store_status r)
{
	enum store_status c;

	if (s->sp > 0) {
		s->sp--;
		if (sqlite3_get_autocommit(s->db) != 0) {
			s->sp = 0;	/* an error ended the whole batch */
			return (r == STORE_OK ? STORE_TEMP : r);
		}
		if (r == STORE_OK) {
			c = sq_run(s, sq_stmt(s, SQ_RELEASE), "release");
			if (c == STORE_OK)
				return (STORE_OK);
			r = c == STORE_EXISTS ? STORE_TEMP : c;
		}
		(void)sq_run(s, sq_stmt(s, SQ_ROLLBACK_TO), "rollback to");
		(void)sq_run(s, sq_stmt(s, SQ_RELEASE), "release");
		return (r);
	}
	if (r == STORE_OK) {
		c = sq_run(s, sq_stmt(s, SQ_COMMIT), "commit");
		if (c == STORE_OK)
			return (STORE_OK);
		r = c == STORE_EXISTS ? STORE_TEMP : c;
	}
	if (sqlite3_get_autocommit(s->db) == 0)
		(void)sq_run(s, sq_stmt(s, SQ_ROLLBACK), "rollback");
	return (r);
}

/* sq_text - copy a text column into a fixed-size field */
static void
sq_text(sqlite3_stmt *st, int col, char *buf, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	bp_strlcpy(buf, t != NULL ? (const char *)t : "", size);
}

/* sq_user_row - read USER_COLS */
static void
sq_user_row(sqlite3_stmt *st, struct user *u)
{
	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(st, 0);
	sq_text(st, 1, u->queue_id, sizeof(u->queue_id));
	sq_text(st, 2, u->email, sizeof(u->email));
	sq_text(st, 3, u->pwhash, sizeof(u->pwhash));
	sq_text(st, 4, u->totp, sizeof(u->totp));
	u->status = (enum user_state)sqlite3_column_int(st, 5);
	u->is_admin = sqlite3_column_int(st, 6);
	u->node_id = sqlite3_column_int64(st, 7);
	u->disabled_action = (enum disabled_action)sqlite3_column_int(st, 8);
	u->content_policy = (enum content_policy)sqlite3_column_int(st, 9);
	u->created = sqlite3_column_int64(st, 10);
}

/* sq_alias_row - read ALIAS_COLS */
static void
sq_alias_row(sqlite3_stmt *st, struct alias *a)
{
	const void *ctx;
	int	len;

	memset(a, 0, sizeof(*a));
	sq_text(st, 0, a->token, sizeof(a->token));
	a->user_id = sqlite3_column_int64(st, 1);
	sq_text(st, 2, a->origin, sizeof(a->origin));
	a->status = (enum alias_state)sqlite3_column_int(st, 3);
	a->created = sqlite3_column_int64(st, 4);
	a->updated = sqlite3_column_int64(st, 5);
	a->deleted_at = sqlite3_column_int64(st, 6);
	a->expires_at = sqlite3_column_int64(st, 7);
	ctx = sqlite3_column_blob(st, 8);
	len = sqlite3_column_bytes(st, 8);
	if (ctx != NULL && len > 0) {
		a->context_len = (size_t)len > CONTEXT_MAX ? CONTEXT_MAX :
		    (size_t)len;
		memcpy(a->context, ctx, a->context_len);
	}
	a->forwarded = sqlite3_column_int64(st, 9);
	a->blocked = sqlite3_column_int64(st, 10);
	a->replied = sqlite3_column_int64(st, 11);
	a->last_seen = sqlite3_column_int64(st, 12);
}

/* sq_node_row - read NODE_COLS */
static void
sq_node_row(sqlite3_stmt *st, struct node *n)
{
	memset(n, 0, sizeof(*n));
	n->id = sqlite3_column_int64(st, 0);
	sq_text(st, 1, n->host, sizeof(n->host));
	n->port = sqlite3_column_int(st, 2);
	n->capacity = sqlite3_column_int(st, 3);
	n->load = sqlite3_column_int(st, 4);
	n->available = sqlite3_column_int(st, 5);
	n->downed = sqlite3_column_int(st, 6);
	n->draining = sqlite3_column_int(st, 7);
}

/* sq_reply_row - read token, alias, sender, created */
static void
sq_reply_row(sqlite3_stmt *st, struct reply *r)
{
	memset(r, 0, sizeof(*r));
	sq_text(st, 0, r->token, sizeof(r->token));
	sq_text(st, 1, r->alias, sizeof(r->alias));
	sq_text(st, 2, r->sender, sizeof(r->sender));
	r->created = sqlite3_column_int64(st, 3);
}

/* sq_exec_script - run one migration's text */
static int
sq_exec_script(sqlite3 *db, const char *sql, char **err)
{
	return (sqlite3_exec(db, sql, NULL, NULL, err));
}

/* sq_version - the schema version recorded in the file (0 = none) */
static int
sq_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *st;
	int	rc;

	*version = 0;
	rc = sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) "
	    "FROM schema_version", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		/* no such table: a new file */
		if (strstr(sqlite3_errmsg(db), "no such table") != NULL)
			return (SQLITE_OK);
		return (rc);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*version = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return (rc);
}

/* sq_migrate_db - apply the compiled-in migrations the file lacks */
static enum store_status
sq_migrate_db(sqlite3 *db, const char *path)
{
	sqlite3_stmt *ins = NULL;
	char	*err = NULL;
	size_t	 i;
	int	 rc, version;

	if ((rc = sq_version(db, &version)) != SQLITE_OK)
		goto fail;
	if (version >= sq_migrations[SQ_NMIGRATIONS - 1].version) {
		if (version > sq_migrations[SQ_NMIGRATIONS - 1].version)
			log_warn("sqlite %s: schema version %d is newer than "
			    "this program's %d", path, version,
			    sq_migrations[SQ_NMIGRATIONS - 1].version);
		return (STORE_OK);
	}

	/* Take the write lock, then look again: another process may have
	 * migrated while we waited. */
	if ((rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &err))
	    != SQLITE_OK)
		goto fail;
	if ((rc = sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS schema_version "
	    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
	    "applied INTEGER NOT NULL)", NULL, NULL, &err)) != SQLITE_OK)
		goto rollback;
	if ((rc = sq_version(db, &version)) != SQLITE_OK)
		goto rollback;
	if ((rc = sqlite3_prepare_v2(db, "INSERT INTO schema_version "
	    "(version, name, applied) VALUES (?, ?, ?)", -1, &ins, NULL))
	    != SQLITE_OK)
		goto rollback;
	for (i = 0; i < SQ_NMIGRATIONS; i++) {
		if (sq_migrations[i].version <= version)
			continue;
		if ((rc = sq_exec_script(db, sq_migrations[i].sql, &err))
		    != SQLITE_OK) {
			log_error("sqlite %s: migration %s: %s", path,
			    sq_migrations[i].name, err ? err : "?");
			goto rollback;
		}
		sqlite3_reset(ins);
		sqlite3_bind_int(ins, 1, sq_migrations[i].version);
		sqlite3_bind_text(ins, 2, sq_migrations[i].name, -1,
		    SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, bp_now());
		if ((rc = sqlite3_step(ins)) != SQLITE_DONE)
			goto rollback;
		log_info("sqlite %s: schema migrated to version %d (%s)",
		    path, sq_migrations[i].version, sq_migrations[i].name);
	}
	sqlite3_finalize(ins);
	ins = NULL;
	if ((rc = sqlite3_exec(db, "COMMIT", NULL, NULL, &err)) != SQLITE_OK)
		goto rollback;
	return (STORE_OK);

rollback:
	sqlite3_finalize(ins);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
fail:
	log_error("sqlite %s: migrate: %s", path,
	    err != NULL ? err : sqlite3_errmsg(db));
	sqlite3_free(err);
	return (sq_map(rc) == STORE_EXISTS ? STORE_PERM : sq_map(rc));
}

/* sq_close - finalize the statements and close the file */
static void
sq_close(struct store *st)
{
	struct store_sqlite *s = SQ(st);
	int	i;

	if (s == NULL)
		return;
	for (i = 0; i < SQ_NSTMT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

/*
 * sq_wal - switch the file to WAL.  When several processes open a fresh
 * file at once, the switch can answer BUSY at once, without the busy
 * handler, so wait and retry for up to SQLITE_BUSY_MS.
 */
static int
sq_wal(sqlite3 *db)
{
	int	rc, waited;

	for (waited = 0;; waited += 10) {
		rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL,
		    NULL);
		if (((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) !=
		    SQLITE_LOCKED) || waited >= SQLITE_BUSY_MS)
			return (rc);
		sqlite3_sleep(10);
	}
}

/* sq_create_private - make path, when it is not there yet, an empty file
 * of mode 0600: it will hold password hashes and TOTP secrets, and SQLite
 * gives its -wal and -shm files the same mode.  Any error is left for
 * sqlite3_open_v2 to report. */
static void
sq_create_private(const char *path)
{
	int	fd;

	if (strcmp(path, ":memory:") == 0)
		return;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd >= 0)
		close(fd);
}

/* sq_open - open (creating if needed) and migrate the database file */
static struct store *
sq_open(const char *uri, enum store_status *status, const char **why)
{
	struct store_sqlite *s;
	const char *path;
	int	rc, i;

	if (strncmp(uri, "sqlite:", 7) != 0) {
		*status = STORE_PERM;
		*why = "not a sqlite: URI";
		return (NULL);
	}
	path = uri + 7;
	if (strncmp(path, "//", 2) == 0)
		path += 2;
	if (*path == '\0') {
		*status = STORE_PERM;
		*why = "sqlite: URI without a file name";
		return (NULL);
	}
	s = xcalloc(1, sizeof(*s));
	s->base.be = &store_sqlite_backend;
	s->path = xstrdup(path);
	sq_create_private(path);
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_error("sqlite %s: open: %s", path, s->db != NULL ?
		    sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		*status = sq_map(rc);
		*why = "cannot open the database file";
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, SQLITE_BUSY_MS);
	if ((rc = sq_wal(s->db)) != SQLITE_OK) {
		*status = sq_fail(s, rc, "journal_mode");
		*why = "cannot switch the database to WAL mode";
		goto fail;
	}
	if ((*status = sq_migrate_db(s->db, path)) != STORE_OK) {
		*why = "cannot create or upgrade the tables";
		goto fail;
	}
	for (i = 0; i < SQ_NSTMT; i++) {
		rc = sqlite3_prepare_v3(s->db, sq_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
		if (rc != SQLITE_OK) {
			*status = sq_fail(s, rc, sq_sql[i]);
			if (*status == STORE_EXISTS)
				*status = STORE_PERM;
			*why = "cannot prepare statements (schema mismatch?)";
			goto fail;
		}
	}
	*status = STORE_OK;
	return (&s->base);

fail:
	sq_close(&s->base);
	return (NULL);
}

/* sq_migrate - migrations run at open; check the file again */
static enum store_status
sq_migrate(struct store *st)
{
	struct store_sqlite *s = SQ(st);

	return (sq_migrate_db(s->db, s->path));
}

/* sq_ping - one cheap query */
static enum store_status
sq_ping(struct store *st)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_PING);
	enum store_status r;

	if ((r = sq_row(s, q, "ping")) == STORE_OK)
		sqlite3_reset(q);
	return (r == STORE_NOTFOUND ? STORE_PERM : r);
}

/* sq_user_create_tx - insert the user and its first identity */
static enum store_status
sq_user_create_tx(struct store_sqlite *s, const char *email,
    const char *pwhash, const char *queue_id, int64_t now, struct user *u)
{
	sqlite3_stmt *q;
	enum store_status r;
	char	ident[EMAIL_MAX + 1];

	q = sq_stmt(s, SQ_USER_INSERT);
	sqlite3_bind_text(q, 1, queue_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, email, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, pwhash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, now);
	if ((r = sq_run(s, q, "user insert")) != STORE_OK)
		return (r == STORE_EXISTS ? STORE_TEMP : r);	/* queue_id */
	memset(u, 0, sizeof(*u));
	u->id = sqlite3_last_insert_rowid(s->db);
	bp_strlcpy(u->queue_id, queue_id, sizeof(u->queue_id));
	bp_strlcpy(u->email, email, sizeof(u->email));
	bp_strlcpy(u->pwhash, pwhash, sizeof(u->pwhash));
	u->status = USER_ACTIVE;
	u->created = now;

	bp_strlcpy(ident, email, sizeof(ident));
	bp_lower(ident);
	q = sq_stmt(s, SQ_IDENT_INSERT);
	sqlite3_bind_text(q, 1, ident, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, u->id);
	return (sq_run(s, q, "identity insert"));
}

/* sq_user_create - a new user whose email is its first identity */
static enum store_status
sq_user_create(struct store *st, const char *email, const char *pwhash,
    const char *queue_id, int64_t now, struct user *u)
{
	struct store_sqlite *s = SQ(st);
	enum store_status r;

	if ((r = sq_begin(s)) != STORE_OK)
		return (r);
	return (sq_end(s, sq_user_create_tx(s, email, pwhash, queue_id, now,
	    u)));
}

/* sq_user_query - one user by a statement with one bound key */
static enum store_status
sq_user_query(struct store_sqlite *s, sqlite3_stmt *q, struct user *u,
    const char *what)
{
	enum store_status r;

	if ((r = sq_row(s, q, what)) == STORE_OK) {
		sq_user_row(q, u);
		sqlite3_reset(q);
	}
	return (r);
}

/* sq_user_get - by id */
static enum store_status
sq_user_get(struct store *st, int64_t id, struct user *u)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_USER_GET);

	sqlite3_bind_int64(q, 1, id);
	return (sq_user_query(s, q, u, "user get"));
}

/* sq_user_by_identity - by login identity (already folded) */
static enum store_status
sq_user_by_identity(struct store *st, const char *ident, struct user *u)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_USER_BY_IDENT);

	sqlite3_bind_text(q, 1, ident, -1, SQLITE_STATIC);
	return (sq_user_query(s, q, u, "user by identity"));
}

/* sq_user_by_queue_id - by public queue id */
static enum store_status
sq_user_by_queue_id(struct store *st, const char *qid, struct user *u)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_USER_BY_QID);

	sqlite3_bind_text(q, 1, qid, -1, SQLITE_STATIC);
	return (sq_user_query(s, q, u, "user by queue id"));
}

/* sq_identity_add - one more login name for an existing user */
static enum store_status
sq_identity_add(struct store *st, int64_t user_id, const char *ident)
{
	struct store_sqlite *s = SQ(st);
	struct user u;
	sqlite3_stmt *q;
	enum store_status r;

	if ((r = sq_user_get(st, user_id, &u)) != STORE_OK)
		return (r);
	q = sq_stmt(s, SQ_IDENT_INSERT);
	sqlite3_bind_text(q, 1, ident, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, user_id);
	return (sq_run(s, q, "identity insert"));
}

/* sq_user_update - the settable fields of u, by u->id */
static enum store_status
sq_user_update(struct store *st, const struct user *u)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_USER_UPDATE);
	enum store_status r;

	sqlite3_bind_text(q, 1, u->email, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, u->pwhash, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, u->totp, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 4, (int)u->status);
	sqlite3_bind_int(q, 5, u->is_admin ? 1 : 0);
	sqlite3_bind_int(q, 6, (int)u->disabled_action);
	sqlite3_bind_int(q, 7, (int)u->content_policy);
	sqlite3_bind_int64(q, 8, u->id);
	if ((r = sq_run(s, q, "user update")) != STORE_OK)
		return (r);
	return (sqlite3_changes(s->db) > 0 ? STORE_OK : STORE_NOTFOUND);
}

/* sq_user_list - every user, by id */
static enum store_status
sq_user_list(struct store *st, struct user **out, size_t *n)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_USER_LIST);
	struct user *v = NULL;
	size_t	 len = 0, cap = 0;
	int	 rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		sq_user_row(q, &v[len++]);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		free(v);
		return (sq_fail(s, rc, "user list"));
	}
	*out = v;
	*n = len;
	return (STORE_OK);
}

/* sq_alias_live - the user's live alias for origin, if any */
static enum store_status
sq_alias_live(struct store_sqlite *s, int64_t user_id, const char *origin,
    struct alias *a)
{
	sqlite3_stmt *q = sq_stmt(s, SQ_ALIAS_LIVE);
	enum store_status r;

	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_text(q, 2, origin, -1, SQLITE_STATIC);
	if ((r = sq_row(s, q, "alias live")) == STORE_OK) {
		sq_alias_row(q, a);
		sqlite3_reset(q);
	}
	return (r);
}

/* sq_alias_set - status change without the "not deleted" guard's check */
static enum store_status
sq_alias_status_write(struct store_sqlite *s, const char *token,
    enum alias_state state, int64_t now)
{
	sqlite3_stmt *q = sq_stmt(s, SQ_ALIAS_SET_STATUS);

	sqlite3_bind_int(q, 1, (int)state);
	sqlite3_bind_int64(q, 2, now);
	sqlite3_bind_text(q, 3, token, -1, SQLITE_STATIC);
	return (sq_run(s, q, "alias set status"));
}

/* sq_alias_create_tx - find, revive or insert, under the write lock */
static enum store_status
sq_alias_create_tx(struct store_sqlite *s, int64_t user_id,
    const char *origin, const char *fresh, int64_t expires_at, int64_t now,
    struct alias *a, int *created)
{
	struct user u;
	sqlite3_stmt *q;
	enum store_status r;

	*created = 0;
	r = sq_alias_live(s, user_id, origin, a);
	if (r == STORE_OK && a->expires_at != 0 && a->expires_at <= now) {
		/* expired: it dies for good and a new one is made */
		if ((r = sq_alias_status_write(s, a->token, ALIAS_DELETED,
		    now)) != STORE_OK)
			return (r);
		r = STORE_NOTFOUND;
	}
	if (r == STORE_OK) {
		if (a->status == ALIAS_INACTIVE) {
			if ((r = sq_alias_status_write(s, a->token,
			    ALIAS_ACTIVE, now)) != STORE_OK)
				return (r);
			a->status = ALIAS_ACTIVE;
			a->updated = now;
		}
		return (STORE_OK);
	}
	if (r != STORE_NOTFOUND)
		return (r);

	if ((r = sq_user_get(&s->base, user_id, &u)) != STORE_OK)
		return (r);
	q = sq_stmt(s, SQ_ALIAS_INSERT);
	sqlite3_bind_text(q, 1, fresh, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, user_id);
	sqlite3_bind_text(q, 3, origin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, now);
	sqlite3_bind_int64(q, 5, now);
	sqlite3_bind_int64(q, 6, expires_at);
	if ((r = sq_run(s, q, "alias insert")) != STORE_OK)
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

/* sq_alias_create - the user's live alias for origin, or a new one.  Under
 * BEGIN IMMEDIATE no other writer runs between the look and the insert;
 * a unique-index conflict all the same (token collision) is answered by
 * looking again once. */
static enum store_status
sq_alias_create(struct store *st, int64_t user_id, const char *origin,
    const char *fresh, int64_t expires_at, int64_t now, struct alias *a,
    int *created)
{
	struct store_sqlite *s = SQ(st);
	enum store_status r;
	int	try;

	for (try = 0; try < 2; try++) {
		if ((r = sq_begin(s)) != STORE_OK)
			return (r);
		r = sq_end(s, sq_alias_create_tx(s, user_id, origin, fresh,
		    expires_at, now, a, created));
		if (r != STORE_EXISTS)
			return (r);
	}
	return (STORE_TEMP);
}

/* sq_batch_begin - one transaction for the calls up to sq_batch_end;
 * theirs become savepoints in it (sq_begin) */
static enum store_status
sq_batch_begin(struct store *st)
{
	struct store_sqlite *s = SQ(st);

	if (sqlite3_get_autocommit(s->db) == 0)
		return (STORE_PERM);	/* no batch in a batch */
	s->sp = 0;
	return (sq_begin(s));
}

/* sq_batch_end - commit the batch; TEMP when an error already ended it
 * (SQLite rolled it back) */
static enum store_status
sq_batch_end(struct store *st)
{
	struct store_sqlite *s = SQ(st);

	s->sp = 0;
	if (sqlite3_get_autocommit(s->db) != 0)
		return (STORE_TEMP);
	return (sq_end(s, STORE_OK));
}

/*
 * sq_mark - PRAGMA data_version (changes when another connection, here or
 * in another process, commits) joined to this connection's own count of
 * changed rows
 */
static enum store_status
sq_mark(struct store *st, uint64_t *mark)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_DATA_VERSION);
	enum store_status r;

	if ((r = sq_row(s, q, "data version")) != STORE_OK)
		return (r == STORE_NOTFOUND ? STORE_TEMP : r);
	*mark = (uint64_t)sqlite3_column_int64(q, 0) << 32 ^
	    (uint64_t)sqlite3_total_changes64(s->db);
	sqlite3_reset(q);
	return (STORE_OK);
}

/* sq_alias_get - one alias by token, whatever its status */
static enum store_status
sq_alias_get(struct store *st, const char *token, struct alias *a)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_ALIAS_GET);
	enum store_status r;

	sqlite3_bind_text(q, 1, token, -1, SQLITE_STATIC);
	if ((r = sq_row(s, q, "alias get")) == STORE_OK) {
		sq_alias_row(q, a);
		sqlite3_reset(q);
	}
	return (r);
}

/* sq_alias_route - alias joined to its user, in one query */
static enum store_status
sq_alias_route(struct store *st, const char *token, struct alias_route *rt)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_ALIAS_ROUTE);
	enum store_status r;

	sqlite3_bind_text(q, 1, token, -1, SQLITE_STATIC);
	if ((r = sq_row(s, q, "alias route")) != STORE_OK)
		return (r);
	memset(rt, 0, sizeof(*rt));
	rt->status = (enum alias_state)sqlite3_column_int(q, 0);
	rt->expires_at = sqlite3_column_int64(q, 1);
	rt->user_id = sqlite3_column_int64(q, 2);
	rt->user_status = (enum user_state)sqlite3_column_int(q, 3);
	rt->disabled_action = (enum disabled_action)sqlite3_column_int(q, 4);
	rt->content_policy = (enum content_policy)sqlite3_column_int(q, 5);
	sq_text(q, 6, rt->email, sizeof(rt->email));
	sq_text(q, 7, rt->origin, sizeof(rt->origin));
	sqlite3_reset(q);
	return (STORE_OK);
}

/* sq_alias_list - the user's live aliases, oldest first */
static enum store_status
sq_alias_list(struct store *st, int64_t user_id, struct alias **out,
    size_t *n)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_ALIAS_LIST);
	struct alias *v = NULL;
	size_t	 len = 0, cap = 0;
	int	 rc;

	sqlite3_bind_int64(q, 1, user_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 8;
			v = xrealloc(v, cap * sizeof(*v));
		}
		sq_alias_row(q, &v[len++]);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		free(v);
		return (sq_fail(s, rc, "alias list"));
	}
	*out = v;
	*n = len;
	return (STORE_OK);
}

/* sq_alias_changed - after an update guarded by "status != 2": OK if a
 * row changed, NOTFOUND if there is no such alias, INVALID if it is
 * deleted (a deleted alias never changes again; deleting it twice is OK
 * when ok_if_deleted) */
static enum store_status
sq_alias_changed(struct store_sqlite *s, const char *token, int ok_if_deleted)
{
	sqlite3_stmt *q;
	enum store_status r;
	int	status;

	if (sqlite3_changes(s->db) > 0)
		return (STORE_OK);
	q = sq_stmt(s, SQ_ALIAS_STATUS);
	sqlite3_bind_text(q, 1, token, -1, SQLITE_STATIC);
	if ((r = sq_row(s, q, "alias status")) != STORE_OK)
		return (r);
	status = sqlite3_column_int(q, 0);
	sqlite3_reset(q);
	if (status == ALIAS_DELETED)
		return (ok_if_deleted ? STORE_OK : STORE_INVALID);
	return (STORE_OK);	/* unchanged value: still fine */
}

/* sq_alias_set_status - active, inactive or deleted (for good) */
static enum store_status
sq_alias_set_status(struct store *st, const char *token,
    enum alias_state state, int64_t now)
{
	struct store_sqlite *s = SQ(st);
	enum store_status r;

	if ((r = sq_alias_status_write(s, token, state, now)) != STORE_OK)
		return (r);
	return (sq_alias_changed(s, token, state == ALIAS_DELETED));
}

/* sq_alias_set_context - replace the opaque context */
static enum store_status
sq_alias_set_context(struct store *st, const char *token,
    const unsigned char *ctx, size_t len, int64_t now)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_ALIAS_SET_CONTEXT);
	enum store_status r;

	sqlite3_bind_blob(q, 1, len ? (const void *)ctx : "", (int)len,
	    SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, now);
	sqlite3_bind_text(q, 3, token, -1, SQLITE_STATIC);
	if ((r = sq_run(s, q, "alias set context")) != STORE_OK)
		return (r);
	return (sq_alias_changed(s, token, 0));
}

/* sq_alias_set_expiry - 0 = never */
static enum store_status
sq_alias_set_expiry(struct store *st, const char *token, int64_t expires_at,
    int64_t now)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_ALIAS_SET_EXPIRY);
	enum store_status r;

	sqlite3_bind_int64(q, 1, expires_at);
	sqlite3_bind_int64(q, 2, now);
	sqlite3_bind_text(q, 3, token, -1, SQLITE_STATIC);
	if ((r = sq_run(s, q, "alias set expiry")) != STORE_OK)
		return (r);
	return (sq_alias_changed(s, token, 0));
}

/* sq_alias_count - one more forwarded, blocked or replied; last_seen */
static enum store_status
sq_alias_count(struct store *st, const char *token, enum alias_counter c,
    int64_t now)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q;
	enum store_status r;

	switch (c) {
	case COUNT_FORWARDED:
		q = sq_stmt(s, SQ_ALIAS_COUNT_FORWARDED);
		break;
	case COUNT_BLOCKED:
		q = sq_stmt(s, SQ_ALIAS_COUNT_BLOCKED);
		break;
	case COUNT_REPLIED:
		q = sq_stmt(s, SQ_ALIAS_COUNT_REPLIED);
		break;
	default:
		return (STORE_INVALID);
	}
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_text(q, 2, token, -1, SQLITE_STATIC);
	if ((r = sq_run(s, q, "alias count")) != STORE_OK)
		return (r);
	return (sqlite3_changes(s->db) > 0 ? STORE_OK : STORE_NOTFOUND);
}

/* sq_reply_tx - find or make the reply token, under the write lock */
static enum store_status
sq_reply_tx(struct store_sqlite *s, const char *alias, const char *sender,
    const char *fresh, int64_t now, struct reply *rep)
{
	sqlite3_stmt *q = sq_stmt(s, SQ_REPLY_FIND);
	enum store_status r;
	int	status;

	sqlite3_bind_text(q, 1, alias, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, sender, -1, SQLITE_STATIC);
	if ((r = sq_row(s, q, "reply find")) == STORE_OK) {
		sq_reply_row(q, rep);
		sqlite3_reset(q);
		return (STORE_OK);
	}
	if (r != STORE_NOTFOUND || fresh == NULL)
		return (r);

	q = sq_stmt(s, SQ_ALIAS_STATUS);
	sqlite3_bind_text(q, 1, alias, -1, SQLITE_STATIC);
	if ((r = sq_row(s, q, "alias status")) != STORE_OK)
		return (r);
	status = sqlite3_column_int(q, 0);
	sqlite3_reset(q);
	if (status == ALIAS_DELETED)
		return (STORE_INVALID);

	q = sq_stmt(s, SQ_REPLY_INSERT);
	sqlite3_bind_text(q, 1, fresh, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, alias, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, sender, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, now);
	if ((r = sq_run(s, q, "reply insert")) != STORE_OK)
		return (r);
	memset(rep, 0, sizeof(*rep));
	bp_strlcpy(rep->token, fresh, sizeof(rep->token));
	bp_strlcpy(rep->alias, alias, sizeof(rep->alias));
	bp_strlcpy(rep->sender, sender, sizeof(rep->sender));
	rep->created = now;
	return (STORE_OK);
}

/* sq_reply_get_or_create - one reply token per (alias, sender); with
 * fresh NULL only the existing one, or NOTFOUND */
static enum store_status
sq_reply_get_or_create(struct store *st, const char *alias,
    const char *sender, const char *fresh, int64_t now, struct reply *rep)
{
	struct store_sqlite *s = SQ(st);
	enum store_status r;

	if ((r = sq_begin(s)) != STORE_OK)
		return (r);
	r = sq_end(s, sq_reply_tx(s, alias, sender, fresh, now, rep));
	return (r == STORE_EXISTS ? STORE_TEMP : r);
}

/* sq_reply_get - resolve a reply token */
static enum store_status
sq_reply_get(struct store *st, const char *token, struct reply *rep)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_REPLY_GET);
	enum store_status r;

	sqlite3_bind_text(q, 1, token, -1, SQLITE_STATIC);
	if ((r = sq_row(s, q, "reply get")) == STORE_OK) {
		sq_reply_row(q, rep);
		sqlite3_reset(q);
	}
	return (r);
}

/* sq_queue_tx - take the user's next index and insert */
static enum store_status
sq_queue_tx(struct store_sqlite *s, int64_t user_id, const char *data,
    size_t len, int64_t expires_at, int64_t *idx)
{
	sqlite3_stmt *q = sq_stmt(s, SQ_QUEUE_NEXT);
	enum store_status r;

	sqlite3_bind_int64(q, 1, user_id);
	if ((r = sq_row(s, q, "queue next")) != STORE_OK)
		return (r);
	*idx = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);

	q = sq_stmt(s, SQ_QUEUE_INSERT);
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, *idx);
	sqlite3_bind_int64(q, 3, expires_at);
	sqlite3_bind_blob(q, 4, len ? data : "", (int)len, SQLITE_STATIC);
	return (sq_run(s, q, "queue insert"));
}

/* sq_queue_append - a message at the user's next index */
static enum store_status
sq_queue_append(struct store *st, int64_t user_id, const char *data,
    size_t len, int64_t expires_at, int64_t *idx)
{
	struct store_sqlite *s = SQ(st);
	enum store_status r;

	if ((r = sq_begin(s)) != STORE_OK)
		return (r);
	r = sq_end(s, sq_queue_tx(s, user_id, data, len, expires_at, idx));
	return (r == STORE_EXISTS ? STORE_TEMP : r);
}

/* sq_queue_read - live messages from from_idx, and the first live index */
static enum store_status
sq_queue_read(struct store *st, int64_t user_id, int64_t from_idx, int limit,
    int64_t now, struct qmsg **out, size_t *n, int64_t *first_idx)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_QUEUE_FIRST);
	struct qmsg *v = NULL;
	size_t	 len = 0, i;
	int	 rc;
	enum store_status r;

	/* one read transaction, so that first_idx and the rows agree */
	if ((rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK)
		return (sq_fail(s, rc, "begin"));
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, now);
	if ((r = sq_row(s, q, "queue first")) != STORE_OK)
		goto out;
	*first_idx = sqlite3_column_int64(q, 0);	/* NULL reads as 0 */
	sqlite3_reset(q);

	q = sq_stmt(s, SQ_QUEUE_READ);
	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, from_idx);
	sqlite3_bind_int64(q, 3, now);
	sqlite3_bind_int(q, 4, limit);
	v = xcalloc((size_t)limit, sizeof(*v));
	while (len < (size_t)limit && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		const void *d = sqlite3_column_blob(q, 2);
		size_t	dl = (size_t)sqlite3_column_bytes(q, 2);

		v[len].idx = sqlite3_column_int64(q, 0);
		v[len].expires_at = sqlite3_column_int64(q, 1);
		v[len].len = dl;
		v[len].data = xmalloc(dl + 1);
		if (dl > 0)
			memcpy(v[len].data, d, dl);
		v[len].data[dl] = '\0';
		len++;
	}
	sqlite3_reset(q);
	if (len < (size_t)limit && rc != SQLITE_DONE) {
		r = sq_fail(s, rc, "queue read");
		goto out;
	}
	r = STORE_OK;
out:
	(void)sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (r != STORE_OK) {
		for (i = 0; i < len; i++)
			free(v[i].data);
		free(v);
		return (r);
	}
	*out = v;
	*n = len;
	return (STORE_OK);
}

/* sq_blob_put - insert; b->id is fresh */
static enum store_status
sq_blob_put(struct store *st, const struct blob *b)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_BLOB_INSERT);
	enum store_status r;

	sqlite3_bind_text(q, 1, b->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, b->user_id);
	sqlite3_bind_text(q, 3, b->alias, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, b->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, b->type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, (sqlite3_int64)b->size);
	sqlite3_bind_blob64(q, 7, b->size ? (const void *)b->data : "",
	    (sqlite3_uint64)b->size, SQLITE_STATIC);
	sqlite3_bind_int64(q, 8, b->expires_at);
	r = sq_run(s, q, "blob insert");
	return (r == STORE_EXISTS ? STORE_TEMP : r);
}

/* sq_blob_get - a live blob with new data */
static enum store_status
sq_blob_get(struct store *st, const char *id, int64_t now, struct blob *b)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_BLOB_GET);
	enum store_status r;
	const void *d;

	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, now);
	if ((r = sq_row(s, q, "blob get")) != STORE_OK)
		return (r);
	memset(b, 0, sizeof(*b));
	sq_text(q, 0, b->id, sizeof(b->id));
	b->user_id = sqlite3_column_int64(q, 1);
	sq_text(q, 2, b->alias, sizeof(b->alias));
	sq_text(q, 3, b->name, sizeof(b->name));
	sq_text(q, 4, b->type, sizeof(b->type));
	b->expires_at = sqlite3_column_int64(q, 5);
	d = sqlite3_column_blob(q, 6);
	b->size = (size_t)sqlite3_column_bytes(q, 6);
	b->data = xmalloc(b->size + 1);
	if (b->size > 0)
		memcpy(b->data, d, b->size);
	b->data[b->size] = '\0';
	sqlite3_reset(q);
	return (STORE_OK);
}

/* sq_node_add - a new node with no slots released yet */
static enum store_status
sq_node_add(struct store *st, const char *host, int port, int capacity,
    int64_t *id)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_NODE_INSERT);
	enum store_status r;

	sqlite3_bind_text(q, 1, host, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, port);
	sqlite3_bind_int(q, 3, capacity);
	if ((r = sq_run(s, q, "node insert")) != STORE_OK)
		return (r);
	*id = sqlite3_last_insert_rowid(s->db);
	return (STORE_OK);
}

/* sq_node_update - host, port, capacity, available, downed, draining */
static enum store_status
sq_node_update(struct store *st, const struct node *n)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_NODE_UPDATE);
	enum store_status r;

	sqlite3_bind_text(q, 1, n->host, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, n->port);
	sqlite3_bind_int(q, 3, n->capacity);
	sqlite3_bind_int(q, 4, n->available);
	sqlite3_bind_int(q, 5, n->downed ? 1 : 0);
	sqlite3_bind_int(q, 6, n->draining ? 1 : 0);
	sqlite3_bind_int64(q, 7, n->id);
	if ((r = sq_run(s, q, "node update")) != STORE_OK)
		return (r);
	return (sqlite3_changes(s->db) > 0 ? STORE_OK : STORE_NOTFOUND);
}

/* sq_node_list - every node, by id */
static enum store_status
sq_node_list(struct store *st, struct node **out, size_t *n)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_NODE_LIST);
	struct node *v = NULL;
	size_t	 len = 0, cap = 0;
	int	 rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 8;
			v = xrealloc(v, cap * sizeof(*v));
		}
		sq_node_row(q, &v[len++]);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		free(v);
		return (sq_fail(s, rc, "node list"));
	}
	*out = v;
	*n = len;
	return (STORE_OK);
}

/* sq_node_pick - the candidate with the most free capacity */
static enum store_status
sq_node_pick(struct store_sqlite *s, struct node *n)
{
	sqlite3_stmt *q = sq_stmt(s, SQ_NODE_PICK);
	enum store_status r;

	if ((r = sq_row(s, q, "node pick")) == STORE_OK) {
		sq_node_row(q, n);
		sqlite3_reset(q);
	}
	return (r);
}

/* sq_node_assign_tx - keep or move the user, under the write lock */
static enum store_status
sq_node_assign_tx(struct store_sqlite *s, int64_t user_id, struct node *n)
{
	sqlite3_stmt *q = sq_stmt(s, SQ_USER_NODE);
	enum store_status r;
	int64_t	 old;

	sqlite3_bind_int64(q, 1, user_id);
	if ((r = sq_row(s, q, "user node")) != STORE_OK)
		return (r);
	old = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);

	if (old != 0) {
		q = sq_stmt(s, SQ_NODE_GET);
		sqlite3_bind_int64(q, 1, old);
		r = sq_row(s, q, "node get");
		if (r == STORE_OK) {
			sq_node_row(q, n);
			sqlite3_reset(q);
			if (!n->downed)
				return (STORE_OK);	/* stays */
			q = sq_stmt(s, SQ_NODE_DROP);
			sqlite3_bind_int64(q, 1, old);
			if ((r = sq_run(s, q, "node drop")) != STORE_OK)
				return (r);
		} else if (r != STORE_NOTFOUND)
			return (r);
	}

	if ((r = sq_node_pick(s, n)) == STORE_NOTFOUND) {
		if ((r = sq_run(s, sq_stmt(s, SQ_NODE_RELEASE),
		    "node release")) != STORE_OK)
			return (r);
		r = sq_node_pick(s, n);
	}
	if (r != STORE_OK)
		return (r);
	q = sq_stmt(s, SQ_NODE_TAKE);
	sqlite3_bind_int64(q, 1, n->id);
	if ((r = sq_run(s, q, "node take")) != STORE_OK)
		return (r);
	q = sq_stmt(s, SQ_USER_SET_NODE);
	sqlite3_bind_int64(q, 1, n->id);
	sqlite3_bind_int64(q, 2, user_id);
	if ((r = sq_run(s, q, "user set node")) != STORE_OK)
		return (r);
	n->load++;
	if (n->available > 0)
		n->available--;
	return (STORE_OK);
}

/* sq_node_assign - the user's node, assigning one if needed */
static enum store_status
sq_node_assign(struct store *st, int64_t user_id, struct node *n)
{
	struct store_sqlite *s = SQ(st);
	enum store_status r;

	if ((r = sq_begin(s)) != STORE_OK)
		return (r);
	r = sq_end(s, sq_node_assign_tx(s, user_id, n));
	return (r == STORE_EXISTS ? STORE_TEMP : r);
}

/* sq_event_append - one event; *id is global and increasing */
static enum store_status
sq_event_append(struct store *st, int64_t user_id, const char *type,
    const char *data, int64_t now, int64_t *id)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_EVENT_INSERT);
	enum store_status r;

	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_text(q, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, data, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, now);
	if ((r = sq_run(s, q, "event insert")) != STORE_OK)
		return (r == STORE_EXISTS ? STORE_TEMP : r);
	*id = sqlite3_last_insert_rowid(s->db);
	return (STORE_OK);
}

/* sq_event_read - the user's events after after_id, oldest first */
static enum store_status
sq_event_read(struct store *st, int64_t user_id, int64_t after_id, int limit,
    struct event **out, size_t *n)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, SQ_EVENT_READ);
	struct event *v = NULL;
	size_t	 len = 0, cap = 0;
	int	 rc = SQLITE_DONE;

	sqlite3_bind_int64(q, 1, user_id);
	sqlite3_bind_int64(q, 2, after_id);
	sqlite3_bind_int(q, 3, limit);
	/* grown as rows come: an event is 4 KiB, limit may be large */
	while (len < (size_t)limit && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		memset(&v[len], 0, sizeof(v[len]));
		v[len].id = sqlite3_column_int64(q, 0);
		v[len].user_id = sqlite3_column_int64(q, 1);
		sq_text(q, 2, v[len].type, sizeof(v[len].type));
		sq_text(q, 3, v[len].data, sizeof(v[len].data));
		v[len].created = sqlite3_column_int64(q, 4);
		len++;
	}
	sqlite3_reset(q);
	if (len < (size_t)limit && rc != SQLITE_DONE) {
		free(v);
		return (sq_fail(s, rc, "event read"));
	}
	*out = v;
	*n = len;
	return (STORE_OK);
}

/* sq_purge_one - run one DELETE with one time bound; count its rows */
static enum store_status
sq_purge_one(struct store_sqlite *s, enum sq_stmt id, int64_t bound,
    long *count)
{
	sqlite3_stmt *q = sq_stmt(s, id);
	enum store_status r;

	sqlite3_bind_int64(q, 1, bound);
	if ((r = sq_run(s, q, "purge")) != STORE_OK)
		return (r);
	*count = (long)sqlite3_changes(s->db);
	return (STORE_OK);
}

/* sq_purge_tx - every DELETE, in one transaction */
static enum store_status
sq_purge_tx(struct store_sqlite *s, int64_t now, int64_t retention,
    int64_t horizon, struct purge_counts *c)
{
	enum store_status r;

	memset(c, 0, sizeof(*c));
	if ((r = sq_purge_one(s, SQ_PURGE_REPLIES, now - retention,
	    &c->replies)) != STORE_OK ||
	    (r = sq_purge_one(s, SQ_PURGE_ALIASES, now - retention,
	    &c->aliases)) != STORE_OK ||
	    (r = sq_purge_one(s, SQ_PURGE_QUEUE, now, &c->qmsgs)) != STORE_OK ||
	    (r = sq_purge_one(s, SQ_PURGE_BLOBS, now, &c->blobs)) != STORE_OK ||
	    (r = sq_purge_one(s, SQ_PURGE_EVENTS, now - horizon,
	    &c->events)) != STORE_OK ||
	    (r = sq_purge_one(s, SQ_PURGE_RATES, now - STORE_RATE_KEEP,
	    &c->rates)) != STORE_OK)
		return (r);
	return (STORE_OK);
}

/* sq_purge - deleted aliases past retention, expired rows, old events */
static enum store_status
sq_purge(struct store *st, int64_t now, int64_t retention, int64_t horizon,
    struct purge_counts *c)
{
	struct store_sqlite *s = SQ(st);
	enum store_status r;

	if ((r = sq_begin(s)) != STORE_OK)
		return (r);
	r = sq_end(s, sq_purge_tx(s, now, retention, horizon, c));
	return (r == STORE_EXISTS ? STORE_TEMP : r);
}

/* sq_count - one number a query with (user_id[, now]) answers */
static enum store_status
sq_count(struct store_sqlite *s, enum sq_stmt id, int64_t user_id,
    int64_t now, int64_t *out)
{
	sqlite3_stmt *q = sq_stmt(s, id);
	enum store_status r;

	sqlite3_bind_int64(q, 1, user_id);
	if (sqlite3_bind_parameter_count(q) > 1)
		sqlite3_bind_int64(q, 2, now);
	if ((r = sq_row(s, q, "usage")) != STORE_OK)
		return (r);
	*out = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return (STORE_OK);
}

/* sq_usage - what the user keeps: parts, notifications, reply addresses */
static enum store_status
sq_usage(struct store *st, int64_t user_id, int64_t now,
    struct store_usage *u)
{
	struct store_sqlite *s = SQ(st);
	enum store_status r;

	if ((r = sq_count(s, SQ_USAGE_BLOBS, user_id, now,
	    &u->blob_bytes)) != STORE_OK ||
	    (r = sq_count(s, SQ_USAGE_QUEUE, user_id, now,
	    &u->queue_msgs)) != STORE_OK ||
	    (r = sq_count(s, SQ_USAGE_REPLIES, user_id, now,
	    &u->replies)) != STORE_OK)
		return (r);
	return (STORE_OK);
}

/* sq_rate_hit - n more hits of key in its window (n = 0: only read) */
static enum store_status
sq_rate_hit(struct store *st, const char *key, long n, long window,
    int64_t now, long *count, int64_t *start)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q = sq_stmt(s, n > 0 ? SQ_RATE_HIT : SQ_RATE_GET);
	enum store_status r;

	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if (n > 0) {
		sqlite3_bind_int64(q, 2, now);
		sqlite3_bind_int64(q, 3, window);
		sqlite3_bind_int64(q, 4, n);
	}
	if ((r = sq_row(s, q, "rate")) != STORE_OK) {
		if (r == STORE_NOTFOUND && n == 0) {
			*count = 0;
			*start = now;
			return (STORE_OK);
		}
		return (r == STORE_EXISTS ? STORE_TEMP : r);
	}
	*count = (long)sqlite3_column_int64(q, 0);
	*start = sqlite3_column_int64(q, 1);
	sqlite3_reset(q);
	return (STORE_OK);
}

const struct store_backend store_sqlite_backend = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.batch_begin = sq_batch_begin,
	.batch_end = sq_batch_end,
	.mark = sq_mark,
	.migrate = sq_migrate,
	.ping = sq_ping,
	.user_create = sq_user_create,
	.user_get = sq_user_get,
	.user_by_identity = sq_user_by_identity,
	.user_by_queue_id = sq_user_by_queue_id,
	.identity_add = sq_identity_add,
	.user_update = sq_user_update,
	.user_list = sq_user_list,
	.alias_create = sq_alias_create,
	.alias_get = sq_alias_get,
	.alias_route = sq_alias_route,
	.alias_list = sq_alias_list,
	.alias_set_status = sq_alias_set_status,
	.alias_set_context = sq_alias_set_context,
	.alias_set_expiry = sq_alias_set_expiry,
	.alias_count = sq_alias_count,
	.reply_get_or_create = sq_reply_get_or_create,
	.reply_get = sq_reply_get,
	.queue_append = sq_queue_append,
	.queue_read = sq_queue_read,
	.blob_put = sq_blob_put,
	.blob_get = sq_blob_get,
	.node_add = sq_node_add,
	.node_update = sq_node_update,
	.node_list = sq_node_list,
	.node_assign = sq_node_assign,
	.event_append = sq_event_append,
	.event_read = sq_event_read,
	.purge = sq_purge,
	.usage = sq_usage,
	.rate_hit = sq_rate_hit,
};
