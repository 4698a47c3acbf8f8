/*
 * test_ct.c - ct_equal, the comparison every secret goes through
 *
 * Purpose: ct_equal(a, alen, b, blen) is 1 exactly when the two byte
 * strings are equal: same length, same bytes, NUL and 8-bit bytes
 * included, whichever position differs.  Table-driven; TAP out.
 * Interface: make check runs it (tests/security/local.mk).
 * Failure: any wrong answer is a "not ok" line; exit 1.
 * Ownership: nothing allocated but the buffers freed at the end.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "../lib/tap.h"

#define S(x)	x, sizeof(x) - 1	/* a literal and its length, NULs included */

static const struct {
	const char	*name;
	const char	*a;
	size_t		 alen;
	const char	*b;
	size_t		 blen;
	int		 want;
} cases[] = {
	{ "equal", S("0123456789abcdef"), S("0123456789abcdef"), 1 },
	{ "both empty", S(""), S(""), 1 },
	{ "one byte equal", S("x"), S("x"), 1 },
	{ "differ at the first byte", S("x123456789abcdef"), S("0123456789abcdef"), 0 },
	{ "differ at the last byte", S("0123456789abcdeF"), S("0123456789abcdef"), 0 },
	{ "differ in the middle", S("01234567X9abcdef"), S("0123456789abcdef"), 0 },
	{ "differ by one bit", S("0123456789abcdeg"), S("0123456789abcdef"), 0 },
	{ "a shorter (a prefix of b)", S("0123456789abcde"), S("0123456789abcdef"), 0 },
	{ "a longer (b a prefix of a)", S("0123456789abcdefX"), S("0123456789abcdef"), 0 },
	{ "a empty, b not", S(""), S("secret"), 0 },
	{ "b empty, a not", S("secret"), S(""), 0 },
	{ "a padded with a NUL", S("secret\0"), S("secret"), 0 },
	{ "NUL inside, equal", S("se\0ret"), S("se\0ret"), 1 },
	{ "NUL inside, differ after it", S("se\0reX"), S("se\0ret"), 0 },
	{ "8-bit bytes equal", S("\xff\x80\x01"), S("\xff\x80\x01"), 1 },
	{ "8-bit bytes differ", S("\xff\x80\x01"), S("\x7f\x80\x01"), 0 },
	{ "case differs", S("ABCDEF"), S("abcdef"), 0 },
};

int
main(void)
{
	size_t	 i, n = 4096;
	char	*x = malloc(n), *y = malloc(n);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(ct_equal(cases[i].a, cases[i].alen, cases[i].b,
		    cases[i].blen), cases[i].want, "%s", cases[i].name);

	/* long strings: every position in turn is the one that differs */
	for (i = 0; i < n; i++)
		x[i] = y[i] = (char)('a' + i % 26);
	ok(ct_equal(x, n, y, n), "4096 equal bytes");
	{
		size_t	pos, bad = 0;

		for (pos = 0; pos < n; pos++) {
			y[pos] ^= 0x20;
			if (ct_equal(x, n, y, n))
				bad++;
			y[pos] ^= 0x20;
		}
		ok(bad == 0, "4096 bytes: a difference at any position is "
		    "seen (%zu missed)", bad);
	}
	/* the lengths count, not the contents up to a NUL */
	ok(!ct_equal(x, n - 1, y, n), "4095 against 4096 bytes");
	ok(!ct_equal(x, n, y, 0), "4096 against none");
	free(x);
	free(y);
	return (tap_done());
}
