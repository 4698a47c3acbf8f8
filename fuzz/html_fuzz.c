/*
 * html_fuzz - libFuzzer target over milter_html.c, the wrap of a site's
 * HTML in our header and footer
 *
 * Any byte string, made valid UTF-8 without NUL as the rewrite makes
 * every HTML part, is a document.  html_wrap must either refuse it with
 * a reason or return a document that passes html_verify, holds header
 * and footer, and keeps every byte of the site's document in order
 * (we add, we never drop); html_fallback must always pass html_verify.
 * Nothing may crash, leak, read out of bounds, or run past the budget.
 *
 * Build for libFuzzer (clang):
 *	make fuzz-html		(see fuzz/local.mk)
 * Built without FUZZ_LIBFUZZER, fuzz/replay.c replays fuzz/corpus/html
 * and prints TAP, which is how make check runs it.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "milter_rewrite_int.h"
#include "replay.h"

static const char hdr[] = "<p>[BIPostal] shop.example</p>";
static const char ftr[] = "<p><a href=\"https://d.test/u\">disable</a></p>";
static const char nonce[] = "00112233445566778899aabbccddeeff";

/* broken - report which invariant failed, then crash for the fuzzer */
static void
broken(const char *what, const char *why)
{
	fprintf(stderr, "html_fuzz: %s (%s)\n", what, why ? why : "");
	__builtin_trap();
}

/* subsequence - are all bytes of a, in order, in b? */
static int
subsequence(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t	 i = 0, j;

	for (j = 0; j < blen && i < alen; j++)
		if (b[j] == a[i])
			i++;
	return (i == alen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct html_budget bud = { 1000LL * 1000 * 1000 };
	char	*doc, *out = NULL, *fb;
	const char *why = NULL, *vwhy = NULL;
	size_t	 len;

	/* as text_utf8 makes it: valid UTF-8, a NUL as U+FFFD */
	doc = g_utf8_make_valid((const char *)data, (gssize)size);
	len = strlen(doc);
	if (html_wrap(doc, len, hdr, ftr, nonce, &bud, &out, &why) == 0) {
		if (out == NULL)
			broken("success without a document", NULL);
		if (html_verify(out, strlen(out), nonce, &vwhy) < 0)
			broken("a wrapped document fails the check", vwhy);
		if (strstr(out, hdr) == NULL || strstr(out, ftr) == NULL)
			broken("header or footer missing", NULL);
		if (!subsequence(doc, len, out, strlen(out)))
			broken("bytes of the site's document dropped", NULL);
	} else {
		if (out != NULL || why == NULL)
			broken("a refusal with a document or without reason", why);
	}
	g_free(out);
	bud.cpu_ns = 1000LL * 1000 * 1000;
	fb = html_fallback(doc, len, hdr, ftr, nonce, &bud);
	if (html_verify(fb, strlen(fb), nonce, &vwhy) < 0)
		broken("our own document fails the check", vwhy);
	g_free(fb);
	g_free(doc);
	return (0);
}
