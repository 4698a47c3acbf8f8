/*
 * sql_mysql.c - the MySQL/MariaDB driver under store_sql.c (MariaDB
 * Connector/C, prepared statements only)
 *
 * URI: mysql://user:password@host:port/db, read by uri.c (user, password
 * and database percent-decoded); "?socket=/path" connects through a Unix
 * socket instead.
 * Several MX hosts share one database.  The statements are prepared when
 * the connection is made and again after every reconnect; their rows are
 * buffered on the client (the connection is free while they are read).
 *
 * Failures: the connection has short connect, read and write timeouts, so
 * a dead or hung server answers STORE_TEMP within seconds, never
 * STORE_NOTFOUND.  A client-side error (server gone, lost, refused,
 * timeout) drops the connection and its statements; the next call
 * connects again, so the same handle recovers by itself after a server
 * restart.  A connection idle for a second is pinged before use, and a
 * plain SELECT outside a transaction that meets a dead connection is run
 * once more on a fresh one; writes are never repeated (they may have
 * happened).  Row lock waits end after MY_LOCK_WAIT seconds, before the
 * read timeout, with a clean error.  Deadlocks and lock waits are
 * STORE_TEMP flagged as a conflict (store_sql.c tries again); access
 * denied, unknown database, table or column are STORE_PERM; a duplicate
 * key is STORE_EXISTS, not logged (the caller's business).  Each failure
 * is logged once, here.
 *
 * Transactions: row locks (InnoDB), so a guarded look-then-insert runs
 * without one and lets the unique key decide; locking reads say FOR
 * UPDATE.  No batches, no mark: every host commits on its own connection.
 * "One live alias per (user, origin)" is a UNIQUE key over a generated
 * column that is NULL for deleted aliases.
 *
 * Schema: the migrations of sql/mysql/NNN_*.sql run on a connection of
 * their own with long timeouts, under GET_LOCK so that hosts starting at
 * once apply each one once.  DDL commits by itself in MySQL: every
 * statement of a migration is written to be safe to run twice.  Blobs (up
 * to 10 MiB) need the server's max_allowed_packet above that (MariaDB's
 * default is 16 MiB).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>

#include "log.h"
#include "sql_driver.h"
#include "uri.h"
#include "util.h"

#define MY_CONNECT_TIMEOUT	3	/* seconds */
#define MY_RW_TIMEOUT		5
#define MY_LOCK_WAIT		3	/* row lock wait: below MY_RW_TIMEOUT */
#define MY_MIGRATE_TIMEOUT	120	/* DDL and GET_LOCK may be slow */
#define MY_IDLE_PING_MS		1000	/* ping a connection idle this long */
#define MY_LOCK_TIMEOUT		"30"	/* GET_LOCK wait for migrations */
#define MY_MAXP			12	/* parameters of one statement */

static const struct sql_migration my_migrations[] = {
#include "sql/mysql_migrations.h"
};

