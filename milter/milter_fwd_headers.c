/*
 * milter_fwd_headers.c - the header fields of forwarded mail (site ->
 * alias -> owner)
 *
 * From: and every header a reply may use (To, Cc, Reply-To,
 * Mail-Followup-To, Mail-Reply-To) point to reply addresses with the
 * original address in the display name (addresses on the alias domain
 * are kept; a header that does not parse goes); headers that name other
 * addresses to write to (Sender, Resent-*, receipts, list commands:
 * fwd_drop) are removed; List-Unsubscribe with the one-click disable
 * link and List-Unsubscribe-Post (RFC 8058) are added.
 *
 * Interface (milter_rewrite_int.h): forward_headers() adds these edits
 * to the result; addr_header() names the fields that also go from the
 * headers of a MIME part (milter_fwd_body.c).
 *
 * Failure: a reply address env->reply_addr cannot give sets rw->failed
 * (the rewrite tempfails); past REWRITE_MAX_REPLIES correspondents and
 * REWRITE_HDR_ADDRS addresses in one field, the rest are dropped.
 * Ownership: the edits are copies (op_add); the reply addresses asked
 * for are kept in rw (the driver frees them); what else is allocated
 * here is freed here.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "milter_rewrite_int.h"
#include "util.h"

/* Address headers a client may answer: each mailbox becomes the reply
 * address for that correspondent (those on the alias domain are kept). */
static const char *const fwd_map[] = {
	"To", "Cc", "Reply-To", "Mail-Followup-To", "Mail-Reply-To", NULL,
};

/* Headers forwarded mail loses (and every Resent-*): each names an
 * address a client may write to from the owner's real one -- receipts,
 * list commands, followups -- or the site's List-Unsubscribe, which ours
 * replaces. */
static const char *const fwd_drop[] = {
	"Sender", "Return-Path", "Errors-To", "Disposition-Notification-To",
	"Return-Receipt-To", "X-Confirm-Reading-To", "List-Post", "List-Help",
	"List-Subscribe", "List-Owner", "List-Archive", "List-Unsubscribe",
	"List-Unsubscribe-Post", "Bcc", "Mail-Copies-To", "Newsgroups",
	"Followup-To", NULL,
};

/* name_in - is name, in any case, one of the list? */
static int
name_in(const char *name, const char *const *list)
{
	for (; *list != NULL; list++)
		if (g_ascii_strcasecmp(name, *list) == 0)
			return (1);
	return (0);
}

/* fwd_dropped - a header forwarded mail loses */
static int
fwd_dropped(const char *name)
{
	return (name_in(name, fwd_drop) ||
	    g_ascii_strncasecmp(name, "Resent-", 7) == 0);
}

/* addr_header - a header that carries an address to answer to: in a
 * MIME part's headers, all of them go (a client may read "protected"
 * headers there) */
int
addr_header(const char *name)
{
	return (g_ascii_strcasecmp(name, "From") == 0 ||
	    name_in(name, fwd_map) || fwd_dropped(name));
}

/* addr_ok - an address a reply could go to: local@domain, printable,
 * not over 254 bytes */
