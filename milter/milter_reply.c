/*
 * milter_reply.c - the rewrite of an owner's reply (owner -> reply
 * address -> site); see milter_rewrite.h for the interface
 *
 * From: becomes the alias, To: the site, and headers that would leak the
 * owner are removed.  Failure and ownership: as milter_rewrite.h says.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "milter_rewrite_int.h"
#include "util.h"

/* authres_pass - a trusted Authentication-Results says dmarc=pass */
static int
authres_pass(const char *raw, const char *authserv)
{
	char	*v = unfold(raw);
	size_t	 n = strlen(authserv);
	int	 ok = 0;

	if (n > 0 && g_ascii_strncasecmp(v, authserv, n) == 0 &&
	    (v[n] == ';' || v[n] == ' ' || v[n] == '\t') &&
	    str_icontains(v, "dmarc=pass"))
		ok = 1;
	free(v);
	return (ok);
}

/* reply_headers - From: the alias, To: the site, nothing of the owner */
void
reply_headers(struct rw *rw, struct hdr *h, size_t nh)
{
	static const char *const drop[] = {
		"Received", "X-Originating-IP", "X-Originating-Email",
		"X-Originating-Client", "User-Agent", "X-Mailer",
		"X-MimeOLE", "Return-Path", "Sender", "Reply-To",
		"DKIM-Signature", "X-Google-DKIM-Signature",
		"Authentication-Results", "ARC-Seal", "ARC-Message-Signature",
		"ARC-Authentication-Results", "Received-SPF",
		"Disposition-Notification-To", "Return-Receipt-To",
		"X-Sender", "X-X-Sender", "Errors-To", "Cc", "Bcc", NULL,
	};
	const struct rewrite_env *env = rw->env;
	size_t	 i;
	int	 k, from_done = 0, to_done = 0;

	for (i = nh; i-- > 0;) {
		const char *n = h[i].name;
		int	 gone = 0;

		if (g_ascii_strcasecmp(n, "Authentication-Results") == 0 &&
		    env->trusted_authserv && *env->trusted_authserv &&
		    authres_pass(h[i].raw, env->trusted_authserv))
			rw->res->dmarc_pass = 1;
		if (g_ascii_strcasecmp(n, "From") == 0) {
			InternetAddressList *l;
			InternetAddressMailbox *mb = first_mailbox(h[i].raw, &l);

			/* the first From counts; we walk backwards */
			if (mb)
				bp_strlcpy(rw->res->from_addr,
				    internet_address_mailbox_get_addr(mb),
				    sizeof(rw->res->from_addr));
			else
				rw->res->from_addr[0] = '\0';
			if (l)
				g_object_unref(l);
			continue;
		}
		if (g_ascii_strcasecmp(n, "To") == 0)
			continue;
		for (k = 0; drop[k]; k++)
			if (g_ascii_strcasecmp(n, drop[k]) == 0)
				gone = 1;
		if (g_ascii_strncasecmp(n, "X-Originating", 13) == 0)
			gone = 1;
		if (!gone && env->owner && *env->owner) {
			char	*dec = g_mime_utils_header_decode_text(NULL, h[i].raw);

			gone = str_icontains(h[i].raw, env->owner) ||
			    (dec && str_icontains(dec, env->owner));
			g_free(dec);
		}
		if (gone)
			op_add(rw, n, h[i].idx, NULL);
	}
	for (i = nh; i-- > 0;) {
		const char *n = h[i].name;

		if (g_ascii_strcasecmp(n, "From") == 0) {
			op_add(rw, n, h[i].idx, h[i].idx == 1 ? env->alias_addr : NULL);
			from_done = 1;
		} else if (g_ascii_strcasecmp(n, "To") == 0) {
			op_add(rw, n, h[i].idx, h[i].idx == 1 && env->recipient ?
			    env->recipient : NULL);
			to_done = 1;
		}
	}
	if (!from_done)
		op_add(rw, "From", 0, env->alias_addr);
	if (!to_done && env->recipient)
		op_add(rw, "To", 0, env->recipient);
}