/* Where MySQL says it otherwise: the parameters are the same. */
static const char *const my_dialect[SQL_NSTMT] = {
	[SQL_USER_NODE] = "SELECT node_id FROM users WHERE id = ? FOR UPDATE",
	[SQL_ALIAS_LIVE] = "SELECT " SQL_ALIAS_COLS " FROM aliases "
	    "WHERE user_id = ? AND live_origin = ?",
	/* LAST_INSERT_ID(expr) hands the new value back in the OK packet */
	[SQL_QUEUE_NEXT] = "UPDATE users SET queue_idx = "
	    "LAST_INSERT_ID(queue_idx + 1) WHERE id = ?",
	[SQL_NODE_GET] = "SELECT " SQL_NODE_COLS " FROM nodes WHERE id = ? "
	    "FOR UPDATE",
	[SQL_NODE_PICK] = "SELECT " SQL_NODE_COLS " FROM nodes WHERE "
	    SQL_NODE_PICKABLE " AND available > 0 "
	    "ORDER BY capacity - current_load DESC, id LIMIT 1 FOR UPDATE",
	[SQL_NODE_RELEASE] = "UPDATE nodes SET available = "
	    "LEAST(capacity - current_load, GREATEST(1, capacity DIV 10)) "
	    "WHERE " SQL_NODE_PICKABLE " AND available <= 0",
	/* MySQL assigns left to right: count first, start is still old */
	[SQL_RATE_HIT] = "INSERT INTO rate_limits (k, start, count) "
	    "VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE "
	    "count = IF(start + ? <= VALUES(start), VALUES(count), "
	    "count + VALUES(count)), "
	    "start = IF(start + ? <= VALUES(start), VALUES(start), start)",
	[SQL_RATE_GET] = "SELECT count, start FROM rate_limits WHERE k = ?",
	/* the purge's batches: DELETE ... LIMIT (no LIMIT in IN (...)) */
	[SQL_PURGE_REPLIES] = "DELETE FROM replies WHERE alias IN (SELECT "
	    "token FROM aliases WHERE " SQL_ALIAS_GONE ") LIMIT ?",
	[SQL_PURGE_ALIASES] = "DELETE FROM aliases WHERE " SQL_ALIAS_GONE
	    " LIMIT ?",
	[SQL_PURGE_QUEUE] = "DELETE FROM queue WHERE expires_at <= ? LIMIT ?",
	[SQL_PURGE_BLOBS] = "DELETE FROM blobs WHERE expires_at <= ? LIMIT ?",
	[SQL_PURGE_EVENTS] = "DELETE FROM events WHERE created <= ? LIMIT ?",
	[SQL_PURGE_RATES] = "DELETE FROM rate_limits WHERE start <= ? LIMIT ?",
	[SQL_PURGE_BLOCKS] = "DELETE FROM blocks WHERE alias IN (SELECT "
	    "token FROM aliases WHERE " SQL_ALIAS_GONE ") LIMIT ?",
};

/* The driver's own statements, after store_sql.c's. */
enum { MY_BEGIN = SQL_NSTMT, MY_COMMIT, MY_ROLLBACK, MY_NSTMT };

static const char *const my_own[MY_NSTMT - SQL_NSTMT] = {
	"START TRANSACTION", "COMMIT", "ROLLBACK",
};

struct sql_mysql {
	struct sql	 base;		/* first: &s->base is the handle */
	MYSQL		*db;		/* NULL: dropped, connect on next use */
	MYSQL_STMT	*st[MY_NSTMT];
	char		*host;		/* NULL = localhost */
	char		*user;
	char		*pass;
	char		*dbname;
	char		*sock;		/* NULL = TCP */
	unsigned int	 port;
	char		 where[320];	/* "host:port/db" for log lines */
	char		 lock[128];	/* the GET_LOCK name of the database */
	int		 in_tx;
	int		 migrating;	/* long timeouts on this connection */
	int		 down;		/* last connect failed (logged once) */
	uint64_t	 last_used_ms;	/* monotonic, of the last good call */

	int		 cur;		/* the current statement */
	int		 run;		/* executed, rows buffered */
	unsigned int	 np, nr;	/* its parameters, result columns */
	MYSQL_BIND	 p[MY_MAXP];
	unsigned long	 plen[MY_MAXP];
	long long	 pint[MY_MAXP];
	/* result columns: lengths only; col_* fetch the data */
	MYSQL_BIND	 r[SQL_MAXCOL];
	unsigned long	 rlen[SQL_MAXCOL];
	my_bool		 rnull[SQL_MAXCOL];
	my_bool		 rerr[SQL_MAXCOL];
};

#define MY(sql)		((struct sql_mysql *)(sql))

#define MY_TEXT(id)	sql_text(&sql_mysql_driver, (id))

