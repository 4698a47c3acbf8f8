/*
 * sql_sqlite.c - the SQLite driver under store_sql.c (the embedded store)
 *
 * URI: sqlite:/path/file.db (sqlite:///path/file.db is accepted too).
 * Several processes (postmapd, milter, dash, bipostalctl) open the same
 * file at once: the database runs in WAL mode, every connection waits up
 * to SQLITE_BUSY_MS for a lock, and every transaction that writes begins
 * IMMEDIATE, so writers queue instead of failing half way.  Statements
 * are prepared once, at open, and reset after each use so that no read
 * transaction stays open between calls.
 *
 * Capabilities: a file (no server), one writer at a time (so grouping
 * writes into one commit pays, see store_batch_begin: inside a batch each
 * operation's transaction is a savepoint), and a mark (PRAGMA
 * data_version).  Writes answer rows (RETURNING).
 *
 * A database file that is not there yet is made mode 0600 (it holds
 * password hashes and TOTP secrets), whatever the umask; SQLite gives the
 * -wal and -shm files the mode of the database file.  Whoever makes it
 * owns it: run "bipostalctl migrate" as daemon_user.  An existing file
 * keeps its mode.  Migrations (sql/sqlite/NNN_*.sql) run together in one
 * IMMEDIATE transaction.
 *
 * Failures: busy, locked, I/O, cannot open, disk full and out of memory
 * are STORE_TEMP; a constraint is STORE_EXISTS (not logged: the caller's
 * business); anything else SQLite reports (no such table, corrupt,
 * read-only, misuse) is STORE_PERM.  Each failure is logged once, here.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "sql_driver.h"
#include "util.h"

#define SQLITE_BUSY_MS	5000

static const struct sql_migration sq_migrations[] = {
#include "sql/sqlite_migrations.h"
};

/* The driver's own statements, after store_sql.c's. */
enum {
	SQ_BEGIN = SQL_NSTMT, SQ_BEGIN_READ, SQ_COMMIT, SQ_ROLLBACK,
	SQ_SAVEPOINT, SQ_RELEASE, SQ_ROLLBACK_TO, SQ_DATA_VERSION,
	SQ_NSTMT
};

static const char *const sq_own[SQ_NSTMT - SQL_NSTMT] = {
	"BEGIN IMMEDIATE", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT one",
	"RELEASE one", "ROLLBACK TO one", "PRAGMA data_version",
};

struct sql_sqlite {
	struct sql	 base;		/* first: &s->base is the handle */
	sqlite3		*db;
	char		*path;
	sqlite3_stmt	*st[SQ_NSTMT];
	sqlite3_stmt	*cur;		/* the current statement */
	int		 sp;		/* savepoints open inside a batch */
};

#define SQ(sql)		((struct sql_sqlite *)(sql))

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

/* sq_fail - log one failed call (what: its SQL) and map it */
static enum store_status
sq_fail(struct sql_sqlite *s, int rc, const char *what)
{
	enum store_status st = sq_map(rc);

	if (st != STORE_EXISTS)
		log_error("sqlite %s: %.40s: %s (%d)", s->path, what,
		    sqlite3_errmsg(s->db), rc);
	return (st);
}

/* sq_start - make id current: reset, bind its n parameters */
static void
sq_start(struct sql *b, enum sql_stmt id, const struct sql_arg *a, size_t n)
{
	struct sql_sqlite *s = SQ(b);
	sqlite3_stmt *q = s->cur = s->st[id];
	int	i;

	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	for (i = 0; i < (int)n; i++) {
		if (a[i].type == SQL_INT)
			sqlite3_bind_int64(q, i + 1, a[i].i);
		else if (a[i].type == SQL_TEXT)
			sqlite3_bind_text(q, i + 1, a[i].p, -1, SQLITE_STATIC);
		else
			sqlite3_bind_blob64(q, i + 1, a[i].len ? a[i].p : "",
			    (sqlite3_uint64)a[i].len, SQLITE_STATIC);
	}
}

/* sq_step - OK with a row, NOTFOUND at the end (changes and last_id set),
 * or a failure (the statement reset) */
static enum store_status
sq_step(struct sql *b)
{
	struct sql_sqlite *s = SQ(b);
	int	rc = sqlite3_step(s->cur);

	if (rc == SQLITE_ROW)
		return (STORE_OK);
	if (rc == SQLITE_DONE) {
		b->changes = sqlite3_changes64(s->db);
		b->last_id = sqlite3_last_insert_rowid(s->db);
		return (STORE_NOTFOUND);
	}
	sqlite3_reset(s->cur);
	return (sq_fail(s, rc, sqlite3_sql(s->cur)));
}

