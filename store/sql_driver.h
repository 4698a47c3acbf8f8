/*
 * sql_driver.h - the driver interface under store_sql.c
 *
 * store_sql.c writes every store operation once, in SQL, over this small
 * interface; one driver per engine (sql_sqlite.c, sql_mysql.c) runs it.
 * A driver knows its engine's calls, its connection, its transactions and
 * how its errors map to enum store_status; it knows no store operation.
 *
 * Statements: store_sql.c names each by an enum sql_stmt and gives its
 * text (sql_text: the common text, or the driver's own where its dialect
 * differs).  A driver prepares them all once per connection and keeps
 * them.  One statement is current at a time:
 *	start(id, args, n)		reset it, bind its n parameters
 *					(text and blobs borrowed until the
 *					first step)
 *	step				STORE_OK with a row, STORE_NOTFOUND
 *					when there is none (more), or a
 *					failure, logged once by the driver
 *	col_int, col_copy		columns of the row, from 0
 *	done				release the rows; always called
 * After a step that wrote, changes holds the rows it matched and last_id
 * the id an INSERT made (or a MySQL LAST_INSERT_ID(expr)), until the next
 * statement.
 * A driver's own statements (BEGIN, COMMIT, ...) are numbered from
 * SQL_NSTMT: own gives their text, sql_exec runs one.
 *
 * Transactions: begin(mode) and end(status) bracket the statements of one
 * operation; end commits when status is STORE_OK, else rolls back, and
 * answers the outcome.  A failure the driver flags with conflict (a
 * deadlock, a lock wait given up) may be tried again at once.
 *
 * Ownership: a driver's open returns a new handle whose first member is
 * struct sql; close frees it (NULL is fine).  where is the driver's.
 */
#ifndef BIPOSTAL_SQL_DRIVER_H
#define BIPOSTAL_SQL_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum sql_stmt {
	SQL_PING,
	SQL_USER_INSERT, SQL_IDENT_INSERT, SQL_USER_GET, SQL_USER_BY_IDENT,
	SQL_USER_BY_QID, SQL_USER_UPDATE, SQL_USER_LIST, SQL_USER_NODE,
	SQL_USER_SET_NODE,
	SQL_ALIAS_LIVE, SQL_ALIAS_INSERT, SQL_ALIAS_GET, SQL_ALIAS_ROUTE,
	SQL_ALIAS_LIST, SQL_ALIAS_STATUS, SQL_ALIAS_SET_STATUS,
	SQL_ALIAS_SET_CONTEXT, SQL_ALIAS_SET_EXPIRY, SQL_ALIAS_COUNT_FORWARDED,
	SQL_ALIAS_COUNT_BLOCKED, SQL_ALIAS_COUNT_REPLIED,
	SQL_REPLY_FIND, SQL_REPLY_INSERT, SQL_REPLY_GET,
	SQL_QUEUE_NEXT, SQL_QUEUE_INSERT, SQL_QUEUE_READ, SQL_QUEUE_FIRST,
	SQL_BLOB_INSERT, SQL_BLOB_GET,
	SQL_NODE_INSERT, SQL_NODE_UPDATE, SQL_NODE_LIST, SQL_NODE_GET,
	SQL_NODE_PICK, SQL_NODE_RELEASE, SQL_NODE_TAKE, SQL_NODE_DROP,
	SQL_EVENT_INSERT, SQL_EVENT_READ,
	SQL_PURGE_REPLIES, SQL_PURGE_ALIASES, SQL_PURGE_QUEUE, SQL_PURGE_BLOBS,
	SQL_PURGE_EVENTS, SQL_PURGE_RATES,
	SQL_USAGE_BLOBS, SQL_USAGE_QUEUE, SQL_USAGE_REPLIES,
	SQL_RATE_HIT, SQL_RATE_GET,
	/* API keys: store_sql_apikey.c */
	SQL_APIKEY_INSERT, SQL_APIKEY_LIST, SQL_APIKEY_REVOKE, SQL_APIKEY_FIND,
	SQL_APIKEY_TOUCH,
	/* contacts and blocks: store_sql_contact.c */
	SQL_REPLY_LIST, SQL_BLOCK_FIND, SQL_BLOCK_INSERT, SQL_BLOCK_LIST,
	SQL_BLOCK_DELETE, SQL_BLOCK_MATCH, SQL_PURGE_BLOCKS,
	SQL_NSTMT
};

/* The columns store_sql.c reads, for dialect texts too. */
#define SQL_USER_COLS	"u.id, u.queue_id, u.email, u.pwhash, u.totp, " \
			"u.status, u.is_admin, u.node_id, u.disabled_action, " \
			"u.content_policy, u.created"