/* my_conn_error - errors after which the connection cannot be trusted */
static int
my_conn_error(unsigned int e)
{
	if (e >= 2000 && e < 3000)		/* every client-side error */
		return (1);
	switch (e) {
	case ER_SERVER_SHUTDOWN:
	case ER_CONNECTION_KILLED:
	case ER_UNKNOWN_STMT_HANDLER:
	case ER_NEED_REPREPARE:
	case ER_NET_READ_ERROR:
	case ER_NET_READ_INTERRUPTED:
	case ER_NET_ERROR_ON_WRITE:
	case ER_NET_WRITE_INTERRUPTED:
	case ER_NET_PACKETS_OUT_OF_ORDER:
		return (1);
	}
	return (0);
}

/* my_map - the store status for a MySQL error number */
static enum store_status
my_map(unsigned int e)
{
	switch (e) {
	case 0:
		return (STORE_OK);
	case ER_DUP_ENTRY:
	case ER_DUP_ENTRY_WITH_KEY_NAME:
	case ER_DUP_KEY:
		return (STORE_EXISTS);
	case ER_ACCESS_DENIED_ERROR:
	case ER_DBACCESS_DENIED_ERROR:
	case ER_TABLEACCESS_DENIED_ERROR:
	case ER_COLUMNACCESS_DENIED_ERROR:
	case ER_SPECIFIC_ACCESS_DENIED_ERROR:
	case ER_BAD_DB_ERROR:
	case ER_NO_SUCH_TABLE:
	case ER_BAD_FIELD_ERROR:
	case ER_PARSE_ERROR:
	case ER_WRONG_VALUE_COUNT_ON_ROW:
	case ER_NO_DEFAULT_FOR_FIELD:
	case ER_BAD_NULL_ERROR:
	case ER_DATA_TOO_LONG:
		return (STORE_PERM);
	default:
		/* connection, deadlock, lock wait, read-only, too many
		 * connections, out of resources ...: try again later */
		return (STORE_TEMP);
	}
}

/* my_drop - close the connection and its statements */
static void
my_drop(struct sql_mysql *s)
{
	int	i;

	for (i = 0; i < MY_NSTMT; i++) {
		if (s->st[i] != NULL)
			mysql_stmt_close(s->st[i]);
		s->st[i] = NULL;
	}
	if (s->db != NULL)
		mysql_close(s->db);
	s->db = NULL;
	s->in_tx = 0;
	s->run = 0;
}

/* my_fail - log one failed call (what: its SQL), drop a broken
 * connection, map it; a deadlock or lock wait is a conflict */
static enum store_status
my_fail(struct sql_mysql *s, unsigned int e, const char *err,
    const char *what)
{
	enum store_status st = my_map(e);

	s->base.conflict = e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT;
	if (st != STORE_EXISTS)
		log_error("mysql %s: %.40s: %s (%u)", s->where, what,
		    err != NULL ? err : "?", e);
	if (my_conn_error(e))
		my_drop(s);
	return (st);
}

/* my_connect_db - one new connection, options set; NULL on failure with
 * *e and the message in errbuf */
