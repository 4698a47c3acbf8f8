/*
 * dash_contact.c - an alias's contacts and blocked senders:
 * /v1/aliases/{token}/contacts and /v1/aliases/{token}/blocks
 *
 * A contact is the reply address of (alias, address): mailed from the
 * owner's mailbox, it reaches address From the alias (the milter's
 * reply path, milter_eom.c).  POST .../contacts {"address"} makes it
 * (store_reply_get_or_create: 201, or 200 when it was there), within
 * the owner's user_reply_quota as the milter's are; GET lists the
 * alias's reply addresses, those the milter made for the sites that
 * wrote to it too.  Each says whether a block of the alias covers it.
 *
 * A block (store_block_add) stops mail to the alias from one address,
 * {"sender": "spam@x.example"}, or from one domain exactly (not its
 * subdomains), {"sender": "@x.example"}: the milter refuses it or
 * discards it as the owner's disabled_action says, and counts it as
 * blocked.  POST .../blocks adds (201, or 200 when it was there), GET
 * lists, DELETE .../blocks/{id} removes (204).
 *
 * Interface (dash.h): dash_h_contacts, dash_h_blocks and dash_h_block,
 * routed for a bearer token; the router hands them the path from the
 * alias token on ("TOKEN/contacts", "TOKEN/blocks/ID").
 *
 * Failure: another user's alias, a deleted one or an unknown one is 404,
 * exactly alike, so tokens cannot be probed; a malformed address or
 * pattern 400; an address on the alias domain 400 (its reply address
 * would loop); store errors through dash_store_status (503 to retry).
 *
 * Ownership: lists from the store are freed here.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "dash.h"
#include "log.h"
#include "token.h"
#include "util.h"

/* contact_alias - the caller's live alias named by the first segment of
 * path (a token, or token@alias_domain), folded into a; 0, or -1
 * answered (404) */
static int
contact_alias(struct req *r, const char *path, struct alias *a)
{
	char	 seg[TOKEN_MAX + 256 + 2];
	size_t	 n = strcspn(path, "/");

	if (n >= sizeof(seg)) {
		dash_error(r, 404, DASH_E_NOTFOUND, "alias not found");
		return (-1);
	}
	memcpy(seg, path, n);
	seg[n] = '\0';
	return (dash_own_alias(r, seg, a));
}

/* on_alias_domain - is address on the alias domain */
static int
on_alias_domain(struct req *r, const char *address)
{
	const char *at = strrchr(address, '@');

	return (at != NULL && strcasecmp(at + 1, r->cf->alias_domain) == 0);
}

/* covered - does one of the n blocks cover address */
static int
covered(const struct block *b, size_t n, const char *address)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (store_block_covers(b[i].pattern, address))
			return (1);
	return (0);
}

/* contact_json - one contact; new */
static json_t *
contact_json(struct req *r, const struct reply *rp, int blocked)
{
	char	 addr[TOKEN_MAX + 2 + 256];

	snprintf(addr, sizeof(addr), "%s@%s", rp->token, r->cf->alias_domain);
	return (json_pack("{s:s,s:s,s:I,s:b}", "address", rp->sender,
	    "reply_address", addr, "created", (json_int_t)rp->created,
	    "blocked", blocked));
}

/* block_json - one block; new */
static json_t *
block_json(const struct block *b)
{
	return (json_pack("{s:I,s:s,s:I}", "id", (json_int_t)b->id,
	    "sender", b->pattern, "created", (json_int_t)b->created));
}

/* contacts_list - GET: the alias's reply addresses, oldest first */
static void
contacts_list(struct req *r, const struct alias *a)
{
	struct reply	*rl = NULL;
	struct block	*bl = NULL;
	size_t		 n = 0, nb = 0, i;
	json_t		*arr;

	if (dash_store_status(r, store_reply_list(r->db->st, a->token, &rl, &n),
	    "alias") < 0)
		return;
	if (dash_store_status(r, store_block_list(r->db->st, a->token, &bl,
	    &nb), "alias") < 0) {
		free(rl);
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, contact_json(r, &rl[i],
		    covered(bl, nb, rl[i].sender)));
	free(rl);
	free(bl);
	dash_reply_json(r, 200, json_pack("{s:o}", "contacts", arr));
}

