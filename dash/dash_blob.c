/*
 * dash_blob.c - GET /v1/blobs/<id>: a part the milter stripped from a
 * forwarded message, downloaded
 *
 * Purpose: the link in a forwarded message's footer must open from a
 * mail client, which has no session: the milter signs it (sign_blob
 * over the id and the blob's expiry, with secret_key_file) and writes
 * <dash_url>/v1/blobs/<id>?exp=<unix time>&sig=<hex>.  Such a link
 * downloads the part without a bearer token; the id alone does not, so
 * only whoever holds the owner's mail can fetch it.  Without exp and
 * sig the call is the API's: the owner's bearer token, as before.
 *
 * Interface: dash_h_blob, routed A_PUBLIC (dash_router.c): the router
 * reads a bearer token when one is sent, this handler decides.
 *
 * Failure: with exp or sig in the query, a bad or missing signature, or
 * an exp that is not a plain decimal number, is 403, checked before the
 * store is asked, so a forged link learns nothing about the blob; a
 * good signature whose exp has passed is 410.  Without them: no
 * credentials 401, the server key 403, another user's blob 404 exactly
 * like a missing one.  Store errors map through dash_store_status.
 * The bytes come from strangers: they are always sent as an attachment
 * of type application/octet-stream, with nosniff and a sandbox policy,
 * and never kept by a cache (private, no-store).
 *
 * Ownership: the blob's data is read into memory, copied into the
 * response and freed here.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dash.h"
#include "sign.h"
#include "token.h"
#include "util.h"

/* exp_parse - exp as written by the milter: 1..19 decimal digits, no
 * sign, no leading zero; 0 and *out, or -1 */
static int
exp_parse(const char *s, int64_t *out)
{
	int64_t	 v = 0;
	size_t	 i;

	if (s == NULL || s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return (-1);
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 18 || !isdigit((unsigned char)s[i]))
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return (0);
}

/* name_safe - the stored file name for Content-Disposition: letters,
 * digits and ".-_ " kept, anything else (quotes, CR, LF, slashes,
 * backslashes, non-ASCII) '_'; a name of dots only is "attachment" */
static void
name_safe(const char *in, char *out, size_t outlen)
{
	size_t	 i;

	bp_strlcpy(out, in[0] != '\0' ? in : "attachment", outlen);
	for (i = 0; out[i] != '\0'; i++)
		if (!isalnum((unsigned char)out[i]) &&
		    strchr(".-_ ", out[i]) == NULL)
			out[i] = '_';
	if (strspn(out, ". ") == strlen(out))
		bp_strlcpy(out, "attachment", outlen);
}

/* link_check - the signed link's exp and sig for key; 0, or -1 answered
 * (403 bad or missing signature, 410 expired) */
static int
link_check(struct req *r, const char *key, const char *exps,
    const char *sig)
{
	int64_t	 exp;

	if (exp_parse(exps, &exp) < 0 || sig == NULL ||
	    !sign_blob_check(dash_keys.secret, dash_keys.secret_len, key, exp,
	    sig)) {
		dash_error(r, 403, DASH_E_FORBIDDEN,
		    "bad or missing signature");
		return (-1);
	}
	if (exp <= bp_now()) {
		dash_error(r, 410, DASH_E_NOTFOUND,
		    "this link has expired, and the attachment with it");
		return (-1);
	}
	return (0);
}

/* dash_h_blob - see the top of the file */
void
dash_h_blob(struct req *r, const char *id)
{
	struct blob	 b;
	char		 key[TOKEN_MAX + 1], name[BLOB_NAME_MAX + 1];
	char		 disp[BLOB_NAME_MAX + 64];
	const char	*exps = dash_arg(r, "exp"), *sig = dash_arg(r, "sig");
	int		 keyok = token_fold(key, sizeof(key), id);
	enum store_status s;
	size_t		 i;

	if (exps != NULL || sig != NULL) {
		if (!keyok) {
			dash_error(r, 403, DASH_E_FORBIDDEN,
			    "bad or missing signature");
			return;
		}
		if (link_check(r, key, exps, sig) < 0)
			return;
	} else if (r->auth != AUTH_USER) {
		dash_error(r, r->auth == AUTH_SERVER ? 403 : 401, DASH_E_AUTH,
		    "a bearer token or a signed link is required");
		MHD_add_response_header(r->resp, "WWW-Authenticate", "Bearer");
		return;
	}

	memset(&b, 0, sizeof(b));
	s = keyok ? store_blob_get(r->db->st, key, &b) : STORE_NOTFOUND;
	if (s == STORE_OK && exps == NULL && b.user_id != r->user.id)
		s = STORE_NOTFOUND;
	if (dash_store_status(r, s, "blob") < 0) {
		blob_free(&b);
		return;
	}
	name_safe(b.name, name, sizeof(name));
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name);
	dash_reply_raw(r, 200, "application/octet-stream", b.data, b.size, 1);
	MHD_add_response_header(r->resp, "Content-Disposition", disp);
	MHD_add_response_header(r->resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r->resp, "Content-Security-Policy",
	    "sandbox; default-src 'none'");
	MHD_add_response_header(r->resp, "Cache-Control", "private, no-store");
	for (i = 0; b.type[i]; i++)
		if ((unsigned char)b.type[i] < ' ' || b.type[i] == 127)
			b.type[i] = '?';
	MHD_add_response_header(r->resp, "X-BIPostal-Content-Type", b.type);
	blob_free(&b);
}