static MYSQL *
my_connect_db(struct sql_mysql *s, unsigned int *e, char *errbuf,
    size_t errsize)
{
	MYSQL	*db;
	char	 init[160];
	unsigned int t;
	my_bool	 on = 1, off = 0;

	if ((db = mysql_init(NULL)) == NULL) {
		*e = CR_OUT_OF_MEMORY;
		bp_strlcpy(errbuf, "mysql_init: out of memory", errsize);
		return (NULL);
	}
	t = MY_CONNECT_TIMEOUT;
	mysql_optionsv(db, MYSQL_OPT_CONNECT_TIMEOUT, &t);
	t = s->migrating ? MY_MIGRATE_TIMEOUT : MY_RW_TIMEOUT;
	mysql_optionsv(db, MYSQL_OPT_READ_TIMEOUT, &t);
	mysql_optionsv(db, MYSQL_OPT_WRITE_TIMEOUT, &t);
	mysql_optionsv(db, MYSQL_OPT_RECONNECT, &off);
	mysql_optionsv(db, MYSQL_REPORT_DATA_TRUNCATION, &on);
	mysql_optionsv(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	/* a lock wait ends in a clean error before the read timeout */
	snprintf(init, sizeof(init), "SET SESSION sql_mode = "
	    "'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', "
	    "innodb_lock_wait_timeout = %d", s->migrating ?
	    MY_MIGRATE_TIMEOUT / 2 : MY_LOCK_WAIT);
	mysql_optionsv(db, MYSQL_INIT_COMMAND, init);
	if (s->sock == NULL && s->host != NULL) {
		unsigned int proto = MYSQL_PROTOCOL_TCP;

		mysql_optionsv(db, MYSQL_OPT_PROTOCOL, &proto);
	}
	/* FOUND_ROWS: affected rows count matched rows, as SQLite does */
	if (mysql_real_connect(db, s->host, s->user, s->pass, s->dbname,
	    s->port, s->sock, CLIENT_FOUND_ROWS) == NULL) {
		*e = mysql_errno(db);
		bp_strlcpy(errbuf, mysql_error(db), errsize);
		mysql_close(db);
		return (NULL);
	}
	return (db);
}

/* my_prepare_all - prepare every statement on the current connection */
static enum store_status
my_prepare_all(struct sql_mysql *s)
{
	enum store_status r;
	int	i;

	for (i = 0; i < MY_NSTMT; i++) {
		if ((s->st[i] = mysql_stmt_init(s->db)) == NULL)
			return (my_fail(s, mysql_errno(s->db),
			    mysql_error(s->db), "stmt init"));
		if (mysql_stmt_prepare(s->st[i], MY_TEXT(i),
		    strlen(MY_TEXT(i))) != 0) {
			r = my_fail(s, mysql_stmt_errno(s->st[i]),
			    mysql_stmt_error(s->st[i]), MY_TEXT(i));
			return (r == STORE_EXISTS ? STORE_PERM : r);
		}
	}
	return (STORE_OK);
}

/* my_connect - make the connection and prepare the statements; with
 * prepare = 0 only connect (migrations run before the tables exist) */
static enum store_status
my_connect(struct sql_mysql *s, int prepare)
{
	char	 err[256];
	unsigned int e = 0;
	enum store_status r;

	if (s->db == NULL) {
		if ((s->db = my_connect_db(s, &e, err, sizeof(err))) == NULL) {
			if (!s->down)
				log_error("mysql %s: connect: %s (%u)",
				    s->where, err, e);
			s->down = 1;
			r = my_map(e);
			return (r == STORE_EXISTS ? STORE_TEMP : r);
		}
		if (s->down)
			log_info("mysql %s: connected again", s->where);
		s->down = 0;
		s->in_tx = 0;
	}
	if (prepare && s->st[0] == NULL) {
		if ((r = my_prepare_all(s)) != STORE_OK) {
			my_drop(s);
			return (r);
		}
	}
	s->last_used_ms = bp_mono_ms();
	return (STORE_OK);
}

/* my_ready - a live connection with prepared statements.  A connection
 * idle for a while is pinged first, so that a server restarted meanwhile
 * costs a reconnect instead of a failed call. */
static enum store_status
my_ready(struct sql_mysql *s)
{
	if (s->db != NULL && s->st[0] != NULL && !s->in_tx &&
	    bp_mono_ms() - s->last_used_ms >= MY_IDLE_PING_MS) {
		if (mysql_ping(s->db) != 0) {
			if (log_verbose)
				log_info("mysql %s: ping: %s; reconnecting",
				    s->where, mysql_error(s->db));
			my_drop(s);
		}
	}
	return (my_connect(s, 1));
}

/* my_start - make id current, with its n parameters */
static void
my_start(struct sql *b, enum sql_stmt id, const struct sql_arg *a, size_t n)
{
	struct sql_mysql *s = MY(b);
	MYSQL_BIND *p;
	size_t	i;

	if (n > MY_MAXP)
		log_panic("mysql: %zu parameters", n);
	s->cur = (int)id;
	s->np = (unsigned int)n;
	s->run = 0;
	memset(s->p, 0, n * sizeof(s->p[0]));
	for (i = 0, p = s->p; i < n; i++, p++) {
		if (a[i].type == SQL_INT) {
			s->pint[i] = a[i].i;
			p->buffer_type = MYSQL_TYPE_LONGLONG;
			p->buffer = &s->pint[i];
			continue;
		}
		s->plen[i] = a[i].type == SQL_TEXT ? strlen(a[i].p) : a[i].len;
		p->buffer_type = a[i].type == SQL_TEXT ? MYSQL_TYPE_STRING :
		    MYSQL_TYPE_BLOB;
		p->buffer = (void *)(s->plen[i] > 0 ? a[i].p : "");
		p->buffer_length = s->plen[i];
		p->length = &s->plen[i];
	}
}

/* my_read_only - a plain SELECT: safe to run again after a lost
 * connection */
static int
my_read_only(int id)
{
	return (strncmp(MY_TEXT(id), "SELECT", 6) == 0 &&
	    strstr(MY_TEXT(id), "FOR UPDATE") == NULL);
}

/* my_exec_once - bind, execute and buffer the rows of the current
 * statement on the current connection; -1 on failure */
static int
my_exec_once(struct sql_mysql *s, MYSQL_STMT *st)
{
	my_ulonglong n;

	if (s->np != mysql_stmt_param_count(st))
		log_panic("mysql: %u parameters for %.40s", s->np,
		    MY_TEXT(s->cur));
	if ((s->nr = mysql_stmt_field_count(st)) > SQL_MAXCOL)
		log_panic("mysql: %u columns for %.40s", s->nr,
		    MY_TEXT(s->cur));
	if ((s->np > 0 && mysql_stmt_bind_param(st, s->p) != 0) ||
	    mysql_stmt_execute(st) != 0)
		return (-1);
	if (s->nr > 0 && (mysql_stmt_bind_result(st, s->r) != 0 ||
	    mysql_stmt_store_result(st) != 0))
		return (-1);
	n = mysql_stmt_affected_rows(st);
	s->base.changes = n == (my_ulonglong)-1 ? 0 : (int64_t)n;
	s->base.last_id = (int64_t)mysql_stmt_insert_id(st);
	return (0);
}

/* my_exec - execute the current statement; a plain SELECT outside a
 * transaction gets one more try on a fresh connection when the old one
 * turns out dead */
static enum store_status
my_exec(struct sql_mysql *s)
{
	MYSQL_STMT *st;
	enum store_status r;
	unsigned int e;
	int	 try;

	for (try = 0; try < 2; try++) {
		if ((r = my_ready(s)) != STORE_OK)
			return (r);
		st = s->st[s->cur];
		if (my_exec_once(s, st) == 0) {
			s->last_used_ms = bp_mono_ms();
			s->run = 1;
			return (STORE_OK);
		}
		e = mysql_stmt_errno(st);
		if (try == 0 && my_conn_error(e) && !s->in_tx &&
		    my_read_only(s->cur)) {
			if (log_verbose)
				log_info("mysql %s: %.40s: %s; reconnecting",
				    s->where, MY_TEXT(s->cur),
				    mysql_stmt_error(st));
			my_drop(s);
			continue;
		}
		return (my_fail(s, e, mysql_stmt_error(st), MY_TEXT(s->cur)));
	}
	return (STORE_TEMP);
}

/* my_step - execute at the first step, then the next buffered row */
static enum store_status
my_step(struct sql *b)
{
	struct sql_mysql *s = MY(b);
	enum store_status r;
	int	rc;

	if (!s->run && (r = my_exec(s)) != STORE_OK)
		return (r);
	if (s->nr == 0)
		return (STORE_NOTFOUND);
	rc = mysql_stmt_fetch(s->st[s->cur]);
	if (rc == 0 || rc == MYSQL_DATA_TRUNCATED)
		return (STORE_OK);
	if (rc == MYSQL_NO_DATA)
		return (STORE_NOTFOUND);
	return (my_fail(s, mysql_stmt_errno(s->st[s->cur]),
	    mysql_stmt_error(s->st[s->cur]), MY_TEXT(s->cur)));
}

/* my_fetch_col - len bytes of a column of the row into a bind of type */
static void
my_fetch_col(struct sql_mysql *s, int col, enum enum_field_types type,
    void *buf, size_t len)
{
	MYSQL_BIND b;
	unsigned long n;
	my_bool	 null, err;

	memset(&b, 0, sizeof(b));
	b.buffer_type = type;
	b.buffer = buf;
	b.buffer_length = (unsigned long)len;
	b.length = &n;
	b.is_null = &null;
	b.error = &err;
	if (s->run && s->st[s->cur] != NULL)
		(void)mysql_stmt_fetch_column(s->st[s->cur], &b,
		    (unsigned int)col, 0);
}

/* my_col_int - an integer column (NULL reads as 0) */
static int64_t
my_col_int(struct sql *b, int col)
{
	struct sql_mysql *s = MY(b);
	long long v = 0;

	if (!s->rnull[col])
		my_fetch_col(s, col, MYSQL_TYPE_LONGLONG, &v, sizeof(v));
	return ((int64_t)v);
}

/* my_col_copy - up to size bytes of a column; its length */
static size_t
my_col_copy(struct sql *b, int col, void *buf, size_t size)
{
	struct sql_mysql *s = MY(b);
	size_t	n = s->rnull[col] ? 0 : (size_t)s->rlen[col];

	if (n > 0 && size > 0)
		my_fetch_col(s, col, MYSQL_TYPE_BLOB, buf, n < size ? n : size);
	return (n);
}

/* my_done - free the buffered rows */
static void
my_done(struct sql *b)
{
	struct sql_mysql *s = MY(b);

	if (s->run && s->nr > 0 && s->st[s->cur] != NULL)
		mysql_stmt_free_result(s->st[s->cur]);
	s->run = 0;
}

/* my_begin - a transaction (connecting if needed); none for a guarded
 * look-then-insert, which the unique key settles */
static enum store_status
my_begin(struct sql *b, enum sql_tx mode)
{
	struct sql_mysql *s = MY(b);
	enum store_status r;

	if (mode == SQL_GUARDED)
		return (STORE_OK);
	if ((r = sql_exec(b, MY_BEGIN)) == STORE_OK)
		s->in_tx = 1;
	return (r);
}

/* my_end - commit if r is STORE_OK, else roll back; returns the outcome */
static enum store_status
my_end(struct sql *b, enum store_status r)
{
	struct sql_mysql *s = MY(b);
	enum store_status c;

	if (r == STORE_OK && s->in_tx) {
		c = sql_exec(b, MY_COMMIT);
		s->in_tx = 0;
		return (c == STORE_EXISTS ? STORE_TEMP : c);
	}
	if (s->in_tx && s->db != NULL)
		(void)sql_exec(b, MY_ROLLBACK);
	s->in_tx = 0;
	return (r);
}

/* my_once - prepare and run one statement outside the cache, with an
 * optional text parameter and an optional integer result (-1 when NULL
 * or no row); the error quiet is STORE_NOTFOUND, not logged */
static enum store_status
my_once(struct sql_mysql *s, const char *sql, const char *param,
    long long *res, unsigned int quiet)
{
	MYSQL_STMT *st;
	MYSQL_BIND p, rb;
	unsigned long plen = param != NULL ? strlen(param) : 0;
	my_bool	 isnull = 0;
	long long v = 0;
	unsigned int e;
	char	 err[256];
	int	 rc;

	if ((st = mysql_stmt_init(s->db)) == NULL)
		return (my_fail(s, mysql_errno(s->db), mysql_error(s->db),
		    "stmt init"));
	memset(&p, 0, sizeof(p));
	memset(&rb, 0, sizeof(rb));
	p.buffer_type = MYSQL_TYPE_STRING;
	p.buffer = (void *)param;
	p.buffer_length = plen;
	p.length = &plen;
	rb.buffer_type = MYSQL_TYPE_LONGLONG;
	rb.buffer = &v;
	rb.is_null = &isnull;
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0 ||
	    (param != NULL && mysql_stmt_bind_param(st, &p) != 0) ||
	    mysql_stmt_execute(st) != 0 ||
	    (res != NULL && (mysql_stmt_bind_result(st, &rb) != 0 ||
	    mysql_stmt_store_result(st) != 0))) {
		e = mysql_stmt_errno(st);
		bp_strlcpy(err, mysql_stmt_error(st), sizeof(err));
		mysql_stmt_close(st);
		if (e == quiet)
			return (STORE_NOTFOUND);
		return (my_fail(s, e, err, sql));
	}
	if (res != NULL) {
		rc = mysql_stmt_fetch(st);
		*res = (rc == 0 || rc == MYSQL_DATA_TRUNCATED) && !isnull ?
		    v : -1;
		mysql_stmt_free_result(st);
	}
	mysql_stmt_close(st);
	return (STORE_OK);
}

