/*
 * dash_events.c - GET /v1/events: the user's event stream as Server-Sent
 * Events
 *
 * Purpose: tell a signed-in page at once when an alias changes, a
 * notification is queued or mail is forwarded or blocked.
 *
 * Interface: "text/event-stream"; each event is
 *	id: <event id>\nevent: <alias|queue|mail>\ndata: <JSON>\n\n
 * A reconnecting client sends Last-Event-ID (or ?after=ID) and gets what
 * it missed; a new client starts at the present.  A comment line
 * (": heartbeat") goes out every DASH_SSE_HEARTBEAT seconds (or half of
 * dash_conn_timeout if less) so proxies and clients see the stream alive.
 *
 * The store's event table is the truth; the stream polls it.  When Redis
 * is configured the stream also subscribes to "bipostal:events:<user>"
 * (redis_subscribe_open: the password and database of the redis URI
 * apply, as for every other Redis call) and reads the store as soon as a
 * message arrives there, so the poll can be slow; without Redis it polls
 * every DASH_SSE_POLL_MS.
 *
 * Failure: a store or Redis error is logged and retried on the next
 * tick; the stream ends when the client goes away or the daemon stops.
 * A subscription that is lost is made again at the next tick; after
 * DASH_SSE_SUBSCRIBE_TRIES that could not be made (Redis down, or
 * refusing: a wrong password) the stream polls every DASH_SSE_POLL_MS.
 *
 * Ownership: struct sse belongs to the MHD response and is freed by its
 * free callback.  It borrows a pooled store only while it reads.  The
 * callback runs in the connection's own thread, which may block.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dash.h"
#include "log.h"
#include "redis.h"
#include "util.h"

#define DASH_SSE_HEARTBEAT	15	/* seconds */
#define DASH_SSE_POLL_MS	250	/* without Redis */
#define DASH_SSE_SLOW_POLL_MS	5000	/* with Redis */
#define DASH_SSE_BATCH		64
#define DASH_SSE_SUBSCRIBE_TRIES 4	/* then poll fast for good */

struct sse {
	int64_t		 user_id;
	int64_t		 last_id;
	char		*buf;		/* pending output */
	size_t		 len, off;
	uint64_t	 last_write;	/* bp_mono_ms */
	long		 heartbeat;	/* seconds, under dash_conn_timeout */
	struct redis_sub *sub;		/* subscription, or NULL */
	char		*redis_uri;	/* "" without Redis */
	int		 redis_failed;	/* subscriptions that failed */
};

static volatile int sse_stop;

/* dash_events_stop - end every stream at its next tick (shutdown) */
void
dash_events_stop(void)
{
	sse_stop = 1;
}

/* sse_append - add text to the pending output */
static void
sse_append(struct sse *s, const char *text, size_t n)
{
	if (s->off == s->len)
		s->off = s->len = 0;
	s->buf = xrealloc(s->buf, s->len + n + 1);
	memcpy(s->buf + s->len, text, n);
	s->len += n;
}

/* sse_wait - sleep until Redis says something or the tick passes */
static void
sse_wait(struct sse *s)
{
	enum redis_sub_status st;
	char	 chan[64];
	int	 n;

	if (s->sub == NULL && *s->redis_uri != '\0' &&
	    s->redis_failed < DASH_SSE_SUBSCRIBE_TRIES) {
		snprintf(chan, sizeof(chan), REDIS_EVENTS_CHANNEL "%lld",
		    (long long)s->user_id);
		if ((s->sub = redis_subscribe_open(s->redis_uri, chan)) == NULL)
			s->redis_failed++;
	}
	if (s->sub == NULL) {
		usleep(DASH_SSE_POLL_MS * 1000);
		return;
	}
	/* The store holds the content: a message only says "read it now",
	 * and those already waiting say no more than the first. */
	st = redis_subscribe_next(s->sub, DASH_SSE_SLOW_POLL_MS, NULL, 0);
	for (n = 0; st == REDIS_SUB_MESSAGE && n < DASH_SSE_BATCH; n++)
		st = redis_subscribe_next(s->sub, 0, NULL, 0);
	if (st == REDIS_SUB_ERROR) {
		redis_subscribe_close(s->sub);
		s->sub = NULL;		/* the next wait subscribes again */
	}
}

