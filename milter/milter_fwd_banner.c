/*
 * milter_fwd_banner.c - the banner of forwarded mail: the templates,
 * loaded and filled, put around the main text parts
 *
 * Each main part (found by milter_fwd_body.c) is decoded, converted to
 * UTF-8, wrapped in the header and footer templates and encoded again
 * (7bit, QP or base64, whichever GMime finds best); a message left
 * without text gets a new text/plain part carrying the header and
 * footer.  HTML is wrapped by milter_html.c, which proves by parsing the
 * result that header and footer show; when it cannot, the HTML is parked
 * and replaced by our own document with its text.  The footer lists the
 * parked parts; the header says what we changed that the reader must
 * know (a signature that no longer verifies, HTML shown as text).
 *
 * Interface: wrap_mains() and banner_part() (milter_rewrite_int.h);
 * rewrite_templates_load() and rewrite_templates_free()
 * (milter_rewrite.h).
 *
 * Failure: rw->failed when a part cannot be parked or our own HTML fails
 * its check (then with rw->res->why); a template that cannot be read is
 * -1 with the reason in err.  Ownership: the templates are new strings,
 * freed by rewrite_templates_free(); what else is allocated here is
 * freed here.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "milter_rewrite_int.h"
#include "util.h"

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
		char	*url = g_strdup_printf("%s%s", rw->env->blob_url, b->ref);

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

/* wrap_mains - the banner into every main part: the HTML ones tried
 * first, since one shown as text adds a blob every footer must list */
void
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
GMimeObject *
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
