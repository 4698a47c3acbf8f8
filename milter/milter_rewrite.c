/*
 * milter_rewrite.c - compute the rewrite of one message (see milter_rewrite.h)
 *
 * Forwarded mail (site -> alias -> owner):
 *   - every part that is not text/plain or text/html is parked through
 *     env->blob_put and removed, and so is a text part a client would
 *     offer as a file (Content-Disposition other than inline, or a file
 *     name) unless it is the main body, which then loses its name;
 *     application/json parts up to REWRITE_JSON_MAX become notes.  The
 *     names shown and kept are cleaned (name_clean).
 *   - Left alone, byte for byte: an encrypted part that looks like one
 *     (PGP/MIME, S/MIME enveloped-data: we cannot see inside), and a
 *     multipart/signed in which nothing needs to change.  A signed part
 *     that must change is opened like any multipart and becomes
 *     multipart/mixed, its signature parked; the banner says so.
 *     Address headers inside MIME parts (a client may honour
 *     "protected" headers there) are removed.
 *   - The main body (the first text part, or each text alternative of a
 *     multipart/alternative) is decoded, converted to UTF-8, wrapped in
 *     the header and footer templates and encoded again (7bit, QP or
 *     base64, whichever GMime finds best); a message left without text
 *     gets a new text/plain part carrying the header and footer.  HTML
 *     is wrapped by milter_html.c, which proves by parsing the result
 *     that header and footer show; when it cannot, the HTML is parked
 *     and replaced by our own document with its text.
 *   - From: and every header a reply may use (To, Cc, Reply-To,
 *     Mail-Followup-To, Mail-Reply-To) point to reply addresses with the
 *     original address in the display name (addresses on the alias
 *     domain are kept; a header that does not parse goes); headers that
 *     name other addresses to write to (Sender, Resent-*, receipts,
 *     list commands: fwd_drop) are removed; List-Unsubscribe with the
 *     one-click disable link and List-Unsubscribe-Post (RFC 8058) are
 *     added.
 * Replies (owner -> reply address -> site): From: becomes the alias, To:
 * the site, and headers that would leak the owner are removed: trace and
 * client headers, signatures, and any header that contains the owner's
 * address.  The body is left alone.
 *
 * Header edits count occurrences the way smfi_chgheader does: per name,
 * case-insensitively, 1-based, in the order the headers arrived.
 *
 * Failure and ownership: see milter_rewrite.h.  GMime objects live only
 * inside one call; the result holds plain malloc'ed copies.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "milter_rewrite.h"
#include "milter_rewrite_int.h"
#include "util.h"

/* rewrite_init - GMime's global state; once, before the threads */
void
rewrite_init(void)
{
	g_mime_init();
}

/* op_add - append a header edit; name and value are copied */
void
op_add(struct rw *rw, const char *name, int idx, const char *value)
{
	struct rewrite_result *r = rw->res;
	struct rewrite_hdr_op *op;

	if (name == NULL || *name == '\0')
		return;			/* cannot be named to the MTA */
	if (r->nops == rw->nops_alloc) {
		rw->nops_alloc = rw->nops_alloc ? 2 * rw->nops_alloc : 16;
		r->ops = xrealloc(r->ops, rw->nops_alloc * sizeof(*r->ops));
	}
	op = &r->ops[r->nops++];
	op->name = xstrdup(name);
	op->idx = idx;
	op->value = value ? xstrdup(value) : NULL;
	if (op->value) {
		char	*p;

		/* one line: nothing may smuggle a header of its own in */
		for (p = op->value; *p; p++)
			if (*p == '\r' || *p == '\n')
				*p = ' ';
	}
}

/* op_cmp - indexed edits grouped by name, descending index; adds last in
 * the order they were made (ops are sorted with their position as tie) */
static int
op_cmp(const void *a, const void *b)
{
	const struct rewrite_hdr_op *x = a, *y = b;
	int	c;

	if ((x->idx == 0) != (y->idx == 0))
		return (x->idx == 0 ? 1 : -1);
	if (x->idx == 0)
		return (x < y ? -1 : x > y);
	if ((c = strcasecmp(x->name, y->name)) != 0)
		return (c);
	return (y->idx - x->idx);
}

/* hdr_cmp - order of arrival */
static int
hdr_cmp(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;

	if (x->offset != y->offset)
		return (x->offset < y->offset ? -1 : 1);
	return (x->seq - y->seq);
}

/* hdrs_collect - the message's headers and its top part's content
 * headers, merged in arrival order, with per-name occurrence numbers;
 * new array in *out */
static size_t
hdrs_collect(GMimeMessage *msg, struct hdr **out)
{
	GMimeHeaderList *lists[2];
	struct hdr *h = NULL;
	size_t	 n = 0, i, j;
	int	 l, k, cnt;

	lists[0] = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	lists[1] = g_mime_message_get_mime_part(msg) ?
	    g_mime_object_get_header_list(g_mime_message_get_mime_part(msg)) :
	    NULL;
	for (l = 0; l < 2; l++) {
		if (lists[l] == NULL)
			continue;
		cnt = g_mime_header_list_get_count(lists[l]);
		h = xrealloc(h, (n + (size_t)cnt) * sizeof(*h));
		for (k = 0; k < cnt; k++) {
			GMimeHeader *gh = g_mime_header_list_get_header_at(lists[l], k);

			h[n].name = xstrdup(g_mime_header_get_name(gh));
			h[n].raw = xstrdup(g_mime_header_get_raw_value(gh) ?
			    g_mime_header_get_raw_value(gh) : "");
			h[n].offset = g_mime_header_get_offset(gh);
			h[n].seq = (int)n;
			h[n].idx = 0;
			n++;
		}
	}
	if (n > 0)
		qsort(h, n, sizeof(*h), hdr_cmp);
	for (i = 0; i < n; i++) {
		h[i].idx = 1;
		for (j = 0; j < i; j++)
			if (strcasecmp(h[j].name, h[i].name) == 0)
				h[i].idx = h[j].idx + 1;
	}
	*out = h;
	return (n);
}

/* unfold - a header value on one line, trimmed; new */
char *
unfold(const char *raw)
{
	char	*s = xmalloc(strlen(raw) + 1), *d = s;
	const char *p;

	for (p = raw; *p == ' ' || *p == '\t'; p++)
		;
	for (; *p; p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		*d++ = *p;
	}
	while (d > s && (d[-1] == ' ' || d[-1] == '\t'))
		d--;
	*d = '\0';
	return (s);
}

/* str_icontains - case-insensitive substring test */
int
str_icontains(const char *hay, const char *needle)
{
	size_t	n = strlen(needle);

	if (n == 0)
		return (0);
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return (1);
	return (0);
}

/* first_mailbox - the first mailbox of an address header, or NULL; the
 * list is new in *listp (unref it) */
