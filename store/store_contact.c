/*
 * store_contact.c - the public store calls on an alias's contacts and
 * blocked senders: check, fold, trace, dispatch (as store.c)
 *
 * Contacts are reply addresses (store_reply_get_or_create makes one per
 * (alias, address)); store_reply_list lists an alias's.  A block is a
 * pattern on one alias:
 *   "local@domain"   that address (addr_email_ok), any case
 *   "@domain"        every address of that domain exactly: not its
 *                    subdomains (a block of @example.com leaves
 *                    mail from x@news.example.com alone); the domain is
 *                    addr_origin_ok without a port
 * Patterns are folded to lower case when stored and senders when
 * matched, so matching ignores case.  store_block_covers is the rule,
 * and store_block_match asks the store the same question in one query.
 *
 * Failures: a malformed alias token, or a block id below 1, is
 * STORE_NOTFOUND (it cannot exist); a malformed pattern is
 * STORE_INVALID; an empty sender (the null reverse path of a bounce) is
 * never blocked: STORE_NOTFOUND.
 *
 * Ownership: lists are new (free()).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

/* block_pattern_fold - a block pattern, checked and folded into buf
 * (EMAIL_MAX + 1); 0 if malformed */
static int
block_pattern_fold(char *buf, const char *p)
{
	if (p == NULL || strnlen(p, EMAIL_MAX + 1) > EMAIL_MAX)
		return (0);
	if (p[0] == '@') {
		if (!addr_origin_ok(p + 1) || strchr(p + 1, ':') != NULL)
			return (0);
	} else if (!addr_email_ok(p))
		return (0);
	bp_strlcpy(buf, p, EMAIL_MAX + 1);
	bp_lower(buf);
	return (1);
}

/* sender_split - a sender folded into snd (EMAIL_MAX + 1, "" when too
 * long) and "@" its domain into dom (EMAIL_MAX + 2, "" when none) */
static void
sender_split(const char *sender, char *snd, char *dom)
{
	const char *at = strrchr(sender, '@');

	snd[0] = dom[0] = '\0';
	if (strlen(sender) <= EMAIL_MAX) {
		bp_strlcpy(snd, sender, EMAIL_MAX + 1);
		bp_lower(snd);
	}
	if (at != NULL && at[1] != '\0' && strlen(at) <= EMAIL_MAX) {
		bp_strlcpy(dom, at, EMAIL_MAX + 2);
		bp_lower(dom);
	}
}

/* store_block_covers - does pattern (folded) cover sender */
int
store_block_covers(const char *pattern, const char *sender)
{
	char	 snd[EMAIL_MAX + 1], dom[EMAIL_MAX + 2];

	if (pattern == NULL || sender == NULL || *sender == '\0' ||
	    *pattern == '\0')
		return (0);
	sender_split(sender, snd, dom);
	return (strcmp(pattern, pattern[0] == '@' ? dom : snd) == 0);
}

/* store_reply_list - the reply addresses (contacts) of alias */
enum store_status
store_reply_list(struct store *st, const char *alias, struct reply **out,
    size_t *n)
{
	char	 key[TOKEN_MAX + 1];

	*out = NULL;
	*n = 0;
	if (!store_key(key, alias))
		return (store_trace(st, "reply_list", NULL, STORE_NOTFOUND));
	return (store_trace(st, "reply_list", key,
	    st->be->reply_list(st, key, out, n)));
}

/* store_block_add - block pattern on alias */
enum store_status
store_block_add(struct store *st, const char *alias, const char *pattern,
    struct block *out, int *created)
{
	char	 key[TOKEN_MAX + 1], pat[EMAIL_MAX + 1];
	int	 made = 0;
	enum store_status s;

	if (!store_key(key, alias))
		return (store_trace(st, "block_add", NULL, STORE_NOTFOUND));
	if (!block_pattern_fold(pat, pattern) || out == NULL)
		return (store_trace(st, "block_add", key, STORE_INVALID));
	s = st->be->block_add(st, key, pat, bp_now(), out, &made);
	if (created != NULL)
		*created = s == STORE_OK && made;
	return (store_trace(st, "block_add", key, s));
}

/* store_block_list - the blocks of alias */
enum store_status
store_block_list(struct store *st, const char *alias, struct block **out,
    size_t *n)
{
	char	 key[TOKEN_MAX + 1];

	*out = NULL;
	*n = 0;
	if (!store_key(key, alias))
		return (store_trace(st, "block_list", NULL, STORE_NOTFOUND));
	return (store_trace(st, "block_list", key,
	    st->be->block_list(st, key, out, n)));
}

/* store_block_remove - unblock one */
enum store_status
store_block_remove(struct store *st, const char *alias, int64_t id)
{
	char	 key[TOKEN_MAX + 1];

	if (!store_key(key, alias))
		return (store_trace(st, "block_remove", NULL, STORE_NOTFOUND));
	if (id <= 0)
		return (store_trace(st, "block_remove", key, STORE_NOTFOUND));
	return (store_trace(st, "block_remove", key,
	    st->be->block_remove(st, key, id)));
}

/* store_block_match - is mail from sender to alias blocked */
enum store_status
store_block_match(struct store *st, const char *alias, const char *sender,
    int64_t *id)
{
	char	 key[TOKEN_MAX + 1], snd[EMAIL_MAX + 1], dom[EMAIL_MAX + 2];

	if (!store_key(key, alias))
		return (store_trace(st, "block_match", NULL, STORE_NOTFOUND));
	if (sender == NULL || *sender == '\0')
		return (store_trace(st, "block_match", key, STORE_NOTFOUND));
	sender_split(sender, snd, dom);
	return (store_trace(st, "block_match", key,
	    st->be->block_match(st, key, snd, dom, id)));
}
