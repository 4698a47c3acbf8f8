/*
 * milter_later.c - counters and events, written in the background
 *
 * Purpose: bumping a counter or appending an event is a committed write
 * (an fsync with SQLite) that has no business delaying the answer to the
 * MTA.  The callbacks record them here (later_count, later_event, and
 * later_inbound: the messages in per alias that the rate limit counts,
 * written as one store_rate_add per alias and round); one
 * thread writes them about once a second through its own store handle,
 * publishes each event on Redis when "redis" is set (so that a dash
 * stream subscribed there wakes at once), and milter_counts_flush()
 * writes what is left at shutdown.
 *
 * Events are what the dash streams (dash_events.c): type "mail" with
 * {"action":"forward"|"block"|"bounce","alias":TOKEN,"origin":SITE} and
 * type "queue" with {"index":N,"alias":TOKEN}.  They name the alias and
 * its site, never a real address nor anything of the message.
 *
 * Failure: a failed write is logged and retried on the next round, up to
 * COUNT_PENDING_MAX counters and EVENT_PENDING_MAX events; past that,
 * new ones are dropped with a warning (they are statistics and
 * announcements: the queue entry itself is written before the MTA gets
 * its answer).  A failed Redis publish is only logged: the store holds
 * the event and the dash polls it.
 *
 * Ownership: the pending tables belong to this file, under their locks;
 * later_event copies its arguments.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "milter.h"
#include "redis.h"
#include "store.h"
#include "util.h"

#define COUNT_PENDING_MAX	4096
#define EVENT_PENDING_MAX	4096

#define LATER_INBOUND	(-1)		/* kind: a message in (rate limit) */

struct pending {
	char		 token[TOKEN_MAX + 1];
	int		 kind;		/* enum alias_counter, LATER_INBOUND */
	long		 n;
};

struct pending_event {
	int64_t		 user_id;
	char		 type[EVENT_TYPE_MAX + 1];
	char		*json;		/* new */
};

static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending *pend;
static size_t npend;
static struct pending_event *pev;
static size_t npev;

/* later_add - n more of kind for token */
static void
later_add(const char *token, int kind, long n)
{
	size_t	i;

	pthread_mutex_lock(&count_lock);
	for (i = 0; i < npend; i++)
		if (pend[i].kind == kind && strcmp(pend[i].token, token) == 0)
			break;
	if (i == npend && npend < COUNT_PENDING_MAX) {
		if (pend == NULL)
			pend = xcalloc(COUNT_PENDING_MAX, sizeof(*pend));
		bp_strlcpy(pend[i].token, token, sizeof(pend[i].token));
		pend[i].kind = kind;
		pend[i].n = 0;
		npend++;
	}
	if (i < npend)
		pend[i].n += n;
	else
		log_warn("alias=%.8s counter dropped: too many pending", token);
	pthread_mutex_unlock(&count_lock);
}

/* later_count - one more forwarded/blocked/replied for token */
void
later_count(const char *token, enum alias_counter kind)
{
	later_add(token, (int)kind, 1);
}

/* later_inbound - one more message in for alias token, for the rate
 * limit (written with store_rate_add) */
void
later_inbound(const char *token)
{
	later_add(token, LATER_INBOUND, 1);
}

/* later_inbound_pending - messages in for token not yet written */
long
later_inbound_pending(const char *token)
{
	size_t	i;
	long	n = 0;

	pthread_mutex_lock(&count_lock);
	for (i = 0; i < npend; i++)
		if (pend[i].kind == LATER_INBOUND &&
		    strcmp(pend[i].token, token) == 0)
			n = pend[i].n;
	pthread_mutex_unlock(&count_lock);
	return (n);
}

/* event_put - queue one event; steals json */
static void
event_put(int64_t user_id, const char *type, char *json)
{
	pthread_mutex_lock(&count_lock);
	if (npev < EVENT_PENDING_MAX) {
		if (pev == NULL)
			pev = xcalloc(EVENT_PENDING_MAX, sizeof(*pev));
		pev[npev].user_id = user_id;
		bp_strlcpy(pev[npev].type, type, sizeof(pev[npev].type));
		pev[npev].json = json;
		npev++;
		json = NULL;
	}
	pthread_mutex_unlock(&count_lock);
	if (json != NULL) {
		log_warn("user=%lld %s event dropped: too many pending",
		    (long long)user_id, type);
		free(json);
	}
}

