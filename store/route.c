/*
 * route.c - what an alias's state means for mail (see route.h)
 *
 * The order matters: a deleted or expired alias, or one whose owner was
 * revoked, is gone whatever else it says; only then does active or
 * disabled (and the owner's choice for disabled ones) count.
 */
#include "config.h"

#include <stddef.h>

#include "route.h"

/* route_verdict - see route.h */
enum route_verdict
route_verdict(const struct alias_route *r, int64_t now, const char **why)
{
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	if (r->status == ALIAS_DELETED) {
		*why = "deleted";
		return (ROUTE_GONE);
	}
	if (r->expires_at != 0 && r->expires_at <= now) {
		*why = "expired";
		return (ROUTE_GONE);
	}
	if (r->user_status != USER_ACTIVE) {
		*why = "owner revoked";
		return (ROUTE_GONE);
	}
	if (r->status == ALIAS_ACTIVE) {
		*why = "active";
		return (ROUTE_FORWARD);
	}
	if (r->status == ALIAS_INACTIVE) {
		*why = "disabled";
		return (r->disabled_action == DISABLED_REJECT ? ROUTE_REJECT :
		    ROUTE_DISCARD);
	}
	*why = "bad status";
	return (ROUTE_UNSURE);
}

/* route_live - see route.h */
int
route_live(const struct alias_route *r, int64_t now)
{
	enum route_verdict v = route_verdict(r, now, NULL);

	return (v == ROUTE_FORWARD || v == ROUTE_DISCARD || v == ROUTE_REJECT);
}
