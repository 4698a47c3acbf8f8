/*
 * milter_reply_body.c - the body of an owner's reply (owner -> reply
 * address -> site), and where the owner's address shows
 *
 * Body.  multipart/signed (PGP or S/MIME) becomes its signed content,
 * since the signature names the owner; a stray signature or an attached
 * key is dropped; multipart/encrypted, application/pkcs7-mime and inline
 * PGP are refused: they cannot be read, and they name a key.  In every
 * text part at any depth, the owner's address becomes the alias, in any
 * case, also written with %40 or with an HTML character reference (&#64;
 * &#x40; &commat;, for any of its characters).  Content-IDs on the
 * owner's domain are mapped like Message-IDs, and their cid: links in
 * HTML with them.  Part fields other than Content-* are removed, and each
 * multipart gets a new boundary and loses its preamble and epilogue (a
 * client's boundaries identify it as well as its User-Agent does).
 * Last, the check: if the owner's address still shows in a part's
 * fields, in a decoded part or in an attached message, the reply is
 * refused rather than sent.
 *
 * Interface (milter_rewrite_int.h): reply_body() rewrites and checks the
 * body of the parsed message in place; reply_body_out() has it written
 * for the MTA, with the top part's fields; substitute() and
 * value_leaks() serve the header fields (milter_reply.c) too.
 *
 * Failure: a refusal in rp->refused, an internal failure in rp->temp, a
 * limit through stop(); reply_rewrite() turns them into the status.
 * Ownership: the message is the driver's, changed in place; what
 * substitute() returns is new (g_free); the result holds copies.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "milter_rewrite_int.h"
#include "util.h"

/* ---------------------------------------------- the owner's address */

/* hexval - the value of a hex digit, or -1 */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	c = g_ascii_tolower(c);
	return (c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1);
}

/* char_ref - an HTML character reference at s: its length and the
 * character in *c (-1 for one outside ASCII), or 0 if there is none */
static size_t
char_ref(const char *s, size_t len, int *c)
{
	static const struct {
		const char	*name;
		int		 c;
	} named[] = {
		{ "&commat;", '@' }, { "&period;", '.' }, { "&lowbar;", '_' },
		{ "&plus;", '+' }, { "&hyphen;", '-' }, { "&amp;", '&' },
	};
	size_t	 i, k, n;
	long	 v = 0;
	int	 base = 10, d, digits = 0;

	for (k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
		n = strlen(named[k].name);
		if (len >= n && g_ascii_strncasecmp(s, named[k].name, n) == 0) {
			*c = named[k].c;
			return (n);
		}
	}
	if (len < 3 || s[1] != '#')
		return (0);
	i = 2;
	if (s[2] == 'x' || s[2] == 'X') {
		base = 16;
		i = 3;
	}
	/* any number of digits, as browsers read them */
	for (; i < len; i++, digits++) {
		d = base == 16 ? hexval((unsigned char)s[i]) :
		    (s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : -1);
		if (d < 0)
			break;
		if (v <= 0x10ffff)
			v = v * base + d;
	}
	if (digits == 0)
		return (0);
	if (i < len && s[i] == ';')
		i++;
	*c = v <= 0x7f ? (int)v : -1;
	return (i);
}

/* one_char - the character written at s[i] and the bytes it takes:
 * itself, %HH, or an HTML character reference */
static size_t
one_char(const char *s, size_t len, size_t i, int *c)
{
	size_t	 n;

	if (s[i] == '%' && len - i > 2 && hexval((unsigned char)s[i + 1]) >= 0 &&
	    hexval((unsigned char)s[i + 2]) >= 0) {
		*c = 16 * hexval((unsigned char)s[i + 1]) +
		    hexval((unsigned char)s[i + 2]);
		return (3);
	}
	if (s[i] == '&' && (n = char_ref(s + i, len - i, c)) > 0)
		return (n);
	*c = (unsigned char)s[i];
	return (1);
}

/* match_at - the bytes needle takes at s[i], in any case and in any of
 * the forms one_char reads; 0 if it is not there */
static size_t
match_at(const char *s, size_t len, size_t i, const char *needle)
{
	size_t	 j = i;
	int	 c;

	if (*needle == '\0')
		return (0);
	for (; *needle; needle++) {
		if (j >= len)
			return (0);
		j += one_char(s, len, j, &c);
		if (c < 0 || g_ascii_tolower(c) !=
		    g_ascii_tolower((unsigned char)*needle))
			return (0);
	}
	return (j - i);
}