/* later_event - announce an event of type for the user; json is copied */
void
later_event(int64_t user_id, const char *type, const char *json)
{
	if (user_id <= 0 || strlen(json) > EVENT_DATA_MAX)
		return;
	event_put(user_id, type, xstrdup(json));
}

/* counts_write - write the pending increments and events; 0, or -1 if
 * some are left for the next round */
static int
counts_write(struct store **stp, struct redis *rd)
{
	struct pending *batch;
	struct pending_event *evs;
	size_t	 n, ne, i;
	long	 k;
	enum store_status s;
	const char *why = NULL;
	int	 rc = 0;

	pthread_mutex_lock(&count_lock);
	n = npend;
	batch = n ? xmalloc(n * sizeof(*batch)) : NULL;
	if (n)
		memcpy(batch, pend, n * sizeof(*batch));
	npend = 0;
	ne = npev;
	evs = ne ? xmalloc(ne * sizeof(*evs)) : NULL;
	if (ne)
		memcpy(evs, pev, ne * sizeof(*evs));
	npev = 0;
	pthread_mutex_unlock(&count_lock);
	if (n == 0 && ne == 0)
		return (0);
	if (*stp == NULL && (*stp = store_open(milter_g.conf->store, &s, &why)) == NULL)
		log_warn("counters: store: %s", why ? why : "cannot open");
	for (i = 0; i < n; i++) {
		if (batch[i].kind == LATER_INBOUND) {
			char	 key[STORE_RATE_KEY_MAX + 1];

			snprintf(key, sizeof(key), "in:%s", batch[i].token);
			k = *stp != NULL && store_rate_add(*stp, key,
			    batch[i].n, MILTER_RATE_WINDOW) == STORE_OK ?
			    batch[i].n : 0;
		} else {
			for (k = 0; k < batch[i].n; k++) {
				if (*stp == NULL ||
				    store_alias_count(*stp, batch[i].token,
				    (enum alias_counter)batch[i].kind) != STORE_OK)
					break;
			}
		}
		if (k < batch[i].n) {
			/* put back what was not written */
			rc = -1;
			store_close(*stp);
			*stp = NULL;
			later_add(batch[i].token, batch[i].kind, batch[i].n - k);
		}
	}
	for (i = 0; i < ne; i++) {
		int64_t	 id;

		s = *stp == NULL ? STORE_TEMP : store_event_append(*stp,
		    evs[i].user_id, evs[i].type, evs[i].json, &id);
		if (s == STORE_OK) {
			if (redis_publish(rd, evs[i].user_id, evs[i].type,
			    evs[i].json) != STORE_OK && log_verbose)
				log_info("events: redis publish failed");
			free(evs[i].json);
		} else if (s == STORE_INVALID) {
			log_warn("user=%lld %s event refused by the store",
			    (long long)evs[i].user_id, evs[i].type);
			free(evs[i].json);
		} else {
			if (*stp != NULL) {
				store_close(*stp);
				*stp = NULL;
			}
			rc = -1;
			event_put(evs[i].user_id, evs[i].type, evs[i].json);
		}
	}
	free(batch);
	free(evs);
	return (rc);
}

/* counts_main - the background writer */
static void *
counts_main(void *arg)
{
	struct store *st = NULL;
	struct redis *rd = redis_open(milter_g.conf->redis);

	for (;;) {
		sleep(1);
		if (counts_write(&st, rd) < 0)
			log_warn("counters: write failed, will retry");
	}
	return (NULL);
}

/*
 * milter_counts_start - start the background writer.  It starts with the
 * signals libmilter's own signal thread waits for blocked: if it took
 * SIGTERM, the default action would end the process before smfi_main
 * returns and the last counts are flushed.
 */
int
milter_counts_start(void)
{
	pthread_t t;
	sigset_t set, old;
	int	rc;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	rc = pthread_create(&t, NULL, counts_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return (-1);
	pthread_detach(t);
	return (0);
}

/* milter_counts_flush - write what is pending (shutdown, tests) */
void
milter_counts_flush(void)
{
	struct store *st = NULL;
	struct redis *rd = redis_open(milter_g.conf->redis);

	if (counts_write(&st, rd) < 0)
		log_warn("counters: some increments could not be written");
	store_close(st);
	redis_close(rd);
}
