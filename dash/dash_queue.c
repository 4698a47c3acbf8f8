/*
 * dash_queue.c - the notification queue, with Pushbox's semantics
 *
 * Interface:
 *   GET /v1/queue?index=N&limit=M   (user)  messages with index >= N,
 *       oldest first, at most M (default 100, at most 1000):
 *       {"messages":[{"index","data","expires_at"}], "index": the last
 *        index returned (or N-1 when none), "last": no more after these,
 *        "status": "new" | "lost"}
 *       "lost" means messages the client asked for have expired unread
 *       (N is below the oldest live index), so it must resynchronise.
 *   POST /v1/queue/<queue_id>  (server key) {"data": string or any JSON,
 *       "ttl": seconds (default queue_ttl, at most queue_max_ttl)}
 *       -> 201 {"index"}; the user's event stream gets a "queue" event.
 *
 * Failure: store errors through dash_store_status.
 *
 * Ownership: message arrays are freed with qmsgs_free.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dash.h"
#include "log.h"
#include "util.h"

#define QUEUE_LIMIT_DEFAULT	100
#define QUEUE_LIMIT_MAX		1000

/* num_arg - a non-negative integer query argument; def if absent, -1 bad */
static long long
num_arg(struct req *r, const char *name, long long def)
{
	const char	*s = dash_arg(r, name);
	char		*end;
	long long	 v;

	if (s == NULL || *s == '\0')
		return (def);
	if (s[strspn(s, "0123456789")] != '\0')
		return (-1);	/* signs and spaces ("+" in a query) too */
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || v < 0)
		return (-1);
	return (v);
}

/* dash_h_queue - GET /v1/queue */
void
dash_h_queue(struct req *r, const char *arg)
{
	long long	 from = num_arg(r, "index", 0);
	long long	 limit = num_arg(r, "limit", QUEUE_LIMIT_DEFAULT);
	struct qmsg	*m = NULL;
	size_t		 n = 0, i, shown;
	int64_t		 first = 0;
	json_t		*arr;
	long long	 last;
	const char	*status = "new";

	if (from < 0) {
		dash_error(r, 400, DASH_E_PARAM, "index: a non-negative integer");
		return;
	}
	if (limit <= 0 || limit > QUEUE_LIMIT_MAX) {
		dash_error(r, 400, DASH_E_PARAM, "limit: 1 to %d",
		    QUEUE_LIMIT_MAX);
		return;
	}
	if (dash_store_status(r, store_queue_read(r->db->st, r->user.id,
	    (int64_t)from, (int)limit + 1, &m, &n, &first), "queue") < 0)
		return;
	/* Asked for an index that existed but has expired unread. */
	if (from > 0 && first > 0 && from < first)
		status = "lost";
	else if (from > 0 && n == 0 && first == 0)
		status = "new";
	shown = n > (size_t)limit ? (size_t)limit : n;
	arr = json_array();
	last = from > 0 ? from - 1 : 0;
	for (i = 0; i < shown; i++) {
		json_array_append_new(arr, json_pack("{s:I,s:s#,s:I}",
		    "index", (json_int_t)m[i].idx, "data", m[i].data,
		    (int)m[i].len, "expires_at", (json_int_t)m[i].expires_at));
		last = m[i].idx;
	}
	qmsgs_free(m, n);
	dash_reply_json(r, 200, json_pack("{s:o,s:I,s:b,s:s}", "messages", arr,
	    "index", (json_int_t)last, "last", n <= (size_t)limit,
	    "status", status));
}

/* dash_h_queue_user - POST /v1/queue/<queue_id>: append (server key) */
void
dash_h_queue_user(struct req *r, const char *qid)
{
	json_t		*b, *d, *t;
	struct user	 u;
	char		*data = NULL;
	const char	*s;
	long long	 ttl = r->cf->queue_ttl;
	int64_t		 idx;
	enum store_status st;

	if ((b = dash_body_json(r)) == NULL)
		return;
	d = json_object_get(b, "data");
	t = json_object_get(b, "ttl");
	if (d == NULL || json_is_null(d)) {
		dash_error(r, 400, DASH_E_PARAM, "data is required");
		goto done;
	}
	if (t != NULL && (!json_is_integer(t) || json_integer_value(t) <= 0 ||
	    json_integer_value(t) > r->cf->queue_max_ttl)) {
		dash_error(r, 400, DASH_E_PARAM, "ttl: 1 to %ld seconds",
		    r->cf->queue_max_ttl);
		goto done;
	}
	if (t != NULL)
		ttl = json_integer_value(t);
	if ((s = json_string_value(d)) != NULL)
		data = xstrdup(s);
	else if ((data = json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL) {
		dash_error(r, 400, DASH_E_PARAM, "data: cannot encode");
		goto done;
	}
	if (strlen(data) > QUEUE_DATA_MAX) {
		dash_error(r, 413, DASH_E_TOOBIG, "data over %d bytes",
		    QUEUE_DATA_MAX);
		goto done;
	}
	st = store_user_by_queue_id(r->db->st, qid, &u);
	if (dash_store_status(r, st, "queue") < 0)
		goto done;
	st = store_queue_append(r->db->st, u.id, data, strlen(data),
	    (int64_t)ttl, &idx);
	if (dash_store_status(r, st, "queue") < 0)
		goto done;
	dash_event(r, u.id, "queue", json_pack("{s:I}", "index",
	    (json_int_t)idx));
	dash_metrics_inc("queue_appends");
	dash_reply_json(r, 201, json_pack("{s:I,s:I}", "index", (json_int_t)idx,
	    "ttl", (json_int_t)ttl));
done:
	free(data);
	json_decref(b);
}
