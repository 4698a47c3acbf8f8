/*
 * pool.h - store handles shared by the threads of one daemon
 *
 * A store handle serves one thread at a time, and opening one costs a
 * file open and a schema check (SQLite) or a login (MySQL).  Each daemon
 * keeps one pool: a thread holds a handle (a lease) for as long as it
 * likes, a request or a worker's life, and gives it back.  One policy for
 * postmapd, the milter and the dash:
 *
 *	- a handle the caller saw fail (a STORE_TEMP answer: maybe a dead
 *	  connection) is given back broken and closed, so the next call
 *	  reconnects;
 *	- a handle opened with another URI than the one asked for now (the
 *	  configuration was reloaded) is closed;
 *	- an idle handle waits at most STORE_POOL_IDLE_MS, and a handle on a
 *	  file (STORE_CAP_FILE) is used at most STORE_POOL_REFRESH_MS before
 *	  it is opened again: an open file keeps working after it was
 *	  replaced or made unreadable, and a store that went away must be
 *	  noticed;
 *	- after an open failed, nobody tries again for STORE_POOL_BACKOFF_MS:
 *	  the callers answer TEMP at once instead of queueing on a dead
 *	  server;
 *	- with STORE_POOL_NO_CREATE, a store file that is not there is not
 *	  created (opening would make an empty store where every alias is
 *	  unknown): TEMP until an operator runs bipostalctl migrate.
 *
 * Failures are logged here: the first, and then one line a minute while
 * they last, naming the file, the user and the reason.  Locking: the pool
 * has its own mutex; a lease belongs to the thread holding it.
 */
#ifndef BIPOSTAL_POOL_H
#define BIPOSTAL_POOL_H

#include <stdint.h>

#include "store.h"

#define STORE_POOL_IDLE_MS	2000
#define STORE_POOL_REFRESH_MS	2000
#define STORE_POOL_BACKOFF_MS	250
#define STORE_POOL_LOG_MS	60000	/* one failure line a minute */

#define STORE_POOL_NO_CREATE	0x01	/* never create a missing file */

struct store_lease {			/* one handle lent to one thread */
	struct store	*st;
	void		*data;		/* the caller's, kept with the handle:
					 * freed by the pool's data_free */
	/* the pool's */
	unsigned	 caps;		/* store_caps of st's URI */
	uint64_t	 opened;	/* monotonic ms */
	uint64_t	 idle_since;
	struct store_lease *next;
};

struct store_pool;

/* store_pool_new - a pool keeping at most max_idle idle handles; flags
 * STORE_POOL_*; data_free (may be NULL) frees a lease's data when its
 * handle is closed */
struct store_pool *store_pool_new(int max_idle, unsigned flags,
		    void (*data_free)(void *));
/* store_pool_free - close every idle handle and free the pool; the
 * leases still held must have been given back */
void		 store_pool_free(struct store_pool *);
/* store_pool_drain - close every idle handle (reload, shutdown) */
void		 store_pool_drain(struct store_pool *);
/* store_pool_hold - a usable handle on the store uri names, in *lp: the
 * one *lp holds if it is still good, or else one taken from the idle
 * handles or newly opened.  NULL (and *lp NULL) when the store cannot be
 * reached: the caller answers TEMP. */
struct store	*store_pool_hold(struct store_pool *, struct store_lease **lp,
		    const char *uri);
/* store_pool_put - give *lp back and set *lp to NULL; broken: the caller
 * saw it fail, close it.  NULL *lp is fine. */
void		 store_pool_put(struct store_pool *, struct store_lease **lp,
		    int broken);

/* store_pool_check - open a handle on uri now (a daemon at start, once
 * it runs as daemon_user) and keep it idle: STORE_OK, or the failure
 * (logged): STORE_PERM for a URI that can never work */
enum store_status store_pool_check(struct store_pool *, const char *uri);

#endif
