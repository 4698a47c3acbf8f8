/*
 * postmapd_pool.c - bipostal-postmapd's workers, connections and watchdog
 *
 * The threads and the connection slots of postmapd.c (read its comment
 * for the shape: leader/followers on one epoll set, the watchdog, the
 * slots and the store handles).  A worker takes a connection's event,
 * serves it with its own store handle (worker_store) and re-arms it; the
 * main thread runs postmapd_watch every WATCH_MS: late lookups answered, more
 * workers started, idle connections closed.
 *
 * Interface (postmapd.h): postmapd_pool, the slots and their counters,
 * postmapd_wep; postmapd_default_workers, postmapd_spawn (under
 * postmapd_pool.mu), postmapd_conn_close (c locked), postmapd_watch.
 *
 * Failures: a store that cannot be opened answers TEMP and is tried again
 * after STORE_POOL_BACKOFF_MS (pool.h); bad framing closes the
 * connection; a thread that cannot start is logged and postmapd_spawn
 * answers -1.
 *
 * Ownership and locking: a slot's fields are under its mutex; only its
 * owner touches the socket.  A worker holds its store handle (a lease of
 * the pool stores) and gives it back when it leaves.  Configuration
 * references are taken and released under postmapd_pool.mu.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "netstring.h"
#include "pool.h"
#include "postmapd.h"
#include "store.h"
#include "util.h"

struct postmapd_pool postmapd_pool = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
};

struct conn *postmapd_slots;
long	postmapd_nslots;
long	postmapd_hiwater;		/* slots [0..hiwater) ever used */
long	*postmapd_freeslots;		/* under postmapd_slots_mu */
long	postmapd_nfree;			/* under postmapd_slots_mu */
pthread_mutex_t postmapd_slots_mu = PTHREAD_MUTEX_INITIALIZER;
int	postmapd_wep = -1;		/* workers' epoll set */

struct wstore {				/* one worker's store handle */
	struct store_lease *lease;	/* from stores */
	const char	*uri;		/* the uri of the current conf */
};

/* the workers' store handles: see pool.h for when one is reopened; a
 * missing store file answers TEMP until bipostalctl migrate creates it
 * (an empty store would make every alias unknown) */
static struct store_pool *stores;

/* postmapd_store_start - the workers' pool, and a first handle opened now
 * as daemon_user: a store that cannot be opened is said at start, in one
 * line (pool.h) */
void
postmapd_store_start(const char *uri)
{
	stores = store_pool_new(WORKERS_MAX, STORE_POOL_NO_CREATE, NULL);
	(void)store_pool_check(stores, uri);
}

/* worker_store - this worker's handle, (re)opened as needed; or NULL */
static struct store *
worker_store(void *arg)
{
	struct wstore *w = arg;

	return (store_pool_hold(stores, &w->lease, w->uri));
}

/* conn_has_request - does c's buffer (c locked) hold a whole request,
 * or bad framing, that no worker has taken yet? */
static int
conn_has_request(const struct conn *c)
{
	const char *data, *why;
	size_t	dlen, used;

	return (c->inlen > 0 && netstring_parse(c->in, c->inlen,
	    POSTMAPD_REQ_MAX, &data, &dlen, &used, &why) != NETSTRING_MORE);
}

/* conn_waits - does a request of c (locked, not busy) wait for a worker:
 * a whole one buffered, or unread input? */
static int
conn_waits(const struct conn *c)
{
	int	n = 0;

	return (conn_has_request(c) ||
	    (ioctl(c->fd, FIONREAD, &n) == 0 && n > 0));
}

/*
 * postmapd_default_workers - with SQLite a lookup never waits for a
 * server, so one
 * worker per CPU keeps them all busy and more only take turns (at least
 * 2, so one slow call leaves another worker free); with a server, lookups
 * wait for its answers and WORKERS_SERVER overlap them.  Either way the
 * watchdog adds workers when all are inside lookups.
 */
int
postmapd_default_workers(const struct conf *cf)
{
	long	n;

	if ((store_caps(cf->store) & STORE_CAP_FILE) == 0)
		return (WORKERS_SERVER);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return (n < 2 ? 2 : n > WORKERS_SERVER ? WORKERS_SERVER : (int)n);
}

/* conn_arm - re-arm c in the workers' set for what it needs now */
static void
conn_arm(struct conn *c, long idx)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLONESHOT | EPOLLRDHUP;
	if (c->inlen < sizeof(c->in))
		ev.events |= EPOLLIN;
	if (c->outlen > c->outoff || conn_has_request(c))
		ev.events |= EPOLLOUT;	/* writable at once: serve it now */
	ev.data.u64 = (uint64_t)c->gen << 32 | (uint64_t)idx;
	if (epoll_ctl(postmapd_wep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		log_warn("epoll_ctl: %m");
}

/* postmapd_conn_close - close c (locked) and give its slot back */
void
postmapd_conn_close(struct conn *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(postmapd_wep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	__atomic_store_n(&c->fd, -1, __ATOMIC_RELAXED);
	c->gen++;
	c->busy = 0;
	pthread_mutex_lock(&postmapd_slots_mu);
	postmapd_freeslots[postmapd_nfree++] = c - postmapd_slots;
	pthread_mutex_unlock(&postmapd_slots_mu);
}

/* conn_flush - write what is pending (c locked); -1 if c was closed */
static int
conn_flush(struct conn *c)
{
	ssize_t	n;

	while (c->outlen > c->outoff) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (log_verbose)
				log_info("connection write: %m");
			postmapd_conn_close(c);
			return (-1);
		}
		c->outoff += (size_t)n;
	}
	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	return (0);
}