InternetAddressMailbox *
first_mailbox(const char *raw, InternetAddressList **listp)
{
	InternetAddressList *list;
	int	i, n;

	*listp = NULL;
	if ((list = internet_address_list_parse(NULL, raw)) == NULL)
		return (NULL);
	*listp = list;
	n = internet_address_list_length(list);
	for (i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);

		if (INTERNET_ADDRESS_IS_MAILBOX(ia) &&
		    internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)) &&
		    strchr(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)), '@'))
			return (INTERNET_ADDRESS_MAILBOX(ia));
	}
	return (NULL);
}

/* -------------------------------------------------------------- headers */

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
static int
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
static void
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

/* ---------------------------------------------------------------- body */

/* part_bytes - the decoded content of a leaf part; new GByteArray */
GByteArray *
part_bytes(GMimePart *part)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *ba;

	if (dw)
		g_mime_data_wrapper_write_to_stream(dw, mem);
	ba = g_byte_array_new();
	g_byte_array_append(ba, g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem))->data,
	    g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem))->len);
	g_object_unref(mem);
	return (ba);
}

/* object_bytes - an object as written (a parked message/rfc822); new */
static GByteArray *
object_bytes(GMimeObject *obj)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *ba;
	GMimeFormatOptions *fo = g_mime_format_options_new();

	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	g_mime_object_write_to_stream(obj, fo, mem);
	ba = g_byte_array_new();
	g_byte_array_append(ba, g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem))->data,
	    g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem))->len);
	g_object_unref(mem);
	g_mime_format_options_free(fo);
	return (ba);
}

/* text_utf8 - a text part decoded and converted to UTF-8, CRLF folded to
 * LF; a NUL byte becomes U+FFFD, whatever the charset, so the text after
 * it is kept (a C string would end there); new (g_free) */
char *
text_utf8(GMimePart *part)
{
	GByteArray *ba = part_bytes(part);
	const char *cs;
	char	*conv = NULL;
	gsize	 inlen = ba->len, outlen = 0, i;
	GString	*out;

	cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
	if (inlen > 0 && cs && g_ascii_strcasecmp(cs, "utf-8") != 0 &&
	    g_ascii_strcasecmp(cs, "us-ascii") != 0) {
		const char *ics = g_mime_charset_iconv_name(cs);

		/* the length, not strlen: the output holds any NUL of the
		 * input (UTF-16 text has many) */
		conv = g_convert_with_fallback((const char *)ba->data, (gssize)inlen,
		    "UTF-8", ics ? ics : cs, "?", NULL, &outlen, NULL);
	}
	if (conv == NULL && inlen > 0) {
		/* unknown or lying charset: keep what is valid UTF-8;
		 * g_utf8_make_valid replaces a NUL like any invalid byte */
		conv = g_utf8_make_valid((const char *)ba->data, (gssize)inlen);
		outlen = strlen(conv);
	}
	g_byte_array_free(ba, TRUE);
	out = g_string_sized_new(outlen + 1);
	for (i = 0; i < outlen; i++) {
		if (conv[i] == '\r' && i + 1 < outlen && conv[i + 1] == '\n')
			continue;
		if (conv[i] == '\0')
			g_string_append(out, "\xef\xbf\xbd");	/* U+FFFD */
		else
			g_string_append_c(out, conv[i]);
	}
	g_free(conv);
	return (g_string_free(out, FALSE));
}

/* html_escape_append - s, HTML-escaped, at the end of out */
static void
html_escape_append(GString *out, const char *s)
{
	char	*e = g_markup_escape_text(s, -1);

	g_string_append(out, e);
	g_free(e);
}

/* notice_add - one line of what the banner says about our changes */
static void
notice_add(GString *out, int html, const char *line)
{
	if (html) {
		g_string_append(out, "<p style=\"" HTML_STYLE_P "\">");
		html_escape_append(out, line);
		g_string_append(out, "</p>");
	} else
		g_string_append_printf(out, "%s\n", line);
}

/* notices - what we changed that the reader must know; new, "" if
 * nothing */
static char *
notices(struct rw *rw, int html)
{
	GString *out = g_string_new(NULL);
	char	*line = NULL;

	if (rw->signed_removed > 0)
		line = g_strdup_printf("The sender signed this message; %s "
		    "removed %d attachment(s) from it, so the signature no "
		    "longer verifies.", rw->env->brand, rw->signed_removed);
	else if (rw->signed_headers > 0)
		line = g_strdup_printf("The sender signed this message; %s "
		    "removed address headers from it, so the signature no "
		    "longer verifies.", rw->env->brand);
	else if (rw->signed_opened > 0)
		line = g_strdup_printf("The sender signed this message; %s "
		    "changed it, so the signature no longer verifies.",
		    rw->env->brand);
	if (line != NULL)
		notice_add(out, html, line);
	g_free(line);
	if (rw->html_parked > 0) {
		line = g_strdup_printf("%s could not show the HTML of this "
		    "message safely: the original is kept among the "
		    "attachments, and its text is shown instead.", rw->env->brand);
		notice_add(out, html, line);
		g_free(line);
	}
	return (g_string_free(out, FALSE));
}

/* expand - fill one template; html escapes the values (attachments and
 * notice come ready) */
static char *
expand(struct rw *rw, const char *tmpl, int html, const char *attachments,
    const char *notice)
{
	const struct rewrite_env *env = rw->env;
	GString *out = g_string_new(NULL);
	const char *p = tmpl, *q;

	while ((q = strstr(p, "{{")) != NULL) {
		const char *end = strstr(q, "}}"), *val = NULL;
		size_t	 klen;
		int	 raw = 0;

		g_string_append_len(out, p, q - p);
		if (end == NULL) {
			p = q;
			break;
		}
		klen = (size_t)(end - q - 2);
		if (klen == 6 && strncmp(q + 2, "origin", 6) == 0)
			val = env->origin;
		else if (klen == 5 && strncmp(q + 2, "alias", 5) == 0)
			val = env->alias_addr;
		else if (klen == 10 && strncmp(q + 2, "manage_url", 10) == 0)
			val = env->manage_url;
		else if (klen == 11 && strncmp(q + 2, "disable_url", 11) == 0)
			val = env->disable_url;
		else if (klen == 11 && strncmp(q + 2, "attachments", 11) == 0) {
			val = attachments;
			raw = 1;
		} else if (klen == 6 && strncmp(q + 2, "notice", 6) == 0) {
			val = notice;
			raw = 1;
		}
		if (val == NULL)
			g_string_append_len(out, q, end + 2 - q);
		else if (html && !raw)
			html_escape_append(out, val);
		else
			g_string_append(out, val);
		p = end + 2;
	}
	g_string_append(out, p);
	return (g_string_free(out, FALSE));
}

