/*
 * milter_html.c - our header and footer inside a site's HTML, proven to
 * be there by an HTML5 parse
 *
 * A site's HTML may try to hide what we add: a comment, a raw-text or
 * RCDATA element or an attribute value left open swallows it; an element
 * left open with a hiding style becomes its parent; formatting elements
 * left open are rebuilt inside it; <noscript> parses one way with
 * scripting on and another with it off.  So nothing is trusted by where
 * it was put.  html_wrap() finds the insertion points in a parse of the
 * document (gumbo: after the explicit <body> start tag, before </body>),
 * builds the result, parses that, and accepts it only when each of our
 * two containers -- divs marked data-bipostal="header-NONCE" and
 * "footer-NONCE", the nonce random per message -- is an element, the
 * only one with its mark, whose ancestors are html and body alone, and
 * whose whole subtree, and nothing outside it, comes from the bytes we
 * inserted.  Elements left open in the way are closed with end tags, at
 * most HTML_ROUNDS times; anything else fails, and the caller shows
 * html_fallback() instead: a document of our own with the text of the
 * site's, escaped.  A document with <noscript>, <select> or <frameset>
 * anywhere, or with an <svg> or <math> its own end tag did not close,
 * fails as a whole: browsers do not all parse those the way gumbo does.
 *
 * The containers carry inline styles with !important (BOX_STYLE): a
 * style attribute wins over any style sheet of the site.  What CSS on
 * the html and body elements themselves does is beyond this check.
 *
 * Limits: a document over HTML_MAX bytes is not parsed at all.  Each
 * parse allocates from an arena with a memory bound and draws on the
 * message's CPU budget (struct html_budget); over either, the allocator
 * longjmps out of gumbo and the arena is freed whole, which also spares
 * gumbo's recursive destructor a deeply nested tree.
 *
 * Ownership: char * results are new (g_free); why strings are static.
 * No global state: safe in threads.
 */
#include "config.h"

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <gumbo.h>

#include "milter_rewrite_int.h"

#define HTML_ROUNDS	3		/* tries to close what is in the way */
#define HTML_CLOSE_MAX	4096		/* bytes of end tags we may add */
#define ARENA_BASE	(16 * 1024 * 1024)	/* memory of one parse: */
#define ARENA_PER_BYTE	32		/* base + this much per input byte */
#define VERIFY_CPU_NS	(2LL * 1000 * 1000 * 1000)	/* html_verify */

/* the style of our two containers; "all:revert" first, then what a
 * client without it still needs, each !important */
#define BOX_STYLE \
	"all:revert!important;display:block!important;" \
	"visibility:visible!important;opacity:1!important;" \
	"position:relative!important;z-index:2147483647!important;" \
	"height:auto!important;max-height:none!important;" \
	"min-height:0!important;width:auto!important;" \
	"max-width:none!important;overflow:visible!important;" \
	"transform:none!important;clip-path:none!important;" \
	"clip:auto!important;filter:none!important;" \
	"content-visibility:visible!important;font-size:12px!important;" \
	"line-height:1.4!important;font-family:sans-serif!important;" \
	"color:#555!important;background:#fff!important;" \
	"text-indent:0!important;margin:0!important;padding:0!important"
#define TEXT_STYLE \
	"all:revert!important;display:block!important;" \
	"visibility:visible!important;white-space:pre-wrap!important;" \
	"font-family:sans-serif!important"

/* ------------------------------------------------------------- arena */

union blk {				/* header of one allocation */
	struct {
		union blk	*prev, *next;
		size_t		 size;
	} h;
	max_align_t	 align;
};

struct arena {
	jmp_buf		 jb;
	int		 armed;		/* inside gumbo: may longjmp */
	union blk	*head;
	size_t		 live, max_live;
	unsigned long	 nalloc;
	long long	 t0, limit;	/* thread CPU ns */
};