/* sq_col_int - an integer column (NULL reads as 0) */
static int64_t
sq_col_int(struct sql *b, int col)
{
	return (sqlite3_column_int64(SQ(b)->cur, col));
}

/* sq_col_copy - up to size bytes of a column; its length */
static size_t
sq_col_copy(struct sql *b, int col, void *buf, size_t size)
{
	const void *p = sqlite3_column_blob(SQ(b)->cur, col);
	size_t	n = (size_t)sqlite3_column_bytes(SQ(b)->cur, col);

	if (p != NULL && size > 0)
		memcpy(buf, p, n < size ? n : size);
	return (n);
}

/* sq_done - reset: no read transaction stays open */
static void
sq_done(struct sql *b)
{
	sqlite3_reset(SQ(b)->cur);
}

/* sq_begin - take the write lock now, waiting if busy (a snapshot: a
 * read transaction); inside a batch, a savepoint instead */
static enum store_status
sq_begin(struct sql *b, enum sql_tx mode)
{
	struct sql_sqlite *s = SQ(b);
	enum store_status r;

	if (sqlite3_get_autocommit(s->db) != 0)
		return (sql_exec(b, mode == SQL_SNAPSHOT ? SQ_BEGIN_READ :
		    SQ_BEGIN));
	if ((r = sql_exec(b, SQ_SAVEPOINT)) == STORE_OK)
		s->sp++;
	return (r);
}

/* sq_end - commit if r is STORE_OK, else roll back; returns the outcome.
 * For a savepoint: release it, or undo what it covers. */
static enum store_status
sq_end(struct sql *b, enum store_status r)
{
	struct sql_sqlite *s = SQ(b);
	enum store_status c;
	int	sp = s->sp > 0;

	if (sp && sqlite3_get_autocommit(s->db) != 0) {
		s->sp = 0;	/* an error ended the whole batch */
		return (r == STORE_OK ? STORE_TEMP : r);
	}
	s->sp -= sp;
	if (r == STORE_OK) {
		if ((c = sql_exec(b, sp ? SQ_RELEASE : SQ_COMMIT)) == STORE_OK)
			return (STORE_OK);
		r = c == STORE_EXISTS ? STORE_TEMP : c;
	}
	if (sp) {
		(void)sql_exec(b, SQ_ROLLBACK_TO);
		(void)sql_exec(b, SQ_RELEASE);
	} else if (sqlite3_get_autocommit(s->db) == 0)
		(void)sql_exec(b, SQ_ROLLBACK);
	return (r);
}

/* sq_batch_begin - one transaction for the calls up to sq_batch_end;
 * theirs become savepoints in it (sq_begin) */
static enum store_status
sq_batch_begin(struct sql *b)
{
	struct sql_sqlite *s = SQ(b);

	if (sqlite3_get_autocommit(s->db) == 0)
		return (STORE_PERM);	/* no batch in a batch */
	s->sp = 0;
	return (sq_begin(b, SQL_ATOMIC));
}

/* sq_batch_end - commit the batch; TEMP when an error already ended it
 * (SQLite rolled it back) */
static enum store_status
sq_batch_end(struct sql *b)
{
	struct sql_sqlite *s = SQ(b);

	s->sp = 0;
	if (sqlite3_get_autocommit(s->db) != 0)
		return (STORE_TEMP);
	return (sq_end(b, STORE_OK));
}

/*
 * sq_mark - PRAGMA data_version (changes when another connection, here or
 * in another process, commits) joined to this connection's own count of
 * changed rows
 */
static enum store_status
sq_mark(struct sql *b, uint64_t *mark)
{
	struct sql_sqlite *s = SQ(b);
	enum store_status r;

	sq_start(b, (enum sql_stmt)SQ_DATA_VERSION, NULL, 0);
	if ((r = sq_step(b)) == STORE_OK)
		*mark = (uint64_t)sqlite3_column_int64(s->cur, 0) << 32 ^
		    (uint64_t)sqlite3_total_changes64(s->db);
	sq_done(b);
	return (r == STORE_NOTFOUND ? STORE_TEMP : r);
}