/* contacts_add - POST {"address"}: the reply address for it */
static void
contacts_add(struct req *r, const struct alias *a)
{
	struct store_usage u;
	struct reply	 rp;
	struct block	*bl = NULL;
	size_t		 nb = 0;
	const char	*addr;
	json_t		*b;
	enum store_status s;
	int		 blocked;

	if ((b = dash_body_json(r)) == NULL)
		return;
	addr = json_string_value(json_object_get(b, "address"));
	if (!addr_email_ok(addr) || on_alias_domain(r, addr)) {
		dash_error(r, 400, DASH_E_PARAM, "address: one plain email "
		    "address, not on the alias domain, is required");
		json_decref(b);
		return;
	}
	s = store_reply_find(r->db->st, a->token, addr, &rp);
	if (s == STORE_NOTFOUND) {
		s = store_usage(r->db->st, r->user.id, &u);
		if (s == STORE_OK && u.replies >= r->cf->user_reply_quota) {
			dash_error(r, 403, DASH_E_FORBIDDEN, "reply address "
			    "quota reached (%ld)", r->cf->user_reply_quota);
			json_decref(b);
			return;
		}
		if (s == STORE_OK)
			s = store_reply_get_or_create(r->db->st, a->token, addr,
			    &rp);
		if (s == STORE_OK)
			s = STORE_NOTFOUND;	/* made now: 201 below */
		else if (s == STORE_NOTFOUND)
			s = STORE_TEMP;		/* the alias went meanwhile */
	} else if (s == STORE_OK)
		s = STORE_EXISTS;		/* there already: 200 */
	json_decref(b);
	if (s != STORE_NOTFOUND && s != STORE_EXISTS) {
		dash_store_status(r, s, "contact");
		return;
	}
	if (dash_store_status(r, store_block_list(r->db->st, a->token, &bl,
	    &nb), "alias") < 0)
		return;
	blocked = covered(bl, nb, rp.sender);
	free(bl);
	if (s == STORE_NOTFOUND)
		dash_metrics_inc("contacts_created");
	dash_reply_json(r, s == STORE_NOTFOUND ? 201 : 200,
	    contact_json(r, &rp, blocked));
}

/* dash_h_contacts - GET, POST /v1/aliases/{token}/contacts */
void
dash_h_contacts(struct req *r, const char *path)
{
	struct alias	 a;

	if (contact_alias(r, path, &a) < 0)
		return;
	if (strcmp(r->method, "GET") == 0)
		contacts_list(r, &a);
	else
		contacts_add(r, &a);
}

/* blocks_list - GET: the alias's blocks, oldest first */
static void
blocks_list(struct req *r, const struct alias *a)
{
	struct block	*bl = NULL;
	size_t		 n = 0, i;
	json_t		*arr;

	if (dash_store_status(r, store_block_list(r->db->st, a->token, &bl, &n),
	    "alias") < 0)
		return;
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, block_json(&bl[i]));
	free(bl);
	dash_reply_json(r, 200, json_pack("{s:o,s:I}", "blocks", arr,
	    "blocked", (json_int_t)a->blocked));
}

/* blocks_add - POST {"sender"}: an address or "@domain" */
static void
blocks_add(struct req *r, const struct alias *a)
{
	struct block	 bk;
	const char	*p;
	json_t		*b;
	enum store_status s;
	int		 created = 0;

	if ((b = dash_body_json(r)) == NULL)
		return;
	p = json_string_value(json_object_get(b, "sender"));
	s = p == NULL ? STORE_INVALID : store_block_add(r->db->st, a->token, p,
	    &bk, &created);
	json_decref(b);
	if (s == STORE_INVALID) {
		dash_error(r, 400, DASH_E_PARAM, "sender: an email address or "
		    "@domain is required");
		return;
	}
	if (dash_store_status(r, s, "alias") < 0)
		return;
	if (created)
		dash_metrics_inc("blocks_created");
	dash_reply_json(r, created ? 201 : 200, block_json(&bk));
}

/* dash_h_blocks - GET, POST /v1/aliases/{token}/blocks */
void
dash_h_blocks(struct req *r, const char *path)
{
	struct alias	 a;

	if (contact_alias(r, path, &a) < 0)
		return;
	if (strcmp(r->method, "GET") == 0)
		blocks_list(r, &a);
	else
		blocks_add(r, &a);
}

/* dash_h_block - DELETE /v1/aliases/{token}/blocks/{id} */
void
dash_h_block(struct req *r, const char *path)
{
	struct alias	 a;
	const char	*id = strrchr(path, '/');
	char		*end;
	long long	 n;

	if (contact_alias(r, path, &a) < 0)
		return;
	n = id != NULL ? strtoll(id + 1, &end, 10) : 0;
	if (id == NULL || id[1] < '1' || id[1] > '9' || *end != '\0' ||
	    n <= 0) {
		dash_error(r, 404, DASH_E_NOTFOUND, "block not found");
		return;
	}
	if (dash_store_status(r, store_block_remove(r->db->st, a.token,
	    (int64_t)n), "block") < 0)
		return;
	dash_reply_raw(r, 204, NULL, "", 0, 0);
}
