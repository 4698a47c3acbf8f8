/*
 * passthru_milter.c - the reference milter of bench/milter-bench.sh
 *
 *	passthru_milter SOCKET		(libmilter syntax: inet:PORT@127.0.0.1)
 *
 * It buffers each message body and gives it back unchanged with
 * smfi_replacebody at end of message: the least a body-rewriting milter
 * costs Postfix, to compare bipostal-milter against in the same run.
 */
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>

struct buf {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
};

/* pm_buf - the connection's buffer, made on first use */
static struct buf *
pm_buf(SMFICTX *ctx)
{
	struct buf *b = smfi_getpriv(ctx);

	if (b == NULL) {
		if ((b = calloc(1, sizeof(*b))) == NULL)
			return (NULL);
		smfi_setpriv(ctx, b);
	}
	return (b);
}

static sfsistat
pm_envfrom(SMFICTX *ctx, char **argv)
{
	struct buf *b = pm_buf(ctx);

	if (b == NULL)
		return (SMFIS_TEMPFAIL);
	b->len = 0;
	return (SMFIS_CONTINUE);
}

static sfsistat
pm_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct buf *b = pm_buf(ctx);

	if (b == NULL)
		return (SMFIS_TEMPFAIL);
	if (b->len + len > b->cap) {
		size_t	 cap = b->cap ? b->cap : 65536;
		unsigned char *p;

		while (cap < b->len + len)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL)
			return (SMFIS_TEMPFAIL);
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, chunk, len);
	b->len += len;
	return (SMFIS_CONTINUE);
}

static sfsistat
pm_eom(SMFICTX *ctx)
{
	struct buf *b = pm_buf(ctx);

	if (b == NULL || smfi_replacebody(ctx, b->p, (int)b->len) != MI_SUCCESS)
		return (SMFIS_TEMPFAIL);
	b->len = 0;
	return (SMFIS_CONTINUE);
}

static sfsistat
pm_close(SMFICTX *ctx)
{
	struct buf *b = smfi_getpriv(ctx);

	if (b != NULL) {
		free(b->p);
		free(b);
		smfi_setpriv(ctx, NULL);
	}
	return (SMFIS_CONTINUE);
}

static struct smfiDesc pm_desc = {
	"passthru", SMFI_VERSION, SMFIF_CHGBODY,
	NULL, NULL, pm_envfrom, NULL, NULL, NULL, pm_body, pm_eom, NULL,
	pm_close, NULL, NULL, NULL,
};

int
main(int argc, char **argv)
{
	if (argc != 2 || smfi_setconn(argv[1]) == MI_FAILURE ||
	    smfi_register(pm_desc) == MI_FAILURE ||
	    smfi_opensocket(1) == MI_FAILURE)
		return (1);
	return (smfi_main() == MI_SUCCESS ? 0 : 1);
}
