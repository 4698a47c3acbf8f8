/*
 * store_mysql.c - the MySQL/MariaDB store backend (MariaDB Connector/C)
 *
 * URI: mysql://user:password@host:port/db, user and password
 * percent-decoded; "?socket=/path" connects through a Unix socket instead.
 * Several MX hosts share one database.  Every query is a prepared
 * statement (mysql_stmt_*); the statements are prepared when the
 * connection is made and again after every reconnect.
 *
 * Failures: the connection has short connect, read and write timeouts, so
 * a dead or hung server answers STORE_TEMP within seconds, never
 * STORE_NOTFOUND.  A client-side error (server gone, lost, refused,
 * timeout) drops the connection and its statements; the next call
 * connects again, so the same struct store recovers by itself after a
 * server restart.  A connection idle for a second is pinged before use,
 * and a read outside a transaction that meets a dead connection is tried
 * once more on a fresh one; writes are never repeated (they may have
 * happened).  Row lock waits end after MY_LOCK_WAIT seconds, before the
 * read timeout, with a clean error.  Deadlocks and lock waits are
 * STORE_TEMP (alias_create and node_assign try again); access denied,
 * unknown database, table or column are STORE_PERM; a duplicate key is
 * STORE_EXISTS to the caller's code.  Each failure is logged once, here.
 *
 * Schema: the migrations in sql/mysql/NNN_*.sql are compiled in (see
 * sql/local.mk) and applied on open and by store_migrate, on a
 * connection of their own with long timeouts, under GET_LOCK so that
 * hosts starting at once apply each one once; each is recorded in
 * schema_version.  Blobs (up to STORE_BLOB_MAX) need the server's
 * max_allowed_packet above that (MariaDB's default is 16 MiB).  Semantics are those of store_sqlite.c:
 * the same tables and columns, the same answers.  "One live alias per
 * (user, origin)" is a UNIQUE key over a generated column that is NULL
 * for deleted aliases; two hosts racing to create one see a duplicate key
 * and read the winner's row.
 *
 * Ownership: arrays returned by the *_list and *_read calls are new
 * (free(), or qmsgs_free / blob_free for their data).
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>

#include "log.h"
#include "store.h"
#include "util.h"

#define MY_CONNECT_TIMEOUT	3	/* seconds */
#define MY_RW_TIMEOUT		5
#define MY_LOCK_WAIT		3	/* row lock wait: below MY_RW_TIMEOUT */
#define MY_MIGRATE_TIMEOUT	120	/* DDL and GET_LOCK may be slow */
#define MY_IDLE_PING_MS		1000	/* ping a connection idle this long */
#define MY_LOCK_TIMEOUT		30	/* GET_LOCK wait for migrations */
#define MY_MAXP			12	/* parameters of one statement */
#define MY_MAXR			14	/* columns of one result */

struct my_migration {
	int		 version;
	const char	*name;
	const char	*sql;
};

static const struct my_migration my_migrations[] = {
#include "sql/mysql_migrations.h"
};
#define MY_NMIGRATIONS	(sizeof(my_migrations) / sizeof(my_migrations[0]))

#define USER_COLS	"u.id, u.queue_id, u.email, u.pwhash, u.totp, u.status, " \
			"u.is_admin, u.node_id, u.disabled_action, " \
			"u.content_policy, u.created"
#define ALIAS_COLS	"token, user_id, origin, status, created, updated, " \
			"deleted_at, expires_at, context, forwarded, blocked, " \
			"replied, last_seen"
#define NODE_COLS	"id, host, port, capacity, current_load, available, " \
			"downed, draining"
#define NODE_PICKABLE	"downed = 0 AND draining = 0 AND current_load < capacity"

enum my_stmt {
	MY_BEGIN, MY_COMMIT, MY_ROLLBACK, MY_PING,
	MY_USER_INSERT, MY_IDENT_INSERT, MY_USER_GET, MY_USER_BY_IDENT,
	MY_USER_BY_QID, MY_USER_UPDATE, MY_USER_LIST, MY_USER_NODE,
	MY_USER_SET_NODE,
	MY_ALIAS_LIVE, MY_ALIAS_INSERT, MY_ALIAS_GET, MY_ALIAS_ROUTE,
	MY_ALIAS_LIST, MY_ALIAS_STATUS, MY_ALIAS_SET_STATUS,
	MY_ALIAS_SET_CONTEXT, MY_ALIAS_SET_EXPIRY, MY_ALIAS_COUNT_FORWARDED,
	MY_ALIAS_COUNT_BLOCKED, MY_ALIAS_COUNT_REPLIED,
	MY_REPLY_FIND, MY_REPLY_INSERT, MY_REPLY_GET,
	MY_QUEUE_NEXT, MY_QUEUE_INSERT, MY_QUEUE_READ, MY_QUEUE_FIRST,
	MY_BLOB_INSERT, MY_BLOB_GET,
	MY_NODE_INSERT, MY_NODE_UPDATE, MY_NODE_LIST, MY_NODE_GET,
	MY_NODE_PICK, MY_NODE_RELEASE, MY_NODE_TAKE, MY_NODE_DROP,
	MY_EVENT_INSERT, MY_EVENT_READ,
	MY_PURGE_REPLIES, MY_PURGE_ALIASES, MY_PURGE_QUEUE, MY_PURGE_BLOBS,
	MY_PURGE_EVENTS, MY_PURGE_RATES,
	MY_USAGE_BLOBS, MY_USAGE_QUEUE, MY_USAGE_REPLIES, MY_RATE_HIT,
	MY_RATE_GET,
	MY_NSTMT
};

