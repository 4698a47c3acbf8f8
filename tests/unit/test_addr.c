/*
 * test_addr - addr.c, the one reading of an address: every spelling
 * RFC 5321, RFC 5322 and Postfix allow, with what it names in the alias
 * domain (table-driven; the same forms go through Postfix in
 * tests/attack/catalogue.tsv)
 */
#include "config.h"

#include <string.h>

#include "addr.h"
#include "store.h"
#include "tap.h"

#define D	"alias.test"
#define TOK	"abc123xyz"

static const struct {
	const char	*in;
	enum addr_kind	 want;
	const char	*tok;		/* ADDR_ALIAS: the token */
	const char	*ext;		/* ADDR_ALIAS: the extension */
	const char	*local;		/* parsed: the local part, NULL = refused */
	const char	*domain;
} cases[] = {
	{ "<" TOK "@" D ">", ADDR_ALIAS, TOK, "", TOK, D },
	{ TOK "@" D, ADDR_ALIAS, TOK, "", TOK, D },
	{ "<\"" TOK "\"@" D ">", ADDR_ALIAS, TOK, "", TOK, D },
	{ "<\"abc\\123xyz\"@" D ">", ADDR_ALIAS, TOK, "", TOK, D },
	{ "<@relay.example:" TOK "@" D ">", ADDR_ALIAS, TOK, "", TOK, D },
	{ "<@a.example,@b.example:" TOK "@" D ">", ADDR_ALIAS, TOK, "", TOK, D },
	{ "<ABC123XYZ@" D ">", ADDR_ALIAS, TOK, "", "ABC123XYZ", D },
	{ "<" TOK "@ALIAS.Test>", ADDR_ALIAS, TOK, "", TOK, D },
	{ "<" TOK "@" D ".>", ADDR_ALIAS, TOK, "", TOK, D },
	{ "<" TOK "+orders@" D ">", ADDR_ALIAS, TOK, "orders", TOK "+orders", D },
	{ "<\"" TOK "+x y\"@" D ">", ADDR_ALIAS, TOK, "x y", TOK "+x y", D },
	{ "<" TOK "+@" D ">", ADDR_ALIAS, TOK, "", TOK "+", D },
	{ "<postmaster@" D ">", ADDR_ROLE, NULL, NULL, "postmaster", D },
	{ "<Abuse@" D ">", ADDR_ROLE, NULL, NULL, "Abuse", D },
	{ "<bounce+1+abc+00@" D ">", ADDR_BOUNCE, NULL, NULL, "bounce+1+abc+00", D },
	{ "<BOUNCE+1@" D ">", ADDR_BOUNCE, NULL, NULL, "BOUNCE+1", D },
	{ "<not-a-token@" D ">", ADDR_BAD, NULL, NULL, "not-a-token", D },
	{ "<\"tok@evil\"@" D ">", ADDR_BAD, NULL, NULL, "tok@evil", D },
	{ "<+ext@" D ">", ADDR_BAD, NULL, NULL, "+ext", D },
	{ "<" TOK "%" D "@localhost>", ADDR_OTHER, NULL, NULL, TOK "%" D, "localhost" },
	{ "<" D "!" TOK "@localhost>", ADDR_OTHER, NULL, NULL, D "!" TOK, "localhost" },
	{ "<" TOK "@[127.0.0.1]>", ADDR_OTHER, NULL, NULL, TOK, "[127.0.0.1]" },
	{ "<" TOK "@sub." D ">", ADDR_OTHER, NULL, NULL, TOK, "sub." D },
	{ "<" TOK "@" D "x>", ADDR_OTHER, NULL, NULL, TOK, D "x" },
	{ "<postmaster>", ADDR_OTHER, NULL, NULL, "postmaster", "" },
	/* not one address: refused; in the alias domain that is ADDR_BAD */
	{ "<>", ADDR_OTHER, NULL, NULL, NULL, NULL },
	{ "", ADDR_OTHER, NULL, NULL, NULL, NULL },
	{ "<\"" TOK "@" D ">", ADDR_BAD, NULL, NULL, NULL, NULL },
	{ "<a b@" D ">", ADDR_BAD, NULL, NULL, NULL, NULL },
	{ "<" TOK "@" D, ADDR_BAD, NULL, NULL, NULL, NULL },
	{ "<" TOK "@" D "..>", ADDR_OTHER, NULL, NULL, NULL, NULL },
	{ "<" TOK "@.>", ADDR_OTHER, NULL, NULL, NULL, NULL },
	{ "<@relay.example" TOK "@" D ">", ADDR_BAD, NULL, NULL, NULL, NULL },
	{ "<" TOK "\t@" D ">", ADDR_BAD, NULL, NULL, NULL, NULL },
	{ "<\"\"@" D ">", ADDR_BAD, NULL, NULL, NULL, NULL },
};

int
main(void)
{
	struct addr a;
	char	 tok[TOKEN_MAX + 1], ext[ADDR_LOCAL_MAX + 1], big[1200];
	size_t	 i;
	enum addr_kind k;
	int	 parsed;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *in = cases[i].in;

		k = addr_classify(in, strlen(in), D, &a, tok, sizeof(tok), ext,
		    sizeof(ext));
		is_int(k, cases[i].want, "%s: kind", in);
		if (cases[i].tok != NULL) {
			is_str(tok, cases[i].tok, "%s: token", in);
			is_str(ext, cases[i].ext, "%s: extension", in);
		}
		parsed = addr_parse(in, strlen(in), &a) == 0;
		is_int(parsed, cases[i].local != NULL, "%s: %s", in,
		    cases[i].local ? "parsed" : "refused");
		if (parsed && cases[i].local != NULL) {
			is_str(a.local, cases[i].local, "%s: local part", in);
			is_str(a.domain, cases[i].domain, "%s: domain", in);
		}
	}
	/* a NUL inside, and more than addr_parse reads at all */
	is_int(addr_parse(TOK "\0@" D, sizeof(TOK "\0@" D) - 1, &a), -1,
	    "a NUL byte: refused");
	memset(big, 'a', sizeof(big));
	is_int(addr_parse(big, sizeof(big), &a), -1, "1200 bytes: refused");
	ok(addr_email_ok("owner@real.test"), "a plain address is one");
	ok(!addr_email_ok("a@b, c@d"), "two addresses are not one");
	ok(!addr_email_ok("\"a\"@b"), "a quoted one is not plain");
	addr_domain_of("Owner@Real.Test", tok, sizeof(tok));
	is_str(tok, "real.test", "the domain of an address, lower case");
	return (tap_done());
}
