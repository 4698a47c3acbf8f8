/*
 * authres_fuzz - libFuzzer target over the Authentication-Results reader
 * (milter/milter_authres.c)
 *
 * Any byte string is both one field value and a whole message.  As a
 * value: authres_parse must accept it or refuse it with a reason, never
 * read outside it, and what it accepts must be consistent (counts within
 * the limits, each result's properties inside the table, keywords in
 * lower case) and canonical: written out again and read back, it gives
 * the same fields.  authres_dmarc may answer pass only for a field that
 * reads and names the trusted verifier.  As a message: authres_top must
 * answer a span inside it that starts right after a colon.
 *
 * Built with -DFUZZ_LIBFUZZER (make fuzz-authres, clang) it is a
 * libFuzzer target; built without, fuzz/replay.c replays
 * fuzz/corpus/authres, which is how make check runs it.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "milter_authres.h"
#include "replay.h"

#define TRUSTED		"mx.alias.test"
#define DOMAIN		"real.example"
#define OUT_MAX		(96 * 1024)

/* broken - say which invariant failed, then crash for the fuzzer */
static void
broken(const char *what)
{
	fprintf(stderr, "authres_fuzz: %s\n", what);
	__builtin_trap();
}

/* put_quoted - s as a quoted-string at the end of out */
static void
put_quoted(char *out, size_t size, const char *s)
{
	size_t	 n = strlen(out);

	if (n + 1 < size)
		out[n++] = '"';
	for (; *s && n + 3 < size; s++) {
		if (*s == '"' || *s == '\\')
			out[n++] = '\\';
		out[n++] = *s;
	}
	if (n + 1 < size)
		out[n++] = '"';
	out[n] = '\0';
}

/* format - a parsed field written out again */
static void
format(const struct authres *ar, char *out, size_t size)
{
	size_t	 i, k;

	out[0] = '\0';
	put_quoted(out, size, ar->id);
	if (ar->version > 0)
		snprintf(out + strlen(out), size - strlen(out), " %d", ar->version);
	if (ar->nresults == 0)
		snprintf(out + strlen(out), size - strlen(out), "; none");
	for (i = 0; i < ar->nresults; i++) {
		const struct authres_result *r = &ar->results[i];

		snprintf(out + strlen(out), size - strlen(out), ";\r\n\t%s",
		    r->method);
		if (r->version > 0)
			snprintf(out + strlen(out), size - strlen(out), "/%d",
			    r->version);
		snprintf(out + strlen(out), size - strlen(out), "=%s", r->result);
		if (r->reason[0] != '\0') {
			snprintf(out + strlen(out), size - strlen(out), " reason=");
			put_quoted(out, size, r->reason);
		}
		for (k = r->prop; k < r->prop + r->nprops; k++) {
			snprintf(out + strlen(out), size - strlen(out), " %s.%s=",
			    ar->props[k].ptype, ar->props[k].property);
			put_quoted(out, size, ar->props[k].value);
		}
	}
}

/* is_keyword - lower case letters, digits, '-' and '_', not empty */
static int
is_keyword(const char *s)
{
	if (*s == '\0')
		return (0);
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '-' || *s == '_'))
			return (0);
	return (1);
}

/* same - two parsed fields say the same */
static int
same(const struct authres *a, const struct authres *b)
{
	size_t	 i;

	if (strcmp(a->id, b->id) != 0 || a->version != b->version ||
	    a->nresults != b->nresults || a->nprops != b->nprops)
		return (0);
	for (i = 0; i < a->nresults; i++) {
		const struct authres_result *x = &a->results[i], *y = &b->results[i];

		if (strcmp(x->method, y->method) != 0 || x->version != y->version ||
		    strcmp(x->result, y->result) != 0 ||
		    strcmp(x->reason, y->reason) != 0 || x->prop != y->prop ||
		    x->nprops != y->nprops)
			return (0);
	}
	for (i = 0; i < a->nprops; i++)
		if (strcmp(a->props[i].ptype, b->props[i].ptype) != 0 ||
		    strcmp(a->props[i].property, b->props[i].property) != 0 ||
		    strcmp(a->props[i].value, b->props[i].value) != 0)
			return (0);
	return (1);
}

/* check_parsed - the invariants of an accepted field */
static void
check_parsed(const struct authres *ar)
{
	static struct authres again;
	static char out[OUT_MAX];
	const char *why;
	size_t	 i, k;

	if (ar->id[0] == '\0' || ar->nresults > AUTHRES_RESULTS_MAX ||
	    ar->nprops > AUTHRES_PROPS_MAX)
		broken("empty id or counts over the limits");
	for (i = 0, k = 0; i < ar->nresults; i++) {
		const struct authres_result *r = &ar->results[i];

		if (r->prop != k || r->prop + r->nprops > ar->nprops)
			broken("properties outside their result");
		k += r->nprops;
		if (!is_keyword(r->method) || !is_keyword(r->result))
			broken("method or result not a lower-case keyword");
	}
	if (k != ar->nprops)
		broken("properties that belong to no result");
	for (i = 0; i < ar->nprops; i++)
		if (!is_keyword(ar->props[i].ptype) ||
		    !is_keyword(ar->props[i].property))
			broken("property name not a lower-case keyword");
	format(ar, out, sizeof(out));
	if (authres_parse(out, strlen(out), &again, &why) < 0) {
		fprintf(stderr, "authres_fuzz: %s: %s\n", why, out);
		broken("a field written out again does not read");
	}
	if (!same(ar, &again)) {
		fprintf(stderr, "authres_fuzz: %s\n", out);
		broken("a field written out again reads otherwise");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct authres ar;
	const char *why = NULL, *v;
	char	*copy;
	size_t	 vlen;
	enum authres_dmarc d;

	/* a private copy of exactly size bytes: ASan sees any overread */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	if (authres_parse(copy, size, &ar, &why) == 0)
		check_parsed(&ar);
	else if (why == NULL)
		broken("a refusal without a reason");

	d = authres_dmarc(copy, size, TRUSTED, DOMAIN, &why);
	if ((unsigned)d > AUTHRES_DMARC_TEMP || why == NULL)
		broken("a verdict out of range or without a reason");
	if (d == AUTHRES_DMARC_PASS && (authres_parse(copy, size, &ar, &why) < 0 ||
	    strcasecmp(ar.id, TRUSTED) != 0 || !ar.id_plain))
		broken("pass from a field that is not the trusted verifier's");

	if (authres_top((const unsigned char *)copy, size, &v, &vlen) == 1 &&
	    (v <= copy || v > copy + size || vlen > (size_t)(copy + size - v) ||
	    v[-1] != ':'))
		broken("topmost field outside the message");
	free(copy);
	return (0);
}