/* attachments_block - the list of parked parts for the footer; new */
static char *
attachments_block(struct rw *rw, int html)
{
	GString *out = g_string_new(NULL);
	size_t	 i;

	if (rw->nblobs == 0)
		return (g_string_free(out, FALSE));
	if (html)
		g_string_append(out, "<p style=\"" HTML_STYLE_P "\">Attachments "
		    "kept for you:</p><ul style=\"" HTML_STYLE_LIST "\">\n");
	else
		g_string_append(out, "Attachments kept for you:\n");
	for (i = 0; i < rw->nblobs; i++) {
		struct rw_blob *b = &rw->blobs[i];
		char	*url = g_strdup_printf("%s%s", rw->env->blob_url, b->id);

		if (html) {
			g_string_append(out, "<li style=\"" HTML_STYLE_ITEM "\">"
			    "<a style=\"" HTML_STYLE_LINK "\" href=\"");
			html_escape_append(out, url);
			g_string_append(out, "\">");
			html_escape_append(out, b->name);
			g_string_append(out, "</a> (");
			html_escape_append(out, b->type);
			g_string_append_printf(out, ", %zu bytes)</li>\n", b->size);
		} else
			g_string_append_printf(out, "  %s (%s, %zu bytes): %s\n",
			    b->name, b->type, b->size, url);
		g_free(url);
	}
	if (html)
		g_string_append(out, "</ul>\n");
	return (g_string_free(out, FALSE));
}

/* frame - the header and footer, filled, as they are now (the notice
 * after the header when its template has no {{notice}}); both new */
static void
frame(struct rw *rw, int html, char **hdr, char **ftr)
{
	const struct rewrite_templates *t = rw->env->tmpl;
	const char *th = html ? t->html_header : t->text_header;
	char	*att = attachments_block(rw, html);
	char	*not = notices(rw, html);

	*hdr = expand(rw, th, html, att, not);
	if (*not != '\0' && strstr(th, "{{notice}}") == NULL) {
		char	*both = g_strconcat(*hdr, not, NULL);

		g_free(*hdr);
		*hdr = both;
	}
	*ftr = expand(rw, html ? t->html_footer : t->text_footer, html, att, not);
	g_free(att);
	g_free(not);
}

/* set_text - replace a text part's content by UTF-8 text, best encoding */
void
set_text(GMimePart *part, const char *text)
{
	g_mime_text_part_set_text(GMIME_TEXT_PART(part), text);
	g_mime_part_set_content_encoding(part,
	    g_mime_part_get_best_content_encoding(part,
	    GMIME_ENCODING_CONSTRAINT_7BIT));
}

/* wrap_plain - header and footer around a text/plain part */
static void
wrap_plain(struct rw *rw, GMimePart *part)
{
	char	*text = text_utf8(part), *hdr, *ftr, *all;
	size_t	 tl = strlen(text);

	frame(rw, 0, &hdr, &ftr);
	all = g_strconcat(hdr, text, tl > 0 && text[tl - 1] != '\n' ? "\n" : "",
	    ftr, NULL);
	set_text(part, all);
	g_free(all);
	g_free(text);
	g_free(hdr);
	g_free(ftr);
}

/* html_doc - an HTML part as the parser gets it: UTF-8, and no ESC (a
 * client that took a <meta> naming ISO-2022-JP over our charset would
 * read the bytes after one as other markup); new */
static char *
html_doc(GMimePart *part)
{
	char	*text = text_utf8(part);
	GString	*out;
	const char *p;

	if (strchr(text, '\x1b') == NULL)
		return (text);
	out = g_string_sized_new(strlen(text) + 16);
	for (p = text; *p != '\0'; p++)
		if (*p == '\x1b')
			g_string_append(out, "\xef\xbf\xbd");	/* U+FFFD */
		else
			g_string_append_c(out, *p);
	g_free(text);
	return (g_string_free(out, FALSE));
}

static const char MARK_FALLBACK[] = "bipostal-html-fallback";
static const char MARK_SEALED[] = "bipostal-sealed";
static const char MARK_UNSEALED[] = "bipostal-unsealed";

static int	park(struct rw *, GMimeObject *, const char *suffix);

/* html_give_up - an HTML part we cannot show safely: kept as a blob,
 * marked to be shown as text */
static void
html_give_up(struct rw *rw, GMimePart *part)
{
	if (g_object_get_data(G_OBJECT(part), MARK_FALLBACK) != NULL)
		return;
	if (park(rw, GMIME_OBJECT(part), ".html") < 0)
		return;		/* rw->failed */
	g_object_set_data(G_OBJECT(part), MARK_FALLBACK, GINT_TO_POINTER(1));
	rw->html_parked++;
}

/* html_try - would the part show our header and footer?  If not, it is
 * given up before any part is wrapped, so that every attachment list
 * names it */
static void
html_try(struct rw *rw, GMimePart *part)
{
	char	*doc = html_doc(part), *hdr, *ftr, *out = NULL;
	const char *why;

	frame(rw, 1, &hdr, &ftr);
	if (html_wrap(doc, strlen(doc), hdr, ftr, rw->nonce, &rw->html, &out,
	    &why) < 0)
		html_give_up(rw, part);
	g_free(out);
	g_free(doc);
	g_free(hdr);
	g_free(ftr);
}

/* wrap_html - header and footer inside the site's document, proven to
 * show (html_wrap); else, the original parked, a document of ours with
 * its text (html_fallback), proven as well, or the rewrite fails */
static void
wrap_html(struct rw *rw, GMimePart *part)
{
	char	*doc = html_doc(part), *hdr, *ftr, *out = NULL;
	const char *why;
	size_t	 len = strlen(doc);

	frame(rw, 1, &hdr, &ftr);
	if (g_object_get_data(G_OBJECT(part), MARK_FALLBACK) == NULL &&
	    html_wrap(doc, len, hdr, ftr, rw->nonce, &rw->html, &out, &why) < 0) {
		html_give_up(rw, part);
		g_free(hdr);
		g_free(ftr);
		frame(rw, 1, &hdr, &ftr);	/* now with the notice */
	}
	if (out == NULL && !rw->failed) {
		out = html_fallback(doc, len, hdr, ftr, rw->nonce, &rw->html);
		if (html_verify(out, strlen(out), rw->nonce, &why) < 0) {
			rw->res->why = "our own HTML failed its check";
			rw->failed = 1;
		}
	}
	if (!rw->failed)
		set_text(part, out);
	g_free(out);
	g_free(doc);
	g_free(hdr);
	g_free(ftr);
}

/* is_type - content type test */
int
is_type(GMimeObject *obj, const char *type, const char *sub)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	return (ct != NULL && g_mime_content_type_is_type(ct, type, sub));
}

