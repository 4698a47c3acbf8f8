/*
 * store.h - the interface every BIPostal program uses to reach its data
 *
 * One table of operations (struct store_backend) per backend, chosen by the
 * URI scheme of the "store" parameter: sqlite:/path/file.db or
 * mysql://user:password@host:port/db.  Only store.c calls the backends: it
 * checks arguments and sizes, folds keys to lower case and traces, so that a
 * backend is only its own SQL.  The sqlite and mysql backends are one SQL
 * layer (store_sql.c) over a driver each (sql_driver.h).
 *
 * Every lookup returns an enum store_status that tells apart:
 *   STORE_OK        found / done
 *   STORE_NOTFOUND  the primary store says the thing does not exist
 *   STORE_TEMP      unreachable, timeout, lock, out of memory: retry later
 *   STORE_PERM      bad configuration or schema: an operator must act
 *   STORE_INVALID   the caller's input is malformed or over a size limit
 *   STORE_EXISTS    a unique name (login identity, node) is already taken
 * A STORE_NOTFOUND is never answered when the store is unsure: mail to an
 * alias that NOTFOUND rejects is lost for good, a TEMP only delays it.
 *
 * Ownership: results go into caller-owned structs with fixed-size fields.
 * Where a result has variable size (lists, queue messages, blob data) the
 * function says "new": the caller frees it with the matching *_free call.
 * All *_free functions accept NULL.  A struct store is not thread-safe: use
 * one per thread (store_open is cheap for SQLite, one connection for MySQL).
 */
#ifndef BIPOSTAL_STORE_H
#define BIPOSTAL_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TOKEN_LEN	50		/* base-36 digits of a 256-bit token */
#define TOKEN_MAX	64		/* RFC 5321 local-part limit */
#define EMAIL_MAX	254		/* RFC 5321 path limit less brackets */
#define ORIGIN_MAX	253		/* a DNS name */
#define CONTEXT_MAX	4096		/* opaque client-encrypted alias context */
#define PWHASH_MAX	160		/* argon2id encoded hash */
#define TOTP_MAX	64		/* base32 TOTP secret */
#define HOST_MAX	255
#define BLOB_NAME_MAX	255
#define BLOB_TYPE_MAX	127
#define QUEUE_DATA_MAX	(64 * 1024)	/* one notification message */
#define EVENT_TYPE_MAX	31
#define EVENT_DATA_MAX	4096

enum store_status {
	STORE_OK = 0,
	STORE_NOTFOUND,
	STORE_TEMP,		/* unreachable, timeout, lock: retry later */
	STORE_PERM,		/* bad config or schema: an operator must act */
	STORE_INVALID,		/* malformed input or over a size limit */
	STORE_EXISTS,		/* unique name already taken */
};

enum alias_state {
	ALIAS_ACTIVE = 0,
	ALIAS_INACTIVE = 1,	/* disabled by its owner; may be re-enabled */
	ALIAS_DELETED = 2,	/* never handed out or routed again */
};

enum user_state {
	USER_ACTIVE = 0,
	USER_REVOKED = 1,
};

enum disabled_action {		/* what mail to a disabled alias gets */
	DISABLED_DISCARD = 0,	/* 250, then dropped and counted as blocked */
	DISABLED_REJECT = 1,	/* 550 5.1.1 */
};

enum content_policy {
	CONTENT_STRIP = 0,	/* keep text parts, park the rest as blobs */
	CONTENT_KEEP = 1,	/* forward every part */
};

enum alias_counter {
	COUNT_FORWARDED = 0,
	COUNT_BLOCKED,
	COUNT_REPLIED,
};

struct user {
	int64_t		id;
	char		queue_id[TOKEN_MAX + 1];	/* stable public id */
	char		email[EMAIL_MAX + 1];		/* real mailbox */
	char		pwhash[PWHASH_MAX + 1];		/* "" = no password */
	char		totp[TOTP_MAX + 1];		/* "" = not enrolled */
	enum user_state	status;
	int		is_admin;
	int64_t		node_id;			/* 0 = none */
	enum disabled_action disabled_action;
	enum content_policy content_policy;
	int64_t		created;
};