/* has_owner - the owner's address anywhere in s[0..len) */
static int
has_owner(const struct reply *rp, const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (match_at(s, len, i, rp->owner) > 0)
			return (1);
	return (0);
}

/* substitute - text with the owner's address turned into the alias
 * (and, in HTML, the mapped cid: links); new (g_free), or NULL when
 * nothing changed */
char *
substitute(const struct reply *rp, const char *text, size_t len, int html)
{
	GString *out = NULL;
	const struct sub *hit;
	size_t	 i = 0, start = 0, n = 0;
	guint	 k;

	while (i < len) {
		for (hit = NULL, k = 0; k < rp->subs->len && hit == NULL; k++) {
			const struct sub *sb = g_ptr_array_index(rp->subs, k);

			if ((html || !sb->html_only) &&
			    (n = match_at(text, len, i, sb->from)) > 0)
				hit = sb;
		}
		if (hit == NULL) {
			i++;
			continue;
		}
		if (out == NULL)
			out = g_string_sized_new(len + 64);
		g_string_append_len(out, text + start, (gssize)(i - start));
		g_string_append(out, hit->to);
		i += n;
		start = i;
	}
	if (out == NULL)
		return (NULL);
	g_string_append_len(out, text + start, (gssize)(len - start));
	return (g_string_free(out, FALSE));
}

/* value_leaks - the owner's address in a field value, as written or
 * RFC 2047-decoded */
int
value_leaks(const struct reply *rp, const char *v)
{
	char	*dec;
	int	 found;

	if (v == NULL)
		return (0);
	if (has_owner(rp, v, strlen(v)))
		return (1);
	dec = g_mime_utils_header_decode_text(NULL, v);
	found = dec != NULL && has_owner(rp, dec, strlen(dec));
	g_free(dec);
	return (found);
}

/* fields_leak - the owner's address in any field of a list */
static int
fields_leak(const struct reply *rp, GMimeHeaderList *hl)
{
	int	 i, n = hl ? g_mime_header_list_get_count(hl) : 0;

	for (i = 0; i < n; i++) {
		GMimeHeader *gh = g_mime_header_list_get_header_at(hl, i);

		if (value_leaks(rp, g_mime_header_get_raw_value(gh)) ||
		    value_leaks(rp, g_mime_header_get_value(gh)))
			return (1);
	}
	return (0);
}

/* ----------------------------------------------------------- the body */

/* is_encrypted - content that cannot be read, so cannot be checked */
static int
is_encrypted(GMimeObject *obj)
{
	return (GMIME_IS_MULTIPART_ENCRYPTED(obj) ||
	    is_type(obj, "multipart", "encrypted") ||
	    is_type(obj, "application", "pkcs7-mime") ||
	    is_type(obj, "application", "x-pkcs7-mime") ||
	    is_type(obj, "application", "pgp-encrypted"));
}

/* is_keyed - a part that names its owner's key: a signature outside
 * multipart/signed, or a key */
static int
is_keyed(GMimeObject *obj)
{
	return (is_type(obj, "application", "pgp-signature") ||
	    is_type(obj, "application", "pkcs7-signature") ||
	    is_type(obj, "application", "x-pkcs7-signature") ||
	    is_type(obj, "application", "pgp-keys"));
}

/* armored - text holding an OpenPGP block of its own (a line that
 * starts it, not one quoted from the site) */
static int
armored(const char *text)
{
	static const char begin[] = "-----BEGIN PGP ";
	const char *p;

	for (p = text; (p = strstr(p, begin)) != NULL; p++)
		if (p == text || p[-1] == '\n')
			return (1);
	return (0);
}

/* strip_fields - a part keeps only its Content-* fields */
static void
strip_fields(struct reply *rp, GMimeObject *obj)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	int	 i;

	for (i = hl ? g_mime_header_list_get_count(hl) : 0; i-- > 0;) {
		GMimeHeader *gh = g_mime_header_list_get_header_at(hl, i);

		if (g_ascii_strncasecmp(g_mime_header_get_name(gh),
		    "Content-", 8) != 0) {
			g_mime_header_list_remove_at(hl, i);
			rp->changed = 1;
		}
	}
}

/* map_cid - a Content-ID on the owner's side becomes one of ours, and
 * its cid: links with it */
