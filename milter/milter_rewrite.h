/*
 * milter_rewrite.h - the rewrite of one message, as a pure function
 *
 * rewrite_message() takes the raw bytes of a message (headers, blank line,
 * body, exactly as the MTA handed them over) and a struct rewrite_env that
 * says who the mail is for, and computes everything the milter will change:
 * a list of header edits (by name and 1-based occurrence index, the way
 * smfi_chgheader counts) and, when the body changes, the new body bytes.
 * It changes nothing by itself: the milter applies the result only after
 * the whole computation succeeded, so a message is never half rewritten.
 *
 * The only side effects go through the callbacks in the env (reply
 * addresses, blobs); with callbacks that touch no store it is a pure
 * function of its input, which is what the corpus tests and the fuzz
 * target call.  MIME is parsed and written with GMime only.
 *
 * Failure: REWRITE_TEMP for an internal error or a failed callback (the
 * milter tempfails); REWRITE_TOO_DEEP, REWRITE_TOO_MANY_PARTS and
 * REWRITE_TOO_MANY_HEADERS for the limits (the milter rejects).  MIME
 * structure is what GMime parses (its own nesting bound keeps the
 * recursive parser safe), never words counted in the raw bytes.  Ownership: the result is new;
 * rewrite_result_free() releases it (NULL is fine).  rewrite_init() must
 * run once, before any thread calls rewrite_message().
 */
#ifndef BIPOSTAL_MILTER_REWRITE_H
#define BIPOSTAL_MILTER_REWRITE_H

#include <stddef.h>
#include <stdint.h>

#define REWRITE_JSON_MAX	(64 * 1024)	/* notifications up to this */
#define REWRITE_MAX_PARTS	1000		/* MIME parts in one message */
#define REWRITE_ADDR_MAX	320		/* an address we write */

enum rewrite_mode {
	REWRITE_FORWARD = 0,	/* site -> alias -> owner */
	REWRITE_REPLY,		/* owner -> reply address -> site */
};

enum rewrite_status {
	REWRITE_OK = 0,
	REWRITE_TEMP,			/* internal error: tempfail */
	REWRITE_TOO_DEEP,		/* MIME nesting over max_depth */
	REWRITE_TOO_MANY_HEADERS,	/* over max_headers */
	REWRITE_TOO_MANY_PARTS,		/* over REWRITE_MAX_PARTS */
};

/* The four templates; placeholders {{origin}}, {{alias}}, {{manage_url}},
 * {{disable_url}}, {{attachments}} and {{notice}} (what the rewrite
 * changed that the reader must know; put after the header when its
 * template has none) are replaced (HTML-escaped in the HTML ones). */
struct rewrite_templates {
	char	*text_header;
	char	*text_footer;
	char	*html_header;
	char	*html_footer;
};

/* What the reply rewrite found, written also when it fails (reply mode,
 * env->reply_out): the From to authorise, and why a reply must not leave
 * at all (the milter answers 550 5.7.1 with that text; rewrite_message
 * then returns REWRITE_TEMP, so a caller that ignores it never sends). */
struct rewrite_reply_out {
	char		 from_addr[REWRITE_ADDR_MAX + 1];	/* the one From
						 * mailbox; "" if not exactly one */
	const char	*refused;	/* static text, or NULL */
};

struct rewrite_env {
	enum rewrite_mode mode;
	const char	*alias_addr;	/* token@alias_domain */
	const char	*origin;	/* the site the alias was made for */
	const char	*manage_url;
	const char	*disable_url;	/* one-click, signed */
	const char	*blob_url;	/* prefix; blob_put's ref is appended */
	const char	*brand;		/* "BIPostal" in display names */
	const char	*envelope_from;	/* fallback sender, "" for <> */
	int		 strip;		/* 1: park non-text parts as blobs */
	int		 max_depth;
	int		 max_headers;
	const struct rewrite_templates *tmpl;

	/* reply mode */
	const char	*owner;		/* real address: removed everywhere */
	const char	*recipient;	/* the site's address: new To: */
	const char	*trusted_authserv;	/* "" = none */
	const unsigned char *key;	/* secret key: Message-IDs (HMAC) */
	size_t		 keylen;
	struct rewrite_reply_out *reply_out;	/* may be NULL */

	/* reply_addr: the reply address for an external sender, written
	 * into out; blob_put: keep one part and write into ref what follows
	 * blob_url in the link to it (its id, and the query that signs the
	 * link: the milter writes "ID?exp=UNIXTIME&sig=HEX").  Both return
	 * 0, or -1 on a temporary failure (also when ref is too short). */
	int		(*reply_addr)(void *arg, const char *sender, char *out,
			    size_t outlen);
	int		(*blob_put)(void *arg, const char *name, const char *type,
			    const unsigned char *data, size_t len, char *ref,
			    size_t reflen);
	void		*arg;
};

struct rewrite_hdr_op {
	char	*name;
	int	 idx;		/* 1-based occurrence; 0 = add at the end */
	char	*value;		/* NULL = delete */
};

struct rewrite_note {		/* an application/json part */
	char	*data;
	size_t	 len;
};

struct rewrite_result {
	struct rewrite_hdr_op *ops;	/* changes by index first, each name in
					 * descending index order, then adds */
	size_t		 nops;
	int		 body_changed;
	unsigned char	*body;		/* new body when body_changed */
	size_t		 body_len;
	struct rewrite_note *notes;
	size_t		 nnotes;
	size_t		 nblobs;
	char		 from_addr[REWRITE_ADDR_MAX + 1];	/* From:, "" if none */
	int		 dmarc_pass;	/* trusted A-R says dmarc=pass */
	const char	*why;		/* static text when not REWRITE_OK */
};

void	rewrite_init(void);
/* rewrite_mailbox - the address of the first mailbox in the value of an
 * address header (From:), folded lines and all, into out; 0, or -1 when
 * there is none or it does not fit */
int	rewrite_mailbox(const char *raw, char *out, size_t size);
enum rewrite_status rewrite_message(const struct rewrite_env *,
	    const unsigned char *msg, size_t len, struct rewrite_result *out);
void	rewrite_result_free(struct rewrite_result *);

/* What a message sent to a bounce address says (rewrite_dsn). */
enum rewrite_dsn_kind {
	DSN_FAILED = 0,		/* a delivery status notification: failed */
	DSN_DELAYED,		/* one that says "delayed" (still trying) */
	DSN_OTHER,		/* delivered, relayed or expanded */
	DSN_AUTOREPLY,		/* no DSN, but Auto-Submitted: an auto-reply */
	DSN_UNKNOWN,		/* no DSN, no Auto-Submitted: a bounce in
				 * some other format; taken as failed */
};

struct rewrite_dsn {
	enum rewrite_dsn_kind kind;
	char	status[16];	/* "5.1.1" from the DSN, or "" */
};

/* rewrite_dsn - read the first message/delivery-status part (RFC 3464)
 * of msg (raw bytes, possibly truncated) for its first Action and Status
 * fields; never fails: what cannot be read is DSN_UNKNOWN */
void	rewrite_dsn(const unsigned char *msg, size_t len, struct rewrite_dsn *);

/* rewrite_templates_load - read header.txt, footer.txt, header.html and
 * footer.html from dir; 0, or -1 with the reason in err */
int	rewrite_templates_load(struct rewrite_templates *, const char *dir,
	    char *err, size_t errlen);
void	rewrite_templates_free(struct rewrite_templates *);

#endif
