/*
 * route.h - what an alias's state means for mail, decided once
 *
 * route_verdict() is the one place that turns a struct alias_route (what
 * store_alias_route() read) and the time into what happens to mail for
 * the alias: forward it, accept and discard it, refuse it, or treat the
 * alias as gone.  bipostal-postmapd answers the socketmap from it,
 * bipostal-milter decides RCPT, replies and bounces from it; no program
 * looks at the state fields itself.
 *
 * Failure: none; a state it does not know is ROUTE_UNSURE: never a
 * forward, never a refusal that loses mail.
 */
#ifndef BIPOSTAL_ROUTE_H
#define BIPOSTAL_ROUTE_H

#include <stdint.h>

#include "store.h"

enum route_verdict {
	ROUTE_FORWARD = 0,	/* active alias of an active user */
	ROUTE_DISCARD,		/* disabled, owner chose discard: 250, dropped */
	ROUTE_REJECT,		/* disabled, owner chose reject: 550 */
	ROUTE_GONE,		/* deleted, expired, owner revoked */
	ROUTE_UNSURE,		/* a state this code does not know: mail
				 * waits (TEMP, 451), never refused */
};

/* route_verdict - the verdict for r at time now (Unix seconds); *why,
 * when not NULL, gets a static word for the log ("deleted", "expired",
 * "owner revoked", "disabled", "active", "bad status") */
enum route_verdict route_verdict(const struct alias_route *r, int64_t now,
	    const char **why);

/* route_live - may reply and bounce addresses of the alias still be used
 * (forward, discard or reject: the alias exists for its owner)? */
int	route_live(const struct alias_route *r, int64_t now);

#endif