/* is_text - a part we keep and may wrap */
static int
is_text(GMimeObject *obj)
{
	return (GMIME_IS_TEXT_PART(obj) && (is_type(obj, "text", "plain") ||
	    is_type(obj, "text", "html")));
}

/* is_sealed - a signed part we leave alone, or an encrypted one: never
 * opened, never changed (decided by seal()) */
static int
is_sealed(GMimeObject *obj)
{
	return (g_object_get_data(G_OBJECT(obj), MARK_SEALED) != NULL);
}

/* disp_attachment - a Content-Disposition other than inline (RFC 2183:
 * an unknown one is taken as attachment) */
static int
disp_attachment(GMimeObject *obj)
{
	GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);
	const char *d = cd ? g_mime_content_disposition_get_disposition(cd) : NULL;

	return (d != NULL && g_ascii_strcasecmp(d, "inline") != 0);
}

/* attach_like - a part a client would offer as a file: an attachment
 * by disposition, or one with a file name */
static int
attach_like(GMimeObject *obj)
{
	const char *fn = GMIME_IS_PART(obj) ?
	    g_mime_part_get_filename(GMIME_PART(obj)) : NULL;

	return (disp_attachment(obj) || (fn != NULL && *fn != '\0'));
}

/* is_main - one of the text parts that get the banner */
static int
is_main(struct rw *rw, GMimeObject *obj)
{
	guint	i;

	for (i = 0; rw->mains != NULL && i < rw->mains->len; i++)
		if (g_ptr_array_index(rw->mains, i) == obj)
			return (1);
	return (0);
}

/* unname - a main text part loses its file name: no client may offer
 * it as a file */
static void
unname(GMimeObject *obj)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);
	char	*s;

	/* setting the (same) subtype or disposition writes the header anew */
	if (ct && g_mime_param_list_remove(g_mime_content_type_get_parameters(ct),
	    "name")) {
		s = g_strdup(g_mime_content_type_get_media_subtype(ct));
		g_mime_content_type_set_media_subtype(ct, s);
		g_free(s);
	}
	if (cd && g_mime_param_list_remove(
	    g_mime_content_disposition_get_parameters(cd), "filename")) {
		s = g_strdup(g_mime_content_disposition_get_disposition(cd));
		g_mime_content_disposition_set_disposition(cd, s);
		g_free(s);
	}
}

/* hidden_char - a character that must not reach a file name we show:
 * controls (C0, DEL, C1), bidi controls, zero-width and other invisible
 * characters, line and paragraph separators */
