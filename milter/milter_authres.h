/*
 * milter_authres.h - reading Authentication-Results header fields
 * (RFC 8601) for the decision on an owner's reply
 *
 * authres_top() finds the topmost Authentication-Results field of a
 * message (the first in header order: the one the verifier in front of
 * us added last); authres_parse() reads one field into a caller-owned
 * struct authres; authres_dmarc() turns the topmost field into the
 * answer the milter needs: did the owner's domain pass DMARC at the
 * verifier we trust?
 *
 * Failure: authres_parse() returns -1 with a static reason for anything
 * it cannot read, including a field that does not fit the fixed limits
 * below (nothing is truncated); authres_dmarc() answers AUTHRES_DMARC_TEMP
 * whenever it cannot tell, never PASS.  Ownership: authres_top() returns
 * a span borrowed from the message; everything else is written into the
 * caller's struct.  No allocation, no global state: any thread may call.
 */
#ifndef BIPOSTAL_MILTER_AUTHRES_H
#define BIPOSTAL_MILTER_AUTHRES_H

#include <stddef.h>

#define AUTHRES_ID_MAX		255	/* authserv-id */
#define AUTHRES_WORD_MAX	63	/* method, result, ptype, property */
#define AUTHRES_VALUE_MAX	255	/* reason, property value */
#define AUTHRES_RESULTS_MAX	16	/* resinfo in one field */
#define AUTHRES_PROPS_MAX	48	/* properties in one field */

struct authres_prop {
	char	 ptype[AUTHRES_WORD_MAX + 1];	/* "header", lower case */
	char	 property[AUTHRES_WORD_MAX + 1];	/* "from", lower case */
	char	 value[AUTHRES_VALUE_MAX + 1];	/* as written, unquoted */
};

struct authres_result {
	char	 method[AUTHRES_WORD_MAX + 1];	/* "dmarc", lower case */
	int	 version;			/* method-version, 0 if none */
	char	 result[AUTHRES_WORD_MAX + 1];	/* "pass", lower case */
	char	 reason[AUTHRES_VALUE_MAX + 1];	/* "" if none */
	size_t	 prop;			/* its first entry in props */
	size_t	 nprops;
};

struct authres {
	char	 id[AUTHRES_ID_MAX + 1];	/* authserv-id, unquoted */
	int	 id_plain;		/* 1: written without a quoted-pair */
	int	 version;		/* authres-version, 0 if none */
	struct authres_result results[AUTHRES_RESULTS_MAX];
	size_t	 nresults;		/* 0 for "none" */
	struct authres_prop props[AUTHRES_PROPS_MAX];
	size_t	 nprops;
};

enum authres_dmarc {
	AUTHRES_DMARC_PASS = 0,	/* dmarc=pass for the domain */
	AUTHRES_DMARC_NONE,	/* dmarc=none: the domain publishes no policy */
	AUTHRES_DMARC_FAIL,	/* dmarc=fail, or a verdict for another domain */
	AUTHRES_DMARC_TEMP,	/* no verdict: no field, not the trusted
				 * verifier's, unreadable, temperror, ... */
};

/* authres_top - the value of the first Authentication-Results field in
 * the header of msg (raw bytes; folded lines, LF or CRLF); 1 with the
 * span (without its last line end) borrowed from msg in *val, *vlen, or 0
 * when there is none before the end of the header (or before a line
 * that is no header field) */
int	authres_top(const unsigned char *msg, size_t len, const char **val,
	    size_t *vlen);

/* authres_parse - read one field value (what follows the colon); 0, or
 * -1 with a static reason in *why */
int	authres_parse(const char *val, size_t len, struct authres *out,
	    const char **why);

/* authres_prop - the value of property ptype.property of result r, or
 * NULL; borrowed from ar */
const char *authres_prop(const struct authres *ar,
	    const struct authres_result *r, const char *ptype,
	    const char *property);

/* authres_dmarc - the DMARC verdict for domain in the topmost field val
 * (NULL: the message has none) if its authserv-id is trusted; a static
 * reason in *why */
enum authres_dmarc authres_dmarc(const char *val, size_t len,
	    const char *trusted, const char *domain, const char **why);

/* authres_strdmarc - "pass", "none", "fail" or "temp" */
const char *authres_strdmarc(enum authres_dmarc);

#endif