struct alias {
	char		token[TOKEN_MAX + 1];	/* local part, lower case */
	int64_t		user_id;
	char		origin[ORIGIN_MAX + 1];
	enum alias_state status;
	int64_t		created;
	int64_t		updated;
	int64_t		deleted_at;		/* 0 = not deleted */
	int64_t		expires_at;		/* 0 = never */
	unsigned char	context[CONTEXT_MAX];
	size_t		context_len;
	int64_t		forwarded;
	int64_t		blocked;
	int64_t		replied;
	int64_t		last_seen;		/* 0 = never */
};

/* What Postfix needs to route one alias: one query, alias joined to user. */
struct alias_route {
	enum alias_state status;
	int64_t		expires_at;
	int64_t		user_id;
	enum user_state	user_status;
	enum disabled_action disabled_action;
	enum content_policy content_policy;
	char		email[EMAIL_MAX + 1];
	char		origin[ORIGIN_MAX + 1];
};

struct reply {
	char		token[TOKEN_MAX + 1];	/* reply address local part */
	char		alias[TOKEN_MAX + 1];	/* alias token it belongs to */
	char		sender[EMAIL_MAX + 1];	/* the external correspondent */
	int64_t		created;
};

struct qmsg {				/* one notification-queue message */
	int64_t		idx;		/* per user, strictly increasing */
	int64_t		expires_at;
	size_t		len;
	char		*data;		/* new; NUL-terminated for convenience */
};

struct blob {				/* a part stripped from a message */
	char		id[TOKEN_MAX + 1];
	int64_t		user_id;
	char		alias[TOKEN_MAX + 1];
	char		name[BLOB_NAME_MAX + 1];
	char		type[BLOB_TYPE_MAX + 1];
	int64_t		expires_at;
	size_t		size;
	unsigned char	*data;		/* new on get; borrowed on put */
};

struct node {
	int64_t		id;
	char		host[HOST_MAX + 1];
	int		port;
	int		capacity;	/* users it may take */
	int		load;		/* users assigned */
	int		available;	/* slots released so far (slow release) */
	int		downed;
	int		draining;
};

struct event {
	int64_t		id;		/* global, strictly increasing */
	int64_t		user_id;
	char		type[EVENT_TYPE_MAX + 1];	/* "alias", "queue", "mail" */
	char		data[EVENT_DATA_MAX + 1];	/* JSON text */
	int64_t		created;
};

struct purge_counts {
	long		aliases;	/* deleted past retention */
	long		replies;	/* of those aliases */
	long		qmsgs;		/* expired queue messages */
	long		blobs;		/* expired blobs */
	long		events;		/* older than the event horizon */
	long		rates;		/* rate-limit windows over a day old */
	long		blocks;		/* of the aliases dropped */
};

struct store_usage {			/* what one user keeps (quotas) */
	int64_t		blob_bytes;	/* parts kept, not expired */
	int64_t		queue_msgs;	/* notifications, not expired */
	int64_t		replies;	/* reply addresses of the user's aliases */
};

/* A sender an alias's owner blocked: pattern is a whole address,
 * "local@domain", or a whole domain, "@domain" (that domain exactly, not
 * its subdomains), lower case. */
struct block {
	int64_t		id;
	char		alias[TOKEN_MAX + 1];
	char		pattern[EMAIL_MAX + 1];
	int64_t		created;
};

/* An API key: what a password manager or a browser extension holds to
 * make aliases for its user.  The key itself ("bpk_" and a token) is
 * shown once, when it is made; the store keeps its SHA-256 only. */
