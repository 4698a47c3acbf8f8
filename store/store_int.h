/*
 * store_int.h - what store.c, store_queue.c and store_contact.c share
 *
 * The public store calls are in three files; all check their arguments
 * against the same limits and trace the same way.  Only those files
 * include this.
 *
 * Failures: the checks answer 0 for malformed (NULL is malformed).
 *
 * Ownership: buf is the caller's, TOKEN_MAX + 1 bytes.
 */
#ifndef BIPOSTAL_STORE_INT_H
#define BIPOSTAL_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_BLOB_MAX	(10 * 1024 * 1024)	/* one stripped part */
#define STORE_LIMIT_MAX	10000			/* rows in one read */
#define STORE_TTL_MAX	(10LL * 366 * 86400)	/* ten years */

/* store.c: the trace and the checks */
enum store_status store_trace(struct store *, const char *op, const char *key,
		    enum store_status);
enum store_status store_trace_id(struct store *, const char *op, int64_t id,
		    enum store_status);
int		 store_key(char *buf, const char *);
int		 store_printable(const char *, size_t max, int allow_space);

#endif
