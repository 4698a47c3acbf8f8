/*
 * store_sql_contact.c - the SQL store operations on an alias's contacts
 * and blocked senders
 *
 * Part of the SQL layer of store_sql.c, whose comment gives the schema,
 * the transactions and retries, the failures and who owns what.  A
 * contact is a reply address (table replies, one per (alias, sender),
 * made by sql_reply_get_or_create): here they are only listed.  A block
 * (table blocks, sql/<engine>/005_contacts.sql) is one pattern per
 * alias, a whole address or "@domain", folded by store_contact.c; it is
 * added under its unique key (an existing one is answered as it is),
 * listed, removed by id, and matched against one sender in one query.
 * The sql_reply_list and sql_block_* operations of the backend table;
 * store_sql.h declares them.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sql_driver.h"
#include "store_sql.h"
#include "util.h"

/* sql_block_cols - declare the columns of a block */
static void
sql_block_cols(struct sql *s, struct block *b)
{
	memset(b, 0, sizeof(*b));
	sql_i64(s, &b->id);
	sql_scol(s, b->alias);
	sql_scol(s, b->pattern);
	sql_i64(s, &b->created);
}

/* sql_reply_list - the reply addresses of alias, oldest first */
enum store_status
sql_reply_list(struct store *st, const char *alias, struct reply **out,
    size_t *n)
{
	struct sql *s = SQL(st);
	struct reply rep;

	sql_q(s, SQL_REPLY_LIST, SQL_S(alias));
	memset(&rep, 0, sizeof(rep));
	sql_scol(s, rep.token);
	sql_scol(s, rep.alias);
	sql_scol(s, rep.sender);
	sql_i64(s, &rep.created);
	return (sql_list(s, &rep, sizeof(rep), SIZE_MAX, (void **)out, n));
}

/* sql_block_tx - the block of (alias, pattern), or a new one for a live
 * alias (NOTFOUND unknown, INVALID deleted) */
static enum store_status
sql_block_tx(struct sql *s, const char *alias, const char *pattern,
    int64_t now, struct block *b, int *created)
{
	enum store_status r;
	int	 status;

	*created = 0;
	sql_q(s, SQL_BLOCK_FIND, SQL_S(alias), SQL_S(pattern));
	sql_block_cols(s, b);
	if ((r = sql_row(s)) != STORE_NOTFOUND)
		return (r);

	sql_q(s, SQL_ALIAS_STATUS, SQL_S(alias));
	sql_icol(s, &status);
	if ((r = sql_row(s)) != STORE_OK)
		return (r);
	if (status == ALIAS_DELETED)
		return (STORE_INVALID);

	if ((r = sql_do(s, SQL_BLOCK_INSERT, SQL_S(alias), SQL_S(pattern),
	    SQL_I(now))) != STORE_OK)
		return (r);
	memset(b, 0, sizeof(*b));
	b->id = s->last_id;
	bp_strlcpy(b->alias, alias, sizeof(b->alias));
	bp_strlcpy(b->pattern, pattern, sizeof(b->pattern));
	b->created = now;
	*created = 1;
	return (STORE_OK);
}

/* sql_block_add - one block per (alias, pattern); a lost race is
 * answered by reading the winner's row */
enum store_status
sql_block_add(struct store *st, const char *alias, const char *pattern,
    int64_t now, struct block *b, int *created)
{
	struct sql *s = SQL(st);
	enum store_status r;
	int	 try;

	for (try = 0; try < SQL_TRIES; try++) {
		s->conflict = 0;
		if ((r = s->d->begin(s, SQL_GUARDED)) != STORE_OK)
			return (r);
		r = s->d->end(s, sql_block_tx(s, alias, pattern, now, b,
		    created));
		if (!sql_again(s, r))
			return (r);
	}
	return (STORE_TEMP);
}

/* sql_block_list - the blocks of alias, oldest first */
enum store_status
sql_block_list(struct store *st, const char *alias, struct block **out,
    size_t *n)
{
	struct sql *s = SQL(st);
	struct block b;

	sql_q(s, SQL_BLOCK_LIST, SQL_S(alias));
	sql_block_cols(s, &b);
	return (sql_list(s, &b, sizeof(b), SIZE_MAX, (void **)out, n));
}

/* sql_block_remove - NOTFOUND when alias has no block id */
enum store_status
sql_block_remove(struct store *st, const char *alias, int64_t id)
{
	struct sql *s = SQL(st);

	return (sql_matched(s, sql_do(s, SQL_BLOCK_DELETE, SQL_I(id),
	    SQL_S(alias))));
}

/* sql_block_match - a block of alias naming sender or "@" domain */
enum store_status
sql_block_match(struct store *st, const char *alias, const char *sender,
    const char *domain, int64_t *id)
{
	struct sql *s = SQL(st);
	int64_t	 found = 0;
	enum store_status r;

	sql_q(s, SQL_BLOCK_MATCH, SQL_S(alias), SQL_S(sender), SQL_S(domain));
	sql_i64(s, &found);
	if ((r = sql_row(s)) == STORE_OK && id != NULL)
		*id = found;
	return (r);
}