#define APIKEY_PREFIX	"bpk_"
#define APIKEY_LEN	(4 + TOKEN_LEN)	/* prefix and a token */
#define APIKEY_NAME_MAX	64
#define APIKEY_HASH_LEN	64		/* hex SHA-256 */

enum apikey_scope {
	APIKEY_CREATE = 0,	/* may only create aliases */
	APIKEY_FULL = 1,	/* the owner's aliases, queue and events */
};

struct apikey {
	int64_t		id;
	int64_t		user_id;
	char		name[APIKEY_NAME_MAX + 1];
	enum apikey_scope scope;
	char		hash[APIKEY_HASH_LEN + 1];
	int64_t		created;
	int64_t		last_used;		/* 0 = never */
	int64_t		revoked;		/* 0 = live */
};

#define STORE_RATE_KEY_MAX	128
#define STORE_RATE_KEEP		86400	/* purge keeps windows this long */

struct store;

struct store_backend {
	const char	*name;		/* URI scheme: "sqlite", "mysql" */
	/* open: NULL with *why set (static string) on failure */
	struct store	*(*open)(const char *uri, enum store_status *, const char **why);
	void		(*close)(struct store *);
	/* optional: the calls between them run in one transaction */
	enum store_status (*batch_begin)(struct store *);
	enum store_status (*batch_end)(struct store *);
	/* optional: see store_mark */
	enum store_status (*mark)(struct store *, uint64_t *);
	enum store_status (*migrate)(struct store *);
	enum store_status (*ping)(struct store *);
	/* what the store named by uri can do (STORE_CAP_*), and whether
	 * it is a file that is not there; nothing is opened */
	unsigned	(*caps)(const char *uri);
	const char	*(*file)(const char *uri);

	enum store_status (*user_create)(struct store *, const char *email,
			    const char *pwhash, const char *queue_id, int64_t now,
			    struct user *);
	enum store_status (*user_get)(struct store *, int64_t id, struct user *);
	enum store_status (*user_by_identity)(struct store *, const char *ident,
			    struct user *);
	enum store_status (*user_by_queue_id)(struct store *, const char *qid,
			    struct user *);
	enum store_status (*identity_add)(struct store *, int64_t user_id,
			    const char *ident);
	enum store_status (*user_update)(struct store *, const struct user *);
	enum store_status (*user_list)(struct store *, struct user **, size_t *);

	enum store_status (*alias_create)(struct store *, int64_t user_id,
			    const char *origin, const char *fresh_token,
			    int64_t expires_at, int64_t now, struct alias *, int *created);
	enum store_status (*alias_get)(struct store *, const char *token,
			    struct alias *);
	enum store_status (*alias_route)(struct store *, const char *token,
			    struct alias_route *);
	enum store_status (*alias_list)(struct store *, int64_t user_id,
			    struct alias **, size_t *);
	enum store_status (*alias_set_status)(struct store *, const char *token,
			    enum alias_state, int64_t now);
	enum store_status (*alias_set_context)(struct store *, const char *token,
			    const unsigned char *, size_t, int64_t now);
	enum store_status (*alias_set_expiry)(struct store *, const char *token,
			    int64_t expires_at, int64_t now);
	enum store_status (*alias_count)(struct store *, const char *token,
			    enum alias_counter, int64_t now);

	enum store_status (*reply_get_or_create)(struct store *, const char *alias,
			    const char *sender, const char *fresh_token, int64_t now,
			    struct reply *);
	enum store_status (*reply_get)(struct store *, const char *token,
			    struct reply *);

	enum store_status (*queue_append)(struct store *, int64_t user_id,
			    const char *data, size_t len, int64_t expires_at,
			    int64_t *idx);
	enum store_status (*queue_read)(struct store *, int64_t user_id,
			    int64_t from_idx, int limit, int64_t now,
			    struct qmsg **, size_t *, int64_t *first_idx);

	enum store_status (*blob_put)(struct store *, const struct blob *);
	enum store_status (*blob_get)(struct store *, const char *id, int64_t now,
			    struct blob *);

