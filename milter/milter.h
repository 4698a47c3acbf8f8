/*
 * milter.h - what milter.c (main, smfiDesc), milter_mail.c (the
 * callbacks and per-message state) and milter_later.c (counters and
 * events written in the background) share
 *
 * The configuration, templates and secret key are loaded once at startup
 * and only read afterwards, by every libmilter thread.  Each SMTP
 * connection owns a struct conn (smfi_setpriv) with its own store handle,
 * because a struct store is not thread-safe; the per-message state in it
 * dies at MAIL FROM, at abort and at close.
 */
#ifndef BIPOSTAL_MILTER_H
#define BIPOSTAL_MILTER_H

#include <libmilter/mfapi.h>

#include "conf.h"
#include "milter_rewrite.h"
#include "pool.h"
#include "store.h"

#define MILTER_KEY_MAX	512

struct milter_global {
	struct conf	*conf;
	struct rewrite_templates tmpl;
	unsigned char	 key[MILTER_KEY_MAX];	/* secret_key_file */
	size_t		 keylen;
	struct store_pool *pool;		/* store handles (pool.h) */
};

extern struct milter_global milter_g;

sfsistat	mlfi_negotiate(SMFICTX *, unsigned long, unsigned long,
		    unsigned long, unsigned long, unsigned long *, unsigned long *,
		    unsigned long *, unsigned long *);
sfsistat	mlfi_connect(SMFICTX *, char *, _SOCK_ADDR *);
sfsistat	mlfi_envfrom(SMFICTX *, char **);
sfsistat	mlfi_envrcpt(SMFICTX *, char **);
sfsistat	mlfi_header(SMFICTX *, char *, char *);
sfsistat	mlfi_eoh(SMFICTX *);
sfsistat	mlfi_body(SMFICTX *, unsigned char *, size_t);
sfsistat	mlfi_eom(SMFICTX *);
sfsistat	mlfi_abort(SMFICTX *);
sfsistat	mlfi_close(SMFICTX *);
/* milter_rate_close - drop the rate limit's Redis handle (at exit) */
void		milter_rate_close(void);
/* milter_later.c: later_count and later_event record, the background
 * thread writes (about once a second); flush writes what is left */
#define MILTER_RATE_WINDOW	3600	/* milter_rate_alias counts an hour */
void		later_count(const char *token, enum alias_counter);
void		later_inbound(const char *token);
long		later_inbound_pending(const char *token);
void		later_event(int64_t user_id, const char *type, const char *json);
int		milter_counts_start(void);
void		milter_counts_flush(void);

#endif