static void
map_cid(struct reply *rp, GMimeObject *obj)
{
	const char *cid = g_mime_object_get_content_id(obj);
	struct sub *sb;
	char	*m;

	if (cid == NULL || !id_owners(rp, cid) || (m = id_map(rp, cid)) == NULL)
		return;
	sb = g_new0(struct sub, 1);
	sb->from = g_strdup_printf("cid:%s", cid);
	sb->to = g_strdup_printf("cid:%s", m);
	sb->html_only = 1;
	g_ptr_array_add(rp->subs, sb);
	g_mime_object_set_content_id(obj, m);
	g_free(m);
	rp->changed = 1;
}

/* inspect - count parts and levels, refuse encrypted content, and
 * (outside attached messages, which are another message's business)
 * map the owner's Content-IDs and strip part fields; -1 to stop */
static int
inspect(struct reply *rp, GMimeObject *obj, int depth, int attached)
{
	int	 max_depth = rp->rw->env->max_depth > 0 ?
		    rp->rw->env->max_depth : 64;
	int	 i, n;

	if (++rp->parts > REWRITE_MAX_PARTS) {
		stop(rp, REWRITE_TOO_MANY_PARTS, "too many MIME parts");
		return (-1);
	}
	if (depth > max_depth) {
		stop(rp, REWRITE_TOO_DEEP, "MIME nesting too deep");
		return (-1);
	}
	if (is_encrypted(obj)) {
		refuse(rp, R_ENCRYPTED);
		return (-1);
	}
	if (!attached) {
		strip_fields(rp, obj);
		map_cid(rp, obj);
		if (rp->temp != NULL)
			return (-1);
	}
	if (GMIME_IS_MULTIPART(obj)) {
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (i = 0; i < n; i++)
			if (inspect(rp, g_mime_multipart_get_part(
			    GMIME_MULTIPART(obj), i), depth + 1, attached) < 0)
				return (-1);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(obj));

		if (m != NULL && g_mime_message_get_mime_part(m) != NULL)
			return (inspect(rp, g_mime_message_get_mime_part(m),
			    depth + 1, 1));
	}
	return (0);
}

/* rewrite_text - the owner's address out of one text part */
static void
rewrite_text(struct reply *rp, GMimePart *part)
{
	char	*text = text_utf8(part), *now;

	if (armored(text))
		refuse(rp, R_PGP);
	else if ((now = substitute(rp, text, strlen(text),
	    is_type(GMIME_OBJECT(part), "text", "html"))) != NULL) {
		set_text(part, now);
		g_free(now);
		rp->changed = 1;
	}
	g_free(text);
}

static void	rewrite_multipart(struct reply *, GMimeMultipart *, int);

/* rewrite - the body under obj; what goes in obj's place: obj itself,
 * its signed content (borrowed from obj), or NULL to drop it */
static GMimeObject *
rewrite(struct reply *rp, GMimeObject *obj, int depth)
{
	if (rp->refused != NULL || rp->temp != NULL)
		return (obj);
	if (GMIME_IS_MULTIPART(obj) && is_type(obj, "multipart", "signed")) {
		rp->changed = 1;
		if (g_mime_multipart_get_count(GMIME_MULTIPART(obj)) < 1) {
			refuse(rp, R_SIGNED);
			return (obj);
		}
		return (rewrite(rp, g_mime_multipart_get_part(
		    GMIME_MULTIPART(obj), 0), depth + 1));
	}
	if (GMIME_IS_MULTIPART(obj))
		rewrite_multipart(rp, GMIME_MULTIPART(obj), depth);
	else if (GMIME_IS_TEXT_PART(obj))
		rewrite_text(rp, GMIME_PART(obj));
	else if (is_keyed(obj)) {
		rp->changed = 1;
		return (NULL);
	}
	return (obj);
}

/* rewrite_multipart - new boundary, no preamble or epilogue (unless
 * GMime found no part: then the preamble is the text), each part
 * rewritten, replaced or dropped in place */
static void
rewrite_multipart(struct reply *rp, GMimeMultipart *mp, int depth)
{
	int	 i, n = g_mime_multipart_get_count(mp);
	const char *pro = g_mime_multipart_get_prologue(mp);
	char	*now;

	g_mime_multipart_set_boundary(mp, NULL);
	mp->write_end_boundary = TRUE;
	rp->changed = 1;
	if (n == 0 && pro != NULL) {
		if ((now = substitute(rp, pro, strlen(pro), 0)) != NULL) {
			g_mime_multipart_set_prologue(mp, now);
			g_free(now);
		}
	} else
		g_mime_multipart_set_prologue(mp, NULL);
	g_mime_multipart_set_epilogue(mp, NULL);
	for (i = n - 1; i >= 0; i--) {
		GMimeObject *part = g_mime_multipart_get_part(mp, i);
		GMimeObject *now_part = rewrite(rp, part, depth + 1);

		if (now_part == NULL)
			g_object_unref(g_mime_multipart_remove_at(mp, i));
		else if (now_part != part) {
			/* now_part lives in part, which goes */
			g_object_ref(now_part);
			g_object_unref(g_mime_multipart_replace(mp, i, now_part));
			g_object_unref(now_part);
		}
	}
}

