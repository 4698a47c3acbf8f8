/*
 * store_queue.c - the public store calls on the queue, blobs, nodes,
 * events, purge, usage and rates
 *
 * The other half of store.c (read its comment for what every call checks
 * and what each status means): the arguments are checked and folded
 * here, the time taken (bp_now), the call traced, then the backend runs.
 *
 * Interface: store_queue_*, store_blob_*, store_node_*, store_event_*,
 * store_purge, store_usage and store_rate_* (store.h); qmsgs_free and
 * blob_free.
 *
 * Failures: a malformed argument is STORE_INVALID and never reaches the
 * backend, a malformed blob id STORE_NOTFOUND; otherwise the backend's
 * status.
 *
 * Ownership: arrays from store_queue_read, store_node_list and
 * store_event_read are new (qmsgs_free, free()); store_blob_get's data
 * is new (blob_free).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "token.h"
#include "util.h"

/* store_queue_append - one notification, kept ttl seconds */
enum store_status
store_queue_append(struct store *st, int64_t user_id, const char *data,
    size_t len, int64_t ttl, int64_t *idx)
{
	int64_t	dummy;

	if (idx == NULL)
		idx = &dummy;
	*idx = 0;
	if (user_id <= 0 || data == NULL || len < 1 || len > QUEUE_DATA_MAX ||
	    ttl < 1 || ttl > STORE_TTL_MAX)
		return (store_trace_id(st, "queue_append", user_id,
		    STORE_INVALID));
	return (store_trace_id(st, "queue_append", user_id,
	    st->be->queue_append(st, user_id, data, len, bp_now() + ttl,
	    idx)));
}

/* store_queue_read - live messages from from_idx; *out new */
enum store_status
store_queue_read(struct store *st, int64_t user_id, int64_t from_idx,
    int limit, struct qmsg **out, size_t *n, int64_t *first_idx)
{
	int64_t	dummy;

	if (first_idx == NULL)
		first_idx = &dummy;
	*out = NULL;
	*n = 0;
	*first_idx = 0;
	if (user_id <= 0 || from_idx < 0 || limit < 1 ||
	    limit > STORE_LIMIT_MAX)
		return (store_trace_id(st, "queue_read", user_id,
		    STORE_INVALID));
	return (store_trace_id(st, "queue_read", user_id,
	    st->be->queue_read(st, user_id, from_idx, limit, bp_now(), out, n,
	    first_idx)));
}

/* qmsgs_free - NULL is fine */
void
qmsgs_free(struct qmsg *v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i].data);
	free(v);
}

/* store_blob_put - keep b->data for ttl seconds; fills b->id */
enum store_status
store_blob_put(struct store *st, struct blob *b, int64_t ttl)
{
	char	alias[TOKEN_MAX + 1];

	if (b == NULL || b->user_id <= 0 || b->size > STORE_BLOB_MAX ||
	    (b->size > 0 && b->data == NULL) || ttl < 1 ||
	    ttl > STORE_TTL_MAX || !store_key(alias, b->alias) ||
	    strnlen(b->name, sizeof(b->name)) == sizeof(b->name) ||
	    !store_printable(b->name, BLOB_NAME_MAX, 1) ||
	    strnlen(b->type, sizeof(b->type)) == sizeof(b->type) ||
	    !store_printable(b->type, BLOB_TYPE_MAX, 0) || b->type[0] == '\0')
		return (store_trace(st, "blob_put", NULL, STORE_INVALID));
	memcpy(b->alias, alias, sizeof(alias));
	if (token_new(b->id, sizeof(b->id)) < 0)
		return (store_trace(st, "blob_put", NULL, STORE_TEMP));
	b->expires_at = bp_now() + ttl;
	return (store_trace(st, "blob_put", b->id, st->be->blob_put(st, b)));
}

