/*
 * postmapd.h - bipostal-postmapd, the Postfix socketmap server
 *
 * postmapd.c owns the process: configuration, the listening socket, the
 * event loop that reads and writes every connection, the worker threads
 * that call the store, and the per-request deadline.  postmapd_query.c
 * turns one request ("map key") into one reply text, given a store handle
 * that belongs to the calling thread.
 */
#ifndef BIPOSTAL_POSTMAPD_H
#define BIPOSTAL_POSTMAPD_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "store.h"

#define POSTMAPD_REQ_MAX	2048	/* bytes of one request netstring */
#define POSTMAPD_REPLY_MAX	1024	/* bytes of one reply text */

/*
 * Disabled aliases whose owner chose "discard" resolve to this address;
 * postfix-conf/main.cf routes its domain to the discard: transport, so the
 * message is accepted and dropped even when no milter runs.
 */
#define POSTMAPD_DISCARD_DOMAIN	"discard.bipostal.invalid"
#define POSTMAPD_DISCARD_ADDR	"blocked@" POSTMAPD_DISCARD_DOMAIN
/* Bounces to a signed bounce address (bounce.h) go the same way. */
#define POSTMAPD_BOUNCE_ADDR	"bounce@" POSTMAPD_DISCARD_DOMAIN

/* postmapd_query - answer the request req[0..len) (the netstring payload)
 * for alias domain domain (postmaster@ and abuse@ it resolve to ops, the
 * postmaster_address, when set); writes the reply text, NUL-terminated, into out
 * (size bytes, at least POSTMAPD_REPLY_MAX) and returns its length.  The
 * store is only asked for when the key could name an alias: then
 * get(arg) gives this thread's handle (NULL: it could not be opened).
 * With cache_ms > 0 an OK answer of the store is reused for that many
 * milliseconds (see postmapd_cache_flush).  *sst gets the store's status
 * (STORE_OK when the store was not asked), so the caller can drop a
 * handle that answered STORE_TEMP. */
size_t	postmapd_query(struct store *(*get)(void *), void *arg,
	    const char *domain, const char *ops, long cache_ms, const char *req,
	    size_t len,
	    char *out, size_t size, enum store_status *sst);
/* postmapd_bounce_init - read secret_key_file, the key of bounce
 * addresses, once at startup (before dropping privileges); 0, or -1 with
 * the reason in err.  A reload keeps the key read at startup. */
int	postmapd_bounce_init(const struct conf *, char *err, size_t errlen);
/* postmapd_cache_flush - forget every cached answer (configuration
 * reload); safe from any thread */
void	postmapd_cache_flush(void);

/* postmapd_pool.c: the workers, the connection slots, the watchdog */

#define WORKERS_SERVER	8	/* default with a database server */
#define WORKERS_MAX	64
#define WATCH_MS	10	/* watchdog period */
#define SPAWN_WAIT_MS	100	/* a request waited this long: one more worker */
#define INBUF_SIZE	(POSTMAPD_REQ_MAX + 16)
#define OUTBUF_SIZE	(4 * (POSTMAPD_REPLY_MAX + 16))

struct conn {
	pthread_mutex_t	 mu;
	uint32_t	 gen;		/* bumped when opened and closed */
	int		 fd;		/* -1: free slot */
	int		 busy;		/* a worker is inside a lookup */
	uint32_t	 ask;		/* bumped when the watchdog answers */
	uint64_t	 since;		/* ms: start of the current lookup */
	uint64_t	 waiting;	/* ms: first seen waiting for a worker
					 * while all were busy; 0 = not */
	uint64_t	 last;		/* ms: last activity */
	size_t		 inlen;
	size_t		 outoff, outlen;
	char		 in[INBUF_SIZE];
	char		 out[OUTBUF_SIZE];
};

struct postmapd_pool {
	pthread_mutex_t	 mu;
	int		 nthreads;
	int		 base;		/* threads kept when quiet */
	int		 busy;		/* threads inside a lookup */
	int		 stop;
	unsigned	 conf_gen;	/* bumped by each reload */
	struct conf	*conf;		/* current; one reference */
};

extern struct postmapd_pool postmapd_pool;
extern struct conn *postmapd_slots;
extern long	postmapd_nslots;
extern long	postmapd_hiwater;	/* slots [0..hiwater) ever used */
extern long	*postmapd_freeslots;	/* under postmapd_slots_mu */
extern long	postmapd_nfree;		/* under postmapd_slots_mu */
extern pthread_mutex_t postmapd_slots_mu;
extern int	postmapd_wep;		/* workers' epoll set */

/* postmapd_default_workers - how many workers the store wants */
int		 postmapd_default_workers(const struct conf *);
/* postmapd_store_start - make the workers' store pool and open a first
 * handle (after the privileges are dropped) */
void		 postmapd_store_start(const char *uri);
/* postmapd_spawn - start one more worker (postmapd_pool.mu held); -1 if
 * it failed */
int		 postmapd_spawn(void);
/* postmapd_conn_close - close c (locked) and give its slot back */
void		 postmapd_conn_close(struct conn *);
/* postmapd_watch - main thread, every WATCH_MS; t is bp_mono_ms() */
void		 postmapd_watch(uint64_t t);

#endif
