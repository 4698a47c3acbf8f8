/*
 * dash_page.c - small self-contained HTML pages, for links opened from a
 * mail client
 *
 * Purpose: a person who follows the one-click link of a forwarded mail's
 * footer lands in a browser, where JSON would mean nothing.  They get one
 * page in the colours of dash/www: an inline style sheet, no script, no
 * image, no remote asset.
 *
 * Interface: dash_reply_page answers r with a page of the given title and
 * body; the body is HTML the caller built, escaping every value with
 * dash_html_escape.  The page goes out with a Content-Security-Policy that
 * allows only its own inline style and forms posting to this origin, and
 * with Referrer-Policy: no-referrer, since its address carries a token.
 *
 * Failure: out of memory is fatal (x*alloc); nothing else fails.
 *
 * Ownership: dash_reply_page copies what it is given.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dash.h"
#include "util.h"

static const char page_style[] =
	":root{--bg:#f4f6fb;--card:#fff;--text:#1b2333;--muted:#5b6578;"
	"--line:#dde2ec;--accent:#2446a8;--accent-ink:#fff;--danger:#b42318;"
	"font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\","
	"\"DejaVu Sans\",sans-serif;font-size:16px;line-height:1.45;"
	"color:var(--text);background:var(--bg)}"
	"@media (prefers-color-scheme:dark){:root{--bg:#10141c;--card:#181e2a;"
	"--text:#e6e9f0;--muted:#a0a9bb;--line:#2c3546;--accent:#7d9bff;"
	"--accent-ink:#0b1020;--danger:#ff7b72}}"
	"body{margin:0;min-height:100vh;display:flex;align-items:center;"
	"justify-content:center}"
	"main{background:var(--card);border:1px solid var(--line);"
	"border-radius:10px;padding:1.5rem;margin:1rem;max-width:34rem;"
	"box-shadow:0 1px 2px rgba(16,24,40,.06),0 1px 3px rgba(16,24,40,.08)}"
	"h1{font-size:1.4rem;line-height:1.2;margin:0 0 .75rem}"
	"p{margin:0 0 .75rem}.muted{color:var(--muted);font-size:.9rem}"
	"code{font-family:ui-monospace,Menlo,Consolas,\"DejaVu Sans Mono\","
	"monospace;word-break:break-all}"
	"button{font:inherit;font-weight:600;background:var(--accent);"
	"color:var(--accent-ink);border:0;border-radius:10px;"
	"padding:.6rem 1.2rem;cursor:pointer}"
	"button:focus-visible{outline:3px solid #f5a623;outline-offset:2px}"
	".error h1{color:var(--danger)}";

/* dash_html_escape - s with & < > " ' as entities, into out; out */
char *
dash_html_escape(const char *s, char *out, size_t size)
{
	size_t		 n = 0, k;
	const char	*e;
	char		 one[2] = {0, 0};

	if (size == 0)
		return (out);
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default: one[0] = *s; e = one; break;
		}
		k = strlen(e);
		if (n + k >= size)
			break;
		memcpy(out + n, e, k);
		n += k;
	}
	out[n] = '\0';
	return (out);
}

/* dash_reply_page - answer with a small HTML page (error pages when
 * status >= 400) */
void
dash_reply_page(struct req *r, unsigned status, const char *title,
    const char *body)
{
	char	*buf = NULL, t[256];
	size_t	 len = 0;
	FILE	*f = open_memstream(&buf, &len);

	if (f == NULL) {
		dash_error(r, 500, DASH_E_INTERNAL, "out of memory");
		return;
	}
	dash_html_escape(title, t, sizeof(t));
	fprintf(f, "<!doctype html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n"
	    "<meta name=\"referrer\" content=\"no-referrer\">\n"
	    "<title>%s - BIPostal</title>\n<style>%s</style>\n</head>\n"
	    "<body>\n<main%s>\n<h1>%s</h1>\n%s\n</main>\n</body>\n</html>\n",
	    t, page_style, status >= 400 ? " class=\"error\"" : "", t, body);
	fclose(f);
	dash_reply_raw(r, status, "text/html; charset=utf-8", buf, len, 1);
	free(buf);
	MHD_add_response_header(r->resp, "Content-Security-Policy",
	    "default-src 'none'; style-src 'unsafe-inline'; "
	    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
	MHD_add_response_header(r->resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r->resp, "X-Content-Type-Options", "nosniff");
}
