/*
 * test_route - route_verdict, the one reading of an alias's state for
 * mail: every state and owner setting against the time, table-driven
 */
#include "config.h"

#include <string.h>

#include "route.h"
#include "tap.h"

#define NOW	1800000000LL

static const struct {
	const char	*name;
	enum alias_state status;
	int64_t		 expires_at;
	enum user_state	 user;
	enum disabled_action action;
	enum route_verdict want;
	int		 live;
} cases[] = {
	{ "active", ALIAS_ACTIVE, 0, USER_ACTIVE, DISABLED_DISCARD, ROUTE_FORWARD, 1 },
	{ "active, expires later", ALIAS_ACTIVE, NOW + 1, USER_ACTIVE, DISABLED_DISCARD, ROUTE_FORWARD, 1 },
	{ "active, expires now", ALIAS_ACTIVE, NOW, USER_ACTIVE, DISABLED_DISCARD, ROUTE_GONE, 0 },
	{ "active, expired", ALIAS_ACTIVE, NOW - 1, USER_ACTIVE, DISABLED_DISCARD, ROUTE_GONE, 0 },
	{ "disabled, discard", ALIAS_INACTIVE, 0, USER_ACTIVE, DISABLED_DISCARD, ROUTE_DISCARD, 1 },
	{ "disabled, reject", ALIAS_INACTIVE, 0, USER_ACTIVE, DISABLED_REJECT, ROUTE_REJECT, 1 },
	{ "disabled and expired", ALIAS_INACTIVE, NOW - 5, USER_ACTIVE, DISABLED_REJECT, ROUTE_GONE, 0 },
	{ "deleted", ALIAS_DELETED, 0, USER_ACTIVE, DISABLED_DISCARD, ROUTE_GONE, 0 },
	{ "deleted, not expired", ALIAS_DELETED, NOW + 100, USER_ACTIVE, DISABLED_DISCARD, ROUTE_GONE, 0 },
	{ "owner revoked", ALIAS_ACTIVE, 0, USER_REVOKED, DISABLED_DISCARD, ROUTE_GONE, 0 },
	{ "owner revoked, disabled", ALIAS_INACTIVE, 0, USER_REVOKED, DISABLED_REJECT, ROUTE_GONE, 0 },
	{ "unknown status", (enum alias_state)7, 0, USER_ACTIVE, DISABLED_DISCARD, ROUTE_UNSURE, 0 },
};

int
main(void)
{
	struct alias_route r;
	const char *why;
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.status = cases[i].status;
		r.expires_at = cases[i].expires_at;
		r.user_status = cases[i].user;
		r.disabled_action = cases[i].action;
		why = NULL;
		is_int(route_verdict(&r, NOW, &why), cases[i].want, "%s",
		    cases[i].name);
		ok(why != NULL && *why != '\0', "%s: says why (%s)",
		    cases[i].name, why ? why : "NULL");
		is_int(route_live(&r, NOW), cases[i].live, "%s: live %d",
		    cases[i].name, cases[i].live);
	}
	return (tap_done());
}