	enum store_status (*node_add)(struct store *, const char *host, int port,
			    int capacity, int64_t *id);
	enum store_status (*node_update)(struct store *, const struct node *);
	enum store_status (*node_list)(struct store *, struct node **, size_t *);
	enum store_status (*node_assign)(struct store *, int64_t user_id,
			    struct node *);

	enum store_status (*event_append)(struct store *, int64_t user_id,
			    const char *type, const char *data, int64_t now,
			    int64_t *id);
	enum store_status (*event_read)(struct store *, int64_t user_id,
			    int64_t after_id, int limit, struct event **, size_t *);

	enum store_status (*purge)(struct store *, int64_t now, int64_t retention,
			    int64_t event_horizon, struct purge_counts *);
	enum store_status (*usage)(struct store *, int64_t user_id, int64_t now,
			    struct store_usage *);
	enum store_status (*rate_hit)(struct store *, const char *key, long n,
			    long window, int64_t now, long *count, int64_t *start);

	/* contacts and blocks (store_contact.c) */
	enum store_status (*reply_list)(struct store *, const char *alias,
			    struct reply **, size_t *);
	enum store_status (*block_add)(struct store *, const char *alias,
			    const char *pattern, int64_t now, struct block *,
			    int *created);
	enum store_status (*block_list)(struct store *, const char *alias,
			    struct block **, size_t *);
	enum store_status (*block_remove)(struct store *, const char *alias,
			    int64_t id);
	enum store_status (*block_match)(struct store *, const char *alias,
			    const char *sender, const char *domain, int64_t *id);

	/* API keys (store_apikey.c) */
	enum store_status (*apikey_create)(struct store *, int64_t user_id,
			    const char *name, enum apikey_scope, const char *hash,
			    int64_t now, struct apikey *);
	enum store_status (*apikey_list)(struct store *, int64_t user_id,
			    struct apikey **, size_t *);
	enum store_status (*apikey_revoke)(struct store *, int64_t user_id,
			    int64_t id, int64_t now);
	enum store_status (*apikey_find_by_hash)(struct store *,
			    const char *hash, struct apikey *);
	enum store_status (*apikey_touch)(struct store *, int64_t id,
			    int64_t now);
};

struct store {				/* backends embed this first */
	const struct store_backend *be;
	char		*uri;		/* store.c's: as opened */
};

/* Capabilities: what a store can do, declared by its backend and known
 * from the URI alone, so that no program asks which backend it has. */
#define STORE_CAP_FILE		0x01	/* a file this process opens, no
					 * server: a lookup never waits for
					 * the network, and a handle keeps
					 * the file it opened even when it
					 * is replaced or made unreadable */
#define STORE_CAP_ONE_WRITER	0x02	/* writers take turns on one lock
					 * and each commit waits for the
					 * disk: see store_group_write */
#define STORE_CAP_MARK		0x04	/* store_mark can tell */

/* store_caps - the STORE_CAP_* flags of the store uri names; 0 for an
 * unknown scheme */
unsigned	 store_caps(const char *uri);
/* store_missing - 1 when uri names a store file that is not there:
 * opening it would make an empty store, where every alias is NOTFOUND */
int		 store_missing(const char *uri);
/* store_file - the file uri names (a pointer into uri), or NULL for a
 * store on a server */
const char	*store_file(const char *uri);
/* store_group_write - fn(st2, arg), its status or the failed commit of
 * its group.  With STORE_CAP_ONE_WRITER, writers that come while one
 * commits queue, and the next to run takes the whole queue: all their
 * calls in one batch (store_batch_begin/end) on its own handle st2, one
 * wait for the disk; each fn still succeeds or fails alone.  Elsewhere
 * fn runs at once with st2 = st.  fn makes store calls on st2 only (it
 * may run on another thread, with another handle of the same store) and
 * never calls store_group_write itself. */
