/*
 * milter_rewrite.c - compute the rewrite of one message (see milter_rewrite.h)
 *
 * Forwarded mail (site -> alias -> owner):
 *   - every part that is not text/plain or text/html is parked through
 *     env->blob_put and removed, except that multipart/signed and
 *     multipart/encrypted pass untouched (and so does their content);
 *     application/json parts up to REWRITE_JSON_MAX become notes;
 *   - the first displayable body (a text part, or each text alternative of
 *     a multipart/alternative) is decoded, converted to UTF-8, wrapped in
 *     the header and footer templates and encoded again (7bit, QP or
 *     base64, whichever GMime finds best); a message left without text
 *     gets a new text/plain part carrying the header and footer;
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

/* strbuf helpers over GString */
static void
html_escape_append(GString *out, const char *s)
{
	char	*e = g_markup_escape_text(s, -1);

	g_string_append(out, e);
	g_free(e);
}

/* expand - fill one template; html escapes the values */
static char *
expand(struct rw *rw, const char *tmpl, int html, const char *attachments)
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
		g_string_append(out, "<p>Attachments kept for you:</p><ul>\n");
	else
		g_string_append(out, "Attachments kept for you:\n");
	for (i = 0; i < rw->nblobs; i++) {
		struct rw_blob *b = &rw->blobs[i];
		char	*url = g_strdup_printf("%s%s", rw->env->blob_url, b->id);

		if (html) {
			g_string_append(out, "<li><a href=\"");
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
	char	*text = text_utf8(part);
	char	*att = attachments_block(rw, 0);
	char	*hdr = expand(rw, rw->env->tmpl->text_header, 0, att);
	char	*ftr = expand(rw, rw->env->tmpl->text_footer, 0, att);
	size_t	 tl = strlen(text);
	char	*all;

	all = g_strconcat(hdr, text, tl > 0 && text[tl - 1] != '\n' ? "\n" : "",
	    ftr, NULL);
	set_text(part, all);
	g_free(all);
	g_free(text);
	g_free(att);
	g_free(hdr);
	g_free(ftr);
}

/* find_tag - offset of "<tag" (case-insensitive) followed by space, '>'
 * or '/'; last = 1 finds the last one; -1 if none */
static long
find_tag(const char *s, const char *tag, int last)
{
	size_t	 n = strlen(tag);
	long	 found = -1;
	const char *p;

	for (p = s; *p; p++) {
		if (*p != '<' || g_ascii_strncasecmp(p + 1, tag, n) != 0)
			continue;
		if (p[1 + n] != '>' && p[1 + n] != ' ' && p[1 + n] != '\t' &&
		    p[1 + n] != '\n' && p[1 + n] != '/')
			continue;
		found = (long)(p - s);
		if (!last)
			break;
	}
	return (found);
}

/* wrap_html - header after <body ...>, footer before </body> (or at the
 * very start and end when the document has no body tags) */
static void
wrap_html(struct rw *rw, GMimePart *part)
{
	char	*text = text_utf8(part);
	char	*att = attachments_block(rw, 1);
	char	*hdr = expand(rw, rw->env->tmpl->html_header, 1, att);
	char	*ftr = expand(rw, rw->env->tmpl->html_footer, 1, att);
	GString *out = g_string_new(NULL);
	long	 b, e;
	size_t	 start = 0, stop = strlen(text);

	if ((b = find_tag(text, "body", 0)) >= 0) {
		const char *gt = strchr(text + b, '>');

		if (gt)
			start = (size_t)(gt + 1 - text);
	}
	if ((e = find_tag(text, "/body", 1)) >= 0 && (size_t)e >= start)
		stop = (size_t)e;
	g_string_append_len(out, text, (gssize)start);
	g_string_append(out, hdr);
	g_string_append_len(out, text + start, (gssize)(stop - start));
	g_string_append(out, ftr);
	g_string_append(out, text + stop);
	set_text(part, out->str);
	g_string_free(out, TRUE);
	g_free(text);
	g_free(att);
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

/* is_sealed - signed or encrypted: never opened, never changed */
static int
is_sealed(GMimeObject *obj)
{
	return (GMIME_IS_MULTIPART_SIGNED(obj) ||
	    GMIME_IS_MULTIPART_ENCRYPTED(obj) ||
	    is_type(obj, "multipart", "signed") ||
	    is_type(obj, "multipart", "encrypted"));
}

/* is_text - a part we keep and may wrap */
static int
is_text(GMimeObject *obj)
{
	return (GMIME_IS_TEXT_PART(obj) && (is_type(obj, "text", "plain") ||
	    is_type(obj, "text", "html")));
}

/* park - hand one part to blob_put and remember it for the footer */
static int
park(struct rw *rw, GMimeObject *obj)
{
	const struct rewrite_env *env = rw->env;
	GByteArray *ba;
	struct rw_blob *b;
	const char *fn = NULL;
	char	*type, name[256];
	int	 rc;

	if (GMIME_IS_PART(obj)) {
		ba = part_bytes(GMIME_PART(obj));
		fn = g_mime_part_get_filename(GMIME_PART(obj));
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		ba = m ? object_bytes(GMIME_OBJECT(m)) : g_byte_array_new();
	} else
		ba = object_bytes(obj);
	type = g_mime_object_get_content_type(obj) ?
	    g_mime_content_type_get_mime_type(g_mime_object_get_content_type(obj)) :
	    g_strdup("application/octet-stream");
	rw->partno++;
	if (fn && *fn)
		snprintf(name, sizeof(name), "%s", fn);
	else if (GMIME_IS_MESSAGE_PART(obj))
		snprintf(name, sizeof(name), "message-%d.eml", rw->partno);
	else
		snprintf(name, sizeof(name), "part-%d", rw->partno);
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
	g_free(type);
	g_byte_array_free(ba, TRUE);
	return (rc);
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

/* strip - walk the tree; 1 if obj itself must go (parked or noted) */
static int
strip(struct rw *rw, GMimeObject *obj, int depth)
{
	if (rw->failed || rw->status != REWRITE_OK)
		return (0);
	if (depth > rw->env->max_depth) {
		rw->status = REWRITE_TOO_DEEP;
		return (0);
	}
	if (is_sealed(obj))
		return (0);
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int	 i, n = g_mime_multipart_get_count(mp);
		char	*gone = xcalloc((size_t)n + 1, 1);

		mp->write_end_boundary = TRUE;	/* close what we rewrite */
		for (i = 0; i < n; i++)
			gone[i] = (char)strip(rw, g_mime_multipart_get_part(mp, i),
			    depth + 1);
		for (i = n - 1; i >= 0; i--)
			if (gone[i])
				g_object_unref(g_mime_multipart_remove_at(mp, i));
		free(gone);
		return (rw->env->strip && g_mime_multipart_get_count(mp) == 0);
	}
	if (is_text(obj))
		return (0);
	if (GMIME_IS_PART(obj) && is_type(obj, "application", "json") &&
	    note(rw, GMIME_PART(obj)))
		return (1);
	if (!rw->env->strip)
		return (0);
	return (park(rw, obj) == 0);
}

/* find_main - the part that carries the banner: a text part, or a
 * multipart/alternative holding one; NULL if none */
static GMimeObject *
find_main(GMimeObject *obj, int depth)
{
	if (depth > 64 || is_sealed(obj))
		return (NULL);
	if (is_text(obj))
		return (obj);
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

/* wrap - put header and footer into the main part (every alternative) */
static void
wrap(struct rw *rw, GMimeObject *obj, int depth)
{
	if (depth > 64 || is_sealed(obj))
		return;
	if (is_text(obj)) {
		if (is_type(obj, "text", "html"))
			wrap_html(rw, GMIME_PART(obj));
		else
			wrap_plain(rw, GMIME_PART(obj));
		return;
	}
	if (is_type(obj, "multipart", "alternative")) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int	 i, n = g_mime_multipart_get_count(mp);

		for (i = 0; i < n; i++) {
			GMimeObject *m = find_main(g_mime_multipart_get_part(mp, i),
			    depth + 1);

			if (m)
				wrap(rw, m, depth + 1);
		}
	}
}

/* banner_part - a fresh text/plain part with the header and footer */
static GMimeObject *
banner_part(struct rw *rw)
{
	GMimeTextPart *tp = g_mime_text_part_new_with_subtype("plain");
	char	*att = attachments_block(rw, 0);
	char	*hdr = expand(rw, rw->env->tmpl->text_header, 0, att);
	char	*ftr = expand(rw, rw->env->tmpl->text_footer, 0, att);
	char	*all = g_strconcat(hdr, ftr, NULL);

	set_text(GMIME_PART(tp), all);
	g_free(all);
	g_free(att);
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
	int	 top_gone = 0, body_changed = 0;

	memset(out, 0, sizeof(*out));
	memset(&rw, 0, sizeof(rw));
	rw.env = env;
	rw.res = out;
	rw.status = REWRITE_OK;

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
		reply_headers(&rw, h, nh);
		goto sort;
	}

	forward_headers(&rw, h, nh);
	if (rw.failed)
		goto fail;
	top = g_mime_message_get_mime_part(m);
	if (top != NULL) {
		struct measure ms = { 0, 0, REWRITE_MAX_PARTS,
		    env->max_depth > 0 ? env->max_depth : 64 };

		measure(top, 1, &ms);
		if (ms.depth > ms.max_depth) {
			out->why = "MIME nesting too deep";
			rw.status = REWRITE_TOO_DEEP;
			goto done;
		}
		if (ms.parts > ms.max_parts) {
			out->why = "too many MIME parts";
			rw.status = REWRITE_TOO_MANY_PARTS;
			goto done;
		}
	}
	if (top != NULL && is_sealed(top))
		goto sort;		/* signed or encrypted: body as it was */
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
	if (top != NULL)
		top_gone = strip(&rw, top, 1);
	if (rw.status != REWRITE_OK) {
		out->why = rw.status == REWRITE_TOO_DEEP ?
		    "MIME nesting too deep" : "rewrite failed";
		goto done;
	}
	if (rw.failed)
		goto fail;
	if (top == NULL || top_gone) {
		GMimeObject *bp = banner_part(&rw);

		g_mime_message_set_mime_part(m, bp);
		g_object_unref(bp);
	} else {
		GMimeObject *main = find_main(top, 1);

		if (main)
			wrap(&rw, main, 1);
		else if (GMIME_IS_MULTIPART(top) && !is_sealed(top)) {
			GMimeObject *bp = banner_part(&rw);

			g_mime_multipart_insert(GMIME_MULTIPART(top), 0, bp);
			g_object_unref(bp);
		} else {
			/* a kept leaf that is not text (content policy keep):
			 * put it under a multipart/mixed behind the banner */
			GMimeMultipart *mix = g_mime_multipart_new_with_subtype("mixed");
			GMimeObject *bp = banner_part(&rw);

			g_mime_multipart_add(mix, bp);
			g_mime_multipart_add(mix, top);
			g_mime_message_set_mime_part(m, GMIME_OBJECT(mix));
			g_object_unref(bp);
			g_object_unref(mix);
		}
	}
	body_changed = 1;

	if (body_changed) {
		GMimeFormatOptions *fo = g_mime_format_options_new();
		GMimeStream *mem = g_mime_stream_mem_new();
		GByteArray *ba;

		top = g_mime_message_get_mime_part(m);
		g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
		if (g_mime_object_write_content_to_stream(top, fo, mem) < 0) {
			g_object_unref(mem);
			g_mime_format_options_free(fo);
			goto fail;
		}
		ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		out->body = xmalloc(ba->len + 1);
		memcpy(out->body, ba->data, ba->len);
		out->body_len = ba->len;
		out->body_changed = 1;
		g_object_unref(mem);
		g_mime_format_options_free(fo);
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
