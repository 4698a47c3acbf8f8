/*
 * milter_fwd_body.c - the body of forwarded mail (site -> alias ->
 * owner): what is parked, noted, sealed or gets the banner
 *
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
 *     multipart/alternative) gets the banner (milter_fwd_banner.c); a
 *     message left without text gets a new text/plain part carrying it.
 *
 * Interface (milter_rewrite_int.h): forward_body() measures the MIME
 * tree against the limits, then seals, strips and puts the banner in;
 * park() keeps one part as a blob (the banner parks HTML it cannot show
 * safely).
 *
 * Failure: forward_body() returns -1 with rw->status set for a limit, or
 * rw->failed for a failed callback.  Ownership: the driver's GMime
 * message is changed in place; the blobs are recorded in rw (the driver
 * frees them), the notes in the result (new copies).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "milter_rewrite_int.h"
#include "util.h"

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

/* is_text - a part we keep and may wrap */
static int
is_text(GMimeObject *obj)
{
	return (GMIME_IS_TEXT_PART(obj) && (is_type(obj, "text", "plain") ||
	    is_type(obj, "text", "html")));
}

static const char MARK_SEALED[] = "bipostal-sealed";
static const char MARK_UNSEALED[] = "bipostal-unsealed";

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
int
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
	rc = env->blob_put(env->arg, name, type, ba->data, ba->len, b->ref,
	    sizeof(b->ref));
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

/* forward_body - strip and wrap the body of forwarded mail; 1 if the
 * body changed, 0 if not (sealed), -1 to stop (rw->status, rw->failed) */
int
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