static int
addr_ok(const char *addr)
{
	const char *at, *p;

	if (addr == NULL || strlen(addr) > 254 ||
	    (at = strrchr(addr, '@')) == NULL || at == addr || at[1] == '\0')
		return (0);
	for (p = addr; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return (0);
	return (1);
}

/* on_alias_domain - is addr on the domain of env->alias_addr? */
static int
on_alias_domain(const struct rewrite_env *env, const char *addr)
{
	const char *d = env->alias_addr ? strrchr(env->alias_addr, '@') : NULL;
	const char *a = strrchr(addr, '@');

	return (d != NULL && a != NULL && g_ascii_strcasecmp(d, a) == 0);
}

/* reply_for - the reply address for a correspondent, asked of the store
 * once per message; borrowed, or NULL beyond REWRITE_MAX_REPLIES
 * correspondents (the address is dropped) or on failure (rw->failed) */
static const char *
reply_for(struct rw *rw, const char *addr)
{
	const struct rewrite_env *env = rw->env;
	struct rw_reply *r;
	size_t	 i;

	for (i = 0; i < rw->nreplies; i++)
		if (strcmp(rw->replies[i].addr, addr) == 0)
			return (rw->replies[i].reply);
	if (rw->nreplies >= REWRITE_MAX_REPLIES)
		return (NULL);
	rw->replies = xrealloc(rw->replies,
	    (rw->nreplies + 1) * sizeof(*rw->replies));
	r = &rw->replies[rw->nreplies];
	if (env->reply_addr(env->arg, addr, r->reply, sizeof(r->reply)) < 0) {
		rw->failed = 1;
		return (NULL);
	}
	r->addr = xstrdup(addr);
	rw->nreplies++;
	return (r->reply);
}

/* via_mailbox - "Name (sender) via BRAND" <addr>, with what of name and
 * sender there is; new reference */
static InternetAddress *
via_mailbox(const struct rewrite_env *env, const char *name,
    const char *sender, const char *addr)
{
	InternetAddress *ia;
	char	*display;

	if (name && *name && sender && *sender)
		display = g_strdup_printf("%s (%s) via %s", name, sender, env->brand);
	else if (sender && *sender)
		display = g_strdup_printf("%s via %s", sender, env->brand);
	else
		display = g_strdup_printf("%s", env->brand);
	ia = internet_address_mailbox_new(display, addr);
	g_free(display);
	return (ia);
}

/* list_string - an address list on one line, RFC 2047-encoded as
 * needed; new */
static char *
list_string(InternetAddressList *list)
{
	char	*enc = internet_address_list_to_string(list, NULL, TRUE);
	char	*s = unfold(enc ? enc : "");

	g_free(enc);
	return (s);
}

/* via_address - "Name (sender) via BRAND" <addr> on one line; new */
static char *
via_address(const struct rewrite_env *env, const char *name,
    const char *sender, const char *addr)
{
	InternetAddressList *list = internet_address_list_new();
	InternetAddress *ia = via_mailbox(env, name, sender, addr);
	char	*s;

	internet_address_list_add(list, ia);
	g_object_unref(ia);
	s = list_string(list);
	g_object_unref(list);
	return (s);
}

/* map_list - each mailbox of in, mapped to its reply address (kept as it
 * is on the alias domain when keep_alias), into out; a group keeps its
 * name and maps its members (groups within groups are dropped, as is
 * what is no address); at most *left mailboxes, the rest dropped */
static void
map_list(struct rw *rw, InternetAddressList *in, InternetAddressList *out,
    int keep_alias, int *left, int in_group)
{
	int	 i, n = internet_address_list_length(in);

	for (i = 0; i < n && !rw->failed; i++) {
		InternetAddress *ia = internet_address_list_get_address(in, i);
		InternetAddress *na;
		const char *addr, *name, *reply;

		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			InternetAddressList *members;

			if (in_group)
				continue;
			members = internet_address_list_new();
			map_list(rw, internet_address_group_get_members(
			    INTERNET_ADDRESS_GROUP(ia)), members, keep_alias,
			    left, 1);
			na = internet_address_group_new(internet_address_get_name(ia));
			internet_address_group_set_members(
			    INTERNET_ADDRESS_GROUP(na), members);
			internet_address_list_add(out, na);
			g_object_unref(na);
			g_object_unref(members);
			continue;
		}
		addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
		name = internet_address_get_name(ia);
		if (!addr_ok(addr) || *left <= 0)
			continue;
		(*left)--;
		if (keep_alias && on_alias_domain(rw->env, addr))
			na = internet_address_mailbox_new(name, addr);
		else if ((reply = reply_for(rw, addr)) != NULL)
			na = via_mailbox(rw->env, name, addr, reply);
		else
			continue;
		internet_address_list_add(out, na);
		g_object_unref(na);
	}
}

/* map_header - an address header rebuilt from what parses in it, every
 * mailbox mapped (From: the first mailbox alone, even on the alias
 * domain); new, or NULL when nothing is left (the header goes) or on
 * failure (rw->failed).  Nothing of the raw value is kept: what a client
 * could read otherwise than GMime does is gone. */
static char *
map_header(struct rw *rw, const char *raw, int from)
{
	InternetAddressList *in, *out;
	int	 left = from ? 1 : REWRITE_HDR_ADDRS;
	char	*s = NULL;

	if ((in = internet_address_list_parse(NULL, raw)) == NULL)
		return (NULL);
	out = internet_address_list_new();
	map_list(rw, in, out, !from, &left, from);
	if (!rw->failed && internet_address_list_length(out) > 0)
		s = list_string(out);
	g_object_unref(in);
	g_object_unref(out);
	return (s);
}

/* forward_headers - From and every address header a reply may use point
 * to reply addresses; the headers of fwd_drop go; our List-Unsubscribe */
void
forward_headers(struct rw *rw, struct hdr *h, size_t nh)
{
	const struct rewrite_env *env = rw->env;
	size_t	 i, from = nh;
	char	*v, *u, *lu;

	/* From first: the cap on correspondents must not starve it */
	for (i = 0; i < nh && !rw->failed && from == nh; i++) {
		if (g_ascii_strcasecmp(h[i].name, "From") != 0)
			continue;
		if ((v = map_header(rw, h[i].raw, 1)) != NULL) {
			op_add(rw, h[i].name, h[i].idx, v);
			free(v);
			from = i;
		}
	}
	if (!rw->failed && from == nh) {
		/* no usable From: the envelope sender, or the brand alone;
		 * every From there is goes below */
		const char *ef = env->envelope_from ? env->envelope_from : "";
		const char *reply;

		if (addr_ok(ef)) {
			if ((reply = reply_for(rw, ef)) == NULL)
				return;		/* rw->failed */
			v = via_address(env, NULL, ef, reply);
		} else
			v = via_address(env, NULL, NULL, env->alias_addr);
		op_add(rw, "From", 0, v);
		free(v);
	}
	for (i = 0; i < nh && !rw->failed; i++) {
		const char *n = h[i].name;

		if (g_ascii_strcasecmp(n, "From") == 0) {
			if (i != from)
				op_add(rw, n, h[i].idx, NULL);
		} else if (name_in(n, fwd_map)) {
			v = map_header(rw, h[i].raw, 0);
			u = unfold(h[i].raw);
			if (v == NULL || strcmp(u, v) != 0)
				op_add(rw, n, h[i].idx, v);	/* NULL: delete */
			free(u);
			free(v);
		} else if (fwd_dropped(n))
			op_add(rw, n, h[i].idx, NULL);
	}
	if (rw->failed)
		return;
	lu = g_strdup_printf("<%s>", env->disable_url);
	op_add(rw, "List-Unsubscribe", 0, lu);
	op_add(rw, "List-Unsubscribe-Post", 0, "List-Unsubscribe=One-Click");
	g_free(lu);
}