/* my_version - the schema version recorded (0 = no tables yet) */
static enum store_status
my_version(struct sql *b, int *version)
{
	struct sql_mysql *s = MY(b);
	enum store_status r;
	long long v = 0;

	*version = 0;
	r = s->st[0] != NULL ? my_ready(s) : my_connect(s, 0);
	if (r == STORE_OK && (r = my_once(s, "SELECT COALESCE(MAX(version), "
	    "0) FROM schema_version", NULL, &v, ER_NO_SUCH_TABLE)) ==
	    STORE_OK)
		*version = (int)v;
	return (r == STORE_NOTFOUND ? STORE_OK : r);
}

/* my_unlock - give the lock and the long-timeout connection up; the next
 * call connects with the short timeouts and prepares */
static enum store_status
my_unlock(struct sql *b, enum store_status r)
{
	struct sql_mysql *s = MY(b);
	long long got;

	if (s->db != NULL)
		(void)my_once(s, "SELECT RELEASE_LOCK(?)", s->lock, &got, 0);
	my_drop(s);
	s->migrating = 0;
	return (r);
}

/* my_lock - a connection of its own, with long timeouts (DDL and waiting
 * for another host's migration may take longer than a lookup may), and
 * the named lock */
static enum store_status
my_lock(struct sql *b)
{
	struct sql_mysql *s = MY(b);
	long long got = 0;
	enum store_status r;

	my_drop(s);
	s->migrating = 1;
	if ((r = my_connect(s, 0)) == STORE_OK &&
	    (r = my_once(s, "SELECT GET_LOCK(?, " MY_LOCK_TIMEOUT ")",
	    s->lock, &got, 0)) == STORE_OK && got != 1) {
		log_error("mysql %s: migrate: lock %s busy for %s s",
		    s->where, s->lock, MY_LOCK_TIMEOUT);
		r = STORE_TEMP;
	}
	if (r != STORE_OK) {
		my_drop(s);
		s->migrating = 0;
	}
	return (r);
}