/* sse_fill - read new events from the store into the pending output */
static int
sse_fill(struct sse *s)
{
	struct dash_db	*db;
	struct event	*ev = NULL;
	size_t		 n = 0, i;
	enum store_status st;
	char		 head[128];

	if ((db = dash_db_get()) == NULL)
		return (0);
	st = store_event_read(db->st, s->user_id, s->last_id, DASH_SSE_BATCH,
	    &ev, &n);
	dash_db_put(db);
	if (st != STORE_OK) {
		if (st != STORE_NOTFOUND)
			log_warn("events user=%lld: %s", (long long)s->user_id,
			    store_strstatus(st));
		return (0);
	}
	for (i = 0; i < n; i++) {
		int k = snprintf(head, sizeof(head), "id: %lld\nevent: %s\n"
		    "data: ", (long long)ev[i].id, ev[i].type);

		/* JSON text from json_dumps has no raw newlines */
		sse_append(s, head, (size_t)k);
		sse_append(s, ev[i].data, strcspn(ev[i].data, "\r\n"));
		sse_append(s, "\n\n", 2);
		s->last_id = ev[i].id;
	}
	free(ev);
	return ((int)n);
}

/* sse_read - MHD content reader: block until there is something to send */
static ssize_t
sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct sse	*s = cls;
	size_t		 n;

	while (s->off == s->len) {
		if (sse_stop)
			return (MHD_CONTENT_READER_END_OF_STREAM);
		if (sse_fill(s) > 0)
			break;
		if (bp_mono_ms() - s->last_write >=
		    (uint64_t)s->heartbeat * 1000) {
			sse_append(s, ": heartbeat\n\n", 13);
			break;
		}
		sse_wait(s);
	}
	n = s->len - s->off;
	if (n > max)
		n = max;
	memcpy(out, s->buf + s->off, n);
	s->off += n;
	s->last_write = bp_mono_ms();
	return ((ssize_t)n);
}

/* sse_free - the stream is over */
static void
sse_free(void *cls)
{
	struct sse *s = cls;

	if (s == NULL)
		return;
	redis_subscribe_close(s->sub);
	free(s->redis_uri);
	free(s->buf);
	free(s);
}

/* sse_present - the id of the newest event, so a new client starts now */
static enum store_status
sse_present(struct req *r, int64_t *last)
{
	struct event	*ev;
	size_t		 n;
	enum store_status st;

	*last = 0;
	do {
		ev = NULL;
		n = 0;
		st = store_event_read(r->db->st, r->user.id, *last, 1000, &ev,
		    &n);
		if (st == STORE_NOTFOUND)
			return (STORE_OK);
		if (st != STORE_OK)
			return (st);
		if (n > 0)
			*last = ev[n - 1].id;
		free(ev);
	} while (n == 1000);
	return (STORE_OK);
}

/* dash_h_events - GET /v1/events */
void
dash_h_events(struct req *r, const char *arg)
{
	const char	*after = dash_header(r, "Last-Event-ID");
	struct sse	*s;
	char		*end;

	s = xcalloc(1, sizeof(*s));
	s->user_id = r->user.id;
	if (after == NULL)
		after = dash_arg(r, "after");
	if (after != NULL) {
		s->last_id = strtoll(after, &end, 10);
		if (*end != '\0' || s->last_id < 0) {
			free(s);
			dash_error(r, 400, DASH_E_PARAM,
			    "Last-Event-ID: an event id");
			return;
		}
	} else if (dash_store_status(r, sse_present(r, &s->last_id),
	    "events") < 0) {
		free(s);
		return;
	}
	s->redis_uri = xstrdup(r->cf->redis ? r->cf->redis : "");
	s->last_write = bp_mono_ms();
	s->heartbeat = r->cf->dash_conn_timeout / 2;
	if (s->heartbeat > DASH_SSE_HEARTBEAT)
		s->heartbeat = DASH_SSE_HEARTBEAT;
	if (s->heartbeat < 1)
		s->heartbeat = 1;
	sse_append(s, "retry: 3000\n: connected\n\n", 25);
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	r->resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
	    sse_read, s, sse_free);
	if (r->resp == NULL) {
		sse_free(s);
		dash_error(r, 500, DASH_E_INTERNAL, "cannot stream");
		return;
	}
	MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/event-stream");
	MHD_add_response_header(r->resp, "X-Accel-Buffering", "no");
	r->status = 200;
	dash_metrics_inc("event_streams");
	/* The stream borrows a store only while it reads. */
	dash_db_put(r->db);
	r->db = NULL;
}
