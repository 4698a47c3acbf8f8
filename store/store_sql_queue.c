/*
 * store_sql_queue.c - the SQL store operations on the queue, blobs,
 * nodes, events, purge, usage and rates
 *
 * Part of the SQL layer of store_sql.c, whose comment gives the schema,
 * the transactions, how a node is assigned, the failures and who owns
 * what: a user's queue of messages, the blobs, the nodes and their slots,
 * the event log, the purge, what a user keeps and the rate windows.  The
 * sql_queue_*, sql_blob_*, sql_node_*, sql_event_*, sql_purge, sql_usage
 * and sql_rate_hit operations of the backend table; store_sql.h declares
 * them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sql_driver.h"
#include "store_sql.h"
#include "util.h"

/* sql_node_cols - declare the columns of SQL_NODE_COLS */
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
	return (sql_do(s, SQL_QUEUE_INSERT, SQL_I(user_id), SQL_I(*idx),
	    SQL_I(expires_at), SQL_B(data, len)));
}

/* sql_queue_append - a message at the user's next index */
enum store_status
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
enum store_status
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
enum store_status
sql_blob_put(struct store *st, const struct blob *b)
{
	struct sql *s = SQL(st);
	enum store_status r;

	r = sql_do(s, SQL_BLOB_INSERT, SQL_S(b->id), SQL_I(b->user_id),
	    SQL_S(b->alias), SQL_S(b->name), SQL_S(b->type),
	    SQL_I((int64_t)b->size), SQL_B(b->data, b->size),
	    SQL_I(b->expires_at));
	return (r == STORE_EXISTS ? STORE_TEMP : r);
}

/* sql_blob_get - a live blob with new data */
enum store_status
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
enum store_status
sql_node_add(struct store *st, const char *host, int port, int capacity,
    int64_t *id)
{
	struct sql *s = SQL(st);
	enum store_status r;

	if ((r = sql_do(s, SQL_NODE_INSERT, SQL_S(host), SQL_I(port),
	    SQL_I(capacity))) == STORE_OK)
		*id = s->last_id;
	return (r);
}

/* sql_node_update - host, port, capacity, available, downed, draining */
enum store_status
sql_node_update(struct store *st, const struct node *n)
{
	struct sql *s = SQL(st);

	return (sql_matched(s, sql_do(s, SQL_NODE_UPDATE, SQL_S(n->host),
	    SQL_I(n->port), SQL_I(n->capacity), SQL_I(n->available),
	    SQL_I(n->downed ? 1 : 0), SQL_I(n->draining ? 1 : 0),
	    SQL_I(n->id))));
}

/* sql_node_list - every node, by id */
enum store_status
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
	if ((r = sql_do(s, SQL_USER_SET_NODE, SQL_I(n->id),
	    SQL_I(user_id))) != STORE_OK)
		return (r);
	n->load++;
	if (n->available > 0)
		n->available--;
	return (STORE_OK);
}

/* sql_node_assign - the user's node, assigning one if needed; a deadlock
 * with another host assigning at the same time is tried again */
enum store_status
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
enum store_status
sql_event_append(struct store *st, int64_t user_id, const char *type,
    const char *data, int64_t now, int64_t *id)
{
	struct sql *s = SQL(st);
	enum store_status r;

	if ((r = sql_do(s, SQL_EVENT_INSERT, SQL_I(user_id), SQL_S(type),
	    SQL_S(data), SQL_I(now))) != STORE_OK)
		return (r == STORE_EXISTS ? STORE_TEMP : r);
	*id = s->last_id;
	return (STORE_OK);
}

/* sql_event_read - the user's events after after_id, oldest first */
enum store_status
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

/* sql_purge_step - delete what statement id takes, SQL_PURGE_BATCH rows
 * a transaction, until none is left; the rows deleted add to *count */
static enum store_status
sql_purge_step(struct sql *s, enum sql_stmt id, int64_t bound, int twice,
    long *count)
{
	enum store_status r;
	int64_t	 n;

	do {
		if ((r = s->d->begin(s, SQL_ATOMIC)) != STORE_OK)
			return (r);
		r = twice ? sql_do(s, id, SQL_I(bound), SQL_I(bound),
		    SQL_I(SQL_PURGE_BATCH)) : sql_do(s, id, SQL_I(bound),
		    SQL_I(SQL_PURGE_BATCH));
		n = (int64_t)s->changes;
		if ((r = s->d->end(s, r)) != STORE_OK)
			return (r == STORE_EXISTS ? STORE_TEMP : r);
		*count += (long)n;
	} while (n >= SQL_PURGE_BATCH);
	return (STORE_OK);
}

/* sql_purge - deleted and expired aliases past retention (their reply
 * addresses and blocks first), expired rows, old events, in batches: a
 * purge of millions of rows never holds a lock for long, and one cut
 * short by a failure leaves nothing half done (the next run takes up the
 * rest) */
enum store_status
sql_purge(struct store *st, int64_t now, int64_t retention, int64_t horizon,
    struct purge_counts *c)
{
	struct sql *s = SQL(st);
	const struct {
		enum sql_stmt	 id;
		int64_t		 bound;
		int		 twice;
		long		*count;
	} step[] = {
		{ SQL_PURGE_REPLIES, now - retention, 1, &c->replies },
		{ SQL_PURGE_BLOCKS, now - retention, 1, &c->blocks },
		{ SQL_PURGE_ALIASES, now - retention, 1, &c->aliases },
		{ SQL_PURGE_QUEUE, now, 0, &c->qmsgs },
		{ SQL_PURGE_BLOBS, now, 0, &c->blobs },
		{ SQL_PURGE_EVENTS, now - horizon, 0, &c->events },
		{ SQL_PURGE_RATES, now - STORE_RATE_KEEP, 0, &c->rates },
	};
	enum store_status r;
	size_t	i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < sizeof(step) / sizeof(step[0]); i++)
		if ((r = sql_purge_step(s, step[i].id, step[i].bound,
		    step[i].twice, step[i].count)) != STORE_OK)
			return (r);
	return (STORE_OK);
}

/* sql_usage - what the user keeps: parts, notifications, reply addresses */
enum store_status
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
enum store_status
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