/* store_blob_get - a live blob; out->data new (blob_free) */
enum store_status
store_blob_get(struct store *st, const char *id, struct blob *out)
{
	char	key[TOKEN_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (!store_key(key, id))
		return (store_trace(st, "blob_get", NULL, STORE_NOTFOUND));
	return (store_trace(st, "blob_get", key,
	    st->be->blob_get(st, key, bp_now(), out)));
}

/* blob_free - the data of a blob from store_blob_get; NULL is fine */
void
blob_free(struct blob *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->size = 0;
}

/* store_host_ok - a host name or address literal */
static int
store_host_ok(const char *h)
{
	size_t	i;

	if (h == NULL || h[0] == '\0')
		return (0);
	for (i = 0; h[i] != '\0'; i++) {
		unsigned char c = (unsigned char)h[i];

		if (i >= HOST_MAX)
			return (0);
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c == '.' || c == '-' ||
		    c == '_' || c == ':'))
			return (0);
	}
	return (1);
}

/* store_node_add - a new queue host; STORE_EXISTS if host:port is taken */
enum store_status
store_node_add(struct store *st, const char *host, int port, int capacity,
    int64_t *id)
{
	int64_t	dummy;

	if (id == NULL)
		id = &dummy;
	*id = 0;
	if (!store_host_ok(host) || port < 1 || port > 65535 || capacity < 0)
		return (store_trace(st, "node_add", NULL, STORE_INVALID));
	return (store_trace(st, "node_add", NULL,
	    st->be->node_add(st, host, port, capacity, id)));
}

/* store_node_update - host, port, capacity, available, downed, draining */
enum store_status
store_node_update(struct store *st, const struct node *n)
{
	if (n == NULL || n->id <= 0 || !store_host_ok(n->host) ||
	    n->port < 1 || n->port > 65535 || n->capacity < 0 ||
	    n->available < 0)
		return (store_trace_id(st, "node_update", n ? n->id : 0,
		    STORE_INVALID));
	return (store_trace_id(st, "node_update", n->id,
	    st->be->node_update(st, n)));
}

/* store_node_list - every node; *out new */
enum store_status
store_node_list(struct store *st, struct node **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return (store_trace(st, "node_list", NULL,
	    st->be->node_list(st, out, n)));
}

/* store_node_assign - the user's node, assigning one when needed */
enum store_status
store_node_assign(struct store *st, int64_t user_id, struct node *out)
{
	if (user_id <= 0 || out == NULL)
		return (store_trace_id(st, "node_assign", user_id,
		    STORE_INVALID));
	return (store_trace_id(st, "node_assign", user_id,
	    st->be->node_assign(st, user_id, out)));
}

/* store_event_append - one event for the user's stream */
enum store_status
store_event_append(struct store *st, int64_t user_id, const char *type,
    const char *json, int64_t *id)
{
	int64_t	dummy;
	size_t	i;

	if (id == NULL)
		id = &dummy;
	*id = 0;
	if (user_id <= 0 || type == NULL || json == NULL || type[0] == '\0' ||
	    strnlen(json, EVENT_DATA_MAX + 1) > EVENT_DATA_MAX)
		return (store_trace_id(st, "event_append", user_id,
		    STORE_INVALID));
	for (i = 0; type[i] != '\0'; i++)
		if (i >= EVENT_TYPE_MAX || !((type[i] >= 'a' &&
		    type[i] <= 'z') || type[i] == '_' || type[i] == '.'))
			return (store_trace_id(st, "event_append", user_id,
			    STORE_INVALID));
	return (store_trace_id(st, "event_append", user_id,
	    st->be->event_append(st, user_id, type, json, bp_now(), id)));
}

/* store_event_read - events after after_id; *out new (free()) */
enum store_status
store_event_read(struct store *st, int64_t user_id, int64_t after_id,
    int limit, struct event **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (user_id <= 0 || after_id < 0 || limit < 1 ||
	    limit > STORE_LIMIT_MAX)
		return (store_trace_id(st, "event_read", user_id,
		    STORE_INVALID));
	return (store_trace_id(st, "event_read", user_id,
	    st->be->event_read(st, user_id, after_id, limit, out, n)));
}