static int
hidden_char(gunichar c)
{
	static const gunichar invisible[] = {
		0x00ad, 0x034f, 0x061c, 0x115f, 0x1160, 0x180e, 0x200b, 0x200c,
		0x200d, 0x200e, 0x200f, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064,
		0x3164, 0xfeff, 0xffa0,
	};
	size_t	 i;

	if (c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
	    (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
		return (1);
	for (i = 0; i < sizeof(invisible) / sizeof(invisible[0]); i++)
		if (c == invisible[i])
			return (1);
	switch (g_unichar_type(c)) {
	case G_UNICODE_CONTROL:
	case G_UNICODE_FORMAT:
	case G_UNICODE_LINE_SEPARATOR:
	case G_UNICODE_PARAGRAPH_SEPARATOR:
	case G_UNICODE_SURROGATE:
		return (1);
	default:
		return (0);
	}
}

/* name_clean - a site's file name as we show and keep it: the last path
 * element, hidden characters as "_", at most REWRITE_NAME_CHARS
 * characters and REWRITE_NAME_MAX bytes (cut on a character, with an
 * ellipsis, keeping a short extension); "part-N" when nothing of it
 * shows but dots and spaces */
static void
name_clean(const char *in, int partno, const char *suffix, char *out,
    size_t outlen)
{
	char	*v = g_utf8_make_valid(in ? in : "", -1), *t;
	const char *base = v, *p, *ext;
	GString	*s = g_string_new(NULL);
	size_t	 maxb = outlen - 1 < REWRITE_NAME_MAX ? outlen - 1 : REWRITE_NAME_MAX;
	glong	 chars, room;
	int	 seen = 0;		/* characters shown as they came */

	for (p = v; *p != '\0'; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	for (p = base; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (hidden_char(c))
			g_string_append_c(s, '_');
		else {
			g_string_append_unichar(s, c);
			seen += c != '.' && !g_unichar_isspace(c);
		}
	}
	t = g_strstrip(s->str);
	chars = g_utf8_strlen(t, -1);
	if (seen == 0)
		snprintf(out, outlen, "part-%d%s", partno, suffix ? suffix : "");
	else if (chars <= REWRITE_NAME_CHARS && strlen(t) <= maxb)
		snprintf(out, outlen, "%s", t);
	else {
		/* keep ".exe": a long name must not hide what the file is */
		ext = strrchr(t, '.');
		if (ext == NULL || ext == t || g_utf8_strlen(ext, -1) > 16)
			ext = "";
		room = REWRITE_NAME_CHARS - 1 - g_utf8_strlen(ext, -1);
		for (p = t; *p != '\0' && room > 0; room--) {
			const char *q = g_utf8_next_char(p);

			if ((size_t)(q - t) + 3 + strlen(ext) > maxb)
				break;
			p = q;
		}
		snprintf(out, outlen, "%.*s\xe2\x80\xa6%s", (int)(p - t), t, ext);
	}
	g_string_free(s, TRUE);
	g_free(v);
}

/* type_clean - a content type as we show and keep it: token characters
 * only, lower case, at most REWRITE_TYPE_MAX bytes */
static void
type_clean(const char *in, char *out, size_t outlen)
{
	size_t	 n = 0, max = outlen - 1 < REWRITE_TYPE_MAX ? outlen - 1 :
	    REWRITE_TYPE_MAX;

	for (; in != NULL && *in != '\0' && n < max; in++)
		if (g_ascii_isalnum(*in) || strchr("!#$&^_.+-/", *in) != NULL)
			out[n++] = g_ascii_tolower(*in);
	out[n] = '\0';
	if (n == 0)
		snprintf(out, outlen, "application/octet-stream");
}

/* park - hand one part to blob_put and remember it for the footer;
 * suffix ends the name of an unnamed part; 0, or -1 (rw->failed) */
static int
park(struct rw *rw, GMimeObject *obj, const char *suffix)
{
	const struct rewrite_env *env = rw->env;
	GByteArray *ba;
	struct rw_blob *b;
	const char *fn = NULL;
	char	*mt, type[REWRITE_TYPE_MAX + 1], name[REWRITE_NAME_MAX + 1];
	int	 rc;

	if (GMIME_IS_PART(obj)) {
		ba = part_bytes(GMIME_PART(obj));
		fn = g_mime_part_get_filename(GMIME_PART(obj));
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		ba = m ? object_bytes(GMIME_OBJECT(m)) : g_byte_array_new();
	} else
		ba = object_bytes(obj);
	mt = g_mime_object_get_content_type(obj) ?
	    g_mime_content_type_get_mime_type(g_mime_object_get_content_type(obj)) :
	    NULL;
	type_clean(mt, type, sizeof(type));
	g_free(mt);
	rw->partno++;
	if (GMIME_IS_MESSAGE_PART(obj))
		snprintf(name, sizeof(name), "message-%d.eml", rw->partno);
	else
		name_clean(fn, rw->partno, suffix, name, sizeof(name));
	rw->blobs = xrealloc(rw->blobs, (rw->nblobs + 1) * sizeof(*rw->blobs));
	b = &rw->blobs[rw->nblobs];
	memset(b, 0, sizeof(*b));
	rc = env->blob_put(env->arg, name, type, ba->data, ba->len, b->id,
	    sizeof(b->id));
	if (rc == 0) {
		b->name = xstrdup(name);
		b->type = xstrdup(type);
		b->size = ba->len;
		rw->nblobs++;
		rw->res->nblobs++;
	} else
		rw->failed = 1;
	g_byte_array_free(ba, TRUE);
	return (rc == 0 ? 0 : -1);
}

/* note - keep an application/json part for the owner's queue; 1 if it
 * was taken, 0 if too large (parked instead) */
static int
note(struct rw *rw, GMimePart *part)
{
	struct rewrite_result *r = rw->res;
	GByteArray *ba = part_bytes(part);

	if (ba->len > REWRITE_JSON_MAX || ba->len == 0) {
		g_byte_array_free(ba, TRUE);
		return (0);
	}
	if (r->nnotes == rw->nnotes_alloc) {
		rw->nnotes_alloc = rw->nnotes_alloc ? 2 * rw->nnotes_alloc : 4;
		r->notes = xrealloc(r->notes, rw->nnotes_alloc * sizeof(*r->notes));
	}
	r->notes[r->nnotes].data = xmalloc(ba->len + 1);
	memcpy(r->notes[r->nnotes].data, ba->data, ba->len);
	r->notes[r->nnotes].data[ba->len] = '\0';
	r->notes[r->nnotes].len = ba->len;
	r->nnotes++;
	g_byte_array_free(ba, TRUE);
	return (1);
}

/* ------------------------------------------------------ sealed parts */

/* is_sig - the signature part of a multipart/signed */
static int
is_sig(GMimeObject *obj)
{
	return (is_type(obj, "application", "pgp-signature") ||
	    is_type(obj, "application", "pkcs7-signature") ||
	    is_type(obj, "application", "x-pkcs7-signature"));
}

/* well_signed - a multipart/signed as RFC 1847 has it: what is signed,
 * then a signature */
static int
well_signed(GMimeObject *obj)
{
	return (GMIME_IS_MULTIPART(obj) && is_type(obj, "multipart", "signed") &&
	    g_mime_multipart_get_count(GMIME_MULTIPART(obj)) == 2 &&
	    is_sig(g_mime_multipart_get_part(GMIME_MULTIPART(obj), 1)));
}

/* pgp_encrypted - a multipart/encrypted as RFC 3156 has it: a version
 * part, then an OpenPGP message, armored or starting with a session key
 * packet (anything else could carry a file we cannot see past) */
static int
pgp_encrypted(GMimeObject *obj)
{
	GMimeMultipart *mp;
	GMimeObject *data;
	GByteArray *ba;
	const char *proto;
	size_t	 i = 0;
	int	 ok = 0, tag;

	if (!GMIME_IS_MULTIPART(obj) || !is_type(obj, "multipart", "encrypted"))
		return (0);
	mp = GMIME_MULTIPART(obj);
	proto = g_mime_object_get_content_type_parameter(obj, "protocol");
	if (proto == NULL || g_ascii_strcasecmp(proto, "application/pgp-encrypted") != 0 ||
	    g_mime_multipart_get_count(mp) != 2 ||
	    !is_type(g_mime_multipart_get_part(mp, 0), "application", "pgp-encrypted"))
		return (0);
	data = g_mime_multipart_get_part(mp, 1);
	if (!GMIME_IS_PART(data) || !is_type(data, "application", "octet-stream"))
		return (0);
	ba = part_bytes(GMIME_PART(data));
	while (i < ba->len && g_ascii_isspace(ba->data[i]))
		i++;
	if (ba->len - i >= 27 &&
	    memcmp(ba->data + i, "-----BEGIN PGP MESSAGE-----", 27) == 0)
		ok = 1;
	else if (i == 0 && ba->len > 0 && (ba->data[0] & 0x80)) {
		tag = (ba->data[0] & 0x40) ? ba->data[0] & 0x3f :
		    (ba->data[0] >> 2) & 0x0f;
		ok = tag == 1 || tag == 3;	/* PKESK, SKESK */
	}
	g_byte_array_free(ba, TRUE);
	return (ok);
}

/* smime_enveloped - application/pkcs7-mime whose DER names envelopedData
 * or authEnvelopedData (signed-data and the rest are parked: a client
 * would open those for anyone) */
static int
smime_enveloped(GMimeObject *obj)
{
	static const unsigned char env[] = {	/* 1.2.840.113549.1.7.3 */
		0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03,
	};
	static const unsigned char aenv[] = {	/* 1.2.840.113549.1.9.16.1.23 */
		0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10,
		0x01, 0x17,
	};
	GByteArray *ba;
	size_t	 n;
	int	 ok;

	if (!GMIME_IS_PART(obj) || !(is_type(obj, "application", "pkcs7-mime") ||
	    is_type(obj, "application", "x-pkcs7-mime")))
		return (0);
	ba = part_bytes(GMIME_PART(obj));
	n = ba->len < 24 ? ba->len : 24;
	ok = n > 0 && ba->data[0] == 0x30 &&
	    (memmem(ba->data, n, env, sizeof(env)) != NULL ||
	    memmem(ba->data, n, aenv, sizeof(aenv)) != NULL);
	g_byte_array_free(ba, TRUE);
	return (ok);
}

/* has_addr_headers - does a MIME part carry headers to answer to? */
static int
has_addr_headers(GMimeObject *obj)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	int	 k, n = hl ? g_mime_header_list_get_count(hl) : 0;

	for (k = 0; k < n; k++)
		if (addr_header(g_mime_header_get_name(
		    g_mime_header_list_get_header_at(hl, k))))
			return (1);
	return (0);
}

/* needs_change - would the rewrite change anything under obj?  (A text
 * part with a file name counts: inside a signed part it is not known
 * yet whether it will be the main one.) */
static int
needs_change(struct rw *rw, GMimeObject *obj, int depth)
{
	int	 i, n, strip = rw->env->strip;

	if (depth > 64)
		return (1);
	if (pgp_encrypted(obj) || smime_enveloped(obj))
		return (0);
	if (has_addr_headers(obj))
		return (1);
	if (GMIME_IS_MULTIPART(obj)) {
		if (is_type(obj, "multipart", "signed"))
			return (!well_signed(obj) || needs_change(rw,
			    g_mime_multipart_get_part(GMIME_MULTIPART(obj), 0),
			    depth + 1));
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (i = 0; i < n; i++)
			if (needs_change(rw, g_mime_multipart_get_part(
			    GMIME_MULTIPART(obj), i), depth + 1))
				return (1);
		return (0);
	}
	if (is_type(obj, "application", "json"))
		return (1);
	if (is_text(obj))
		return (strip && attach_like(obj));
	return (strip);
}

/* seal - decide, before anything changes, what is left alone: an
 * encrypted part (we cannot see inside: it passes as it came), and a
 * multipart/signed in which nothing needs to change.  A signed part that
 * must change becomes multipart/mixed (its signature would fail, and a
 * client would call the message forged) and is walked like any other;
 * the banner says what was taken out of it. */
static void
seal(struct rw *rw, GMimeObject *obj, int depth)
{
	GMimeContentType *ct;
	int	 i, n;

	if (depth > 64)
		return;
	if (pgp_encrypted(obj) || smime_enveloped(obj) ||
	    (well_signed(obj) && !needs_change(rw,
	    g_mime_multipart_get_part(GMIME_MULTIPART(obj), 0), depth + 1))) {
		g_object_set_data(G_OBJECT(obj), MARK_SEALED, GINT_TO_POINTER(1));
		return;
	}
	if (!GMIME_IS_MULTIPART(obj))
		return;
	if (is_type(obj, "multipart", "signed")) {
		ct = g_mime_object_get_content_type(obj);
		g_mime_param_list_remove(g_mime_content_type_get_parameters(ct),
		    "protocol");
		g_mime_param_list_remove(g_mime_content_type_get_parameters(ct),
		    "micalg");
		g_mime_content_type_set_media_subtype(ct, "mixed");
		g_object_set_data(G_OBJECT(obj), MARK_UNSEALED, GINT_TO_POINTER(1));
		rw->signed_opened++;
	}
	n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
	for (i = 0; i < n; i++)
		seal(rw, g_mime_multipart_get_part(GMIME_MULTIPART(obj), i),
		    depth + 1);
}

/* drop_addr_headers - a MIME part's headers to answer to go */
static void
drop_addr_headers(struct rw *rw, GMimeObject *obj, int in_signed)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	int	 k = hl ? g_mime_header_list_get_count(hl) : 0;

	while (k-- > 0)
		if (addr_header(g_mime_header_get_name(
		    g_mime_header_list_get_header_at(hl, k)))) {
			g_mime_header_list_remove_at(hl, k);
			rw->signed_headers += in_signed;
		}
}

/* strip - walk the tree; 1 if obj itself must go (parked or noted);
 * in_signed: below a signed part we opened */
static int
strip(struct rw *rw, GMimeObject *obj, int depth, int in_signed)
{
	int	 gone;

	if (rw->failed || rw->status != REWRITE_OK)
		return (0);
	if (depth > rw->env->max_depth) {
		rw->status = REWRITE_TOO_DEEP;
		return (0);
	}
	if (is_sealed(obj))
		return (0);
	drop_addr_headers(rw, obj, in_signed);
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int	 i, n = g_mime_multipart_get_count(mp);
		char	*out = xcalloc((size_t)n + 1, 1);

		if (g_object_get_data(G_OBJECT(obj), MARK_UNSEALED) != NULL)
			in_signed = 1;
		mp->write_end_boundary = TRUE;	/* close what we rewrite */
		for (i = 0; i < n; i++)
			out[i] = (char)strip(rw, g_mime_multipart_get_part(mp, i),
			    depth + 1, in_signed);
		for (i = n - 1; i >= 0; i--)
			if (out[i])
				g_object_unref(g_mime_multipart_remove_at(mp, i));
		free(out);
		return (rw->env->strip && g_mime_multipart_get_count(mp) == 0);
	}
	if (is_text(obj) && (is_main(rw, obj) || !attach_like(obj)))
		return (0);
	if (GMIME_IS_PART(obj) && is_type(obj, "application", "json") &&
	    note(rw, GMIME_PART(obj)))
		gone = 1;
	else if (!rw->env->strip)
		return (0);
	else
		gone = park(rw, obj, NULL) == 0;
	if (gone && in_signed && !is_sig(obj))
		rw->signed_removed++;
	return (gone);
}

