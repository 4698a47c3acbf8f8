/*
 * milter_rewrite_int.h - what the parts of the rewrite share: the driver
 * and its helpers (milter_rewrite.c), the forward rewrite
 * (milter_fwd_headers.c, milter_fwd_body.c, milter_fwd_banner.c), the
 * reply rewrite (milter_reply.c) and the reading of delivery status
 * notifications (milter_dsn.c).  Not for the milter itself: it sees
 * milter_rewrite.h.  Each section of declarations names the file that
 * defines them.
 *
 * The HTML part of the forward rewrite (milter_html.c) is declared here
 * too: it puts our header and footer into a site's HTML and proves, by
 * parsing the result, that they show.
 *
 * Ownership: struct rw lives for one rewrite_message call; struct hdr
 * holds malloc'ed copies of one original header; op_add copies name and
 * value.  Functions returning char * return new strings (free; g_free
 * for the html_ ones), those returning GByteArray a new array
 * (g_byte_array_free).
 */
#ifndef BIPOSTAL_MILTER_REWRITE_INT_H
#define BIPOSTAL_MILTER_REWRITE_INT_H

#include <gmime/gmime.h>

#include "milter_rewrite.h"

struct hdr {				/* one original header */
	char		*name;		/* copies: GMime may drop the part */
	char		*raw;
	gint64		 offset;
	int		 idx;		/* occurrence of this name, 1-based */
	int		 seq;		/* arrival order */
};

#define REWRITE_HDR_ADDRS	20	/* addresses kept in one header */
#define REWRITE_MAX_REPLIES	50	/* correspondents mapped per message */
#define REWRITE_NAME_CHARS	100	/* characters of a file name shown */
#define REWRITE_NAME_MAX	255	/* its bytes (a blob's name) */
#define REWRITE_TYPE_MAX	127	/* bytes of a blob's type */

#define HTML_MAX	(2 * 1024 * 1024)	/* larger HTML is not parsed */
#define HTML_CPU_NS	(3LL * 1000 * 1000 * 1000)	/* parsing, per message */

/* Inline styles for the elements of the HTML we add: a style attribute
 * with !important wins over any style sheet of the site. */
#define HTML_STYLE_P \
	"all:revert!important;display:block!important;" \
	"visibility:visible!important;opacity:1!important;" \
	"font-size:12px!important;color:#555!important;margin:4px 0!important"
#define HTML_STYLE_LIST \
	"all:revert!important;display:block!important;" \
	"visibility:visible!important;opacity:1!important;" \
	"font-size:12px!important;color:#555!important;" \
	"margin:4px 0!important;padding-left:20px!important"
#define HTML_STYLE_ITEM \
	"all:revert!important;display:list-item!important;" \
	"visibility:visible!important;opacity:1!important;" \
	"font-size:12px!important;color:#555!important"
#define HTML_STYLE_LINK \
	"all:revert!important;display:inline!important;" \
	"visibility:visible!important;opacity:1!important;" \
	"font-size:12px!important;color:#15c!important;" \
	"text-decoration:underline!important"

#define REWRITE_REF_MAX		255	/* blob_put's ref: id and query */

struct rw_blob {
	char	 ref[REWRITE_REF_MAX + 1];	/* the link after blob_url */
	char	*name;
	char	*type;
	size_t	 size;
};

struct rw_reply {			/* a correspondent mapped already */
	char	*addr;
	char	 reply[REWRITE_ADDR_MAX + 1];
};

struct html_budget {			/* what HTML parsing may still spend */
	long long	 cpu_ns;	/* thread CPU time */
};

struct rw {				/* state of one rewrite_message call */
	const struct rewrite_env *env;
	struct rewrite_result *res;
	struct rw_blob	*blobs;
	size_t		 nblobs;
	size_t		 nops_alloc;
	size_t		 nnotes_alloc;
	int		 failed;	/* a callback or conversion failed */
	enum rewrite_status status;
	int		 partno;
	struct rw_reply	*replies;	/* reply addresses asked for */
	size_t		 nreplies;
	GPtrArray	*mains;		/* the text parts that get the banner */
	int		 signed_opened;	/* signed parts we had to change */
	int		 signed_removed;	/* parts taken out of them */
	int		 signed_headers;	/* headers taken out of them */
	int		 html_parked;	/* HTML parts shown as text instead */
	char		 nonce[33];	/* marks our HTML containers */
	struct html_budget html;
};

/* milter_rewrite.c: the helpers every part uses.
 * op_add - append a header edit (idx 0: add; value NULL: delete) */
void	op_add(struct rw *, const char *name, int idx, const char *value);
/* unfold - a header value on one line, trimmed; new */
char	*unfold(const char *raw);
/* str_icontains - case-insensitive substring test */
int	str_icontains(const char *hay, const char *needle);
/* first_mailbox - the first mailbox of an address header, or NULL; the
 * list is new in *listp (unref it) */
InternetAddressMailbox *first_mailbox(const char *raw,
	    InternetAddressList **listp);