static const char *const my_sql[MY_NSTMT] = {
	[MY_BEGIN] = "START TRANSACTION",
	[MY_COMMIT] = "COMMIT",
	[MY_ROLLBACK] = "ROLLBACK",
	[MY_PING] = "SELECT COUNT(*) FROM schema_version",

	[MY_USER_INSERT] = "INSERT INTO users (queue_id, email, pwhash, "
	    "created) VALUES (?, ?, ?, ?)",
	[MY_IDENT_INSERT] = "INSERT INTO identities (ident, user_id) "
	    "VALUES (?, ?)",
	[MY_USER_GET] = "SELECT " USER_COLS " FROM users u WHERE u.id = ?",
	[MY_USER_BY_IDENT] = "SELECT " USER_COLS " FROM identities i "
	    "JOIN users u ON u.id = i.user_id WHERE i.ident = ?",
	[MY_USER_BY_QID] = "SELECT " USER_COLS " FROM users u "
	    "WHERE u.queue_id = ?",
	[MY_USER_UPDATE] = "UPDATE users SET email = ?, pwhash = ?, totp = ?, "
	    "status = ?, is_admin = ?, disabled_action = ?, content_policy = ? "
	    "WHERE id = ?",
	[MY_USER_LIST] = "SELECT " USER_COLS " FROM users u ORDER BY u.id",
	[MY_USER_NODE] = "SELECT node_id FROM users WHERE id = ? FOR UPDATE",
	[MY_USER_SET_NODE] = "UPDATE users SET node_id = ? WHERE id = ?",

	[MY_ALIAS_LIVE] = "SELECT " ALIAS_COLS " FROM aliases "
	    "WHERE user_id = ? AND live_origin = ?",
	[MY_ALIAS_INSERT] = "INSERT INTO aliases (token, user_id, origin, "
	    "status, created, updated, expires_at) VALUES (?, ?, ?, 0, ?, ?, ?)",
	[MY_ALIAS_GET] = "SELECT " ALIAS_COLS " FROM aliases WHERE token = ?",
	[MY_ALIAS_ROUTE] = "SELECT a.status, a.expires_at, a.user_id, "
	    "u.status, u.disabled_action, u.content_policy, u.email, a.origin "
	    "FROM aliases a JOIN users u ON u.id = a.user_id "
	    "WHERE a.token = ?",
	[MY_ALIAS_LIST] = "SELECT " ALIAS_COLS " FROM aliases "
	    "WHERE user_id = ? AND status <> 2 ORDER BY created, token",
	[MY_ALIAS_STATUS] = "SELECT status FROM aliases WHERE token = ?",
	[MY_ALIAS_SET_STATUS] = "UPDATE aliases SET status = ?, updated = ?, "
	    "deleted_at = IF(? = 2, ?, 0) WHERE token = ? AND status <> 2",
	[MY_ALIAS_SET_CONTEXT] = "UPDATE aliases SET context = ?, updated = ? "
	    "WHERE token = ? AND status <> 2",
	[MY_ALIAS_SET_EXPIRY] = "UPDATE aliases SET expires_at = ?, "
	    "updated = ? WHERE token = ? AND status <> 2",
	[MY_ALIAS_COUNT_FORWARDED] = "UPDATE aliases SET forwarded = "
	    "forwarded + 1, last_seen = ? WHERE token = ?",
	[MY_ALIAS_COUNT_BLOCKED] = "UPDATE aliases SET blocked = "
	    "blocked + 1, last_seen = ? WHERE token = ?",
	[MY_ALIAS_COUNT_REPLIED] = "UPDATE aliases SET replied = "
	    "replied + 1, last_seen = ? WHERE token = ?",

	[MY_REPLY_FIND] = "SELECT token, alias, sender, created FROM replies "
	    "WHERE alias = ? AND sender = ?",
	[MY_REPLY_INSERT] = "INSERT INTO replies (token, alias, sender, "
	    "created) VALUES (?, ?, ?, ?)",
	[MY_REPLY_GET] = "SELECT token, alias, sender, created FROM replies "
	    "WHERE token = ?",

	/* LAST_INSERT_ID(expr) hands the new value back in the OK packet */
	[MY_QUEUE_NEXT] = "UPDATE users SET queue_idx = "
	    "LAST_INSERT_ID(queue_idx + 1) WHERE id = ?",
	[MY_QUEUE_INSERT] = "INSERT INTO queue (user_id, idx, expires_at, "
	    "data) VALUES (?, ?, ?, ?)",
	[MY_QUEUE_READ] = "SELECT idx, expires_at, data FROM queue "
	    "WHERE user_id = ? AND idx >= ? AND expires_at > ? "
	    "ORDER BY idx LIMIT ?",
	[MY_QUEUE_FIRST] = "SELECT MIN(idx) FROM queue "
	    "WHERE user_id = ? AND expires_at > ?",

	[MY_BLOB_INSERT] = "INSERT INTO blobs (id, user_id, alias, name, "
	    "type, size, data, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[MY_BLOB_GET] = "SELECT id, user_id, alias, name, type, expires_at, "
	    "data FROM blobs WHERE id = ? AND expires_at > ?",

	[MY_NODE_INSERT] = "INSERT INTO nodes (host, port, capacity) "
	    "VALUES (?, ?, ?)",
	[MY_NODE_UPDATE] = "UPDATE nodes SET host = ?, port = ?, "
	    "capacity = ?, available = ?, downed = ?, draining = ? "
	    "WHERE id = ?",
	[MY_NODE_LIST] = "SELECT " NODE_COLS " FROM nodes ORDER BY id",
	[MY_NODE_GET] = "SELECT " NODE_COLS " FROM nodes WHERE id = ? "
	    "FOR UPDATE",
	[MY_NODE_PICK] = "SELECT " NODE_COLS " FROM nodes WHERE "
	    NODE_PICKABLE " AND available > 0 "
	    "ORDER BY capacity - current_load DESC, id LIMIT 1 FOR UPDATE",
	[MY_NODE_RELEASE] = "UPDATE nodes SET available = "
	    "LEAST(capacity - current_load, GREATEST(1, capacity DIV 10)) "
	    "WHERE " NODE_PICKABLE " AND available <= 0",
	[MY_NODE_TAKE] = "UPDATE nodes SET current_load = current_load + 1, "
	    "available = GREATEST(available - 1, 0) WHERE id = ?",
	[MY_NODE_DROP] = "UPDATE nodes SET current_load = "
	    "GREATEST(current_load - 1, 0) WHERE id = ?",

	[MY_EVENT_INSERT] = "INSERT INTO events (user_id, type, data, "
	    "created) VALUES (?, ?, ?, ?)",
	[MY_EVENT_READ] = "SELECT id, user_id, type, data, created FROM events "
	    "WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?",

	[MY_PURGE_REPLIES] = "DELETE FROM replies WHERE alias IN (SELECT token "
	    "FROM aliases WHERE status = 2 AND deleted_at <= ?)",
	[MY_PURGE_ALIASES] = "DELETE FROM aliases WHERE status = 2 "
	    "AND deleted_at <= ?",
	[MY_PURGE_QUEUE] = "DELETE FROM queue WHERE expires_at <= ?",
	[MY_PURGE_BLOBS] = "DELETE FROM blobs WHERE expires_at <= ?",
	[MY_PURGE_EVENTS] = "DELETE FROM events WHERE created <= ?",
	[MY_PURGE_RATES] = "DELETE FROM rate_limits WHERE start <= ?",

	[MY_USAGE_BLOBS] = "SELECT coalesce(sum(size), 0) FROM blobs "
	    "WHERE user_id = ? AND expires_at > ?",
	[MY_USAGE_QUEUE] = "SELECT count(*) FROM queue "
	    "WHERE user_id = ? AND expires_at > ?",
	[MY_USAGE_REPLIES] = "SELECT count(*) FROM aliases a "
	    "JOIN replies r ON r.alias = a.token WHERE a.user_id = ?",
	/* count first: MySQL assigns left to right, start is still old */
	[MY_RATE_HIT] = "INSERT INTO rate_limits (k, start, count) "
	    "VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE "
	    "count = IF(start + ? <= VALUES(start), VALUES(count), "
	    "count + VALUES(count)), "
	    "start = IF(start + ? <= VALUES(start), VALUES(start), start)",
	[MY_RATE_GET] = "SELECT count, start FROM rate_limits WHERE k = ?",
};

struct store_mysql {
	struct store	 base;		/* first: &s->base is the store */
	MYSQL		*db;		/* NULL: dropped, connect on next use */
	MYSQL_STMT	*st[MY_NSTMT];
	char		*host;		/* NULL = localhost */
	char		*user;
	char		*pass;
	char		*dbname;
	char		*sock;		/* NULL = TCP */
	unsigned int	 port;
	char		 where[320];	/* "host:port/db" for log lines */
	int		 in_tx;
	int		 migrating;	/* long timeouts on this connection */
	int		 down;		/* last connect failed (logged once) */
	unsigned int	 last_errno;	/* of the last failed call */
	long long	 last_used_ms;	/* monotonic, of the last good call */
};

#define MY(store)	((struct store_mysql *)(store))

/* One statement's parameters and result columns.  Result columns are
 * fetched into temporaries and copied out to their destinations by
 * my_fetch, so fixed-size fields are always NUL-terminated. */
enum my_rkind { R_I64, R_INT, R_STR, R_BIN, R_VAR };

struct my_q {
	struct store_mysql *s;
	enum my_stmt	 id;
	MYSQL_STMT	*st;
	int		 np, nr;
	MYSQL_BIND	 p[MY_MAXP];
	unsigned long	 plen[MY_MAXP];
	long long	 pint[MY_MAXP];
	MYSQL_BIND	 r[MY_MAXR];
	unsigned long	 rlen[MY_MAXR];
	my_bool		 rnull[MY_MAXR];
	my_bool		 rerr[MY_MAXR];
	long long	 rint[MY_MAXR];
	enum my_rkind	 rkind[MY_MAXR];
	void		*rdst[MY_MAXR];
	size_t		 rsize[MY_MAXR];
	size_t		*rlenp[MY_MAXR];
	int		 stored;
};

/* my_now_ms - monotonic milliseconds */
static long long
my_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

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
my_drop(struct store_mysql *s)
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
}

/* my_fail - log one failed call, drop a broken connection, map it.
 * Duplicate keys are the caller's business and are not logged. */
static enum store_status
my_fail(struct store_mysql *s, unsigned int e, const char *err,
    const char *what)
{
	enum store_status st = my_map(e);

	s->last_errno = e;
	if (st != STORE_EXISTS)
		log_error("mysql %s: %s: %s (%u)", s->where, what,
		    err != NULL ? err : "?", e);
	if (my_conn_error(e))
		my_drop(s);
	return (st);
}

/* my_connect_db - one new connection, options set; NULL on failure with
 * *e and *err (static or the handle's, copied into errbuf) */
