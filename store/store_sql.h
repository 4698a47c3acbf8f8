/*
 * store_sql.h - what the files of the SQL layer share
 *
 * store_sql.c writes the statements, opens the engines and holds the
 * backend table; store_sql_user.c and store_sql_queue.c write the
 * operations.  Here are the helpers of store_sql.c they run statements
 * with, and the operations each of them gives the backend table.  Only
 * the SQL layer includes this; drivers see sql_driver.h alone.
 *
 * A statement: sql_q (or sql_start) makes it current with its
 * parameters; sql_i64, sql_icol, sql_scol (or sql_col) say where each
 * result column goes; sql_run, sql_row or sql_list run it.  sql_do
 * is sql_q and sql_run at once, for a statement that returns no row.
 *
 * Failures: as the driver answers them (sql_driver.h); sql_matched turns
 * an update that matched no row into STORE_NOTFOUND, sql_again says
 * whether a failed try is worth another.
 *
 * Ownership: sql_list returns a new array (C_NEW data in it new too);
 * parameters are borrowed until the first step.
 */
#ifndef BIPOSTAL_STORE_SQL_H
#define BIPOSTAL_STORE_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "sql_driver.h"

/* store_sql.c: the helpers */

#define SQL_TRIES	4
#define SQL_PURGE_BATCH	1000	/* rows a purge transaction deletes */

#define SQL(store)	((struct sql *)(store))

enum sql_kind { C_I64, C_INT, C_STR, C_BIN, C_NEW };

/* sql_q - sql_start with the parameters listed: SQL_I, SQL_S, SQL_B */
#define sql_q(s, id, ...)	sql_start((s), (id),			\
	(const struct sql_arg[]){ __VA_ARGS__ },			\
	sizeof((const struct sql_arg[]){ __VA_ARGS__ }) / sizeof(struct sql_arg))

/* sql_do - sql_q, then sql_run */
#define sql_do(s, id, ...)	(sql_q((s), (id), __VA_ARGS__), sql_run(s))

#define sql_i64(s, p)		sql_col((s), C_I64, (p), 0, NULL)
#define sql_icol(s, p)		sql_col((s), C_INT, (p), 0, NULL)
#define sql_scol(s, b)		sql_col((s), C_STR, (b), sizeof(b), NULL)

void		 sql_start(struct sql *, enum sql_stmt, const struct sql_arg *,
		    size_t);
void		 sql_col(struct sql *, enum sql_kind, void *, size_t, size_t *);
enum store_status sql_run(struct sql *);
enum store_status sql_row(struct sql *);
enum store_status sql_list(struct sql *, void *, size_t, size_t, void **,
		    size_t *);
enum store_status sql_matched(struct sql *, enum store_status);
int		 sql_again(struct sql *, enum store_status);

/* store_sql_user.c: users, identities, aliases, reply addresses */

enum store_status sql_user_create(struct store *st, const char *email,
		    const char *pwhash, const char *queue_id, int64_t now,
		    struct user *u);
enum store_status sql_user_get(struct store *st, int64_t id, struct user *u);
enum store_status sql_user_by_identity(struct store *st, const char *ident,
		    struct user *u);
enum store_status sql_user_by_queue_id(struct store *st, const char *qid,
		    struct user *u);
enum store_status sql_identity_add(struct store *st, int64_t user_id,
		    const char *ident);
enum store_status sql_user_update(struct store *st, const struct user *u);
enum store_status sql_user_list(struct store *st, struct user **out,
		    size_t *n);
enum store_status sql_alias_create(struct store *st, int64_t user_id,
		    const char *origin, const char *fresh, int64_t expires_at,
		    int64_t now, struct alias *a, int *created);
enum store_status sql_alias_get(struct store *st, const char *token,
		    struct alias *a);
enum store_status sql_alias_route(struct store *st, const char *token,
		    struct alias_route *rt);
enum store_status sql_alias_list(struct store *st, int64_t user_id,
		    struct alias **out, size_t *n);
enum store_status sql_alias_set_status(struct store *st, const char *token,
		    enum alias_state state, int64_t now);
enum store_status sql_alias_set_context(struct store *st, const char *token,
		    const unsigned char *ctx, size_t len, int64_t now);
enum store_status sql_alias_set_expiry(struct store *st, const char *token,
		    int64_t expires_at, int64_t now);
enum store_status sql_alias_count(struct store *st, const char *token,
		    enum alias_counter c, int64_t now);
enum store_status sql_reply_get_or_create(struct store *st, const char *alias,
		    const char *sender, const char *fresh, int64_t now,
		    struct reply *rep);
enum store_status sql_reply_get(struct store *st, const char *token,
		    struct reply *rep);

/* store_sql_queue.c: queue, blobs, nodes, events, purge, usage, rates */

enum store_status sql_queue_append(struct store *st, int64_t user_id,
		    const char *data, size_t len, int64_t expires_at,
		    int64_t *idx);
enum store_status sql_queue_read(struct store *st, int64_t user_id,
		    int64_t from_idx, int limit, int64_t now,
		    struct qmsg **out, size_t *n, int64_t *first_idx);
enum store_status sql_blob_put(struct store *st, const struct blob *b);
enum store_status sql_blob_get(struct store *st, const char *id, int64_t now,
		    struct blob *b);
enum store_status sql_node_add(struct store *st, const char *host, int port,
		    int capacity, int64_t *id);
enum store_status sql_node_update(struct store *st, const struct node *n);
enum store_status sql_node_list(struct store *st, struct node **out,
		    size_t *n);
enum store_status sql_node_assign(struct store *st, int64_t user_id,
		    struct node *n);
enum store_status sql_event_append(struct store *st, int64_t user_id,
		    const char *type, const char *data, int64_t now,
		    int64_t *id);
enum store_status sql_event_read(struct store *st, int64_t user_id,
		    int64_t after_id, int limit, struct event **out,
		    size_t *n);
enum store_status sql_purge(struct store *st, int64_t now, int64_t retention,
		    int64_t horizon, struct purge_counts *c);
enum store_status sql_usage(struct store *st, int64_t user_id, int64_t now,
		    struct store_usage *u);
enum store_status sql_rate_hit(struct store *st, const char *key, long n,
		    long window, int64_t now, long *count, int64_t *start);

/* store_sql_contact.c: contacts (reply addresses listed) and blocks */

enum store_status sql_reply_list(struct store *st, const char *alias,
		    struct reply **out, size_t *n);
enum store_status sql_block_add(struct store *st, const char *alias,
		    const char *pattern, int64_t now, struct block *b,
		    int *created);
enum store_status sql_block_list(struct store *st, const char *alias,
		    struct block **out, size_t *n);
enum store_status sql_block_remove(struct store *st, const char *alias,
		    int64_t id);
enum store_status sql_block_match(struct store *st, const char *alias,
		    const char *sender, const char *domain, int64_t *id);

/* store_sql_apikey.c: API keys */

enum store_status sql_apikey_create(struct store *st, int64_t user_id,
		    const char *name, enum apikey_scope scope, const char *hash,
		    int64_t now, struct apikey *k);
enum store_status sql_apikey_list(struct store *st, int64_t user_id,
		    struct apikey **out, size_t *n);
enum store_status sql_apikey_revoke(struct store *st, int64_t user_id,
		    int64_t id, int64_t now);
enum store_status sql_apikey_find_by_hash(struct store *st, const char *hash,
		    struct apikey *k);
enum store_status sql_apikey_touch(struct store *st, int64_t id, int64_t now);

#endif
