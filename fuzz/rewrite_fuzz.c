/*
 * rewrite_fuzz - libFuzzer target over rewrite_message(), the milter's
 * rewrite of one message, and rewrite_dsn(), its reading of a bounce
 *
 * Any byte string is a message.  Forward mode (with stripping) and reply
 * mode must each succeed or refuse with a reason, never crash, leak or
 * read out of bounds; a success must produce header edits with a name and
 * one-line values (no header smuggled in), a body when the body changed,
 * no NUL byte in a changed body's text, and nothing to apply after a
 * refusal.  rewrite_dsn must give a known kind and a status that is
 * empty or of the form d.d.d.
 *
 * Build for libFuzzer (clang):
 *	make fuzz-rewrite	(see fuzz/local.mk)
 * Built without FUZZ_LIBFUZZER, fuzz/replay.c replays tests/milter/corpus,
 * fuzz/corpus/rewrite and the files or folders given as arguments, and
 * prints TAP, which is how make check runs it.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "milter_rewrite.h"
#include "replay.h"

static char th[] = "[BIPostal] {{origin}} {{alias}}\n";
static char tf[] = "{{attachments}}{{manage_url}} {{disable_url}}\n";
static char hh[] = "<p>{{origin}} {{alias}}</p>";
static char hf[] = "<p>{{attachments}}<a href=\"{{disable_url}}\">x</a></p>";
static struct rewrite_templates tmpl = { th, tf, hh, hf };

static int
f_reply(void *arg, const char *sender, char *out, size_t len)
{
	snprintf(out, len, "r%zu@alias.test", strlen(sender));
	return (0);
}

static int
f_blob(void *arg, const char *name, const char *type,
    const unsigned char *data, size_t len, char *id, size_t idlen)
{
	if (name == NULL || type == NULL || (len > 0 && data == NULL))
		__builtin_trap();
	snprintf(id, idlen, "b%zu", len);
	return (0);
}

/* broken - report which invariant failed, then crash for the fuzzer */
static void
broken(const char *what)
{
	fprintf(stderr, "rewrite_fuzz: %s\n", what);
	__builtin_trap();
}

/* has_nul - any NUL byte in data? */
static int
has_nul(const uint8_t *data, size_t size)
{
	return (memchr(data, '\0', size) != NULL);
}

/* check - the invariants of a result */
static void
check(enum rewrite_status st, const struct rewrite_result *r)
{
	size_t	i;

	if (st != REWRITE_OK) {
		if (r->why == NULL || r->nops != 0 || r->body != NULL)
			broken("a refusal without reason, or with changes");
		return;
	}
	for (i = 0; i < r->nops; i++) {
		if (r->ops[i].name == NULL || r->ops[i].name[0] == '\0')
			broken("a header edit without a name");
		if (r->ops[i].value && strpbrk(r->ops[i].value, "\r\n"))
			broken("a header value on more than one line");
	}
	if (r->body_changed && r->body == NULL)
		broken("a changed body without bytes");
}

/* check_dsn - the invariants of rewrite_dsn */
static void
check_dsn(const struct rewrite_dsn *d)
{
	const char *p;

	if (d->kind > DSN_UNKNOWN)
		broken("a DSN kind out of range");
	if (strnlen(d->status, sizeof(d->status)) >= sizeof(d->status))
		broken("a DSN status without its NUL");
	for (p = d->status; *p; p++)
		if ((*p < '0' || *p > '9') && *p != '.')
			broken("a DSN status that is not d.d.d");
	if (d->status[0] != '\0' && d->status[0] != '2' &&
	    d->status[0] != '4' && d->status[0] != '5')
		broken("a DSN status class other than 2, 4, 5");
}

/* has_owner - the owner's address in plain bytes, any case */
static int
has_owner(const unsigned char *p, size_t n)
{
	static const char o[] = "owner@real.test";
	size_t	 i, k = sizeof(o) - 1;

	for (i = 0; i + k <= n; i++)
		if (strncasecmp((const char *)p + i, o, k) == 0)
			return (1);
	return (0);
}

/* LLVMFuzzerInitialize - GMime, once per process */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	rewrite_init();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rewrite_env env;
	struct rewrite_result r;
	struct rewrite_dsn d;
	struct rewrite_reply_out ro;
	enum rewrite_status st;

	memset(&env, 0, sizeof(env));
	env.mode = REWRITE_FORWARD;
	env.alias_addr = "tok@alias.test";
	env.origin = "shop.example";
	env.manage_url = "https://d.test/m";
	env.disable_url = "https://d.test/u";
	env.blob_url = "https://d.test/b/";
	env.brand = "BIPostal";
	env.envelope_from = "s@site.test";
	env.strip = 1;
	env.max_depth = 20;
	env.max_headers = 1000;
	env.tmpl = &tmpl;
	env.reply_addr = f_reply;
	env.blob_put = f_blob;
	st = rewrite_message(&env, data, size, &r);
	check(st, &r);
	if (st == REWRITE_OK && r.body_changed && !has_nul(data, size) &&
	    memchr(r.body, '\0', r.body_len) != NULL)
		broken("a NUL byte appeared in the rewritten body");
	rewrite_result_free(&r);

	rewrite_dsn(data, size, &d);
	check_dsn(&d);

	env.mode = REWRITE_REPLY;
	env.owner = "owner@real.test";
	env.recipient = "s@site.test";
	env.trusted_authserv = "mx.alias.test";
	env.key = (const unsigned char *)"0123456789abcdef0123456789abcdef";
	env.keylen = 32;
	memset(&ro, 0, sizeof(ro));
	env.reply_out = &ro;
	st = rewrite_message(&env, data, size, &r);
	if (st == REWRITE_OK && r.body_changed && has_owner(r.body, r.body_len))
		broken("the owner's address left in a reply body");
	check(st, &r);
	rewrite_result_free(&r);
	return (0);
}

#ifndef FUZZ_LIBFUZZER
/* fuzz_cases - the milter's own corpus, before fuzz/corpus/rewrite */
void
fuzz_cases(void)
{
	replay_path("tests/milter/corpus");
}
#endif