/* find_main - the part that carries the banner: a text part that is no
 * attachment by disposition, or a multipart/alternative holding one;
 * NULL if none */
static GMimeObject *
find_main(GMimeObject *obj, int depth)
{
	if (depth > 64 || is_sealed(obj))
		return (NULL);
	if (is_text(obj))
		return (disp_attachment(obj) ? NULL : obj);
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int	 i, n = g_mime_multipart_get_count(mp);

		if (is_type(obj, "multipart", "alternative")) {
			for (i = 0; i < n; i++)
				if (find_main(g_mime_multipart_get_part(mp, i),
				    depth + 1))
					return (obj);
			return (NULL);
		}
		for (i = 0; i < n; i++) {
			GMimeObject *m = find_main(g_mime_multipart_get_part(mp, i),
			    depth + 1);

			if (m)
				return (m);
		}
	}
	return (NULL);
}

/* collect_mains - the text parts of main that get the banner: main
 * itself, or that of each alternative */
static void
collect_mains(struct rw *rw, GMimeObject *obj, int depth)
{
	GMimeObject *m;
	int	 i, n;

	if (depth > 64 || obj == NULL || is_sealed(obj))
		return;
	if (is_text(obj)) {
		g_ptr_array_add(rw->mains, obj);
		return;
	}
	if (is_type(obj, "multipart", "alternative")) {
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (i = 0; i < n; i++)
			if ((m = find_main(g_mime_multipart_get_part(
			    GMIME_MULTIPART(obj), i), depth + 1)) != NULL)
				collect_mains(rw, m, depth + 1);
	}
}

/* wrap_mains - the banner into every main part: the HTML ones tried
 * first, since one shown as text adds a blob every footer must list */
static void
wrap_mains(struct rw *rw)
{
	GMimeObject *m;
	guint	 i;

	for (i = 0; i < rw->mains->len && !rw->failed; i++) {
		m = g_ptr_array_index(rw->mains, i);
		if (is_type(m, "text", "html"))
			html_try(rw, GMIME_PART(m));
	}
	for (i = 0; i < rw->mains->len && !rw->failed; i++) {
		m = g_ptr_array_index(rw->mains, i);
		if (is_type(m, "text", "html"))
			wrap_html(rw, GMIME_PART(m));
		else
			wrap_plain(rw, GMIME_PART(m));
		unname(m);
	}
}

