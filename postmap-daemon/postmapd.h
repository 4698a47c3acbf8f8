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

#include <stddef.h>

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

#endif