/* my_script - run a migration's statements one by one: each ends with a
 * ";" that ends a line; "--" lines are comments */
static enum store_status
my_script(struct sql *b, const char *sql)
{
	enum store_status r = STORE_OK;
	const char *p, *e;
	char	*one = NULL;
	size_t	 len = 0, n;

	for (p = sql; r == STORE_OK && *p != '\0'; p = *e ? e + 1 : e) {
		e = p + strcspn(p, "\n");
		n = (size_t)(e - p);
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			n--;
		if (n == 0 || strncmp(p + strspn(p, " \t"), "--", 2) == 0)
			continue;
		one = xrealloc(one, len + n + 2);
		memcpy(one + len, p, n);
		len += n;
		one[len++] = '\n';
		one[len] = '\0';
		if (p[n - 1] == ';' || *e == '\0') {
			one[len - 1 - (p[n - 1] == ';')] = '\0';
			r = my_once(MY(b), one, NULL, NULL, 0);
			len = 0;
		}
	}
	free(one);
	return (r == STORE_EXISTS ? STORE_PERM : r);
}

/* my_parse_uri - host, port, user, pass, dbname, sock from the URI
 * (uri.c); 0, or -1 with *why */
static int
my_parse_uri(struct sql_mysql *s, const char *text, const char **why)
{
	struct uri u;
	const char *sock = NULL;
	int	 rc = -1;

	if (uri_parse(text, strlen(text), &u, why) != 0)
		return (-1);
	*why = "want mysql://user:password@host[:port]/db[?socket=/path]";
	if (strcmp(u.scheme, "mysql") != 0 || !u.has_authority ||
	    u.path[0] != '/' || u.path[1] == '\0' ||
	    u.nparam > 1 || (u.nparam == 1 &&
	    (sock = uri_param(&u, "socket")) == NULL))
		goto out;
	s->host = u.host[0] != '\0' ? xstrdup(u.host) : NULL;
	s->port = (unsigned int)u.port;
	s->user = u.has_user ? xstrdup(u.user) : NULL;
	s->pass = u.has_password ? xstrdup(u.password) : NULL;
	s->dbname = xstrdup(u.path + 1);
	s->sock = sock != NULL ? xstrdup(sock) : NULL;
	snprintf(s->where, sizeof(s->where), "%s:%u/%s",
	    s->sock ? s->sock : s->host ? s->host : "localhost",
	    s->port ? s->port : 3306, s->dbname);
	snprintf(s->lock, sizeof(s->lock), "bipostal_migrate:%.100s",
	    s->dbname);
	rc = 0;
out:
	uri_clear(&u);
	return (rc);
}