/* banner_part - a fresh text/plain part with the header and footer */
static GMimeObject *
banner_part(struct rw *rw)
{
	GMimeTextPart *tp = g_mime_text_part_new_with_subtype("plain");
	char	*hdr, *ftr, *all;

	frame(rw, 0, &hdr, &ftr);
	all = g_strconcat(hdr, ftr, NULL);
	set_text(GMIME_PART(tp), all);
	g_free(all);
	g_free(hdr);
	g_free(ftr);
	return (GMIME_OBJECT(tp));
}

/* struct measure - what measure() found */
struct measure {
	int	 parts;		/* counted no further than max_parts + 1 */
	int	 depth;		/* deepest level seen, up to max_depth + 1 */
	int	 max_parts;
	int	 max_depth;
};

/* measure - count the MIME parts under obj (at nesting level depth, the
 * top being 1) and how deep they go; an embedded message is one level
 * deeper than its part.  GMime's own nesting limit bounds the recursion
 * (it turns anything deeper into plain content), and the walk stops as
 * soon as either limit is passed. */
static void
measure(GMimeObject *obj, int depth, struct measure *ms)
{
	int	 i, k;

	ms->parts++;
	if (depth > ms->depth)
		ms->depth = depth;
	if (ms->parts > ms->max_parts || depth > ms->max_depth)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		k = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (i = 0; i < k && ms->parts <= ms->max_parts &&
		    ms->depth <= ms->max_depth; i++)
			measure(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i),
			    depth + 1, ms);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(obj));

		if (m != NULL && g_mime_message_get_mime_part(m) != NULL)
			measure(g_mime_message_get_mime_part(m), depth + 1, ms);
	}
}

/* top_headers - replace the top part's content headers */
static void
top_headers(struct rw *rw, GMimeObject *top, struct hdr *h, size_t nh)
{
	GMimeHeaderList *hl;
	GMimeFormatOptions *fo = g_mime_format_options_new();
	size_t	 i;
	int	 k, n, have_mv = 0;
	char	*all;

	/* content headers of the old top part, last occurrence first */
	for (i = nh; i-- > 0;) {
		if (g_ascii_strncasecmp(h[i].name, "Content-", 8) == 0)
			op_add(rw, h[i].name, h[i].idx, NULL);
		if (g_ascii_strcasecmp(h[i].name, "MIME-Version") == 0)
			have_mv = 1;
	}
	if (!have_mv)
		op_add(rw, "MIME-Version", 0, "1.0");
	/* the new ones, as GMime writes them */
	hl = g_mime_object_get_header_list(top);
	all = g_mime_header_list_to_string(hl, fo);
	g_mime_format_options_free(fo);
	g_free(all);		/* formats the raw values of changed headers */
	n = g_mime_header_list_get_count(hl);
	for (k = 0; k < n; k++) {
		GMimeHeader *gh = g_mime_header_list_get_header_at(hl, k);
		const char *raw = g_mime_header_get_raw_value(gh);
		char	*v;

		if (raw == NULL)
			raw = g_mime_header_get_value(gh);
		if (raw == NULL || g_ascii_strncasecmp(g_mime_header_get_name(gh),
		    "Content-", 8) != 0)
			continue;
		v = unfold(raw);
		op_add(rw, g_mime_header_get_name(gh), 0, v);
		free(v);
	}
}

/* make_nonce - the random mark of this message's HTML containers */
static int
make_nonce(struct rw *rw)
{
	unsigned char r[16];
	size_t	 i;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return (-1);
	for (i = 0; i < sizeof(r); i++)
		snprintf(rw->nonce + 2 * i, 3, "%02x", r[i]);
	return (0);
}

/* forward_body - strip and wrap the body of forwarded mail; 1 if the
 * body changed, 0 if not (sealed), -1 to stop (rw->status, rw->failed) */
static int
forward_body(struct rw *rw, GMimeMessage *m)
{
	const struct rewrite_env *env = rw->env;
	GMimeObject *top = g_mime_message_get_mime_part(m), *bp, *main;
	int	 top_gone = 0;

	if (top != NULL) {
		struct measure ms = { 0, 0, REWRITE_MAX_PARTS,
		    env->max_depth > 0 ? env->max_depth : 64 };

		measure(top, 1, &ms);
		if (ms.depth > ms.max_depth) {
			rw->res->why = "MIME nesting too deep";
			rw->status = REWRITE_TOO_DEEP;
			return (-1);
		}
		if (ms.parts > ms.max_parts) {
			rw->res->why = "too many MIME parts";
			rw->status = REWRITE_TOO_MANY_PARTS;
			return (-1);
		}
		seal(rw, top, 1);
		if (is_sealed(top))
			return (0);	/* signed or encrypted: as it was */
	}
	if (top != NULL && GMIME_IS_MULTIPART(top) &&
	    g_mime_multipart_get_count(GMIME_MULTIPART(top)) == 0) {
		/* a multipart GMime found no parts in (no or a wrong
		 * boundary): its text is all in the preamble; keep it as
		 * plain text rather than lose it */
		const char *pro = g_mime_multipart_get_prologue(GMIME_MULTIPART(top));
		GMimeTextPart *tp = g_mime_text_part_new_with_subtype("plain");
		char	*valid = g_utf8_make_valid(pro ? pro : "", -1);

		g_mime_text_part_set_text(tp, valid);
		g_free(valid);
		g_mime_message_set_mime_part(m, GMIME_OBJECT(tp));
		g_object_unref(tp);
		top = g_mime_message_get_mime_part(m);
	}
	main = top != NULL ? find_main(top, 1) : NULL;
	collect_mains(rw, main, 1);
	if (top != NULL)
		top_gone = strip(rw, top, 1, 0);
	if (rw->status != REWRITE_OK) {
		rw->res->why = rw->status == REWRITE_TOO_DEEP ?
		    "MIME nesting too deep" : "rewrite failed";
		return (-1);
	}
	if (rw->failed)
		return (-1);
	if (top == NULL || top_gone) {
		bp = banner_part(rw);
		g_mime_message_set_mime_part(m, bp);
		g_object_unref(bp);
	} else if (rw->mains->len > 0) {
		wrap_mains(rw);
	} else if (GMIME_IS_MULTIPART(top) && !is_sealed(top)) {
		bp = banner_part(rw);
		g_mime_multipart_insert(GMIME_MULTIPART(top), 0, bp);
		g_object_unref(bp);
	} else {
		/* a kept leaf that is not text (content policy keep): put it
		 * under a multipart/mixed behind the banner */
		GMimeMultipart *mix = g_mime_multipart_new_with_subtype("mixed");

		bp = banner_part(rw);
		g_mime_multipart_add(mix, bp);
		g_mime_multipart_add(mix, top);
		g_mime_message_set_mime_part(m, GMIME_OBJECT(mix));
		g_object_unref(bp);
		g_object_unref(mix);
	}
	return (rw->failed ? -1 : 1);
}

