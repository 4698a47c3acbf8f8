/*
 * milter_rewrite.c - compute the rewrite of one message (see
 * milter_rewrite.h): the driver, and what the parts of the rewrite share
 *
 * rewrite_message() parses the message once with GMime, collects its
 * header fields in arrival order, checks the header limit and hands
 * message and fields to one of the two rewrites:
 *   - forwarded mail (site -> alias -> owner): the fields in
 *     milter_fwd_headers.c, the body in milter_fwd_body.c (what is
 *     parked, noted or left sealed) and milter_fwd_banner.c (the
 *     templates around the main text; HTML through milter_html.c);
 *   - replies (owner -> reply address -> site): milter_reply.c, which
 *     changes the same parsed message in place.
 * When the body changed, body_write() makes the new body the MTA gets
 * from the top part, and the top part's fields follow it; the header
 * edits are sorted last, in the order the milter applies them.  The
 * helpers the parts share (header edits, unfolding, part contents as
 * UTF-8) live here, with rewrite_result_free().  The signature of the
 * one-click disable link is made by store/sign.c.
 *
 * Header edits count occurrences the way smfi_chgheader does: per name,
 * case-insensitively, 1-based, in the order the headers arrived.
 *
 * Failure and ownership: see milter_rewrite.h.  GMime objects live only
 * inside one call; the result holds plain malloc'ed copies.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>
#include <openssl/evp.h>
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

/* --------------------------------------------------------------- fields */

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

/* rewrite_mailbox - see milter_rewrite.h */
int
rewrite_mailbox(const char *raw, char *out, size_t size)
{
	InternetAddressList *list;
	InternetAddressMailbox *mb;
	const char *a;
	char	*v = unfold(raw);
	int	 ret = -1;

	mb = first_mailbox(v, &list);
	if (mb != NULL && (a = internet_address_mailbox_get_addr(mb)) != NULL &&
	    strlen(a) < size) {
		memcpy(out, a, strlen(a) + 1);
		ret = 0;
	}
	if (list != NULL)
		g_object_unref(list);
	free(v);
	return (ret);
}

/* ---------------------------------------------------------------- parts */

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

/* set_text - replace a text part's content by UTF-8 text, best encoding */
void
set_text(GMimePart *part, const char *text)
{
	g_mime_text_part_set_text(GMIME_TEXT_PART(part), text);
	g_mime_part_set_content_encoding(part,
	    g_mime_part_get_best_content_encoding(part,
	    GMIME_ENCODING_CONSTRAINT_7BIT));
}

/* is_type - content type test */
int
is_type(GMimeObject *obj, const char *type, const char *sub)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	return (ct != NULL && g_mime_content_type_is_type(ct, type, sub));
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
		if (ba->len > 0)	/* an empty array may have no data */
			memcpy(res->body, ba->data, ba->len);
		res->body_len = ba->len;
		res->body_changed = 1;
		rc = 0;
	}
	g_object_unref(mem);
	g_mime_format_options_free(fo);
	return (rc);
}

/* ----------------------------------------------------------- the driver */

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