/* conn_reply - queue the netstring of text (c locked); -1 if closed */
static int
conn_reply(struct conn *c, const char *text, size_t len)
{
	size_t	n;

	if (c->outoff > 0) {
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	n = netstring_format(c->out + c->outlen, sizeof(c->out) - c->outlen,
	    text, len);
	if (n == 0) {
		/* only a client that never reads its answers gets here */
		log_warn("client does not read its answers: closing");
		postmapd_conn_close(c);
		return (-1);
	}
	c->outlen += n;
	return (0);
}

/* conn_serve - serve c (locked) until it would block; unlocks.  A worker
 * passes its store handle w; the watchdog passes w = NULL for a request
 * that waited past its deadline: each whole request is then answered
 * "TEMP lookup timeout" without asking the store, c staying locked. */
static void
conn_serve(struct conn *c, long idx, struct wstore *w, struct conf *cf)
{
	static const char late[] = "TEMP lookup timeout";
	const char *data, *why;
	char	req[POSTMAPD_REQ_MAX + 1], reply[POSTMAPD_REPLY_MAX];
	char	peek[24];
	size_t	dlen, used, rlen;
	enum netstring_status ns;
	enum store_status sst;
	uint32_t gen, ask;
	uint64_t waited;
	ssize_t	n;
	int	eof = 0;

	/* the deadline of a request that waited for a worker counts from
	 * when the watchdog first saw it waiting */
	waited = c->waiting;
	c->waiting = 0;
	if (conn_flush(c) < 0)
		goto out;
	while (c->inlen < sizeof(c->in)) {
		n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (log_verbose)
				log_info("connection read: %m");
			postmapd_conn_close(c);
			goto out;
		}
		if (n == 0) {
			eof = 1;
			break;
		}
		c->inlen += (size_t)n;
		c->last = bp_mono_ms();
		if (c->inlen < sizeof(c->in))
			break;	/* one read per event: more data re-triggers
				 * the event once c is re-armed */
	}
	for (;;) {
		ns = netstring_parse(c->in, c->inlen, POSTMAPD_REQ_MAX, &data,
		    &dlen, &used, &why);
		if (ns == NETSTRING_MORE)
			break;
		if (ns == NETSTRING_BAD) {
			log_warn("bad request framing: %s: \"%s\": closing", why,
			    log_printable(peek, sizeof(peek), c->in,
			    c->inlen < 16 ? c->inlen : 16));
			postmapd_conn_close(c);
			goto out;
		}
		memcpy(req, data, dlen);
		req[dlen] = '\0';
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
		if (w == NULL) {	/* the watchdog: too late to ask */
			if (conn_reply(c, late, sizeof(late) - 1) < 0)
				goto out;
			continue;
		}
		c->busy = 1;
		c->since = waited != 0 ? waited : bp_mono_ms();
		waited = 0;
		gen = c->gen;
		ask = c->ask;
		pthread_mutex_unlock(&c->mu);

		__atomic_add_fetch(&postmapd_pool.busy, 1, __ATOMIC_RELAXED);
		w->uri = cf->store;
		rlen = postmapd_query(worker_store, w, cf->alias_domain,
		    cf->postmaster_address, cf->postmapd_cache_ttl, req, dlen, reply, sizeof(reply),
		    &sst);
		if (sst == STORE_TEMP)	/* maybe a dead connection */
			store_pool_put(stores, &w->lease, 1);
		__atomic_sub_fetch(&postmapd_pool.busy, 1, __ATOMIC_RELAXED);

		pthread_mutex_lock(&c->mu);
		if (c->gen != gen || c->ask != ask) {
			/* answered by the watchdog, or closed: not ours now */
			pthread_mutex_unlock(&c->mu);
			return;
		}
		c->busy = 0;
		c->last = bp_mono_ms();
		if (conn_reply(c, reply, rlen) < 0)
			goto out;
	}
	if (conn_flush(c) < 0)
		goto out;
	if (eof) {
		if (c->inlen > 0)
			log_warn("connection closed inside a request");
		postmapd_conn_close(c);
		goto out;
	}
	conn_arm(c, idx);
out:
	pthread_mutex_unlock(&c->mu);
}