/* leaks - does the owner's address show anywhere under obj: its fields,
 * the text around parts, a decoded part, an attached message? */
static int
leaks(const struct reply *rp, GMimeObject *obj)
{
	GByteArray *ba;
	char	*t;
	int	 i, n, found;

	if (fields_leak(rp, g_mime_object_get_header_list(obj)))
		return (1);
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);

		if (value_leaks(rp, g_mime_multipart_get_prologue(mp)) ||
		    value_leaks(rp, g_mime_multipart_get_epilogue(mp)))
			return (1);
		n = g_mime_multipart_get_count(mp);
		for (i = 0; i < n; i++)
			if (leaks(rp, g_mime_multipart_get_part(mp, i)))
				return (1);
		return (0);
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(obj));

		return (m != NULL && (fields_leak(rp,
		    g_mime_object_get_header_list(GMIME_OBJECT(m))) ||
		    (g_mime_message_get_mime_part(m) != NULL &&
		    leaks(rp, g_mime_message_get_mime_part(m)))));
	}
	if (GMIME_IS_TEXT_PART(obj)) {
		t = text_utf8(GMIME_PART(obj));
		found = has_owner(rp, t, strlen(t));
		g_free(t);
		return (found);
	}
	if (GMIME_IS_PART(obj)) {
		ba = part_bytes(GMIME_PART(obj));
		found = has_owner(rp, (const char *)ba->data, ba->len);
		g_byte_array_free(ba, TRUE);
		return (found);
	}
	return (0);
}

/* reply_body - rewrite and check the body of m; the new body in the result
 * when it changed */
void
reply_body(struct reply *rp, GMimeMessage *m)
{
	GMimeObject *top = g_mime_message_get_mime_part(m), *now;

	if (top == NULL || inspect(rp, top, 1, 0) < 0)
		return;
	now = rewrite(rp, top, 1);
	if (rp->refused != NULL || rp->temp != NULL)
		return;
	if (now == NULL) {
		/* a reply that was nothing but a key: an empty text */
		GMimeTextPart *tp = g_mime_text_part_new_with_subtype("plain");

		set_text(GMIME_PART(tp), "");
		g_mime_message_set_mime_part(m, GMIME_OBJECT(tp));
		g_object_unref(tp);
	} else if (now != top) {
		/* now lives in top, which GMime lets go of first */
		g_object_ref(now);
		g_mime_message_set_mime_part(m, now);
		g_object_unref(now);
	}
	if (leaks(rp, g_mime_message_get_mime_part(m)))
		refuse(rp, R_LEAK);
}

/* reply_body_out - the new body and the top part's fields, as the MTA gets
 * them */
void
reply_body_out(struct reply *rp, GMimeMessage *m, int have_mimev)
{
	GMimeObject *top = g_mime_message_get_mime_part(m);
	GMimeFormatOptions *fo;
	char	*fields = NULL, *line, *next, *colon, *v;

	if (body_write(rp->rw->res, top) < 0) {
		rp->temp = "the body cannot be written";
		return;
	}

	/* the top part's fields (only Content-* are left: strip_fields),
	 * formatted by GMime, one field at a time */
	fo = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_UNIX);
	fields = g_mime_object_get_headers(top, fo);
	if (value_leaks(rp, fields)) {
		refuse(rp, R_LEAK);
		goto out;
	}
	for (line = fields; line != NULL && *line; line = next) {
		for (next = line; (next = strchr(next, '\n')) != NULL &&
		    (next[1] == ' ' || next[1] == '\t'); next++)
			;
		if (next != NULL)
			*next++ = '\0';
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		v = unfold(colon + 1);
		op_add(rp->rw, line, 0, v);
		free(v);
	}
	if (!have_mimev)
		op_add(rp->rw, "MIME-Version", 0, "1.0");
out:
	g_free(fields);
	g_mime_format_options_free(fo);
}