#define SQL_ALIAS_COLS	"token, user_id, origin, status, created, updated, " \
			"deleted_at, expires_at, context, forwarded, blocked, " \
			"replied, last_seen"
#define SQL_APIKEY_COLS	"id, user_id, name, scope, hash, created, last_used, " \
			"revoked"
#define SQL_NODE_COLS	"id, host, port, capacity, current_load, available, " \
			"downed, draining"
/* an alias the purge takes: deleted or expired before the first
 * parameter, given twice (the column names are the aliases table's
 * alone, also in a join with replies) */
#define SQL_ALIAS_GONE	"((status = 2 AND deleted_at <= ?) OR " \
			"(expires_at > 0 AND expires_at <= ?))"
#define SQL_NODE_PICKABLE "downed = 0 AND draining = 0 AND " \
			"current_load < capacity"

enum sql_tx {
	SQL_ATOMIC,	/* all or nothing */
	SQL_GUARDED,	/* a look, then a write a unique key guards: one
			 * writer takes its lock for both; row locks run
			 * each alone, a lost race is STORE_EXISTS */
	SQL_SNAPSHOT,	/* reads that must agree with each other */
};

#define SQL_RETURNING	0x01	/* writes answer rows (RETURNING) */

struct sql_migration {		/* one sql/<engine>/NNN_*.sql file */
	int		 version;
	const char	*name;
	const char	*sql;
};

struct sql_arg {		/* one parameter */
	enum { SQL_INT, SQL_TEXT, SQL_BLOB } type;
	int64_t		 i;
	const void	*p;		/* text (NUL-terminated) or blob */
	size_t		 len;		/* of a blob */
};

#define SQL_I(v)	{ SQL_INT, (int64_t)(v), NULL, 0 }
#define SQL_S(v)	{ SQL_TEXT, 0, (v), 0 }
#define SQL_B(v, n)	{ SQL_BLOB, 0, (v), (n) }

#define SQL_MAXCOL	14	/* result columns of one statement */

struct sql_col {		/* where store_sql.c wants one column */
	int		 kind;
	void		*dst;
	size_t		 size;
	size_t		*lenp;
};

struct sql {			/* drivers embed this first */
	struct store	 base;
	const struct sql_driver *d;
	const char	*where;		/* file, or host:port/db: log lines */
	int64_t		 changes;
	int64_t		 last_id;
	int		 conflict;
	int		 ncol;		/* store_sql.c's, for the statement */
	struct sql_col	 col[SQL_MAXCOL];
};

struct sql_driver {
	const char	*name;		/* the URI scheme */
	unsigned	 caps;		/* STORE_CAP_* */
	unsigned	 flags;		/* SQL_RETURNING */
	const char *const *dialect;	/* [SQL_NSTMT], NULL = common text */
	const char *const *own;		/* the driver's own, from SQL_NSTMT */
	const struct sql_migration *migrations;
	size_t		 nmigrations;
	const char	*version_table;	/* CREATE TABLE IF NOT EXISTS ... */

	/* open: parse uri and connect; NULL with *why (static) on failure */
	struct sql	*(*open)(const char *uri, enum store_status *,
			    const char **why);
	enum store_status (*prepare)(struct sql *);
	void		 (*close)(struct sql *);
	/* file: the file uri names (within uri), or NULL: a server */
	const char	*(*file)(const char *uri);
	/* optional: see store_mark */
	enum store_status (*mark)(struct sql *, uint64_t *);

	/* schema: the version (0 = no tables), the lock migrations take,
	 * and one migration's text run */
	enum store_status (*version)(struct sql *, int *);
	enum store_status (*lock)(struct sql *);
	enum store_status (*unlock)(struct sql *, enum store_status);
	enum store_status (*script)(struct sql *, const char *);

	void		 (*start)(struct sql *, enum sql_stmt,
			    const struct sql_arg *, size_t);
	enum store_status (*step)(struct sql *);
	int64_t		 (*col_int)(struct sql *, int);
	/* col_copy - up to size bytes of a column into buf; its length */
	size_t		 (*col_copy)(struct sql *, int, void *buf, size_t size);
	void		 (*done)(struct sql *);

	enum store_status (*begin)(struct sql *, enum sql_tx);
	enum store_status (*end)(struct sql *, enum store_status);
	/* optional: see store_batch_begin */
	enum store_status (*batch_begin)(struct sql *);
	enum store_status (*batch_end)(struct sql *);
};

/* sql_text - the text of statement id for driver d (or of its own) */
const char	*sql_text(const struct sql_driver *d, int id);
/* sql_exec - run statement id (one of the driver's own) without
 * parameters or rows */
enum store_status sql_exec(struct sql *s, int id);

extern const struct sql_driver sql_sqlite_driver;
extern const struct sql_driver sql_mysql_driver;

#endif