/* body_write - top's content, as the MTA gets it (CRLF line ends), into
 * res as the new body; 0, or -1 when GMime cannot write it */
int
body_write(struct rewrite_result *res, GMimeObject *top)
{
	GMimeFormatOptions *fo = g_mime_format_options_new();
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *ba;
	int	 rc = -1;

	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	if (g_mime_object_write_content_to_stream(top, fo, mem) >= 0) {
		ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		res->body = xmalloc(ba->len + 1);
		memcpy(res->body, ba->data, ba->len);
		res->body_len = ba->len;
		res->body_changed = 1;
		rc = 0;
	}
	g_object_unref(mem);
	g_mime_format_options_free(fo);
	return (rc);
}

/* rewrite_message - see milter_rewrite.h */
enum rewrite_status
rewrite_message(const struct rewrite_env *env, const unsigned char *msg,
    size_t len, struct rewrite_result *out)
{
	struct rw rw;
	GMimeStream *stream = NULL;
	GMimeParser *parser = NULL;
	GMimeMessage *m = NULL;
	GMimeObject *top;
	struct hdr *h = NULL;
	size_t	 nh = 0, i;
	int	 body;

	memset(out, 0, sizeof(*out));
	memset(&rw, 0, sizeof(rw));
	rw.env = env;
	rw.res = out;
	rw.status = REWRITE_OK;
	rw.mains = g_ptr_array_new();
	rw.html.cpu_ns = HTML_CPU_NS;

	stream = g_mime_stream_mem_new_with_buffer((const char *)msg, len);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	m = g_mime_parser_construct_message(parser, NULL);
	if (m == NULL) {
		out->why = "message cannot be parsed";
		rw.status = REWRITE_TEMP;
		goto done;
	}
	nh = hdrs_collect(m, &h);
	if (env->max_headers > 0 && nh > (size_t)env->max_headers) {
		out->why = "too many header lines";
		rw.status = REWRITE_TOO_MANY_HEADERS;
		goto done;
	}

	if (env->mode == REWRITE_REPLY) {
		reply_rewrite(&rw, m, h, nh);
		goto sort;
	}

	if (make_nonce(&rw) < 0) {
		out->why = "no random bytes";
		goto fail;
	}
	forward_headers(&rw, h, nh);
	if (rw.failed)
		goto fail;
	if ((body = forward_body(&rw, m)) < 0) {
		if (rw.status != REWRITE_OK)
			goto done;
		goto fail;
	}
	if (body > 0) {
		top = g_mime_message_get_mime_part(m);
		if (body_write(out, top) < 0)
			goto fail;
		top_headers(&rw, top, h, nh);
	}

sort:
	if (out->nops > 1)
		qsort(out->ops, out->nops, sizeof(*out->ops), op_cmp);
	goto done;
fail:
	rw.status = REWRITE_TEMP;
	if (out->why == NULL)
		out->why = "store or conversion failure";
done:
	for (i = 0; i < rw.nblobs; i++) {
		free(rw.blobs[i].name);
		free(rw.blobs[i].type);
	}
	free(rw.blobs);
	for (i = 0; i < rw.nreplies; i++)
		free(rw.replies[i].addr);
	free(rw.replies);
	g_ptr_array_free(rw.mains, TRUE);
	for (i = 0; i < nh; i++) {
		free(h[i].name);
		free(h[i].raw);
	}
	free(h);
	if (m)
		g_object_unref(m);
	if (parser)
		g_object_unref(parser);
	if (stream)
		g_object_unref(stream);
	if (rw.status != REWRITE_OK) {
		const char *why = out->why;

		rewrite_result_free(out);
		out->why = why;
	}
	return (rw.status);
}

/* rewrite_result_free - release everything a result holds */
void
rewrite_result_free(struct rewrite_result *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nops; i++) {
		free(r->ops[i].name);
		free(r->ops[i].value);
	}
	free(r->ops);
	for (i = 0; i < r->nnotes; i++)
		free(r->notes[i].data);
	free(r->notes);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* ----------------------------------------------------------- templates */

/* read_file - a whole small file; new, or NULL */
static char *
read_file(const char *dir, const char *name, char *err, size_t errlen)
{
	char	 path[4096], *buf = NULL;
	FILE	*fp;
	size_t	 n = 0, cap = 0, r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? 2 * cap : 8192;
			if (cap > 1024 * 1024) {
				snprintf(err, errlen, "%s: too large", path);
				free(buf);
				fclose(fp);
				return (NULL);
			}
			buf = xrealloc(buf, cap);
		}
		if ((r = fread(buf + n, 1, 4096, fp)) == 0)
			break;
		n += r;
	}
	fclose(fp);
	buf[n] = '\0';
	return (buf);
}

/* rewrite_templates_load - the four template files */
int
rewrite_templates_load(struct rewrite_templates *t, const char *dir,
    char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	if ((t->text_header = read_file(dir, "header.txt", err, errlen)) == NULL ||
	    (t->text_footer = read_file(dir, "footer.txt", err, errlen)) == NULL ||
	    (t->html_header = read_file(dir, "header.html", err, errlen)) == NULL ||
	    (t->html_footer = read_file(dir, "footer.html", err, errlen)) == NULL) {
		rewrite_templates_free(t);
		return (-1);
	}
	return (0);
}

/* rewrite_templates_free - NULL members are fine */
void
rewrite_templates_free(struct rewrite_templates *t)
{
	if (t == NULL)
		return;
	free(t->text_header);
	free(t->text_footer);
	free(t->html_header);
	free(t->html_footer);
	memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------- signing */

/* mac_hex - hex of the first n bytes of HMAC-SHA256(key, msg) */
static int
mac_hex(const unsigned char *key, size_t keylen, const char *msg, size_t n,
    char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t	 i;

	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg,
	    strlen(msg), md, &mdlen) == NULL || mdlen < n)
		return (-1);
	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	out[2 * n] = '\0';
	return (0);
}

/* rewrite_unsub_sig - see milter_rewrite.h */
int
rewrite_unsub_sig(const unsigned char *key, size_t keylen, const char *token,
    char out[33])
{
	char	*msg = g_strdup_printf("unsubscribe:%s", token);
	int	 rc = mac_hex(key, keylen, msg, 16, out);

	g_free(msg);
	return (rc);
}