enum store_status store_group_write(struct store *st,
		    enum store_status (*fn)(struct store *, void *), void *arg);

/* store_open - connect to the store named by uri; NULL and *why on error.
 * *status tells STORE_TEMP (server down: retry) from STORE_PERM (bad uri).
 * Tables are created or upgraded on first use. */
struct store	*store_open(const char *uri, enum store_status *status,
		    const char **why);
void		 store_close(struct store *);
enum store_status store_migrate(struct store *);
enum store_status store_ping(struct store *);
/* store_batch_begin, store_batch_end - the calls on st between them run
 * in one transaction where the backend can (SQLite: one commit, so one
 * wait for the disk, for them all); each call still succeeds or fails
 * alone.  store_batch_end answers the commit: STORE_OK, or a failure
 * after which the calls' work may be gone (they are safe to repeat). */
enum store_status store_batch_begin(struct store *);
enum store_status store_batch_end(struct store *);
/* store_mark - *mark, a number that differs from the one the previous
 * call on this handle gave whenever anything in the store may have changed
 * in between, by this handle or any other in any process; equal marks mean
 * nothing changed, so what was read between them is still true.
 * STORE_PERM when the backend cannot tell (MySQL): never equal. */
enum store_status store_mark(struct store *, uint64_t *mark);
const char	*store_strstatus(enum store_status);

/* Users.  Identities are login names (emails or external subjects), folded
 * to lower case; user_create makes the user's email its first identity and
 * gives it a fresh queue_id. */
enum store_status store_user_create(struct store *, const char *email,
		    const char *pwhash, struct user *out);
enum store_status store_user_get(struct store *, int64_t id, struct user *);
enum store_status store_user_by_identity(struct store *, const char *ident,
		    struct user *);
enum store_status store_user_by_queue_id(struct store *, const char *qid,
		    struct user *);
enum store_status store_identity_add(struct store *, int64_t user_id,
		    const char *ident);
/* store_user_update - write email, pwhash, totp, status, is_admin,
 * disabled_action and content_policy of u (by u->id) */
enum store_status store_user_update(struct store *, const struct user *u);
enum store_status store_user_revoke(struct store *, int64_t id);
/* store_user_list - every user; *out is new (free()) */
enum store_status store_user_list(struct store *, struct user **out, size_t *n);

/* Aliases.  store_alias_create returns the user's live alias for origin
 * (re-activated if inactive; *created = 0) or makes a new one (*created = 1).
 * A deleted or expired alias is never handed out again.  expires_at 0 =
 * never.  Origins are folded to lower case. */
enum store_status store_alias_create(struct store *, int64_t user_id,
		    const char *origin, int64_t expires_at, struct alias *out,
		    int *created);
/* store_alias_create_token - store_alias_create with the token the
 * client chose (0-9a-z, STORE_TOKEN_MIN to TOKEN_MAX characters: else
 * INVALID) for a new alias.  EXISTS when the token was issued before: an
 * alias of any user and status, or a reply address, has it, unless it is
 * the user's own live alias for origin (which is answered). */
#define STORE_TOKEN_MIN	50		/* 256 bits in base 36 */
enum store_status store_alias_create_token(struct store *, int64_t user_id,
		    const char *origin, const char *token, int64_t expires_at,
		    struct alias *out, int *created);
enum store_status store_alias_get(struct store *, const char *token,
		    struct alias *);
/* store_alias_route - what Postfix needs; key may be "token" or
 * "token@domain" (domain not checked here); NOTFOUND for unknown only:
 * deleted/expired are returned with their status for the caller to judge */
enum store_status store_alias_route(struct store *, const char *token,
		    struct alias_route *);
/* store_alias_list - the user's aliases, deleted ones left out; *out new */
enum store_status store_alias_list(struct store *, int64_t user_id,
		    struct alias **out, size_t *n);
enum store_status store_alias_set_status(struct store *, const char *token,
		    enum alias_state);