/* sq_version - the schema version recorded in the file (0 = none) */
static enum store_status
sq_version(struct sql *b, int *version)
{
	struct sql_sqlite *s = SQ(b);
	sqlite3_stmt *st;
	int	rc;

	*version = 0;
	rc = sqlite3_prepare_v2(s->db, "SELECT coalesce(max(version), 0) "
	    "FROM schema_version", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		/* no such table: a new file */
		if (strstr(sqlite3_errmsg(s->db), "no such table") != NULL)
			return (STORE_OK);
		return (sq_fail(s, rc, "schema version"));
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*version = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return (rc == SQLITE_OK ? STORE_OK : sq_fail(s, rc, "schema version"));
}

/* sq_script - run the statements of a migration (or one) */
static enum store_status
sq_script(struct sql *b, const char *sql)
{
	struct sql_sqlite *s = SQ(b);
	char	*err = NULL;
	int	 rc;

	if ((rc = sqlite3_exec(s->db, sql, NULL, NULL, &err)) == SQLITE_OK)
		return (STORE_OK);
	log_error("sqlite %s: migrate: %s", s->path, err ? err :
	    sqlite3_errmsg(s->db));
	sqlite3_free(err);
	return (sq_map(rc));
}

/* sq_lock - migrations run in one IMMEDIATE transaction */
static enum store_status
sq_lock(struct sql *b)
{
	return (sq_script(b, "BEGIN IMMEDIATE"));
}

/* sq_unlock - commit the migrations if r is STORE_OK, else undo them */
static enum store_status
sq_unlock(struct sql *b, enum store_status r)
{
	if (r == STORE_OK && (r = sq_script(b, "COMMIT")) == STORE_OK)
		return (STORE_OK);
	(void)sqlite3_exec(SQ(b)->db, "ROLLBACK", NULL, NULL, NULL);
	return (r);
}

/* sq_path - the file name in uri; NULL if none */
static const char *
sq_path(const char *uri)
{
	const char *path;

	if (strncmp(uri, "sqlite:", 7) != 0)
		return (NULL);
	path = uri + 7;
	if (strncmp(path, "//", 2) == 0)
		path += 2;
	return (*path != '\0' ? path : NULL);
}

/* sq_file - the file uri names; NULL for ":memory:" */
static const char *
sq_file(const char *uri)
{
	const char *path = sq_path(uri);

	return (path == NULL || strcmp(path, ":memory:") == 0 ? NULL : path);
}

/* sq_close - finalize the statements and close the file */
static void
sq_close(struct sql *b)
{
	struct sql_sqlite *s = SQ(b);
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

/* sq_open - open the file (creating it if needed) in WAL mode */
static struct sql *
sq_open(const char *uri, enum store_status *status, const char **why)
{
	struct sql_sqlite *s;
	const char *path;
	int	rc;

	if ((path = sq_path(uri)) == NULL) {
		*status = STORE_PERM;
		*why = "sqlite: URI without a file name";
		return (NULL);
	}
	s = xcalloc(1, sizeof(*s));
	s->base.where = s->path = xstrdup(path);
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
	*status = STORE_OK;
	return (&s->base);

fail:
	sq_close(&s->base);
	return (NULL);
}

/* sq_prepare - every statement, once, kept for the life of the handle */
static enum store_status
sq_prepare(struct sql *b)
{
	struct sql_sqlite *s = SQ(b);
	enum store_status r;
	const char *text;
	int	i, rc;

	for (i = 0; i < SQ_NSTMT; i++) {
		text = sql_text(&sql_sqlite_driver, i);
		rc = sqlite3_prepare_v3(s->db, text, -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
		if (rc != SQLITE_OK) {
			r = sq_fail(s, rc, text);
			return (r == STORE_EXISTS ? STORE_PERM : r);
		}
	}
	return (STORE_OK);
}

const struct sql_driver sql_sqlite_driver = {
	.name = "sqlite",
	.caps = STORE_CAP_FILE | STORE_CAP_ONE_WRITER | STORE_CAP_MARK,
	.flags = SQL_RETURNING, .own = sq_own,
	.migrations = sq_migrations,
	.nmigrations = sizeof(sq_migrations) / sizeof(sq_migrations[0]),
	.version_table = "CREATE TABLE IF NOT EXISTS schema_version "
	    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
	    "applied INTEGER NOT NULL)",
	.open = sq_open, .prepare = sq_prepare, .close = sq_close,
	.file = sq_file, .mark = sq_mark,
	.version = sq_version, .lock = sq_lock, .unlock = sq_unlock,
	.script = sq_script,
	.start = sq_start, .step = sq_step, .col_int = sq_col_int,
	.col_copy = sq_col_copy, .done = sq_done,
	.begin = sq_begin, .end = sq_end,
	.batch_begin = sq_batch_begin, .batch_end = sq_batch_end,
};
