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

/* addr_email_ok and addr_origin_ok: what the store, the dash and postmapd
 * accept, one row each */
static const struct {
	const char	*in;
	int		 ok;
} emails[] = {
	{ "owner@real.test", 1 },
	{ "Owner.Name+tag@Real.Test", 1 },
	{ "a@b", 1 },			/* the shortest */
	{ "o'hara@x.test", 1 },
	{ "x_y-z=w@x.test", 1 },
	{ "a@", 0 },
	{ "@b.test", 0 },
	{ "ab", 0 },
	{ "", 0 },
	{ "a@b@c.test", 0 },		/* two '@': not one plain address */
	{ "a@b, c@d", 0 },
	{ "\"a\"@b", 0 },
	{ "a b@c.test", 0 },
	{ "a\tb@c.test", 0 },
	{ "<a@b.test>", 0 },
	{ "a(x)@b.test", 0 },
	{ "a@[10.0.0.1]", 0 },
	{ "a;b@c.test", 0 },
	{ "a:b@c.test", 0 },
	{ "a\\b@c.test", 0 },
	{ "caf\xc3\xa9@x.test", 0 },	/* 8-bit */
	{ "a\x7f@b.test", 0 },
}, origins[] = {
	{ "example.com", 1 },
	{ "Shop.Example.COM", 1 },
	{ "localhost", 1 },
	{ "example.com:8443", 1 },	/* with a port */
	{ "my_site.test", 1 },
	{ "1.2.3.4", 1 },
	{ "a", 1 },
	{ "", 0 },
	{ ".example.com", 0 },
	{ "-example.com", 0 },
	{ "exa mple.com", 0 },
	{ "example.com/path", 0 },
	{ "https://example.com", 0 },
	{ "user@example.com", 0 },
	{ "ex\xc3\xa4mple.com", 0 },
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
	for (i = 0; i < sizeof(emails) / sizeof(emails[0]); i++)
		is_int(addr_email_ok(emails[i].in), emails[i].ok,
		    "email \"%s\": %s", emails[i].in,
		    emails[i].ok ? "one" : "not one");
	memset(big, 'a', EMAIL_MAX + 1);
	memcpy(big + 10, "@", 1);
	big[EMAIL_MAX] = '\0';
	ok(addr_email_ok(big), "an address of EMAIL_MAX bytes");
	big[EMAIL_MAX] = 'a';
	big[EMAIL_MAX + 1] = '\0';
	ok(!addr_email_ok(big), "one byte more: not one");
	ok(!addr_email_ok(NULL), "NULL is no address");
	for (i = 0; i < sizeof(origins) / sizeof(origins[0]); i++)
		is_int(addr_origin_ok(origins[i].in), origins[i].ok,
		    "origin \"%s\": %s", origins[i].in,
		    origins[i].ok ? "a site" : "not a site");
	memset(big, 'a', ORIGIN_MAX);
	big[ORIGIN_MAX] = '\0';
	ok(addr_origin_ok(big), "an origin of ORIGIN_MAX bytes");
	big[ORIGIN_MAX] = 'a';
	big[ORIGIN_MAX + 1] = '\0';
	ok(!addr_origin_ok(big), "one byte more: not a site");
	ok(!addr_origin_ok(NULL), "NULL is no site");
	addr_domain_of("Owner@Real.Test", tok, sizeof(tok));
	is_str(tok, "real.test", "the domain of an address, lower case");
	return (tap_done());
}