static MYSQL *
my_connect_db(struct store_mysql *s, unsigned int *e, char *errbuf,
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
my_prepare_all(struct store_mysql *s)
{
	int	i;

	for (i = 0; i < MY_NSTMT; i++) {
		if ((s->st[i] = mysql_stmt_init(s->db)) == NULL)
			return (my_fail(s, mysql_errno(s->db),
			    mysql_error(s->db), "stmt init"));
		if (mysql_stmt_prepare(s->st[i], my_sql[i],
		    strlen(my_sql[i])) != 0) {
			unsigned int e = mysql_stmt_errno(s->st[i]);
			enum store_status r;

			r = my_fail(s, e, mysql_stmt_error(s->st[i]), my_sql[i]);
			return (r == STORE_EXISTS ? STORE_PERM : r);
		}
	}
	return (STORE_OK);
}

/* my_connect - make the connection and prepare the statements; with
 * prepare = 0 only connect (migrations run before the tables exist) */
static enum store_status
my_connect(struct store_mysql *s, int prepare)
{
	char	 err[256];
	unsigned int e = 0;
	enum store_status r;

	if (s->db == NULL) {
		if ((s->db = my_connect_db(s, &e, err, sizeof(err))) == NULL) {
			s->last_errno = e;
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
	s->last_used_ms = my_now_ms();
	return (STORE_OK);
}

/* my_ready - a live connection with prepared statements.  A connection
 * idle for a while is pinged first, so that a server restarted meanwhile
 * costs a reconnect instead of a failed call. */
static enum store_status
my_ready(struct store_mysql *s)
{
	if (s->db != NULL && s->st[0] != NULL && !s->in_tx &&
	    my_now_ms() - s->last_used_ms >= MY_IDLE_PING_MS) {
		if (mysql_ping(s->db) != 0) {
			if (log_verbose)
				log_info("mysql %s: ping: %s; reconnecting",
				    s->where, mysql_error(s->db));
			my_drop(s);
		}
	}
	return (my_connect(s, 1));
}

/* my_q_init - start a statement */
static void
my_q_init(struct my_q *q, struct store_mysql *s, enum my_stmt id)
{
	memset(q, 0, sizeof(*q));
	q->s = s;
	q->id = id;
}

/* my_p_int - bind the next parameter to an integer */
static void
my_p_int(struct my_q *q, long long v)
{
	int	i = q->np++;

	q->pint[i] = v;
	q->p[i].buffer_type = MYSQL_TYPE_LONGLONG;
	q->p[i].buffer = &q->pint[i];
}

/* my_p_bytes - bind the next parameter to len bytes (borrowed) */
static void
my_p_bytes(struct my_q *q, const void *data, size_t len, int blob)
{
	int	i = q->np++;

	q->plen[i] = (unsigned long)len;
	q->p[i].buffer_type = blob ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
	q->p[i].buffer = (void *)(len > 0 ? data : "");
	q->p[i].buffer_length = q->plen[i];
	q->p[i].length = &q->plen[i];
}

/* my_p_str - bind the next parameter to a string (borrowed) */
static void
my_p_str(struct my_q *q, const char *v)
{
	my_p_bytes(q, v, strlen(v), 0);
}

/* my_r - declare the next result column and where it goes */
static void
my_r(struct my_q *q, enum my_rkind kind, void *dst, size_t size,
    size_t *lenp)
{
	int	i = q->nr++;

	q->rkind[i] = kind;
	q->rdst[i] = dst;
	q->rsize[i] = size;
	q->rlenp[i] = lenp;
	q->r[i].length = &q->rlen[i];
	q->r[i].is_null = &q->rnull[i];
	q->r[i].error = &q->rerr[i];
	switch (kind) {
	case R_I64:
	case R_INT:
		q->r[i].buffer_type = MYSQL_TYPE_LONGLONG;
		q->r[i].buffer = &q->rint[i];
		break;
	case R_STR:
		q->r[i].buffer_type = MYSQL_TYPE_STRING;
		q->r[i].buffer = dst;
		q->r[i].buffer_length = (unsigned long)size - 1;
		break;
	case R_BIN:
		q->r[i].buffer_type = MYSQL_TYPE_BLOB;
		q->r[i].buffer = dst;
		q->r[i].buffer_length = (unsigned long)size;
		break;
	case R_VAR:
		/* length first; the data is fetched by my_fetch */
		q->r[i].buffer_type = MYSQL_TYPE_BLOB;
		q->r[i].buffer = NULL;
		q->r[i].buffer_length = 0;
		break;
	}
}

#define my_r_i64(q, p)		my_r((q), R_I64, (p), 0, NULL)
#define my_r_int(q, p)		my_r((q), R_INT, (p), 0, NULL)
#define my_r_enum(q, p)		my_r((q), R_INT, (p), 0, NULL)
#define my_r_str(q, b)		my_r((q), R_STR, (b), sizeof(b), NULL)
#define my_r_bin(q, b, lp)	my_r((q), R_BIN, (b), sizeof(b), (lp))
#define my_r_var(q, pp, lp)	my_r((q), R_VAR, (pp), 0, (lp))

/* my_read_only - a SELECT (safe to run again after a lost connection) */
static int
my_read_only(enum my_stmt id)
{
	return (strncmp(my_sql[id], "SELECT", 6) == 0 &&
	    strstr(my_sql[id], "FOR UPDATE") == NULL);
}

/* my_exec_once - bind and execute on the current connection */
static int
my_exec_once(struct my_q *q)
{
	struct store_mysql *s = q->s;

	q->st = s->st[q->id];
	if (q->np > 0 && mysql_stmt_bind_param(q->st, q->p) != 0)
		return (-1);
	if (mysql_stmt_execute(q->st) != 0)
		return (-1);
	if (q->nr > 0) {
		if (mysql_stmt_bind_result(q->st, q->r) != 0)
			return (-1);
		/* buffer the rows: the connection is free for the next
		 * statement while the caller reads them */
		if (mysql_stmt_store_result(q->st) != 0)
			return (-1);
		q->stored = 1;
	}
	return (0);
}

/* my_exec - execute q; reads outside a transaction get one more try on a
 * fresh connection when the old one turns out dead */
static enum store_status
my_exec(struct my_q *q, const char *what)
{
	struct store_mysql *s = q->s;
	enum store_status r;
	unsigned int e;
	int	 try;

	for (try = 0; try < 2; try++) {
		if ((r = my_ready(s)) != STORE_OK)
			return (r);
		if (my_exec_once(q) == 0) {
			s->last_used_ms = my_now_ms();
			return (STORE_OK);
		}
		e = mysql_stmt_errno(q->st);
		if (try == 0 && my_conn_error(e) && !s->in_tx &&
		    my_read_only(q->id)) {
			if (log_verbose)
				log_info("mysql %s: %s: %s; reconnecting",
				    s->where, what, mysql_stmt_error(q->st));
			q->stored = 0;
			my_drop(s);
			continue;
		}
		q->stored = 0;
		return (my_fail(s, e, mysql_stmt_error(q->st), what));
	}
	return (STORE_TEMP);
}

/* my_done - free the buffered rows of q */
static void
my_done(struct my_q *q)
{
	if (q->stored && q->s->st[q->id] == q->st)
		mysql_stmt_free_result(q->st);
	q->stored = 0;
}

/* my_fetch - the next row into the destinations: OK, NOTFOUND at the end,
 * or a failure.  R_VAR columns get new memory (NUL-terminated). */
static enum store_status
my_fetch(struct my_q *q, const char *what)
{
	int	 rc, i;
	size_t	 n;

	memset(q->rint, 0, sizeof(q->rint));
	rc = mysql_stmt_fetch(q->st);
	if (rc == MYSQL_NO_DATA)
		return (STORE_NOTFOUND);
	if (rc == 1)
		return (my_fail(q->s, mysql_stmt_errno(q->st),
		    mysql_stmt_error(q->st), what));
	/* MYSQL_DATA_TRUNCATED: the R_VAR columns, fetched below */
	for (i = 0; i < q->nr; i++) {
		switch (q->rkind[i]) {
		case R_I64:
			*(int64_t *)q->rdst[i] = q->rnull[i] ? 0 : q->rint[i];
			break;
		case R_INT:
			*(int *)q->rdst[i] = q->rnull[i] ? 0 : (int)q->rint[i];
			break;
		case R_STR:
			n = q->rnull[i] ? 0 : q->rlen[i];
			if (n > q->rsize[i] - 1)
				n = q->rsize[i] - 1;
			((char *)q->rdst[i])[n] = '\0';
			break;
		case R_BIN:
			n = q->rnull[i] ? 0 : q->rlen[i];
			*q->rlenp[i] = n > q->rsize[i] ? q->rsize[i] : n;
			break;
		case R_VAR: {
			MYSQL_BIND b;
			unsigned long len = q->rnull[i] ? 0 : q->rlen[i];
			char	*d = xmalloc((size_t)len + 1);

			if (len > 0) {
				memset(&b, 0, sizeof(b));
				b.buffer_type = MYSQL_TYPE_BLOB;
				b.buffer = d;
				b.buffer_length = len;
				if (mysql_stmt_fetch_column(q->st, &b,
				    (unsigned int)i, 0) != 0) {
					free(d);
					return (my_fail(q->s,
					    mysql_stmt_errno(q->st),
					    mysql_stmt_error(q->st), what));
				}
			}
			d[len] = '\0';
			*(char **)q->rdst[i] = d;
			*q->rlenp[i] = len;
			break;
		}
		}
	}
	return (STORE_OK);
}

/* my_run - execute a statement that returns no row */
static enum store_status
my_run(struct my_q *q, const char *what)
{
	return (my_exec(q, what));
}

/* my_row - execute and fetch one row: OK, NOTFOUND or failure */
static enum store_status
my_row(struct my_q *q, const char *what)
{
	enum store_status r;

	if ((r = my_exec(q, what)) != STORE_OK)
		return (r);
	r = my_fetch(q, what);
	my_done(q);
	return (r);
}

/* my_affected - rows matched by the last my_run */
static unsigned long long
my_affected(struct my_q *q)
{
	my_ulonglong n = mysql_stmt_affected_rows(q->st);

	return (n == (my_ulonglong)-1 ? 0 : n);
}

/* my_simple - run a statement without parameters or result */
static enum store_status
my_simple(struct store_mysql *s, enum my_stmt id, const char *what)
{
	struct my_q q;

	my_q_init(&q, s, id);
	return (my_run(&q, what));
}

/* my_begin - start a transaction (connecting if needed) */
static enum store_status
my_begin(struct store_mysql *s)
{
	enum store_status r;

	if ((r = my_simple(s, MY_BEGIN, "begin")) == STORE_OK)
		s->in_tx = 1;
	return (r);
}

/* my_end - commit if r is STORE_OK, else roll back; returns the outcome */
static enum store_status
my_end(struct store_mysql *s, enum store_status r)
{
	enum store_status c;

	if (r == STORE_OK && s->in_tx) {
		c = my_simple(s, MY_COMMIT, "commit");
		s->in_tx = 0;
		if (c == STORE_OK)
			return (STORE_OK);
		return (c == STORE_EXISTS ? STORE_TEMP : c);
	}
	if (s->in_tx && s->db != NULL)
		(void)my_simple(s, MY_ROLLBACK, "rollback");
	s->in_tx = 0;
	return (r);
}

/* my_user_cols - bind USER_COLS */
static void
my_user_cols(struct my_q *q, struct user *u)
{
	memset(u, 0, sizeof(*u));
	my_r_i64(q, &u->id);
	my_r_str(q, u->queue_id);
	my_r_str(q, u->email);
	my_r_str(q, u->pwhash);
	my_r_str(q, u->totp);
	my_r_enum(q, &u->status);
	my_r_int(q, &u->is_admin);
	my_r_i64(q, &u->node_id);
	my_r_enum(q, &u->disabled_action);
	my_r_enum(q, &u->content_policy);
	my_r_i64(q, &u->created);
}

/* my_alias_cols - bind ALIAS_COLS */
static void
my_alias_cols(struct my_q *q, struct alias *a)
{
	memset(a, 0, sizeof(*a));
	my_r_str(q, a->token);
	my_r_i64(q, &a->user_id);
	my_r_str(q, a->origin);
	my_r_enum(q, &a->status);
	my_r_i64(q, &a->created);
	my_r_i64(q, &a->updated);
	my_r_i64(q, &a->deleted_at);
	my_r_i64(q, &a->expires_at);
	my_r_bin(q, a->context, &a->context_len);
	my_r_i64(q, &a->forwarded);
	my_r_i64(q, &a->blocked);
	my_r_i64(q, &a->replied);
	my_r_i64(q, &a->last_seen);
}

/* my_node_cols - bind NODE_COLS */
static void
my_node_cols(struct my_q *q, struct node *n)
{
	memset(n, 0, sizeof(*n));
	my_r_i64(q, &n->id);
	my_r_str(q, n->host);
	my_r_int(q, &n->port);
	my_r_int(q, &n->capacity);
	my_r_int(q, &n->load);
	my_r_int(q, &n->available);
	my_r_int(q, &n->downed);
	my_r_int(q, &n->draining);
}

/* my_reply_cols - bind token, alias, sender, created */
static void
my_reply_cols(struct my_q *q, struct reply *r)
{
	memset(r, 0, sizeof(*r));
	my_r_str(q, r->token);
	my_r_str(q, r->alias);
	my_r_str(q, r->sender);
	my_r_i64(q, &r->created);
}

/* my_hexval - value of one hex digit, -1 if none */
static int
my_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

/* my_pct_decode - new copy of s[0..len) with %XX decoded; NULL if bad */
static char *
my_pct_decode(const char *s, size_t len)
{
	char	*out = xmalloc(len + 1), *o = out;
	size_t	 i;
	int	 hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 >= len) {
			free(out);
			return (NULL);
		}
		hi = my_hexval((unsigned char)s[i + 1]);
		lo = my_hexval((unsigned char)s[i + 2]);
		if (hi < 0 || lo < 0) {
			free(out);
			return (NULL);
		}
		*o++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*o = '\0';
	return (out);
}

/* my_parse_uri - fill host, port, user, pass, dbname, sock; why on error */
static int
my_parse_uri(struct store_mysql *s, const char *uri, const char **why)
{
	const char *p, *at, *end, *slash, *colon, *q, *hend;
	char	*rest;

	if (strncmp(uri, "mysql://", 8) != 0) {
		*why = "not a mysql:// URI";
		return (-1);
	}
	p = uri + 8;
	end = p + strcspn(p, "?");
	/* user:password@ - the last @ before the path's query */
	at = NULL;
	for (q = p; q < end; q++)
		if (*q == '@')
			at = q;
	if (at != NULL) {
		colon = memchr(p, ':', (size_t)(at - p));
		s->user = my_pct_decode(p, (size_t)((colon ? colon : at) - p));
		if (colon != NULL)
			s->pass = my_pct_decode(colon + 1,
			    (size_t)(at - colon - 1));
		if (s->user == NULL || (colon != NULL && s->pass == NULL)) {
			*why = "bad %-escape in the mysql:// user or password";
			return (-1);
		}
		p = at + 1;
	}
	slash = memchr(p, '/', (size_t)(end - p));
	hend = slash != NULL ? slash : end;
	if (*p == '[') {			/* [v6]:port */
		q = memchr(p, ']', (size_t)(hend - p));
		if (q == NULL) {
			*why = "bad [host] in the mysql:// URI";
			return (-1);
		}
		s->host = xstrndup(p + 1, (size_t)(q - p - 1));
		colon = q + 1 < hend && q[1] == ':' ? q + 1 : NULL;
	} else {
		colon = memchr(p, ':', (size_t)(hend - p));
		if ((colon ? colon : hend) > p)
			s->host = xstrndup(p, (size_t)((colon ? colon : hend) - p));
	}
	if (colon != NULL) {
		char	*e;
		long	 port = strtol(colon + 1, &e, 10);

		if (e != hend || port <= 0 || port > 65535) {
			*why = "bad port in the mysql:// URI";
			return (-1);
		}
		s->port = (unsigned int)port;
	}
	if (slash != NULL && slash + 1 < end)
		s->dbname = my_pct_decode(slash + 1, (size_t)(end - slash - 1));
	if (s->dbname == NULL || *s->dbname == '\0') {
		*why = "no database name in the mysql:// URI";
		return (-1);
	}
	if (*end == '?') {
		rest = xstrdup(end + 1);
		for (p = strtok(rest, "&"); p != NULL; p = strtok(NULL, "&")) {
			if (strncmp(p, "socket=", 7) == 0) {
				free(s->sock);
				s->sock = my_pct_decode(p + 7, strlen(p + 7));
			} else {
				free(rest);
				*why = "unknown option in the mysql:// URI";
				return (-1);
			}
		}
		free(rest);
	}
	snprintf(s->where, sizeof(s->where), "%s:%u/%s",
	    s->sock ? s->sock : s->host ? s->host : "localhost",
	    s->port ? s->port : 3306, s->dbname);
	return (0);
}

/* my_split_next - the next statement of a migration script: a copy of the
 * text up to a ";" that ends a line, with "--" comment lines left out;
 * NULL at the end.  *pp advances. */
static char *
my_split_next(const char **pp)
{
	const char *p = *pp, *t;
	char	*buf = NULL;
	size_t	 len = 0, n, k;
	int	 content = 0;

	while (*p != '\0') {
		n = strcspn(p, "\n");
		for (t = p; t < p + n && isspace((unsigned char)*t); t++)
			;
		if (t < p + n && !(t + 1 < p + n && t[0] == '-' &&
		    t[1] == '-')) {
			buf = xrealloc(buf, len + n + 2);
			memcpy(buf + len, p, n);
			len += n;
			buf[len++] = '\n';
			buf[len] = '\0';
			content = 1;
			for (k = len - 1; k > 0 &&
			    isspace((unsigned char)buf[k - 1]); k--)
				;
			if (k > 0 && buf[k - 1] == ';') {
				buf[k - 1] = '\0';
				p += n;
				if (*p == '\n')
					p++;
				*pp = p;
				return (buf);
			}
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	*pp = p;
	if (content)
		return (buf);
	free(buf);
	return (NULL);
}

/* my_stmt_once - prepare and run one statement with up to two int/str
 * parameters and an optional integer result (migrations, locks); the
 * result is -1 when NULL */
static enum store_status
my_stmt_once(struct store_mysql *s, const char *sql, const char *pstr,
    const long long *pint, long long *res)
{
	MYSQL_STMT *st;
	MYSQL_BIND p[2], r[1];
	unsigned long plen = 0;
	my_bool	 isnull = 0;
	long long v = 0;
	enum store_status ret = STORE_OK;
	int	 np = 0, rc;

	if ((st = mysql_stmt_init(s->db)) == NULL)
		return (my_fail(s, mysql_errno(s->db), mysql_error(s->db),
		    "stmt init"));
	memset(p, 0, sizeof(p));
	memset(r, 0, sizeof(r));
	if (pstr != NULL) {
		plen = strlen(pstr);
		p[np].buffer_type = MYSQL_TYPE_STRING;
		p[np].buffer = (void *)pstr;
		p[np].buffer_length = plen;
		p[np].length = &plen;
		np++;
	}
	if (pint != NULL) {
		p[np].buffer_type = MYSQL_TYPE_LONGLONG;
		p[np].buffer = (void *)pint;
		np++;
	}
	r[0].buffer_type = MYSQL_TYPE_LONGLONG;
	r[0].buffer = &v;
	r[0].is_null = &isnull;
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0 ||
	    (np > 0 && mysql_stmt_bind_param(st, p) != 0) ||
	    mysql_stmt_execute(st) != 0 ||
	    (res != NULL && (mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_store_result(st) != 0))) {
		unsigned int e = mysql_stmt_errno(st);
		char	 err[256];

		bp_strlcpy(err, mysql_stmt_error(st), sizeof(err));
		mysql_stmt_close(st);
		ret = my_fail(s, e, err, "migrate");
		return (ret == STORE_EXISTS ? STORE_PERM : ret);
	}
	if (res != NULL) {
		rc = mysql_stmt_fetch(st);
		*res = rc == 0 || rc == MYSQL_DATA_TRUNCATED ?
		    (isnull ? -1 : v) : -1;
		mysql_stmt_free_result(st);
	}
	mysql_stmt_close(st);
	return (ret);
}

/* my_migrate_db - apply the compiled-in migrations the database lacks,
 * under a named lock so that concurrent hosts serialise */
static enum store_status
my_migrate_db(struct store_mysql *s)
{
	const int latest = my_migrations[MY_NMIGRATIONS - 1].version;
	const char *p;
	char	 lock[128], *sql;
	long long version, got, t = MY_LOCK_TIMEOUT, v, now;
	enum store_status r;
	size_t	 i;

	/* a connection of its own, with long timeouts: DDL and waiting for
	 * another host's migration may take longer than a lookup may */
	my_drop(s);
	s->migrating = 1;
	if ((r = my_connect(s, 0)) != STORE_OK) {
		s->migrating = 0;
		return (r);
	}
	snprintf(lock, sizeof(lock), "bipostal_migrate:%.100s", s->dbname);
	if ((r = my_stmt_once(s, "SELECT GET_LOCK(?, ?)", lock, &t,
	    &got)) != STORE_OK)
		goto done;
	if (got != 1) {
		log_error("mysql %s: migrate: lock %s busy for %d s",
		    s->where, lock, MY_LOCK_TIMEOUT);
		r = STORE_TEMP;
		goto done;
	}
	if ((r = my_stmt_once(s, "CREATE TABLE IF NOT EXISTS schema_version ("
	    "version INT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, "
	    "applied BIGINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
	    NULL, NULL, NULL)) != STORE_OK)
		goto out;
	if ((r = my_stmt_once(s, "SELECT COALESCE(MAX(version), 0) FROM "
	    "schema_version", NULL, NULL, &version)) != STORE_OK)
		goto out;
	if (version > latest)
		log_warn("mysql %s: schema version %lld is newer than this "
		    "program's %d", s->where, version, latest);
	for (i = 0; i < MY_NMIGRATIONS; i++) {
		if (my_migrations[i].version <= version)
			continue;
		/* DDL commits by itself in MySQL: every statement of a
		 * migration is written to be safe to run twice */
		p = my_migrations[i].sql;
		while ((sql = my_split_next(&p)) != NULL) {
			r = my_stmt_once(s, sql, NULL, NULL, NULL);
			free(sql);
			if (r != STORE_OK) {
				log_error("mysql %s: migration %s failed",
				    s->where, my_migrations[i].name);
				goto out;
			}
		}
		v = my_migrations[i].version;
		now = bp_now();
		{
			char	q[160];

			/* integers only: formatted, not bound */
			snprintf(q, sizeof(q), "INSERT INTO schema_version "
			    "(version, name, applied) VALUES (%lld, ?, %lld)",
			    v, now);
			if ((r = my_stmt_once(s, q, my_migrations[i].name,
			    NULL, NULL)) != STORE_OK)
				goto out;
		}
		log_info("mysql %s: schema migrated to version %lld (%s)",
		    s->where, v, my_migrations[i].name);
	}
	r = STORE_OK;
out:
	if (s->db != NULL)
		(void)my_stmt_once(s, "SELECT RELEASE_LOCK(?)", lock, NULL,
		    &got);
done:
	/* the next call connects with the short timeouts and prepares */
	my_drop(s);
	s->migrating = 0;
	return (r);
}

/* my_close - statements, connection, strings */
static void
my_close(struct store *st)
{
	struct store_mysql *s = MY(st);

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

/* my_open - parse the URI, connect, migrate, prepare */
static struct store *
my_open(const char *uri, enum store_status *status, const char **why)
{
	struct store_mysql *s;

	s = xcalloc(1, sizeof(*s));
	s->base.be = &store_mysql_backend;
	if (my_parse_uri(s, uri, why) != 0) {
		*status = STORE_PERM;
		goto fail;
	}
	if ((*status = my_migrate_db(s)) != STORE_OK) {
		*why = *status == STORE_TEMP ? "cannot reach the MySQL server" :
		    "cannot create or upgrade the tables";
		goto fail;
	}
	if ((*status = my_connect(s, 1)) != STORE_OK) {
		*why = *status == STORE_TEMP ? "cannot reach the MySQL server" :
		    "cannot prepare statements (schema mismatch?)";
		goto fail;
	}
	*status = STORE_OK;
	return (&s->base);

fail:
	my_close(&s->base);
	return (NULL);
}

/* my_migrate - migrations run at open; check the database again */
static enum store_status
my_migrate(struct store *st)
{
	return (my_migrate_db(MY(st)));
}

/* my_ping - one cheap query */
static enum store_status
my_ping(struct store *st)
{
	struct my_q q;
	long long n;
	enum store_status r;

	my_q_init(&q, MY(st), MY_PING);
	my_r_i64(&q, &n);
	r = my_row(&q, "ping");
	return (r == STORE_NOTFOUND ? STORE_PERM : r);
}

/* my_user_get_q - one user by a statement with one bound key */
static enum store_status
my_user_query(struct store_mysql *s, enum my_stmt id, long long ikey,
    const char *skey, struct user *u, const char *what)
{
	struct my_q q;

	my_q_init(&q, s, id);
	if (skey != NULL)
		my_p_str(&q, skey);
	else
		my_p_int(&q, ikey);
	my_user_cols(&q, u);
	return (my_row(&q, what));
}

/* my_user_create_tx - insert the user and its first identity */
static enum store_status
my_user_create_tx(struct store_mysql *s, const char *email,
    const char *pwhash, const char *queue_id, int64_t now, struct user *u)
{
	struct my_q q;
	enum store_status r;
	char	 ident[EMAIL_MAX + 1];
	int64_t	 id;

	my_q_init(&q, s, MY_USER_INSERT);
	my_p_str(&q, queue_id);
	my_p_str(&q, email);
	my_p_str(&q, pwhash);
	my_p_int(&q, now);
	if ((r = my_run(&q, "user insert")) != STORE_OK)
		return (r == STORE_EXISTS ? STORE_TEMP : r);	/* queue_id */
	id = (int64_t)mysql_stmt_insert_id(q.st);
	memset(u, 0, sizeof(*u));
	u->id = id;
	bp_strlcpy(u->queue_id, queue_id, sizeof(u->queue_id));
	bp_strlcpy(u->email, email, sizeof(u->email));
	bp_strlcpy(u->pwhash, pwhash, sizeof(u->pwhash));
	u->status = USER_ACTIVE;
	u->created = now;

	bp_strlcpy(ident, email, sizeof(ident));
	bp_lower(ident);
	my_q_init(&q, s, MY_IDENT_INSERT);
	my_p_str(&q, ident);
	my_p_int(&q, id);
	return (my_run(&q, "identity insert"));
}

/* my_user_create - a new user whose email is its first identity */
static enum store_status
my_user_create(struct store *st, const char *email, const char *pwhash,
    const char *queue_id, int64_t now, struct user *u)
{
	struct store_mysql *s = MY(st);
	enum store_status r;

	if ((r = my_begin(s)) != STORE_OK)
		return (r);
	return (my_end(s, my_user_create_tx(s, email, pwhash, queue_id, now,
	    u)));
}

/* my_user_get - by id */
static enum store_status
my_user_get(struct store *st, int64_t id, struct user *u)
{
	return (my_user_query(MY(st), MY_USER_GET, id, NULL, u, "user get"));
}

/* my_user_by_identity - by login identity (already folded) */
static enum store_status
my_user_by_identity(struct store *st, const char *ident, struct user *u)
{
	return (my_user_query(MY(st), MY_USER_BY_IDENT, 0, ident, u,
	    "user by identity"));
}

/* my_user_by_queue_id - by public queue id */
static enum store_status
my_user_by_queue_id(struct store *st, const char *qid, struct user *u)
{
	return (my_user_query(MY(st), MY_USER_BY_QID, 0, qid, u,
	    "user by queue id"));
}

/* my_identity_add - one more login name for an existing user */
static enum store_status
my_identity_add(struct store *st, int64_t user_id, const char *ident)
{
	struct store_mysql *s = MY(st);
	struct user u;
	struct my_q q;
	enum store_status r;

	if ((r = my_user_get(st, user_id, &u)) != STORE_OK)
		return (r);
	my_q_init(&q, s, MY_IDENT_INSERT);
	my_p_str(&q, ident);
	my_p_int(&q, user_id);
	return (my_run(&q, "identity insert"));
}

/* my_user_update - the settable fields of u, by u->id */
static enum store_status
my_user_update(struct store *st, const struct user *u)
{
	struct my_q q;
	enum store_status r;

	my_q_init(&q, MY(st), MY_USER_UPDATE);
	my_p_str(&q, u->email);
	my_p_str(&q, u->pwhash);
	my_p_str(&q, u->totp);
	my_p_int(&q, (int)u->status);
	my_p_int(&q, u->is_admin ? 1 : 0);
	my_p_int(&q, (int)u->disabled_action);
	my_p_int(&q, (int)u->content_policy);
	my_p_int(&q, u->id);
	if ((r = my_run(&q, "user update")) != STORE_OK)
		return (r);
	return (my_affected(&q) > 0 ? STORE_OK : STORE_NOTFOUND);
}

/* my_list - run q and collect rows of size sz, read into *tmp, into a
 * new array */
static enum store_status
my_list(struct my_q *q, void *tmp, size_t sz, void **out, size_t *n,
    const char *what)
{
	char	*v = NULL;
	size_t	 len = 0, cap = 0;
	enum store_status r;

	if ((r = my_exec(q, what)) != STORE_OK)
		return (r);
	while ((r = my_fetch(q, what)) == STORE_OK) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sz);
		}
		memcpy(v + len * sz, tmp, sz);
		len++;
	}
	my_done(q);
	if (r != STORE_NOTFOUND) {
		free(v);
		return (r);
	}
	*out = v;
	*n = len;
	return (STORE_OK);
}

/* my_user_list - every user, by id */
static enum store_status
my_user_list(struct store *st, struct user **out, size_t *n)
{
	struct my_q q;
	struct user u;

	my_q_init(&q, MY(st), MY_USER_LIST);
	my_user_cols(&q, &u);
	return (my_list(&q, &u, sizeof(u), (void **)out, n, "user list"));
}

/* my_alias_live - the user's live alias for origin, if any */
static enum store_status
my_alias_live(struct store_mysql *s, int64_t user_id, const char *origin,
    struct alias *a)
{
	struct my_q q;

	my_q_init(&q, s, MY_ALIAS_LIVE);
	my_p_int(&q, user_id);
	my_p_str(&q, origin);
	my_alias_cols(&q, a);
	return (my_row(&q, "alias live"));
}

/* my_alias_status_write - status change, guarded by "not deleted" */
static enum store_status
my_alias_status_write(struct store_mysql *s, const char *token,
    enum alias_state state, int64_t now, unsigned long long *changed)
{
	struct my_q q;
	enum store_status r;

	my_q_init(&q, s, MY_ALIAS_SET_STATUS);
	my_p_int(&q, (int)state);
	my_p_int(&q, now);
	my_p_int(&q, (int)state);
	my_p_int(&q, now);
	my_p_str(&q, token);
	if ((r = my_run(&q, "alias set status")) == STORE_OK && changed)
		*changed = my_affected(&q);
	return (r);
}

/* my_alias_create_once - find, revive or insert; STORE_EXISTS when
 * another host inserted first (the caller looks again) */
static enum store_status
my_alias_create_once(struct store_mysql *s, int64_t user_id,
    const char *origin, const char *fresh, int64_t expires_at, int64_t now,
    struct alias *a, int *created)
{
	struct user u;
	struct my_q q;
	enum store_status r;

	*created = 0;
	r = my_alias_live(s, user_id, origin, a);
	if (r == STORE_OK && a->expires_at != 0 && a->expires_at <= now) {
		/* expired: it dies for good and a new one is made */
		if ((r = my_alias_status_write(s, a->token, ALIAS_DELETED,
		    now, NULL)) != STORE_OK)
			return (r);
		r = STORE_NOTFOUND;
	}
	if (r == STORE_OK) {
		if (a->status == ALIAS_INACTIVE) {
			if ((r = my_alias_status_write(s, a->token,
			    ALIAS_ACTIVE, now, NULL)) != STORE_OK)
				return (r);
			a->status = ALIAS_ACTIVE;
			a->updated = now;
		}
		return (STORE_OK);
	}
	if (r != STORE_NOTFOUND)
		return (r);

	if ((r = my_user_get(&s->base, user_id, &u)) != STORE_OK)
		return (r);
	my_q_init(&q, s, MY_ALIAS_INSERT);
	my_p_str(&q, fresh);
	my_p_int(&q, user_id);
	my_p_str(&q, origin);
	my_p_int(&q, now);
	my_p_int(&q, now);
	my_p_int(&q, expires_at);
	if ((r = my_run(&q, "alias insert")) != STORE_OK)
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

/* my_alias_create - the user's live alias for origin, or a new one.  No
 * lock is held between the look and the insert: the UNIQUE key on
 * (user_id, live_origin) turns a lost race into a duplicate key, and the
 * loser reads the winner's row.  Deadlocks among such inserts are tried
 * again too. */
static enum store_status
my_alias_create(struct store *st, int64_t user_id, const char *origin,
    const char *fresh, int64_t expires_at, int64_t now, struct alias *a,
    int *created)
{
	struct store_mysql *s = MY(st);
	enum store_status r;
	int	try;

	for (try = 0; try < 4; try++) {
		s->last_errno = 0;
		r = my_alias_create_once(s, user_id, origin, fresh,
		    expires_at, now, a, created);
		if (r == STORE_EXISTS)
			continue;
		if (r == STORE_TEMP && (s->last_errno == ER_LOCK_DEADLOCK ||
		    s->last_errno == ER_LOCK_WAIT_TIMEOUT))
			continue;
		return (r);
	}
	return (STORE_TEMP);
}

/* my_alias_get - one alias by token, whatever its status */
static enum store_status
my_alias_get(struct store *st, const char *token, struct alias *a)
{
	struct my_q q;

	my_q_init(&q, MY(st), MY_ALIAS_GET);
	my_p_str(&q, token);
	my_alias_cols(&q, a);
	return (my_row(&q, "alias get"));
}

/* my_alias_route - alias joined to its user, in one query */
static enum store_status
my_alias_route(struct store *st, const char *token, struct alias_route *rt)
{
	struct my_q q;

	memset(rt, 0, sizeof(*rt));
	my_q_init(&q, MY(st), MY_ALIAS_ROUTE);
	my_p_str(&q, token);
	my_r_enum(&q, &rt->status);
	my_r_i64(&q, &rt->expires_at);
	my_r_i64(&q, &rt->user_id);
	my_r_enum(&q, &rt->user_status);
	my_r_enum(&q, &rt->disabled_action);
	my_r_enum(&q, &rt->content_policy);
	my_r_str(&q, rt->email);
	my_r_str(&q, rt->origin);
	return (my_row(&q, "alias route"));
}

/* my_alias_list - the user's live aliases, oldest first */
static enum store_status
my_alias_list(struct store *st, int64_t user_id, struct alias **out,
    size_t *n)
{
	struct my_q q;
	struct alias *a = xmalloc(sizeof(*a));
	enum store_status r;

	my_q_init(&q, MY(st), MY_ALIAS_LIST);
	my_p_int(&q, user_id);
	my_alias_cols(&q, a);
	r = my_list(&q, a, sizeof(*a), (void **)out, n, "alias list");
	free(a);
	return (r);
}

/* my_alias_changed - after an update guarded by "status <> 2": OK if a
 * row matched, NOTFOUND if there is no such alias, INVALID if it is
 * deleted (deleting it twice is OK when ok_if_deleted) */
static enum store_status
my_alias_changed(struct store_mysql *s, unsigned long long changed,
    const char *token, int ok_if_deleted)
{
	struct my_q q;
	enum store_status r;
	int	 status;

	if (changed > 0)
		return (STORE_OK);
	my_q_init(&q, s, MY_ALIAS_STATUS);
	my_p_str(&q, token);
	my_r_int(&q, &status);
	if ((r = my_row(&q, "alias status")) != STORE_OK)
		return (r);
	if (status == ALIAS_DELETED)
		return (ok_if_deleted ? STORE_OK : STORE_INVALID);
	return (STORE_OK);
}

/* my_alias_set_status - active, inactive or deleted (for good) */
static enum store_status
my_alias_set_status(struct store *st, const char *token,
    enum alias_state state, int64_t now)
{
	struct store_mysql *s = MY(st);
	unsigned long long changed = 0;
	enum store_status r;

	if ((r = my_alias_status_write(s, token, state, now, &changed)) !=
	    STORE_OK)
		return (r);
	return (my_alias_changed(s, changed, token, state == ALIAS_DELETED));
}

/* my_alias_set_context - replace the opaque context */
static enum store_status
my_alias_set_context(struct store *st, const char *token,
    const unsigned char *ctx, size_t len, int64_t now)
{
	struct store_mysql *s = MY(st);
	struct my_q q;
	enum store_status r;

	my_q_init(&q, s, MY_ALIAS_SET_CONTEXT);
	my_p_bytes(&q, ctx, len, 1);
	my_p_int(&q, now);
	my_p_str(&q, token);
	if ((r = my_run(&q, "alias set context")) != STORE_OK)
		return (r);
	return (my_alias_changed(s, my_affected(&q), token, 0));
}

/* my_alias_set_expiry - 0 = never */
static enum store_status
my_alias_set_expiry(struct store *st, const char *token, int64_t expires_at,
    int64_t now)
{
	struct store_mysql *s = MY(st);
	struct my_q q;
	enum store_status r;

	my_q_init(&q, s, MY_ALIAS_SET_EXPIRY);
	my_p_int(&q, expires_at);
	my_p_int(&q, now);
	my_p_str(&q, token);
	if ((r = my_run(&q, "alias set expiry")) != STORE_OK)
		return (r);
	return (my_alias_changed(s, my_affected(&q), token, 0));
}

/* my_alias_count - one more forwarded, blocked or replied; last_seen */
static enum store_status
my_alias_count(struct store *st, const char *token, enum alias_counter c,
    int64_t now)
{
	struct my_q q;
	enum my_stmt id;
	enum store_status r;

	switch (c) {
	case COUNT_FORWARDED:
		id = MY_ALIAS_COUNT_FORWARDED;
		break;
	case COUNT_BLOCKED:
		id = MY_ALIAS_COUNT_BLOCKED;
		break;
	case COUNT_REPLIED:
		id = MY_ALIAS_COUNT_REPLIED;
		break;
	default:
		return (STORE_INVALID);
	}
	my_q_init(&q, MY(st), id);
	my_p_int(&q, now);
	my_p_str(&q, token);
	if ((r = my_run(&q, "alias count")) != STORE_OK)
		return (r);
	return (my_affected(&q) > 0 ? STORE_OK : STORE_NOTFOUND);
}

/* my_reply_find - the reply token for (alias, sender), if any */
static enum store_status
my_reply_find(struct store_mysql *s, const char *alias, const char *sender,
    struct reply *rep)
{
	struct my_q q;

	my_q_init(&q, s, MY_REPLY_FIND);
	my_p_str(&q, alias);
	my_p_str(&q, sender);
	my_reply_cols(&q, rep);
	return (my_row(&q, "reply find"));
}

/* my_reply_get_or_create - one reply token per (alias, sender); a lost
 * race is a duplicate key, answered by reading the winner's row; with
 * fresh NULL only the existing one, or NOTFOUND */
static enum store_status
my_reply_get_or_create(struct store *st, const char *alias,
    const char *sender, const char *fresh, int64_t now, struct reply *rep)
{
	struct store_mysql *s = MY(st);
	struct my_q q;
	enum store_status r;
	int	 status, try;

	for (try = 0; try < 3; try++) {
		if ((r = my_reply_find(s, alias, sender, rep)) != STORE_NOTFOUND ||
		    fresh == NULL)
			return (r);
		my_q_init(&q, s, MY_ALIAS_STATUS);
		my_p_str(&q, alias);
		my_r_int(&q, &status);
		if ((r = my_row(&q, "alias status")) != STORE_OK)
			return (r);
		if (status == ALIAS_DELETED)
			return (STORE_INVALID);

		my_q_init(&q, s, MY_REPLY_INSERT);
		my_p_str(&q, fresh);
		my_p_str(&q, alias);
		my_p_str(&q, sender);
		my_p_int(&q, now);
		r = my_run(&q, "reply insert");
		if (r == STORE_EXISTS)
			continue;
		if (r != STORE_OK)
			return (r);
		memset(rep, 0, sizeof(*rep));
		bp_strlcpy(rep->token, fresh, sizeof(rep->token));
		bp_strlcpy(rep->alias, alias, sizeof(rep->alias));
		bp_strlcpy(rep->sender, sender, sizeof(rep->sender));
		rep->created = now;
		return (STORE_OK);
	}
	return (STORE_TEMP);
}

/* my_reply_get - resolve a reply token */
static enum store_status
my_reply_get(struct store *st, const char *token, struct reply *rep)
{
	struct my_q q;

	my_q_init(&q, MY(st), MY_REPLY_GET);
	my_p_str(&q, token);
	my_reply_cols(&q, rep);
	return (my_row(&q, "reply get"));
}

/* my_queue_tx - take the user's next index and insert */
static enum store_status
my_queue_tx(struct store_mysql *s, int64_t user_id, const char *data,
    size_t len, int64_t expires_at, int64_t *idx)
{
	struct my_q q;
	enum store_status r;

	my_q_init(&q, s, MY_QUEUE_NEXT);
	my_p_int(&q, user_id);
	if ((r = my_run(&q, "queue next")) != STORE_OK)
		return (r);
	if (my_affected(&q) == 0)
		return (STORE_NOTFOUND);
	*idx = (int64_t)mysql_stmt_insert_id(q.st);

	my_q_init(&q, s, MY_QUEUE_INSERT);
	my_p_int(&q, user_id);
	my_p_int(&q, *idx);
	my_p_int(&q, expires_at);
	my_p_bytes(&q, data, len, 1);
	return (my_run(&q, "queue insert"));
}

/* my_queue_append - a message at the user's next index */
static enum store_status
my_queue_append(struct store *st, int64_t user_id, const char *data,
    size_t len, int64_t expires_at, int64_t *idx)
{
	struct store_mysql *s = MY(st);
	enum store_status r;

	if ((r = my_begin(s)) != STORE_OK)
		return (r);
	r = my_end(s, my_queue_tx(s, user_id, data, len, expires_at, idx));
	return (r == STORE_EXISTS ? STORE_TEMP : r);
}

/* my_queue_read_tx - first live index, then the rows */
static enum store_status
my_queue_read_tx(struct store_mysql *s, int64_t user_id, int64_t from_idx,
    int limit, int64_t now, struct qmsg *v, size_t *len, int64_t *first_idx)
{
	struct my_q q;
	struct qmsg m;
	enum store_status r;

	my_q_init(&q, s, MY_QUEUE_FIRST);
	my_p_int(&q, user_id);
	my_p_int(&q, now);
	my_r_i64(&q, first_idx);		/* NULL reads as 0 */
	if ((r = my_row(&q, "queue first")) != STORE_OK)
		return (r);

	my_q_init(&q, s, MY_QUEUE_READ);
	my_p_int(&q, user_id);
	my_p_int(&q, from_idx);
	my_p_int(&q, now);
	my_p_int(&q, limit);
	memset(&m, 0, sizeof(m));
	my_r_i64(&q, &m.idx);
	my_r_i64(&q, &m.expires_at);
	my_r_var(&q, &m.data, &m.len);
	if ((r = my_exec(&q, "queue read")) != STORE_OK)
		return (r);
	while (*len < (size_t)limit &&
	    (r = my_fetch(&q, "queue read")) == STORE_OK)
		v[(*len)++] = m;
	my_done(&q);
	return (r == STORE_NOTFOUND || r == STORE_OK ? STORE_OK : r);
}

/* my_queue_read - live messages from from_idx, and the first live index,
 * from one consistent snapshot */
static enum store_status
my_queue_read(struct store *st, int64_t user_id, int64_t from_idx, int limit,
    int64_t now, struct qmsg **out, size_t *n, int64_t *first_idx)
{
	struct store_mysql *s = MY(st);
	struct qmsg *v;
	size_t	 len = 0, i;
	enum store_status r;

	if ((r = my_begin(s)) != STORE_OK)
		return (r);
	v = xcalloc(limit > 0 ? (size_t)limit : 1, sizeof(*v));
	r = my_end(s, my_queue_read_tx(s, user_id, from_idx, limit, now, v,
	    &len, first_idx));
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

/* my_blob_put - insert; b->id is fresh */
static enum store_status
my_blob_put(struct store *st, const struct blob *b)
{
	struct my_q q;
	enum store_status r;

	my_q_init(&q, MY(st), MY_BLOB_INSERT);
	my_p_str(&q, b->id);
	my_p_int(&q, b->user_id);
	my_p_str(&q, b->alias);
	my_p_str(&q, b->name);
	my_p_str(&q, b->type);
	my_p_int(&q, (long long)b->size);
	my_p_bytes(&q, b->data, b->size, 1);
	my_p_int(&q, b->expires_at);
	r = my_run(&q, "blob insert");
	return (r == STORE_EXISTS ? STORE_TEMP : r);
}

/* my_blob_get - a live blob with new data */
static enum store_status
my_blob_get(struct store *st, const char *id, int64_t now, struct blob *b)
{
	struct my_q q;
	struct blob t;
	enum store_status r;

	memset(&t, 0, sizeof(t));
	my_q_init(&q, MY(st), MY_BLOB_GET);
	my_p_str(&q, id);
	my_p_int(&q, now);
	my_r_str(&q, t.id);
	my_r_i64(&q, &t.user_id);
	my_r_str(&q, t.alias);
	my_r_str(&q, t.name);
	my_r_str(&q, t.type);
	my_r_i64(&q, &t.expires_at);
	my_r_var(&q, &t.data, &t.size);
	if ((r = my_row(&q, "blob get")) == STORE_OK)
		*b = t;
	return (r);
}

/* my_node_add - a new node with no slots released yet */
static enum store_status
my_node_add(struct store *st, const char *host, int port, int capacity,
    int64_t *id)
{
	struct my_q q;
	enum store_status r;

	my_q_init(&q, MY(st), MY_NODE_INSERT);
	my_p_str(&q, host);
	my_p_int(&q, port);
	my_p_int(&q, capacity);
	if ((r = my_run(&q, "node insert")) != STORE_OK)
		return (r);
	*id = (int64_t)mysql_stmt_insert_id(q.st);
	return (STORE_OK);
}

/* my_node_update - host, port, capacity, available, downed, draining */
static enum store_status
my_node_update(struct store *st, const struct node *n)
{
	struct my_q q;
	enum store_status r;

	my_q_init(&q, MY(st), MY_NODE_UPDATE);
	my_p_str(&q, n->host);
	my_p_int(&q, n->port);
	my_p_int(&q, n->capacity);
	my_p_int(&q, n->available);
	my_p_int(&q, n->downed ? 1 : 0);
	my_p_int(&q, n->draining ? 1 : 0);
	my_p_int(&q, n->id);
	if ((r = my_run(&q, "node update")) != STORE_OK)
		return (r);
	return (my_affected(&q) > 0 ? STORE_OK : STORE_NOTFOUND);
}

/* my_node_list - every node, by id */
static enum store_status
my_node_list(struct store *st, struct node **out, size_t *n)
{
	struct my_q q;
	struct node t;

	my_q_init(&q, MY(st), MY_NODE_LIST);
	my_node_cols(&q, &t);
	return (my_list(&q, &t, sizeof(t), (void **)out, n, "node list"));
}

/* my_node_pick - the candidate with the most free capacity, locked */
static enum store_status
my_node_pick(struct store_mysql *s, struct node *n)
{
	struct my_q q;

	my_q_init(&q, s, MY_NODE_PICK);
	my_node_cols(&q, n);
	return (my_row(&q, "node pick"));
}

/* my_node_id_run - a node statement keyed by one id */
static enum store_status
my_node_id_run(struct store_mysql *s, enum my_stmt id, int64_t node,
    const char *what)
{
	struct my_q q;

	my_q_init(&q, s, id);
	my_p_int(&q, node);
	return (my_run(&q, what));
}

/* my_node_assign_tx - keep or move the user, rows locked */
static enum store_status
my_node_assign_tx(struct store_mysql *s, int64_t user_id, struct node *n)
{
	struct my_q q;
	enum store_status r;
	int64_t	 old;

	my_q_init(&q, s, MY_USER_NODE);
	my_p_int(&q, user_id);
	my_r_i64(&q, &old);
	if ((r = my_row(&q, "user node")) != STORE_OK)
		return (r);

	if (old != 0) {
		my_q_init(&q, s, MY_NODE_GET);
		my_p_int(&q, old);
		my_node_cols(&q, n);
		r = my_row(&q, "node get");
		if (r == STORE_OK) {
			if (!n->downed)
				return (STORE_OK);	/* stays */
			if ((r = my_node_id_run(s, MY_NODE_DROP, old,
			    "node drop")) != STORE_OK)
				return (r);
		} else if (r != STORE_NOTFOUND)
			return (r);
	}

	if ((r = my_node_pick(s, n)) == STORE_NOTFOUND) {
		if ((r = my_simple(s, MY_NODE_RELEASE, "node release")) !=
		    STORE_OK)
			return (r);
		r = my_node_pick(s, n);
	}
	if (r != STORE_OK)
		return (r);
	if ((r = my_node_id_run(s, MY_NODE_TAKE, n->id, "node take")) !=
	    STORE_OK)
		return (r);
	my_q_init(&q, s, MY_USER_SET_NODE);
	my_p_int(&q, n->id);
	my_p_int(&q, user_id);
	if ((r = my_run(&q, "user set node")) != STORE_OK)
		return (r);
	n->load++;
	if (n->available > 0)
		n->available--;
	return (STORE_OK);
}

/* my_node_assign - the user's node, assigning one if needed; a deadlock
 * with another host assigning at the same time is tried again */
static enum store_status
my_node_assign(struct store *st, int64_t user_id, struct node *n)
{
	struct store_mysql *s = MY(st);
	enum store_status r;
	int	 try;

	for (try = 0; try < 3; try++) {
		s->last_errno = 0;
		if ((r = my_begin(s)) != STORE_OK)
			return (r);
		r = my_end(s, my_node_assign_tx(s, user_id, n));
		if (r == STORE_TEMP && (s->last_errno == ER_LOCK_DEADLOCK ||
		    s->last_errno == ER_LOCK_WAIT_TIMEOUT))
			continue;
		break;
	}
	return (r == STORE_EXISTS ? STORE_TEMP : r);
}

/* my_event_append - one event; *id is global and increasing */
static enum store_status
my_event_append(struct store *st, int64_t user_id, const char *type,
    const char *data, int64_t now, int64_t *id)
{
	struct my_q q;
	enum store_status r;

	my_q_init(&q, MY(st), MY_EVENT_INSERT);
	my_p_int(&q, user_id);
	my_p_str(&q, type);
	my_p_str(&q, data);
	my_p_int(&q, now);
	if ((r = my_run(&q, "event insert")) != STORE_OK)
		return (r == STORE_EXISTS ? STORE_TEMP : r);
	*id = (int64_t)mysql_stmt_insert_id(q.st);
	return (STORE_OK);
}

/* my_event_read - the user's events after after_id, oldest first */
static enum store_status
my_event_read(struct store *st, int64_t user_id, int64_t after_id, int limit,
    struct event **out, size_t *n)
{
	struct my_q q;
	struct event *t = xmalloc(sizeof(*t));
	enum store_status r;

	memset(t, 0, sizeof(*t));
	my_q_init(&q, MY(st), MY_EVENT_READ);
	my_p_int(&q, user_id);
	my_p_int(&q, after_id);
	my_p_int(&q, limit);
	my_r_i64(&q, &t->id);
	my_r_i64(&q, &t->user_id);
	my_r_str(&q, t->type);
	my_r_str(&q, t->data);
	my_r_i64(&q, &t->created);
	r = my_list(&q, t, sizeof(*t), (void **)out, n, "event read");
	free(t);
	if (r == STORE_OK && *out == NULL)
		*out = xcalloc(1, sizeof(**out));
	return (r);
}

/* my_purge_one - run one DELETE with one time bound; count its rows */
static enum store_status
my_purge_one(struct store_mysql *s, enum my_stmt id, int64_t bound,
    long *count)
{
	struct my_q q;
	enum store_status r;

	my_q_init(&q, s, id);
	my_p_int(&q, bound);
	if ((r = my_run(&q, "purge")) != STORE_OK)
		return (r);
	*count = (long)my_affected(&q);
	return (STORE_OK);
}

/* my_purge_tx - every DELETE, in one transaction */
static enum store_status
my_purge_tx(struct store_mysql *s, int64_t now, int64_t retention,
    int64_t horizon, struct purge_counts *c)
{
	enum store_status r;

	memset(c, 0, sizeof(*c));
	if ((r = my_purge_one(s, MY_PURGE_REPLIES, now - retention,
	    &c->replies)) != STORE_OK ||
	    (r = my_purge_one(s, MY_PURGE_ALIASES, now - retention,
	    &c->aliases)) != STORE_OK ||
	    (r = my_purge_one(s, MY_PURGE_QUEUE, now, &c->qmsgs)) != STORE_OK ||
	    (r = my_purge_one(s, MY_PURGE_BLOBS, now, &c->blobs)) != STORE_OK ||
	    (r = my_purge_one(s, MY_PURGE_EVENTS, now - horizon,
	    &c->events)) != STORE_OK ||
	    (r = my_purge_one(s, MY_PURGE_RATES, now - STORE_RATE_KEEP,
	    &c->rates)) != STORE_OK)
		return (r);
	return (STORE_OK);
}

/* my_purge - deleted aliases past retention, expired rows, old events */
static enum store_status
my_purge(struct store *st, int64_t now, int64_t retention, int64_t horizon,
    struct purge_counts *c)
{
	struct store_mysql *s = MY(st);
	enum store_status r;

	if ((r = my_begin(s)) != STORE_OK)
		return (r);
	r = my_end(s, my_purge_tx(s, now, retention, horizon, c));
	return (r == STORE_EXISTS ? STORE_TEMP : r);
}

/* my_count - one number a query with (user_id[, now]) answers */
static enum store_status
my_count(struct store_mysql *s, enum my_stmt id, int64_t user_id,
    int64_t now, int64_t *out)
{
	struct my_q q;

	my_q_init(&q, s, id);
	my_p_int(&q, user_id);
	if (id != MY_USAGE_REPLIES)
		my_p_int(&q, now);
	my_r_i64(&q, out);
	return (my_row(&q, "usage"));
}

/* my_usage - what the user keeps: parts, notifications, reply addresses */
static enum store_status
my_usage(struct store *st, int64_t user_id, int64_t now,
    struct store_usage *u)
{
	struct store_mysql *s = MY(st);
	enum store_status r;

	if ((r = my_count(s, MY_USAGE_BLOBS, user_id, now,
	    &u->blob_bytes)) != STORE_OK ||
	    (r = my_count(s, MY_USAGE_QUEUE, user_id, now,
	    &u->queue_msgs)) != STORE_OK ||
	    (r = my_count(s, MY_USAGE_REPLIES, user_id, now,
	    &u->replies)) != STORE_OK)
		return (r);
	return (STORE_OK);
}

/* my_rate_get - the window of key */
static enum store_status
my_rate_get(struct store_mysql *s, const char *key, long *count,
    int64_t *start)
{
	struct my_q q;
	enum store_status r;
	int64_t	 n = 0;

	my_q_init(&q, s, MY_RATE_GET);
	my_p_str(&q, key);
	my_r_i64(&q, &n);
	my_r_i64(&q, start);
	if ((r = my_row(&q, "rate")) == STORE_OK)
		*count = (long)n;
	return (r);
}

/* my_rate_tx - count the hits, then read the window back */
static enum store_status
my_rate_tx(struct store_mysql *s, const char *key, long n, long window,
    int64_t now, long *count, int64_t *start)
{
	struct my_q q;
	enum store_status r;

	my_q_init(&q, s, MY_RATE_HIT);
	my_p_str(&q, key);
	my_p_int(&q, now);
	my_p_int(&q, n);
	my_p_int(&q, window);
	my_p_int(&q, window);
	if ((r = my_run(&q, "rate")) != STORE_OK)
		return (r);
	r = my_rate_get(s, key, count, start);
	return (r == STORE_NOTFOUND ? STORE_TEMP : r);
}

/* my_rate_hit - n more hits of key in its window (n = 0: only read) */
static enum store_status
my_rate_hit(struct store *st, const char *key, long n, long window,
    int64_t now, long *count, int64_t *start)
{
	struct store_mysql *s = MY(st);
	enum store_status r;

	if (n == 0) {
		r = my_rate_get(s, key, count, start);
		if (r == STORE_NOTFOUND) {
			*count = 0;
			*start = now;
			r = STORE_OK;
		}
		return (r);
	}
	if ((r = my_begin(s)) != STORE_OK)
		return (r);
	r = my_end(s, my_rate_tx(s, key, n, window, now, count, start));
	return (r == STORE_EXISTS ? STORE_TEMP : r);
}

const struct store_backend store_mysql_backend = {
	.name = "mysql",
	.open = my_open,
	.close = my_close,
	.migrate = my_migrate,
	.ping = my_ping,
	.user_create = my_user_create,
	.user_get = my_user_get,
	.user_by_identity = my_user_by_identity,
	.user_by_queue_id = my_user_by_queue_id,
	.identity_add = my_identity_add,
	.user_update = my_user_update,
	.user_list = my_user_list,
	.alias_create = my_alias_create,
	.alias_get = my_alias_get,
	.alias_route = my_alias_route,
	.alias_list = my_alias_list,
	.alias_set_status = my_alias_set_status,
	.alias_set_context = my_alias_set_context,
	.alias_set_expiry = my_alias_set_expiry,
	.alias_count = my_alias_count,
	.reply_get_or_create = my_reply_get_or_create,
	.reply_get = my_reply_get,
	.queue_append = my_queue_append,
	.queue_read = my_queue_read,
	.blob_put = my_blob_put,
	.blob_get = my_blob_get,
	.node_add = my_node_add,
	.node_update = my_node_update,
	.node_list = my_node_list,
	.node_assign = my_node_assign,
	.event_append = my_event_append,
	.event_read = my_event_read,
	.purge = my_purge,
	.usage = my_usage,
	.rate_hit = my_rate_hit,
};