/* my_close - statements, connection, strings */
static void
my_close(struct sql *b)
{
	struct sql_mysql *s = MY(b);

	if (s == NULL)
		return;
	my_drop(s);
	free(s->host);
	free(s->user);
	if (s->pass != NULL)
		explicit_bzero(s->pass, strlen(s->pass));
	free(s->pass);
	free(s->dbname);
	free(s->sock);
	free(s);
}

/* my_open - parse the URI; the connection is made on first use */
static struct sql *
my_open(const char *uri, enum store_status *status, const char **why)
{
	struct sql_mysql *s = xcalloc(1, sizeof(*s));
	int	i;

	s->base.where = s->where;
	for (i = 0; i < SQL_MAXCOL; i++) {
		s->r[i].buffer_type = MYSQL_TYPE_BLOB;	/* lengths only */
		s->r[i].length = &s->rlen[i];
		s->r[i].is_null = &s->rnull[i];
		s->r[i].error = &s->rerr[i];
	}
	if (my_parse_uri(s, uri, why) != 0) {
		*status = STORE_PERM;
		my_close(&s->base);
		return (NULL);
	}
	*status = STORE_OK;
	return (&s->base);
}

/* my_prepare - connect and prepare (again after every reconnect) */
static enum store_status
my_prepare(struct sql *b)
{
	return (my_connect(MY(b), 1));
}

const struct sql_driver sql_mysql_driver = {
	.name = "mysql",
	.caps = 0, .flags = 0,	/* a server; writes answer no rows */
	.dialect = my_dialect, .own = my_own,
	.migrations = my_migrations,
	.nmigrations = sizeof(my_migrations) / sizeof(my_migrations[0]),
	.version_table = "CREATE TABLE IF NOT EXISTS schema_version ("
	    "version INT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, "
	    "applied BIGINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
	.open = my_open, .prepare = my_prepare, .close = my_close,
	.version = my_version, .lock = my_lock, .unlock = my_unlock,
	.script = my_script,
	.start = my_start, .step = my_step, .col_int = my_col_int,
	.col_copy = my_col_copy, .done = my_done,
	.begin = my_begin, .end = my_end,
};