enum store_status store_alias_set_context(struct store *, const char *token,
		    const void *ctx, size_t len);
enum store_status store_alias_set_expiry(struct store *, const char *token,
		    int64_t expires_at);
/* store_alias_count - add one to a counter and set last_seen */
enum store_status store_alias_count(struct store *, const char *token,
		    enum alias_counter);

/* Reply addresses: one random token per (alias, external sender). */
enum store_status store_reply_get_or_create(struct store *, const char *alias,
		    const char *sender, struct reply *out);
/* store_reply_find - the existing reply token for (alias, sender), or
 * NOTFOUND: nothing is created (the quota on reply addresses) */
enum store_status store_reply_find(struct store *, const char *alias,
		    const char *sender, struct reply *out);
enum store_status store_reply_get(struct store *, const char *token,
		    struct reply *);

/* Notification queue (Pushbox): append gives the new index; read returns
 * up to limit live messages with idx >= from_idx, oldest first, in *out
 * (new; qmsgs_free), and in *first_idx the smallest live index (0 if none)
 * so the caller can tell "lost" (from_idx below it, messages gone). */
enum store_status store_queue_append(struct store *, int64_t user_id,
		    const char *data, size_t len, int64_t ttl, int64_t *idx);
enum store_status store_queue_read(struct store *, int64_t user_id,
		    int64_t from_idx, int limit, struct qmsg **out, size_t *n,
		    int64_t *first_idx);
void		 qmsgs_free(struct qmsg *, size_t n);

/* Blobs: put fills b->id with a fresh token; get fills *out with new data
 * (blob_free).  An expired blob is NOTFOUND. */
enum store_status store_blob_put(struct store *, struct blob *b, int64_t ttl);
enum store_status store_blob_get(struct store *, const char *id, struct blob *out);
void		 blob_free(struct blob *);

/* Nodes (Tokenserver): assign keeps a user on its node unless the node is
 * downed or gone, else picks the live node with the most free capacity. */
enum store_status store_node_add(struct store *, const char *host, int port,
		    int capacity, int64_t *id);
enum store_status store_node_update(struct store *, const struct node *);
enum store_status store_node_list(struct store *, struct node **out, size_t *n);
enum store_status store_node_assign(struct store *, int64_t user_id,
		    struct node *out);

/* Events: a durable per-user stream that the dash serves as SSE; Redis,
 * when configured, only fans them out faster. */
enum store_status store_event_append(struct store *, int64_t user_id,
		    const char *type, const char *json, int64_t *id);
enum store_status store_event_read(struct store *, int64_t user_id,
		    int64_t after_id, int limit, struct event **out, size_t *n);

/* store_purge - drop deleted aliases older than retention seconds (and
 * their replies), expired queue messages and blobs, events older than
 * event_horizon seconds */
enum store_status store_purge(struct store *, int64_t retention,
		    int64_t event_horizon, struct purge_counts *out);

/* store_usage - what user_id keeps now, for the quotas */
enum store_status store_usage(struct store *, int64_t user_id,
		    struct store_usage *out);
/* store_rate_hit - count one hit of key (at most STORE_RATE_KEY_MAX
 * printable characters) in a fixed window of window seconds: STORE_OK
 * while the window holds at most limit hits, STORE_EXISTS past it, with
 * *retry_after the seconds left in the window (may be NULL) */
enum store_status store_rate_hit(struct store *, const char *key,
		    long limit, long window, long *retry_after);
/* store_rate_add - count n (>= 1) hits of key at once, as a writer that
 * batches them does */
enum store_status store_rate_add(struct store *, const char *key, long n,
		    long window);
/* store_rate_peek - the hits of key in its current window into *count
 * (0 when the window is over or none), and the seconds the window has
 * left into *retry_after (may be NULL); reads only */
enum store_status store_rate_peek(struct store *, const char *key,
		    long window, long *count, long *retry_after);