/* store_purge - garbage collection; retention and horizon in seconds */
enum store_status
store_purge(struct store *st, int64_t retention, int64_t event_horizon,
    struct purge_counts *out)
{
	struct purge_counts dummy;
	enum store_status s;

	if (out == NULL)
		out = &dummy;
	memset(out, 0, sizeof(*out));
	if (retention < 0 || event_horizon < 0)
		return (store_trace(st, "purge", NULL, STORE_INVALID));
	s = st->be->purge(st, bp_now(), retention, event_horizon, out);
	if (s == STORE_OK)
		log_info("store %s: purge: aliases=%ld replies=%ld qmsgs=%ld "
		    "blobs=%ld events=%ld rates=%ld", st->be->name, out->aliases,
		    out->replies, out->qmsgs, out->blobs, out->events,
		    out->rates);
	return (store_trace(st, "purge", NULL, s));
}

/* store_usage - see store.h */
enum store_status
store_usage(struct store *st, int64_t user_id, struct store_usage *out)
{
	memset(out, 0, sizeof(*out));
	if (user_id <= 0)
		return (store_trace(st, "usage", NULL, STORE_INVALID));
	return (store_trace(st, "usage", NULL,
	    st->be->usage(st, user_id, bp_now(), out)));
}

/* store_rate_key_ok - a key store_rate_* take */
static int
store_rate_key_ok(const char *key, long window)
{
	return (key != NULL && *key != '\0' && window >= 1 &&
	    store_printable(key, STORE_RATE_KEY_MAX, 0));
}

/* store_rate_hit - see store.h */
enum store_status
store_rate_hit(struct store *st, const char *key, long limit, long window,
    long *retry_after)
{
	enum store_status s;
	long	 count = 0, dummy;
	int64_t	 start = 0, now = bp_now();

	if (retry_after == NULL)
		retry_after = &dummy;
	*retry_after = 0;
	if (!store_rate_key_ok(key, window) || limit < 0)
		return (store_trace(st, "rate_hit", NULL, STORE_INVALID));
	s = st->be->rate_hit(st, key, 1, window, now, &count, &start);
	if (s != STORE_OK)
		return (store_trace(st, "rate_hit", NULL, s));
	if (count <= limit)
		return (STORE_OK);
	*retry_after = (long)(start + window - now);
	if (*retry_after < 1)
		*retry_after = 1;
	return (STORE_EXISTS);
}

/* store_rate_add - see store.h */
enum store_status
store_rate_add(struct store *st, const char *key, long n, long window)
{
	long	 count;
	int64_t	 start;

	if (!store_rate_key_ok(key, window) || n < 1)
		return (store_trace(st, "rate_add", NULL, STORE_INVALID));
	return (store_trace(st, "rate_add", NULL, st->be->rate_hit(st, key, n,
	    window, bp_now(), &count, &start)));
}

/* store_rate_peek - see store.h */
enum store_status
store_rate_peek(struct store *st, const char *key, long window, long *count,
    long *retry_after)
{
	enum store_status s;
	long	 dummy;
	int64_t	 start = 0, now = bp_now();

	if (retry_after == NULL)
		retry_after = &dummy;
	*count = 0;
	*retry_after = 0;
	if (!store_rate_key_ok(key, window))
		return (store_trace(st, "rate_peek", NULL, STORE_INVALID));
	s = st->be->rate_hit(st, key, 0, window, now, count, &start);
	if (s != STORE_OK)
		return (store_trace(st, "rate_peek", NULL, s));
	if (start + window <= now)
		*count = 0;			/* that window is over */
	else
		*retry_after = (long)(start + window - now);
	return (STORE_OK);
}
