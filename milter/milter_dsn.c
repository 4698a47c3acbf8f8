/*
 * milter_dsn.c - what a message sent to a bounce address says
 * (rewrite_dsn, see milter_rewrite.h): the first message/delivery-status
 * part (RFC 3464), its first Action and Status fields
 *
 * Failure: none; what cannot be read is DSN_UNKNOWN.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "milter_rewrite_int.h"
#include "util.h"

/* dsn_field - the value of "name:" on line l[0..n), trimmed, into out */
static int
dsn_field(const char *l, size_t n, const char *name, char *out, size_t size)
{
	size_t	 k = strlen(name), i, j;

	if (n <= k || g_ascii_strncasecmp(l, name, k) != 0 || l[k] != ':')
		return (0);
	for (i = k + 1; i < n && (l[i] == ' ' || l[i] == '\t'); i++)
		;
	for (j = n; j > i && (l[j - 1] == ' ' || l[j - 1] == '\t' ||
	    l[j - 1] == '\r'); j--)
		;
	if (j - i >= size)
		j = i + size - 1;
	memcpy(out, l + i, j - i);
	out[j - i] = '\0';
	return (1);
}

/* dsn_status_ok - "[245].d{1,3}.d{1,3}" (RFC 3463) */
static int
dsn_status_ok(const char *s)
{
	int	 part, n;

	if (*s != '2' && *s != '4' && *s != '5')
		return (0);
	s++;
	for (part = 0; part < 2; part++) {
		if (*s++ != '.')
			return (0);
		for (n = 0; g_ascii_isdigit(*s); s++)
			n++;
		if (n < 1 || n > 3)
			return (0);
	}
	return (*s == '\0');
}

/* dsn_part - the first message/delivery-status part under obj, or NULL */
static GMimeObject *
dsn_part(GMimeObject *obj, int depth)
{
	int	 i, n;

	if (depth > 8)
		return (NULL);
	if (is_type(obj, "message", "delivery-status") ||
	    is_type(obj, "message", "global-delivery-status"))
		return (obj);
	if (!GMIME_IS_MULTIPART(obj))
		return (NULL);
	n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
	for (i = 0; i < n; i++) {
		GMimeObject *p = dsn_part(g_mime_multipart_get_part(
		    GMIME_MULTIPART(obj), i), depth + 1);

		if (p != NULL)
			return (p);
	}
	return (NULL);
}

/* rewrite_dsn - see milter_rewrite.h */
void
rewrite_dsn(const unsigned char *msg, size_t len, struct rewrite_dsn *out)
{
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *m;
	GMimeObject *top, *dp;
	const char *as;
	char	 v[64];

	memset(out, 0, sizeof(*out));
	out->kind = DSN_UNKNOWN;
	stream = g_mime_stream_mem_new_with_buffer((const char *)msg, len);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	m = g_mime_parser_construct_message(parser, NULL);
	if (m == NULL)
		goto done;
	top = g_mime_message_get_mime_part(m);
	dp = top != NULL ? dsn_part(top, 0) : NULL;
	if (dp != NULL && GMIME_IS_PART(dp)) {
		GByteArray *ba = part_bytes(GMIME_PART(dp));
		const char *p = (const char *)ba->data, *end = p + ba->len;
		int	 have_action = 0;

		out->kind = DSN_FAILED;	/* a DSN without Action: fails */
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t	 n = nl ? (size_t)(nl - p) : (size_t)(end - p);

			if (!have_action && dsn_field(p, n, "Action", v, sizeof(v))) {
				have_action = 1;
				if (g_ascii_strcasecmp(v, "delayed") == 0)
					out->kind = DSN_DELAYED;
				else if (g_ascii_strcasecmp(v, "delivered") == 0 ||
				    g_ascii_strcasecmp(v, "relayed") == 0 ||
				    g_ascii_strcasecmp(v, "expanded") == 0)
					out->kind = DSN_OTHER;
			} else if (out->status[0] == '\0' &&
			    dsn_field(p, n, "Status", v, sizeof(v)) &&
			    dsn_status_ok(v))
				bp_strlcpy(out->status, v, sizeof(out->status));
			p += n + 1;
		}
		g_byte_array_free(ba, TRUE);
	} else if ((as = g_mime_object_get_header(GMIME_OBJECT(m),
	    "Auto-Submitted")) != NULL) {
		char	*t = unfold(as);

		if (g_ascii_strncasecmp(t, "no", 2) != 0 ||
		    (t[2] != '\0' && t[2] != ' ' && t[2] != ';' && t[2] != '('))
			out->kind = DSN_AUTOREPLY;
		free(t);
	}
	g_object_unref(m);
done:
	g_object_unref(parser);
	g_object_unref(stream);
}