/*
 * Contacts and blocks (store_contact.c).  An alias's contacts are its
 * reply addresses: the one for (alias, address) is what its owner
 * writes to so that mail reaches address from the alias
 * (store_reply_get_or_create makes it, store_reply_list lists them).
 * A block stops mail to one alias from one sender: a whole address or a
 * whole domain ("@domain", that domain exactly, not its subdomains),
 * folded to lower case, so matching ignores case.
 */
/* store_reply_list - the reply addresses of alias, oldest first; *out
 * new (free()); none is OK with *n 0 */
enum store_status store_reply_list(struct store *, const char *alias,
		    struct reply **out, size_t *n);
/* store_block_add - block pattern ("local@domain" or "@domain") on
 * alias; *out the block, *created 1 when it is new, 0 when it was there
 * (created may be NULL).  NOTFOUND: unknown alias; INVALID: a malformed
 * pattern or a deleted alias */
enum store_status store_block_add(struct store *, const char *alias,
		    const char *pattern, struct block *out, int *created);
/* store_block_list - the blocks of alias, oldest first; *out new */
enum store_status store_block_list(struct store *, const char *alias,
		    struct block **out, size_t *n);
/* store_block_remove - unblock block id of alias; NOTFOUND when alias
 * has no such block */
enum store_status store_block_remove(struct store *, const char *alias,
		    int64_t id);
/* store_block_match - STORE_OK when mail from sender to alias is
 * blocked (its block's id into *id, which may be NULL), STORE_NOTFOUND
 * when it is not; an empty sender (<>) is never blocked */
enum store_status store_block_match(struct store *, const char *alias,
		    const char *sender, int64_t *id);
/* store_block_covers - does block pattern (folded) cover sender: the
 * rule store_block_match applies, for a caller holding the list */
int		 store_block_covers(const char *pattern, const char *sender);

/*
 * API keys (store_apikey.c).  A key is APIKEY_PREFIX and a fresh token
 * (256 bits from the OS random source); the store keeps only its hash,
 * store_apikey_hash, and finds a key by it.  A revoked key is never found
 * again and never listed.
 */
/* store_apikey_create - a new key named name (1..APIKEY_NAME_MAX
 * printable ASCII, spaces allowed) for user_id: the key into key
 * (keysize >= APIKEY_LEN + 1; show it once, it cannot be read again),
 * its row into *out.  NOTFOUND: no such user; INVALID: a bad name,
 * scope or buffer */
enum store_status store_apikey_create(struct store *, int64_t user_id,
		    const char *name, enum apikey_scope scope, char *key,
		    size_t keysize, struct apikey *out);
/* store_apikey_list - user_id's live keys, oldest first; *out new
 * (free()); none is OK with *n 0 */
enum store_status store_apikey_list(struct store *, int64_t user_id,
		    struct apikey **out, size_t *n);
/* store_apikey_revoke - revoke key id of user_id; NOTFOUND when user_id
 * has no such live key (another user's key included) */
enum store_status store_apikey_revoke(struct store *, int64_t user_id,
		    int64_t id);
/* store_apikey_hash - the hex SHA-256 of key into out; 0, or -1 when
 * key is NULL or the crypto library fails */
int		 store_apikey_hash(const char *key,
		    char out[APIKEY_HASH_LEN + 1]);
/* store_apikey_find_by_hash - the live key whose hash is hash (64 hex
 * digits, lower case; anything else is NOTFOUND), the hashes compared in
 * constant time; a revoked key is NOTFOUND */
enum store_status store_apikey_find_by_hash(struct store *,
		    const char *hash, struct apikey *out);
/* store_apikey_touch - set key id's last_used to now; written at most
 * once a minute (a busy key does not write on every call) */
enum store_status store_apikey_touch(struct store *, int64_t id);

/* Backends, for store.c and the contract tests */
extern const struct store_backend store_sqlite_backend;
extern const struct store_backend store_mysql_backend;

#endif