/* part_bytes - the decoded content of a leaf part; new */
GByteArray *part_bytes(GMimePart *);
/* text_utf8 - a text part decoded to UTF-8, LF line ends; new (g_free) */
char	*text_utf8(GMimePart *);
/* set_text - replace a text part's content by UTF-8 text */
void	set_text(GMimePart *, const char *text);
/* is_type - content type test */
int	is_type(GMimeObject *, const char *type, const char *sub);
/* body_write - top's content with CRLF line ends into the result as the
 * new body (body, body_len, body_changed); 0, or -1 if it cannot be
 * written */
int	body_write(struct rewrite_result *, GMimeObject *top);

/* milter_fwd_headers.c: forward_headers - From and every address header
 * a reply may use point to reply addresses, the headers that name other
 * addresses go, our List-Unsubscribe is added (rw->failed when a reply
 * address cannot be had) */
void	forward_headers(struct rw *, struct hdr *, size_t nh);
/* addr_header - a field that names an address to answer to; in a MIME
 * part's headers, all of them go */
int	addr_header(const char *name);

/* milter_fwd_body.c: forward_body - strip and wrap the body of m, in
 * place; 1 if the body changed, 0 if not (sealed), -1 to stop
 * (rw->status, rw->failed) */
int	forward_body(struct rw *, GMimeMessage *m);
/* park - hand one part (borrowed) to blob_put and list it for the
 * footer; suffix ends the name of an unnamed part; 0, or -1
 * (rw->failed) */
int	park(struct rw *, GMimeObject *, const char *suffix);

/* milter_fwd_banner.c: wrap_mains - the banner into every main text part
 * (rw->mains) */
void	wrap_mains(struct rw *);
/* banner_part - a fresh text/plain part with the header and footer; new
 * reference */
GMimeObject *banner_part(struct rw *);

/* milter_html.c: html_wrap - doc (UTF-8, no NUL) with hdr and ftr (our
 * HTML) in containers marked with nonce, after the body's start and
 * before its end, proven by a parse of the result to be elements of the
 * body holding only our bytes: 0 and *out (new), or -1 with *why
 * (static) when that cannot be had; the caller then parks doc and shows
 * html_fallback() */
int	html_wrap(const char *doc, size_t len, const char *hdr, const char *ftr,
	    const char *nonce, struct html_budget *, char **out, const char **why);
/* html_fallback - a document of ours: hdr, doc's text (escaped; none if
 * doc cannot be parsed within the budget), ftr; new */
char	*html_fallback(const char *doc, size_t len, const char *hdr,
	    const char *ftr, const char *nonce, struct html_budget *);
/* html_verify - the check html_wrap makes, on any document: 0 if doc
 * holds nonce's header and footer containers, each an element of the
 * body made of its own bytes alone; -1 with *why (static) */
int	html_verify(const char *doc, size_t len, const char *nonce,
	    const char **why);

/* The state of one reply rewrite (milter_reply.c, milter_reply_body.c);
 * it lives for one reply_rewrite call. */
struct sub {				/* one replacement in text */
	char	*from;
	char	*to;
	int	 html_only;		/* cid: links */
};

struct reply {				/* state of one reply rewrite */
	struct rw	*rw;
	const char	*owner;
	const char	*alias_domain;
	const char	*owner_domain;
	char		*own_rhs;	/* of the reply's Message-ID, or NULL */
	GPtrArray	*subs;		/* struct sub *; [0] is the owner's */
	int		 parts;
	int		 changed;	/* the body is written anew */
	const char	*refused;	/* R_* */
	const char	*temp;		/* internal failure */
};

/* milter_reply.c: reply_rewrite - the whole rewrite of an owner's reply:
 * m, parsed by the driver, is changed in place; h holds its nh header
 * fields (borrowed) */
void	reply_rewrite(struct rw *, GMimeMessage *m, struct hdr *, size_t nh);
/* The refusals: the text of the 550 5.7.1 */
extern const char R_ENCRYPTED[], R_PGP[], R_SIGNED[], R_LEAK[];
/* refuse - the reply must not leave; the first reason counts */
void	refuse(struct reply *, const char *why);
/* stop - end the rewrite with a status and its reason (the first counts) */
void	stop(struct reply *, enum rewrite_status, const char *why);
/* id_map - the id that stands for id on the alias domain (a MAC of it);
 * new (g_free), or NULL (rp->temp) */
char	*id_map(struct reply *, const char *id);
/* id_owners - an id the owner's side made */
int	id_owners(const struct reply *, const char *id);

/* milter_reply_body.c: reply_body - rewrite and check the body of m, in
 * place (rp->refused, rp->temp, or a limit through stop()) */
void	reply_body(struct reply *, GMimeMessage *m);
/* reply_body_out - the new body (body_write) and the top part's fields
 * into the result; MIME-Version added unless have_mimev */
void	reply_body_out(struct reply *, GMimeMessage *m, int have_mimev);
/* substitute - text with the owner's address turned into the alias (and,
 * in HTML, the mapped cid: links); new (g_free), or NULL when nothing
 * changed */
char	*substitute(const struct reply *, const char *text, size_t len,
	    int html);
/* value_leaks - the owner's address in a field value, as written or
 * RFC 2047-decoded */
int	value_leaks(const struct reply *, const char *v);

#endif