/* worker_main - take connections from the shared set and serve them */
static void *
worker_main(void *arg)
{
	struct wstore w;
	struct conf *cf = NULL;
	struct epoll_event ev;
	unsigned gen = 0;
	uint64_t quiet = bp_mono_ms();
	struct conn *c;
	long	idx;
	int	n;

	memset(&w, 0, sizeof(w));
	for (;;) {
		n = epoll_wait(postmapd_wep, &ev, 1, 500);
		if (cf == NULL || gen !=
		    __atomic_load_n(&postmapd_pool.conf_gen, __ATOMIC_ACQUIRE)) {
			pthread_mutex_lock(&postmapd_pool.mu);
			conf_release(cf);
			cf = conf_retain(postmapd_pool.conf);
			gen = postmapd_pool.conf_gen;
			pthread_mutex_unlock(&postmapd_pool.mu);
		}
		if (__atomic_load_n(&postmapd_pool.stop, __ATOMIC_ACQUIRE))
			break;
		if (n <= 0) {
			if (bp_mono_ms() - quiet >= 1000) {
				pthread_mutex_lock(&postmapd_pool.mu);
				if (postmapd_pool.nthreads >
				    postmapd_pool.base) {
					pthread_mutex_unlock(&postmapd_pool.mu);
					break;	/* an extra worker leaves */
				}
				pthread_mutex_unlock(&postmapd_pool.mu);
			}
			continue;
		}
		quiet = bp_mono_ms();
		idx = (long)(ev.data.u64 & 0xffffffffu);
		c = &postmapd_slots[idx];
		pthread_mutex_lock(&c->mu);
		if (c->fd < 0 || c->gen != (uint32_t)(ev.data.u64 >> 32)) {
			pthread_mutex_unlock(&c->mu);	/* closed meanwhile */
			continue;
		}
		conn_serve(c, idx, &w, cf);
	}
	pthread_mutex_lock(&postmapd_pool.mu);
	postmapd_pool.nthreads--;
	conf_release(cf);
	pthread_mutex_unlock(&postmapd_pool.mu);
	store_pool_put(stores, &w.lease, 0);
	return (NULL);
}

/* postmapd_spawn - start one worker; under postmapd_pool.mu */
int
postmapd_spawn(void)
{
	pthread_t tid;
	pthread_attr_t attr;
	int	err;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&tid, &attr, worker_main, NULL);
	pthread_attr_destroy(&attr);
	if (err != 0) {
		log_warn("cannot start a worker: %s", strerror(err));
		return (-1);
	}
	postmapd_pool.nthreads++;
	return (0);
}

/* postmapd_watch - main thread: deadlines, waiting requests, idle
 * connections */
void
postmapd_watch(uint64_t t)	/* workers may have stamped times after t */
{
	static const char late[] = "TEMP lookup timeout";
	uint64_t limit = (uint64_t)postmapd_pool.conf->postmapd_timeout;
	uint64_t idle =
	    (uint64_t)postmapd_pool.conf->postmapd_idle_timeout * 1000;
	struct conn *c;
	long	i;
	uint64_t spawn_wait = limit / 4 < SPAWN_WAIT_MS ? limit / 4 :
	    SPAWN_WAIT_MS;
	int	late_n = 0, waiting_n = 0, saturated;

	pthread_mutex_lock(&postmapd_pool.mu);
	saturated = __atomic_load_n(&postmapd_pool.busy, __ATOMIC_RELAXED) >=
	    postmapd_pool.nthreads;
	pthread_mutex_unlock(&postmapd_pool.mu);
	for (i = 0; i < postmapd_hiwater; i++) {
		c = &postmapd_slots[i];
		if (__atomic_load_n(&c->fd, __ATOMIC_RELAXED) < 0)
			continue;	/* a peek; checked again locked */
		pthread_mutex_lock(&c->mu);
		if (c->fd >= 0 && c->busy && c->since + limit <= t) {
			/* take c back from its stuck worker */
			c->busy = 0;
			c->ask++;
			c->last = t;
			late_n++;
			if (conn_reply(c, late, sizeof(late) - 1) == 0 &&
			    conn_flush(c) == 0)
				conn_arm(c, i);
		} else if (c->fd >= 0 && !c->busy && saturated &&
		    conn_waits(c)) {
			/* no worker is free to read it */
			if (c->waiting == 0)
				c->waiting = t;
			else if (c->waiting + spawn_wait <= t)
				waiting_n++;
			if (c->waiting + limit <= t) {
				late_n++;
				c->last = t;
				conn_serve(c, i, NULL, postmapd_pool.conf);
				continue;	/* conn_serve unlocked c */
			}
		} else if (c->fd >= 0 && !c->busy && idle > 0 &&
		    c->outlen == c->outoff && c->last + idle <= t) {
			if (log_verbose)
				log_info("closing idle connection");
			postmapd_conn_close(c);
		}
		pthread_mutex_unlock(&c->mu);
	}
	if (late_n > 0)
		log_warn("%d lookup(s): no answer within %ld ms", late_n,
		    postmapd_pool.conf->postmapd_timeout);
	if (late_n > 0 || waiting_n > 0) {
		pthread_mutex_lock(&postmapd_pool.mu);
		if (__atomic_load_n(&postmapd_pool.busy, __ATOMIC_RELAXED) >=
		    postmapd_pool.nthreads &&
		    postmapd_pool.nthreads < WORKERS_MAX)
			postmapd_spawn();
		pthread_mutex_unlock(&postmapd_pool.mu);
	}
}
