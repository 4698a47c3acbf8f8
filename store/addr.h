/*
 * addr.h - one reading of an address, for every program
 *
 * addr_parse() reads a mail address the way an MTA does (RFC 5321
 * Mailbox, with what RFC 5322 and Postfix also accept): optional angle
 * brackets, an obsolete source route (@a,@b:) that is dropped, a local
 * part that may be a quoted string (quotes and backslash escapes
 * removed), a domain folded to lower case with one trailing dot dropped.
 * addr_route() then says what an address means for the alias domain:
 * an alias token (with its +extension), a signed bounce address, a role
 * address (postmaster, abuse), something malformed in the alias domain,
 * or an address elsewhere.  bipostal-postmapd, bipostal-milter and
 * bipostalctl classify recipients only through these two functions, so
 * that the socketmap and the milter can never read one address two ways.
 * addr_email_ok and addr_origin_ok are the one check of a plain email
 * address and of a site name, for the store and the dash alike.
 *
 * Failure: addr_parse returns -1 for anything that is not one address
 * (empty, bad quoting, control characters, over the RFC 5321 lengths).
 * Ownership: results are written into the caller's struct; nothing is
 * kept between calls.
 */
#ifndef BIPOSTAL_ADDR_H
#define BIPOSTAL_ADDR_H

#include <stddef.h>

#define ADDR_LOCAL_MAX	255		/* RFC 5321 says 64; our own bounce
					 * addresses and Postfix take more */
#define ADDR_DOMAIN_MAX	255		/* RFC 5321 4.5.3.1.2 */
#define ADDR_TEXT_MAX	1024		/* input we read at all */

struct addr {
	char	local[ADDR_LOCAL_MAX + 1];	/* dequoted, case kept */
	char	domain[ADDR_DOMAIN_MAX + 1];	/* lower case, "" if none */
};

enum addr_kind {
	ADDR_OTHER = 0,		/* not in the alias domain */
	ADDR_ALIAS,		/* token[+ext]@alias_domain */
	ADDR_BOUNCE,		/* bounce+...@alias_domain (check it) */
	ADDR_ROLE,		/* postmaster@ or abuse@ the alias domain */
	ADDR_BAD,		/* in the alias domain, names nothing */
};

/* addr_parse - read text[0..len) as one address into out; 0 or -1 */
int	addr_parse(const char *text, size_t len, struct addr *out);

/* addr_route - what a parsed address is for alias_domain.  ADDR_ALIAS
 * writes the lower-case token into tok (size > TOKEN_MAX) and the
 * extension after the first '+' (possibly "") into ext (size > 64);
 * ADDR_BOUNCE leaves the local part to bounce_check() */
enum addr_kind addr_route(const struct addr *, const char *alias_domain,
	    char *tok, size_t toksize, char *ext, size_t extsize);

/* addr_classify - addr_parse then addr_route; ADDR_BAD when text is
 * not one address but names the alias domain, ADDR_OTHER when it is
 * not one address at all */
enum addr_kind addr_classify(const char *text, size_t len,
	    const char *alias_domain, struct addr *out, char *tok,
	    size_t toksize, char *ext, size_t extsize);

/* addr_email_ok - one plain address Postfix reads as one, the one check
 * of an email address for every program (the store's user emails and
 * reply senders, the dash's sign-up, postmapd's answers, the
 * configuration): 3..EMAIL_MAX printable ASCII, no white space, quotes,
 * backslash or <>()[],;:, exactly one '@', neither first nor last.
 * NULL is not one. */
int	addr_email_ok(const char *);

/* addr_origin_ok - a site name an alias is made for, the one check for
 * the dash and the store: 1..ORIGIN_MAX of [0-9A-Za-z._-] and ':' (a
 * DNS name, optionally with a port), not starting with '.' or '-'.
 * NULL is not one. */
int	addr_origin_ok(const char *);

/* addr_domain_of - the domain of a plain address, lower-cased into out;
 * "" when there is none */
void	addr_domain_of(const char *email, char *out, size_t size);

#endif
