/*
 * test_token.c - tokens: length, alphabet, uniqueness, uniformity, folding
 *
 * Draws TOKEN_COUNT (10^6) tokens: none may repeat (open-addressing hash
 * set over the full 50 characters), each is TOKEN_LEN characters of
 * [0-9a-z], and the symbol counts pass Pearson's chi-square test with 35
 * degrees of freedom, overall (5 * 10^7 symbols, critical value 75.1,
 * p = 10^-4) and at each of the 50 positions (10^6 symbols each, critical
 * value 90.5, p = 10^-6, so that 50 tests together fail by chance about
 * once in 20000 runs).  The same statistic on "byte % 36" without the
 * rejection step must fail: the test can see a modulo bias.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "token.h"
#include "../lib/tap.h"

#define TOKEN_COUNT	1000000
#define SET_BITS	21		/* 2^21 slots for 10^6 tokens */
#define CHI_ALL_MAX	75.1		/* df 35, p = 1e-4 */
#define CHI_POS_MAX	90.5		/* df 35, p = 1e-6 */

static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";

/* sym - index of c in the alphabet, -1 if absent */
static int
sym(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 10);
	return (-1);
}

/* chi2 - Pearson's statistic of 36 counts against a uniform spread */
static double
chi2(const uint64_t *count, uint64_t total)
{
	double	e = (double)total / 36.0, x = 0.0, d;
	int	i;

	for (i = 0; i < 36; i++) {
		d = (double)count[i] - e;
		x += d * d / e;
	}
	return (x);
}

/* hash - FNV-1a over a token */
static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (h);
}

static void
test_many(void)
{
	static uint64_t pos[TOKEN_LEN][36];
	uint64_t all[36] = { 0 };
	char	*tok;
	uint32_t *set;
	size_t	 mask = ((size_t)1 << SET_BITS) - 1, i, j, slot;
	long	 dups = 0, badlen = 0, badsym = 0, fails = 0;
	double	 x, worst = 0.0;
	int	 p, s;

	tok = malloc((size_t)TOKEN_COUNT * (TOKEN_LEN + 1));
	set = calloc(mask + 1, sizeof(*set));	/* 0 = empty, else index+1 */
	if (tok == NULL || set == NULL)
		bail("out of memory");
	for (i = 0; i < TOKEN_COUNT; i++) {
		char *t = tok + i * (TOKEN_LEN + 1);

		if (token_new(t, TOKEN_LEN + 1) != 0)
			bail("token_new failed");
		if (strlen(t) != TOKEN_LEN)
			badlen++;
		for (p = 0; p < TOKEN_LEN && t[p] != '\0'; p++) {
			if ((s = sym(t[p])) < 0) {
				badsym++;
				continue;
			}
			pos[p][s]++;
			all[s]++;
		}
		for (slot = hash(t) & mask; set[slot] != 0;
		    slot = (slot + 1) & mask) {
			j = set[slot] - 1;
			if (memcmp(tok + j * (TOKEN_LEN + 1), t,
			    TOKEN_LEN) == 0) {
				dups++;
				break;
			}
		}
		if (set[slot] == 0)
			set[slot] = (uint32_t)(i + 1);
	}
	is_int(badlen, 0, "%d tokens of exactly %d characters", TOKEN_COUNT,
	    TOKEN_LEN);
	is_int(badsym, 0, "every character in [0-9a-z]");
	is_int(dups, 0, "no duplicate among %d tokens", TOKEN_COUNT);

	x = chi2(all, (uint64_t)TOKEN_COUNT * TOKEN_LEN);
	ok(x < CHI_ALL_MAX, "symbol frequencies overall: chi2 = %.1f < %.1f "
	    "(df 35)", x, CHI_ALL_MAX);
	for (p = 0; p < TOKEN_LEN; p++) {
		x = chi2(pos[p], TOKEN_COUNT);
		if (x > worst)
			worst = x;
		if (x >= CHI_POS_MAX) {
			fails++;
			diag("position %d: chi2 = %.1f", p, x);
		}
	}
	ok(fails == 0, "symbol frequencies per position: worst chi2 = %.1f "
	    "< %.1f (df 35)", worst, CHI_POS_MAX);
	free(set);
	free(tok);
}

/* test_power - the statistic does catch a modulo bias */
static void
test_power(void)
{
	uint64_t count[36] = { 0 };
	unsigned char buf[4096];
	size_t	 n = 0, i;

	while (n < 5000000) {
		if (token_random_bytes(buf, sizeof(buf)) != 0)
			bail("token_random_bytes failed");
		for (i = 0; i < sizeof(buf); i++)
			count[buf[i] % 36]++;
		n += sizeof(buf);
	}
	ok(chi2(count, n) > CHI_ALL_MAX * 10,
	    "byte %% 36 without rejection fails the test (chi2 = %.0f)",
	    chi2(count, n));
}

static void
test_new_edges(void)
{
	char	small[TOKEN_LEN], buf[TOKEN_LEN + 1], other[TOKEN_LEN + 1];
	size_t	i;

	is_int(token_new(small, sizeof(small)), -1,
	    "token_new refuses a short buffer");
	ok(token_new(buf, sizeof(buf)) == 0 &&
	    token_new(other, sizeof(other)) == 0 && strcmp(buf, other) != 0,
	    "two tokens differ");
	for (i = 0; i < TOKEN_LEN; i++)
		if (strchr(alphabet, buf[i]) == NULL)
			break;
	is_int(i, TOKEN_LEN, "alphabet");
}

static const struct {
	const char	*name;
	const char	*input;
	const char	*want;		/* NULL: refused */
} fold_cases[] = {
	{ "lower", "abc123", "abc123" },
	{ "upper folded", "ABCXYZ", "abcxyz" },
	{ "mixed", "0aZ9Qq", "0az9qq" },
	{ "one char", "Z", "z" },
	{ "empty", "", NULL },
	{ "plus", "abc+def", NULL },
	{ "percent", "abc%41", NULL },
	{ "space", "abc def", NULL },
	{ "at", "abc@example.org", NULL },
	{ "dot", "abc.def", NULL },
	{ "dash", "abc-def", NULL },
	{ "underscore", "abc_def", NULL },
	{ "tab", "abc\tdef", NULL },
	{ "newline", "abc\n", NULL },
	{ "utf-8", "caf\xc3\xa9", NULL },
	{ "high byte", "\xff", NULL },
	{ "quote", "abc'--", NULL },
	{ "64 chars",
	  "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqr",
	  "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqr" },
	{ "65 chars",
	  "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrs",
	  NULL },
};

static void
test_fold(void)
{
	char	buf[TOKEN_MAX + 1];
	size_t	i;
	int	r;

	for (i = 0; i < sizeof(fold_cases) / sizeof(fold_cases[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		r = token_fold(buf, sizeof(buf), fold_cases[i].input);
		if (fold_cases[i].want == NULL)
			is_int(r, 0, "fold %s: refused", fold_cases[i].name);
		else if (r == 1)
			is_str(buf, fold_cases[i].want, "fold %s",
			    fold_cases[i].name);
		else
			ok(0, "fold %s: refused, want \"%s\"",
			    fold_cases[i].name, fold_cases[i].want);
	}
	is_int(token_fold(buf, 4, "abcd"), 0, "fold refuses a short buffer");
	ok(token_fold(buf, 5, "ABCD") == 1 && strcmp(buf, "abcd") == 0,
	    "fold fits an exact buffer");
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_new_edges();
	test_fold();
	test_many();
	test_power();
	return (tap_done());
}
