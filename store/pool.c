/*
 * pool.c - store handles shared by the threads of one daemon
 *
 * The policy is pool.h's.  The idle handles are a stack (the last given
 * back is the first taken: the warmest); handles are opened and closed
 * outside the lock.
 */
#include "config.h"

#include <sys/types.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pool.h"
#include "util.h"

struct store_pool {
	pthread_mutex_t	 mu;
	struct store_lease *idle;	/* under mu */
	int		 nidle;		/* under mu */
	int		 max_idle;
	unsigned	 flags;
	void		(*data_free)(void *);
	uint64_t	 failed;	/* last failed open, 0: none; under mu */
	uint64_t	 logged;	/* when a failure was last logged */
	unsigned long	 nfailed;	/* failed opens since then */
	enum store_status last;		/* of the last open; under mu */
};

struct store_pool *
store_pool_new(int max_idle, unsigned flags, void (*data_free)(void *))
{
	struct store_pool *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->mu, NULL);
	p->max_idle = max_idle;
	p->flags = flags;
	p->data_free = data_free;
	return (p);
}

/* lease_close - close l's handle and free it; NULL is fine */
static void
lease_close(struct store_pool *p, struct store_lease *l)
{
	if (l == NULL)
		return;
	store_close(l->st);
	if (l->data != NULL && p->data_free != NULL)
		p->data_free(l->data);
	free(l);
}

/* lease_good - may l, opened on some URI, serve uri at now? */
static int
lease_good(const struct store_lease *l, const char *uri, uint64_t now)
{
	if (strcmp(l->st->uri, uri) != 0)
		return (0);
	return (!(l->caps & STORE_CAP_FILE) ||
	    now - l->opened < STORE_POOL_REFRESH_MS);
}

void
store_pool_drain(struct store_pool *p)
{
	struct store_lease *l, *next;

	pthread_mutex_lock(&p->mu);
	l = p->idle;
	p->idle = NULL;
	p->nidle = 0;
	pthread_mutex_unlock(&p->mu);
	for (; l != NULL; l = next) {
		next = l->next;
		lease_close(p, l);
	}
}

void
store_pool_free(struct store_pool *p)
{
	if (p == NULL)
		return;
	store_pool_drain(p);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* pool_take - an idle handle good for uri, or NULL; those found stale
 * on the way are closed */
static struct store_lease *
pool_take(struct store_pool *p, const char *uri, uint64_t now)
{
	struct store_lease *l;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		if ((l = p->idle) != NULL) {
			p->idle = l->next;
			p->nidle--;
		}
		pthread_mutex_unlock(&p->mu);
		if (l == NULL || (now - l->idle_since < STORE_POOL_IDLE_MS &&
		    lease_good(l, uri, now)))
			return (l);
		lease_close(p, l);
	}
}

/* pool_log - say once in STORE_POOL_LOG_MS why the store cannot be
 * opened: its file (a server's URI holds a password: not named), the
 * user this process runs as, the reason, and what to run */
static void
pool_log(struct store_pool *p, const char *uri, uint64_t now,
    const char *why, enum store_status s)
{
	char	 user[64], buf[512];
	struct passwd pw, *pwp = NULL;
	unsigned long n;
	int	 say;

	pthread_mutex_lock(&p->mu);
	n = ++p->nfailed;
	if ((say = p->logged == 0 || now - p->logged >= STORE_POOL_LOG_MS)) {
		p->logged = now ? now : 1;
		p->nfailed = 0;
	}
	pthread_mutex_unlock(&p->mu);
	if (!say)
		return;
	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &pwp) == 0 &&
	    pwp != NULL)
		bp_strlcpy(user, pw.pw_name, sizeof(user));
	else
		snprintf(user, sizeof(user), "uid %ld", (long)geteuid());
	if (store_caps(uri) & STORE_CAP_FILE)
		log_warn("store: %s: cannot open as user %s: %s (%s)%s; "
		    "bipostalctl migrate, run as root, creates the store and "
		    "hands it to daemon_user", uri, user, why, store_strstatus(s),
		    n > 1 ? " [and earlier failures]" : "");
	else
		log_warn("store: cannot open as user %s: %s (%s)%s", user, why,
		    store_strstatus(s), n > 1 ? " [and earlier failures]" : "");
}

/* pool_open - a new handle on uri, or NULL (logged) during a backoff,
 * for a missing file with STORE_POOL_NO_CREATE, or when it fails */
static struct store_lease *
pool_open(struct store_pool *p, const char *uri, uint64_t now)
{
	struct store_lease *l;
	struct store	*st = NULL;
	enum store_status s = STORE_TEMP;
	const char	*why = NULL;
	int		 wait;

	pthread_mutex_lock(&p->mu);
	wait = p->failed != 0 && now - p->failed < STORE_POOL_BACKOFF_MS;
	pthread_mutex_unlock(&p->mu);
	if (wait)
		return (NULL);
	if ((p->flags & STORE_POOL_NO_CREATE) && store_missing(uri))
		why = "no such file: not creating it";
	else if ((st = store_open(uri, &s, &why)) == NULL && why == NULL)
		why = "cannot open";
	if (st == NULL)
		pool_log(p, uri, now, why, s);
	pthread_mutex_lock(&p->mu);
	p->failed = st == NULL ? (now ? now : 1) : 0;
	p->last = st == NULL ? s : STORE_OK;
	if (st != NULL)
		p->logged = 0;		/* the next failure is news */
	pthread_mutex_unlock(&p->mu);
	if (st == NULL)
		return (NULL);
	l = xcalloc(1, sizeof(*l));
	l->st = st;
	l->caps = store_caps(uri);
	l->opened = now;
	return (l);
}

struct store *
store_pool_hold(struct store_pool *p, struct store_lease **lp,
    const char *uri)
{
	uint64_t now = bp_mono_ms();

	if (*lp != NULL) {
		if (lease_good(*lp, uri, now))
			return ((*lp)->st);
		store_pool_put(p, lp, 1);
	}
	if ((*lp = pool_take(p, uri, now)) == NULL)
		*lp = pool_open(p, uri, now);
	return (*lp != NULL ? (*lp)->st : NULL);
}

void
store_pool_put(struct store_pool *p, struct store_lease **lp, int broken)
{
	struct store_lease *l = *lp;

	*lp = NULL;
	if (l == NULL)
		return;
	if (!broken) {
		l->idle_since = bp_mono_ms();
		pthread_mutex_lock(&p->mu);
		if (p->nidle < p->max_idle) {
			l->next = p->idle;
			p->idle = l;
			p->nidle++;
			l = NULL;
		}
		pthread_mutex_unlock(&p->mu);
	}
	lease_close(p, l);
}

enum store_status
store_pool_check(struct store_pool *p, const char *uri)
{
	struct store_lease *l = NULL;
	enum store_status s;

	if (store_pool_hold(p, &l, uri) != NULL) {
		store_pool_put(p, &l, 0);
		return (STORE_OK);
	}
	pthread_mutex_lock(&p->mu);
	s = p->last != STORE_OK ? p->last : STORE_TEMP;
	pthread_mutex_unlock(&p->mu);
	return (s);
}