/* cpu_ns - this thread's CPU time */
static long long
cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return (0);
	return ((long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

/* arena_over - leave the parse; the arena is freed by its owner */
static void __attribute__((noreturn))
arena_over(struct arena *a)
{
	a->armed = 0;
	longjmp(a->jb, 1);
}

/* arena_alloc - gumbo's allocator: within the bounds, or out */
static void *
arena_alloc(void *ud, size_t n)
{
	struct arena *a = ud;
	union blk *b;

	if (n > a->max_live - a->live)
		arena_over(a);
	if ((++a->nalloc & 1023) == 0 && cpu_ns() - a->t0 > a->limit)
		arena_over(a);
	if ((b = malloc(sizeof(*b) + n)) == NULL)
		arena_over(a);
	b->h.size = n;
	b->h.prev = NULL;
	b->h.next = a->head;
	if (a->head)
		a->head->h.prev = b;
	a->head = b;
	a->live += n;
	return (b + 1);
}

/* arena_dealloc - gumbo's deallocator */
static void
arena_dealloc(void *ud, void *p)
{
	struct arena *a = ud;
	union blk *b;

	if (p == NULL)
		return;
	b = (union blk *)p - 1;
	if (b->h.prev)
		b->h.prev->h.next = b->h.next;
	else
		a->head = b->h.next;
	if (b->h.next)
		b->h.next->h.prev = b->h.prev;
	a->live -= b->h.size;
	free(b);
}

/* arena_free - everything gumbo still holds (NULL is fine) */
static void
arena_free(struct arena *a)
{
	union blk *b, *next;

	if (a == NULL)
		return;
	for (b = a->head; b != NULL; b = next) {
		next = b->h.next;
		free(b);
	}
	a->head = NULL;
	a->live = 0;
}

/* parse - doc as an HTML5 document within the budget; the tree, or NULL
 * when the budget ran out; arena_free(a) releases it either way */
static GumboOutput *
parse(struct arena *a, const char *doc, size_t len, struct html_budget *bud)
{
	GumboOptions opt = kGumboDefaultOptions;
	GumboOutput *volatile out = NULL;
	long long used;

	memset(a, 0, sizeof(*a));
	if (len > HTML_MAX || bud->cpu_ns <= 0)
		return (NULL);
	a->max_live = ARENA_BASE + ARENA_PER_BYTE * len;
	a->limit = bud->cpu_ns;
	a->t0 = cpu_ns();
	opt.allocator = arena_alloc;
	opt.deallocator = arena_dealloc;
	opt.userdata = a;
	opt.max_errors = 0;		/* we need the tree, not the errors */
	if (setjmp(a->jb) == 0) {
		a->armed = 1;
		out = gumbo_parse_with_options(&opt, doc, len);
		a->armed = 0;
	} else
		out = NULL;
	used = cpu_ns() - a->t0;
	bud->cpu_ns -= used > 0 ? used : 0;
	return (out);
}

/* ------------------------------------------------------------- nodes */

/* children - a node's children (none for text) */
static const GumboVector *
children(const GumboNode *n)
{
	if (n->type == GUMBO_NODE_DOCUMENT)
		return (&n->v.document.children);
	if (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE)
		return (&n->v.element.children);
	return (NULL);
}

/* is_elem - an element (a template is one too) */
static int
is_elem(const GumboNode *n)
{
	return (n != NULL && (n->type == GUMBO_NODE_ELEMENT ||
	    n->type == GUMBO_NODE_TEMPLATE));
}

/* is_html - an HTML element with this tag */
static int
is_html(const GumboNode *n, GumboTag tag)
{
	return (is_elem(n) && n->v.element.tag == tag &&
	    n->v.element.tag_namespace == GUMBO_NAMESPACE_HTML);
}

/* node_pos - where in the input a node came from */
static size_t
node_pos(const GumboNode *n)
{
	if (is_elem(n))
		return (n->v.element.start_pos.offset);
	if (n->type == GUMBO_NODE_DOCUMENT)
		return (SIZE_MAX);
	return (n->v.text.start_pos.offset);
}

/* walk_next - the node after n in document order within root (n's
 * subtree first); NULL at the end.  No recursion: a tree may be as deep
 * as the input is long. */
static const GumboNode *
walk_next(const GumboNode *root, const GumboNode *n)
{
	const GumboVector *c = children(n);

	if (c != NULL && c->length > 0)
		return (c->data[0]);
	while (n != root && n->parent != NULL) {
		const GumboVector *sib = children(n->parent);
		size_t	 i = n->index_within_parent + 1;

		if (sib != NULL && i < sib->length)
			return (sib->data[i]);
		n = n->parent;
	}
	return (NULL);
}

/* end_tag - "</name>" that closes element n, appended to out; -1 when
 * its name is not one an end tag can carry */
static int
end_tag(const GumboNode *n, GString *out)
{
	const char *name = gumbo_normalized_tagname(n->v.element.tag);
	GumboStringPiece piece;
	size_t	 i, len;

	if (name != NULL && *name != '\0') {
		len = strlen(name);
	} else {
		piece = n->v.element.original_tag;
		if (piece.length == 0)
			return (-1);
		gumbo_tag_from_original_text(&piece);
		name = piece.data;
		len = piece.length;
	}
	if (len == 0 || len > 64 || !g_ascii_isalpha(name[0]))
		return (-1);
	for (i = 0; i < len; i++)
		if (!g_ascii_isalnum(name[i]) && name[i] != '-')
			return (-1);
	g_string_append(out, "</");
	g_string_append_len(out, name, (gssize)len);
	g_string_append_c(out, '>');
	return (0);
}

/* ------------------------------------------------------------- check */

struct box {				/* one of our containers in a parse */
	size_t		 off, len;	/* the bytes we inserted for it */
	char		 mark[80];	/* "header-NONCE" */
	const GumboNode	*node;		/* the element carrying the mark */
	int		 found;		/* elements carrying it */
	size_t		 ours;		/* nodes made from our bytes, anywhere */
	GString		*close;		/* end tags that would free it */
};

enum verdict {
	CHECK_OK = 0,
	CHECK_REPAIR,			/* box->close says what to add */
	CHECK_FAIL,
};

/* in_box - does input offset pos fall in the box's bytes? */
static int
in_box(const struct box *b, size_t pos)
{
	return (pos >= b->off && pos - b->off < b->len);
}

/* hazard - an element browsers may parse otherwise than gumbo does */
static const char *
hazard(const GumboNode *n)
{
	const GumboElement *e = &n->v.element;
	const GumboStringPiece *ot = &e->original_tag;

	switch (e->tag) {
	case GUMBO_TAG_NOSCRIPT:
		return ("noscript (parsed otherwise with scripting on)");
	case GUMBO_TAG_SELECT:
		return ("select (parsed otherwise by newer browsers)");
	case GUMBO_TAG_FRAMESET:
		return ("frameset");
	case GUMBO_TAG_SVG:
	case GUMBO_TAG_MATH:
		/* foreign content closed by something else than its end
		 * tag (or "/>"): where it ends is parser lore */
		if ((n->parse_flags & GUMBO_INSERTION_IMPLICIT_END_TAG) &&
		    !(ot->length >= 2 && ot->data[ot->length - 2] == '/'))
			return ("svg or math left open");
		return (NULL);
	default:
		if (n->parse_flags & GUMBO_INSERTION_FROM_ISINDEX)
			return ("isindex");
		return (NULL);
	}
}

/* scan - one pass over the whole tree: hazards, our marks, and how many
 * nodes each box's bytes made (html, head and body may be implied by our
 * first tag: not counted) */
static const char *
scan(const GumboOutput *out, struct box *bx, int nbox)
{
	const GumboNode *n;
	const GumboAttribute *at;
	const char *why;
	int	 k;

	for (n = out->document; n != NULL; n = walk_next(out->document, n)) {
		if (is_elem(n)) {
			if ((why = hazard(n)) != NULL)
				return (why);
			at = gumbo_get_attribute(&n->v.element.attributes,
			    "data-bipostal");
			for (k = 0; at != NULL && k < nbox; k++)
				if (strcmp(at->value, bx[k].mark) == 0) {
					bx[k].found++;
					bx[k].node = n;
				}
			if (n->v.element.tag_namespace == GUMBO_NAMESPACE_HTML &&
			    (n->v.element.tag == GUMBO_TAG_HTML ||
			    n->v.element.tag == GUMBO_TAG_HEAD ||
			    n->v.element.tag == GUMBO_TAG_BODY))
				continue;
		}
		for (k = 0; k < nbox; k++)
			if (n->type != GUMBO_NODE_DOCUMENT && in_box(&bx[k], node_pos(n)))
				bx[k].ours++;
	}
	return (NULL);
}

/* check_box - is the box an element of body, holding our bytes alone? */
static enum verdict
check_box(struct box *b, const char **why)
{
	const GumboNode *box = b->node, *p, *n;
	const GumboElement *e;
	enum verdict v = CHECK_OK;
	size_t	 ours = 0;

	if (b->found != 1) {
		*why = b->found ? "a mark of ours twice" :
		    "our part is not an element";
		return (CHECK_FAIL);
	}
	e = &box->v.element;
	if (e->start_pos.offset != b->off || e->original_end_tag.length == 0 ||
	    e->end_pos.offset + e->original_end_tag.length != b->off + b->len ||
	    e->attributes.length != 2) {
		*why = "our part does not end where it should";
		return (CHECK_FAIL);
	}
	/* ancestors: html and body alone; what else is there, we close */
	for (p = box->parent; is_elem(p) && !is_html(p, GUMBO_TAG_BODY);
	    p = p->parent) {
		if (end_tag(p, b->close) < 0) {
			*why = "inside an element that cannot be closed";
			return (CHECK_FAIL);
		}
		v = CHECK_REPAIR;
	}
	if (!is_html(p, GUMBO_TAG_BODY) || !is_html(p->parent, GUMBO_TAG_HTML) ||
	    p->parent->parent == NULL ||
	    p->parent->parent->type != GUMBO_NODE_DOCUMENT) {
		*why = "our part is not in the body";
		return (CHECK_FAIL);
	}
	/* descendants: ours, but for formatting elements the parser
	 * rebuilt from the site's (their end tags drop them) */
	for (n = box; n != NULL; n = walk_next(box, n)) {
		if (in_box(b, node_pos(n))) {
			ours++;
			continue;
		}
		if (is_elem(n) && (n->parse_flags &
		    GUMBO_INSERTION_RECONSTRUCTED_FORMATTING_ELEMENT) &&
		    end_tag(n, b->close) == 0) {
			v = CHECK_REPAIR;
			continue;
		}
		*why = "the site's content inside our part";
		return (CHECK_FAIL);
	}
	if (ours != b->ours) {
		*why = "our content moved out of our part";
		return (CHECK_FAIL);
	}
	if (v == CHECK_REPAIR)
		*why = "elements of the site left open around our part";
	return (v);
}

/* check - both boxes in one parse of doc; CHECK_REPAIR fills their
 * close strings */
static enum verdict
check(const char *doc, size_t len, struct box *bx, int nbox,
    struct html_budget *bud, const char **why)
{
	struct arena a;
	GumboOutput *out;
	enum verdict v = CHECK_OK, w;
	int	 k;

	if ((out = parse(&a, doc, len, bud)) == NULL) {
		arena_free(&a);
		*why = "HTML over the parse budget";
		return (CHECK_FAIL);
	}
	if ((*why = scan(out, bx, nbox)) != NULL)
		v = CHECK_FAIL;
	for (k = 0; k < nbox && v != CHECK_FAIL; k++)
		if ((w = check_box(&bx[k], why)) != CHECK_OK)
			v = w;
	arena_free(&a);
	return (v);
}

/* box_init - a box for "kind-nonce" */
static void
box_init(struct box *b, const char *kind, const char *nonce)
{
	memset(b, 0, sizeof(*b));
	g_snprintf(b->mark, sizeof(b->mark), "%s-%s", kind, nonce);
	b->close = g_string_new(NULL);
}

/* box_reset - forget one parse, keep the end tags found so far */
static void
box_reset(struct box *b)
{
	b->node = NULL;
	b->found = 0;
	b->ours = 0;
}

/* box_text - our container around a fragment; new */
static char *
box_text(const struct box *b, const char *inner)
{
	return (g_strdup_printf("<div data-bipostal=\"%s\" style=\"%s\">%s</div>",
	    b->mark, BOX_STYLE, inner));
}

/* ------------------------------------------------------------- build */

/* points - where header and footer go: after the explicit <body> start
 * tag (else where the implied body began), before </body> (else at the
 * end) */
static void
points(const GumboOutput *out, size_t len, size_t *hp, size_t *fp)
{
	const GumboNode *body = NULL;
	const GumboVector *c = children(out->root);
	const GumboElement *e;
	unsigned int i;

	*hp = 0;
	*fp = len;
	for (i = 0; c != NULL && i < c->length; i++)
		if (is_html(c->data[i], GUMBO_TAG_BODY))
			body = c->data[i];
	if (body == NULL)
		return;
	e = &body->v.element;
	if (e->original_tag.length > 0 &&
	    !(body->parse_flags & GUMBO_INSERTION_IMPLIED))
		*hp = e->start_pos.offset + e->original_tag.length;
	else
		*hp = e->start_pos.offset;
	if (*hp > len)
		*hp = 0;
	if (e->original_end_tag.length > 0 && e->end_pos.offset >= *hp &&
	    e->end_pos.offset <= len)
		*fp = e->end_pos.offset;
}

/* build - doc with end tags and box before each point; the boxes learn
 * where they are; new */
static GString *
build(const char *doc, size_t len, size_t hp, size_t fp, struct box *bx,
    const char *hbox, const char *fbox)
{
	GString *o = g_string_sized_new(len + strlen(hbox) + strlen(fbox) + 64);

	g_string_append_len(o, doc, (gssize)hp);
	g_string_append_len(o, bx[0].close->str, (gssize)bx[0].close->len);
	bx[0].off = o->len;
	bx[0].len = strlen(hbox);
	g_string_append(o, hbox);
	g_string_append_len(o, doc + hp, (gssize)(fp - hp));
	g_string_append_len(o, bx[1].close->str, (gssize)bx[1].close->len);
	bx[1].off = o->len;
	bx[1].len = strlen(fbox);
	g_string_append(o, fbox);
	g_string_append_len(o, doc + fp, (gssize)(len - fp));
	return (o);
}

/* html_wrap - see milter_rewrite_int.h */
int
html_wrap(const char *doc, size_t len, const char *hdr, const char *ftr,
    const char *nonce, struct html_budget *bud, char **out, const char **why)
{
	struct arena a;
	GumboOutput *orig;
	struct box bx[2];
	char	*hbox, *fbox;
	GString	*o = NULL;
	size_t	 hp, fp;
	enum verdict v = CHECK_FAIL;
	int	 round, k;

	*out = NULL;
	*why = "HTML over the parse budget";
	if ((orig = parse(&a, doc, len, bud)) == NULL) {
		arena_free(&a);
		return (-1);
	}
	points(orig, len, &hp, &fp);
	arena_free(&a);
	box_init(&bx[0], "header", nonce);
	box_init(&bx[1], "footer", nonce);
	hbox = box_text(&bx[0], hdr);
	fbox = box_text(&bx[1], ftr);
	for (round = 0; round < HTML_ROUNDS; round++) {
		if (o != NULL)
			g_string_free(o, TRUE);
		for (k = 0; k < 2; k++)
			box_reset(&bx[k]);
		o = build(doc, len, hp, fp, bx, hbox, fbox);
		if ((v = check(o->str, o->len, bx, 2, bud, why)) != CHECK_REPAIR)
			break;
		if (bx[0].close->len + bx[1].close->len > HTML_CLOSE_MAX) {
			v = CHECK_FAIL;
			break;
		}
	}
	if (v == CHECK_OK)
		*out = g_string_free(o, FALSE);
	else
		g_string_free(o, TRUE);
	for (k = 0; k < 2; k++)
		g_string_free(bx[k].close, TRUE);
	g_free(hbox);
	g_free(fbox);
	return (v == CHECK_OK ? 0 : -1);
}

/* -------------------------------------------------------------- text */

/* skipped - an element whose content is never shown as text */
static int
skipped(const GumboNode *n)
{
	if (n->type == GUMBO_NODE_TEMPLATE)
		return (1);
	switch (n->v.element.tag) {
	case GUMBO_TAG_HEAD:
	case GUMBO_TAG_TITLE:
	case GUMBO_TAG_SCRIPT:
	case GUMBO_TAG_STYLE:
	case GUMBO_TAG_NOSCRIPT:
	case GUMBO_TAG_TEMPLATE:
		return (1);
	default:
		return (0);
	}
}

/* block - an element that starts a line of its own */
static int
block(const GumboNode *n)
{
	switch (n->v.element.tag) {
	case GUMBO_TAG_P: case GUMBO_TAG_DIV: case GUMBO_TAG_BR:
	case GUMBO_TAG_LI: case GUMBO_TAG_TR: case GUMBO_TAG_TABLE:
	case GUMBO_TAG_UL: case GUMBO_TAG_OL: case GUMBO_TAG_BLOCKQUOTE:
	case GUMBO_TAG_PRE: case GUMBO_TAG_HR: case GUMBO_TAG_H1:
	case GUMBO_TAG_H2: case GUMBO_TAG_H3: case GUMBO_TAG_H4:
	case GUMBO_TAG_H5: case GUMBO_TAG_H6: case GUMBO_TAG_SECTION:
	case GUMBO_TAG_ARTICLE: case GUMBO_TAG_HEADER: case GUMBO_TAG_FOOTER:
	case GUMBO_TAG_DL: case GUMBO_TAG_DT: case GUMBO_TAG_DD:
		return (1);
	default:
		return (0);
	}
}

/* text_add - text with its white space runs folded to one space */
static void
text_add(GString *t, const char *s)
{
	for (; *s; s++) {
		if (g_ascii_isspace(*s)) {
			if (t->len > 0 && t->str[t->len - 1] != ' ' &&
			    t->str[t->len - 1] != '\n')
				g_string_append_c(t, ' ');
		} else
			g_string_append_c(t, *s);
	}
}

/* line_end - end the current line; at most one empty line in a row */
static void
line_end(GString *t)
{
	while (t->len > 0 && t->str[t->len - 1] == ' ')
		g_string_truncate(t, t->len - 1);
	if (t->len > 0 && !(t->len >= 2 && t->str[t->len - 1] == '\n' &&
	    t->str[t->len - 2] == '\n'))
		g_string_append_c(t, '\n');
}

/* doc_text - what a reader sees of a parsed document, roughly; new */
static char *
doc_text(const GumboOutput *out)
{
	GString	*t = g_string_new(NULL);
	const GumboNode *n = out->document;
	const GumboVector *c;

	while (n != NULL) {
		/* enter n */
		if (!(is_elem(n) && skipped(n))) {
			if (n->type == GUMBO_NODE_TEXT ||
			    n->type == GUMBO_NODE_CDATA ||
			    n->type == GUMBO_NODE_WHITESPACE)
				text_add(t, n->v.text.text);
			if (is_elem(n) && block(n))
				line_end(t);
			if ((c = children(n)) != NULL && c->length > 0) {
				n = c->data[0];
				continue;
			}
		}
		/* leave n, and each parent whose last child it was */
		for (;;) {
			if (is_elem(n) && block(n))
				line_end(t);
			if (n == out->document || n->parent == NULL) {
				n = NULL;
				break;
			}
			c = children(n->parent);
			if (n->index_within_parent + 1 < c->length) {
				n = c->data[n->index_within_parent + 1];
				break;
			}
			n = n->parent;
		}
	}
	return (g_string_free(t, FALSE));
}

/* html_fallback - see milter_rewrite_int.h */
char *
html_fallback(const char *doc, size_t len, const char *hdr, const char *ftr,
    const char *nonce, struct html_budget *bud)
{
	struct arena a;
	GumboOutput *orig;
	struct box bx[2];
	char	*hbox, *fbox, *text = NULL, *esc;
	GString	*o;
	int	 k;

	if ((orig = parse(&a, doc, len, bud)) != NULL)
		text = doc_text(orig);
	arena_free(&a);
	box_init(&bx[0], "header", nonce);
	box_init(&bx[1], "footer", nonce);
	hbox = box_text(&bx[0], hdr);
	fbox = box_text(&bx[1], ftr);
	esc = g_markup_escape_text(text ? text : "", -1);
	o = g_string_new("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "</head><body>");
	g_string_append(o, hbox);
	g_string_append_printf(o, "<div style=\"%s\">%s</div>", TEXT_STYLE, esc);
	g_string_append(o, fbox);
	g_string_append(o, "</body></html>\n");
	for (k = 0; k < 2; k++)
		g_string_free(bx[k].close, TRUE);
	g_free(esc);
	g_free(text);
	g_free(hbox);
	g_free(fbox);
	return (g_string_free(o, FALSE));
}

/* html_verify - see milter_rewrite_int.h */
int
html_verify(const char *doc, size_t len, const char *nonce, const char **why)
{
	struct html_budget bud = { VERIFY_CPU_NS };
	struct arena a;
	GumboOutput *out;
	struct box bx[2];
	enum verdict v = CHECK_FAIL;
	int	 k;

	*why = "HTML over the parse budget";
	box_init(&bx[0], "header", nonce);
	box_init(&bx[1], "footer", nonce);
	/* the boxes' bytes, from where their elements start and end */
	if ((out = parse(&a, doc, len, &bud)) != NULL &&
	    (*why = scan(out, bx, 2)) == NULL) {
		*why = "our part is missing";
		v = CHECK_OK;
		for (k = 0; k < 2; k++) {
			const GumboElement *e;

			if (bx[k].found != 1) {
				v = CHECK_FAIL;
				continue;
			}
			e = &bx[k].node->v.element;
			bx[k].off = e->start_pos.offset;
			bx[k].len = e->end_pos.offset + e->original_end_tag.length -
			    e->start_pos.offset;
			box_reset(&bx[k]);
		}
	}
	arena_free(&a);
	if (v == CHECK_OK)
		v = check(doc, len, bx, 2, &bud, why);
	for (k = 0; k < 2; k++)
		g_string_free(bx[k].close, TRUE);
	return (v == CHECK_OK ? 0 : -1);
}
