/*
 * store.c - the public store calls: check, fold, limit, trace, dispatch
 *
 * The backend is chosen by the URI scheme ("sqlite:", "mysql://") from
 * store_backends[].  Every public call checks its arguments here, so that
 * a backend only runs its own SQL:
 *   tokens, queue ids, blob ids  1..TOKEN_MAX of [0-9A-Za-z], folded to
 *                                lower case (token_fold); alias_route also
 *                                takes "token@domain" and ignores the domain
 *   emails (user, reply sender)  local@domain, 3..EMAIL_MAX printable
 *                                ASCII without space or <>()[],;:\"
 *                                (reply senders are folded to lower case,
 *                                user emails are kept as given)
 *   identities                   1..EMAIL_MAX printable ASCII without
 *                                space, folded to lower case
 *   origins                      1..ORIGIN_MAX of [0-9A-Za-z._-], folded
 *   context <= CONTEXT_MAX, queue data 1..QUEUE_DATA_MAX, blob data
 *   <= STORE_BLOB_MAX, event data <= EVENT_DATA_MAX, limits 1..STORE_LIMIT_MAX,
 *   ttls 1..STORE_TTL_MAX, times >= 0, ports 1..65535, capacity >= 0
 * A malformed argument is STORE_INVALID and never reaches the backend,
 * except a malformed lookup key (token, queue id, reply or blob id),
 * which cannot exist and is STORE_NOTFOUND: Postfix asks for whatever
 * local part a sender wrote.  store.c draws the fresh tokens (token_new)
 * and the time (bp_now) and hands them to the backend.
 *
 * Status meanings beyond store.h: changing a deleted alias (status other
 * than deleted again, context, expiry) or making a reply address for one
 * is STORE_INVALID; store_queue_read of a user with no messages is OK with
 * none; store_node_assign with no node able to take the user is
 * STORE_NOTFOUND.
 *
 * With log_verbose every call is traced: "store sqlite: alias_get
 * 1a2b3c4d: ok" (tokens cut to 8 characters, addresses never logged).
 *
 * Capabilities (store_caps, store_missing) come from the backend the URI
 * scheme names, so that no program looks at the scheme itself.  Group
 * commit (store_group_write) is here too: it needs only a backend's
 * batches and its word that writers take turns (STORE_CAP_ONE_WRITER).
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "token.h"
#include "util.h"

#define STORE_BLOB_MAX	(10 * 1024 * 1024)	/* one stripped part */
#define STORE_LIMIT_MAX	10000			/* rows in one read */
#define STORE_TTL_MAX	(10LL * 366 * 86400)	/* ten years */

static const struct store_backend *const store_backends[] = {
	&store_sqlite_backend,
	&store_mysql_backend,
	NULL,
};

static const char *const store_status_word[] = {
	[STORE_OK] = "ok",
	[STORE_NOTFOUND] = "not found",
	[STORE_TEMP] = "temporary failure",
	[STORE_PERM] = "permanent failure",
	[STORE_INVALID] = "invalid input",
	[STORE_EXISTS] = "already exists",
};

/* store_strstatus - a few words for a status */
const char *
store_strstatus(enum store_status s)
{
	if ((unsigned)s < sizeof(store_status_word) /
	    sizeof(store_status_word[0]) && store_status_word[s] != NULL)
		return (store_status_word[s]);
	return ("unknown status");
}

/* store_trace - one verbose line per call */
static enum store_status
store_trace(struct store *st, const char *op, const char *key,
    enum store_status s)
{
	if (log_verbose)
		log_info("store %s: %s %.8s: %s", st->be->name, op,
		    key != NULL ? key : "-", store_strstatus(s));
	return (s);
}

/* store_trace_id - the same with a numeric key */
static enum store_status
store_trace_id(struct store *st, const char *op, int64_t id,
    enum store_status s)
{
	if (log_verbose)
		log_info("store %s: %s id=%lld: %s", st->be->name, op,
		    (long long)id, store_strstatus(s));
	return (s);
}

/* store_email_ok - local@domain, printable, no specials, not too long */
static int
store_email_ok(const char *s)
{
	const char *at = NULL, *p;
	size_t	len;

	if (s == NULL)
		return (0);
	len = strnlen(s, EMAIL_MAX + 1);
	if (len < 3 || len > EMAIL_MAX)
		return (0);
	for (p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f || strchr("<>()[],;:\\\"", c))
			return (0);
		if (c == '@')
			at = p;
	}
	return (at != NULL && at != s && at[1] != '\0');
}

/* store_ident_fold - a login identity, folded into buf (EMAIL_MAX+1) */
static int
store_ident_fold(char *buf, const char *s)
{
	size_t	len, i;

	if (s == NULL)
		return (0);
	len = strnlen(s, EMAIL_MAX + 1);
	if (len < 1 || len > EMAIL_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f)
			return (0);
	}
	memcpy(buf, s, len + 1);
	bp_lower(buf);
	return (1);
}

/* store_origin_fold - a DNS-like site name, folded into buf */
static int
store_origin_fold(char *buf, const char *s)
{
	size_t	len, i;

	if (s == NULL)
		return (0);
	len = strnlen(s, ORIGIN_MAX + 1);
	if (len < 1 || len > ORIGIN_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == '_'))
			return (0);
	}
	memcpy(buf, s, len + 1);
	bp_lower(buf);
	return (1);
}

/* store_key - fold a token-like key; 0 if malformed (NULL is malformed) */
static int
store_key(char *buf, const char *s)
{
	return (s != NULL && token_fold(buf, TOKEN_MAX + 1, s));
}

/* store_printable - len bytes of printable ASCII */
static int
store_printable(const char *s, size_t max, int allow_space)
{
	size_t	i;

	if (s == NULL)
		return (0);
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= max || c < (allow_space ? 0x20 : 0x21) || c == 0x7f)
			return (0);
	}
	return (1);
}

/* store_backend - the backend the URI scheme names; NULL if none */
static const struct store_backend *
store_backend(const char *uri)
{
	const struct store_backend *const *be;
	size_t	n;

	for (be = store_backends; uri != NULL && *be != NULL; be++) {
		n = strlen((*be)->name);
		if (strncmp(uri, (*be)->name, n) == 0 && uri[n] == ':')
			return (*be);
	}
	return (NULL);
}

/* store_open - pick the backend by URI scheme and open it */
struct store *
store_open(const char *uri, enum store_status *status, const char **why)
{
	const struct store_backend *be;
	enum store_status dummy_status;
	const char *dummy_why;
	struct store *st;

	if (status == NULL)
		status = &dummy_status;
	if (why == NULL)
		why = &dummy_why;
	*status = STORE_PERM;
	if (uri == NULL || *uri == '\0') {
		*why = "no store configured";
		return (NULL);
	}
	if ((be = store_backend(uri)) == NULL) {
		*why = "unknown store URI scheme (want sqlite: or mysql://)";
		return (NULL);
	}
	*why = "";
	if ((st = be->open(uri, status, why)) != NULL)
		st->uri = xstrdup(uri);
	if (log_verbose)
		log_info("store %s: open: %s%s%s", be->name,
		    store_strstatus(st ? STORE_OK : *status),
		    st ? "" : ": ", st ? "" : *why);
	return (st);
}

/* store_close - NULL is fine */
void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->uri != NULL)
		explicit_bzero(st->uri, strlen(st->uri));
	free(st->uri);
	st->be->close(st);
}

/* store_caps - what the store uri names can do */
unsigned
store_caps(const char *uri)
{
	const struct store_backend *be = store_backend(uri);

	return (be != NULL && be->caps != NULL ? be->caps(uri) : 0);
}

/* store_missing - is uri a store file that is not there */
int
store_missing(const char *uri)
{
	const struct store_backend *be = store_backend(uri);

	return (be != NULL && be->missing != NULL && be->missing(uri));
}

/*
 * Group commit.  Writers that arrive while one commits queue here, and
 * the next to run takes every queued job of the same store: all of them
 * in one batch on its handle, one wait for the disk.  Queueing our own
 * writers also keeps them out of the engine's busy sleeps.
 */
struct store_job {
	enum store_status (*fn)(struct store *, void *);
	void		*arg;
	const char	*uri;
	enum store_status status;
	int		 done;
	struct store_job *next;
};

static pthread_mutex_t store_group_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t store_group_cv = PTHREAD_COND_INITIALIZER;
static struct store_job *store_group_head;
static int store_group_busy;

/* store_group_take - unlink the queued jobs of uri (locked): the batch */
static struct store_job *
store_group_take(const char *uri)
{
	struct store_job *batch = NULL, **bt = &batch, **jp, *j;

	for (jp = &store_group_head; (j = *jp) != NULL;) {
		if (strcmp(j->uri, uri) == 0) {
			*jp = j->next;
			j->next = NULL;
			*bt = j;
			bt = &j->next;
		} else
			jp = &j->next;
	}
	return (batch);
}

/* store_group_write - see store.h */
enum store_status
store_group_write(struct store *st,
    enum store_status (*fn)(struct store *, void *), void *arg)
{
	struct store_job job, **tail, *batch, *j, *next;
	enum store_status s;

	if ((store_caps(st->uri) & STORE_CAP_ONE_WRITER) == 0)
		return (fn(st, arg));
	memset(&job, 0, sizeof(job));
	job.fn = fn;
	job.arg = arg;
	job.uri = st->uri;
	pthread_mutex_lock(&store_group_mu);
	for (tail = &store_group_head; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = &job;
	while (!job.done && store_group_busy)
		pthread_cond_wait(&store_group_cv, &store_group_mu);
	if (job.done) {
		pthread_mutex_unlock(&store_group_mu);
		return (job.status);
	}
	/* our turn: take every job queued for our store, ours too */
	store_group_busy = 1;
	batch = store_group_take(st->uri);
	pthread_mutex_unlock(&store_group_mu);

	s = store_batch_begin(st);
	for (j = batch; j != NULL; j = j->next)
		j->status = s == STORE_OK ? j->fn(st, j->arg) : s;
	if (s == STORE_OK && (s = store_batch_end(st)) != STORE_OK)
		for (j = batch; j != NULL; j = j->next)
			if (j->status == STORE_OK)
				j->status = s;

	pthread_mutex_lock(&store_group_mu);
	for (j = batch; j != NULL; j = next) {
		next = j->next;		/* j may go once it is done */
		j->done = 1;
	}
	store_group_busy = 0;
	pthread_cond_broadcast(&store_group_cv);
	pthread_mutex_unlock(&store_group_mu);
	return (job.status);
}

/* store_migrate - create or upgrade the tables */
enum store_status
store_migrate(struct store *st)
{
	return (store_trace(st, "migrate", NULL, st->be->migrate(st)));
}

/* store_ping - is the store there (heartbeat) */
enum store_status
store_ping(struct store *st)
{
	return (store_trace(st, "ping", NULL, st->be->ping(st)));
}

/* store_user_create - a new user with a fresh queue id */
enum store_status
store_user_create(struct store *st, const char *email, const char *pwhash,
    struct user *out)
{
	char	qid[TOKEN_MAX + 1];
	enum store_status s;

	if (pwhash == NULL)
		pwhash = "";
	if (!store_email_ok(email) || strnlen(pwhash, PWHASH_MAX + 1) >
	    PWHASH_MAX || !store_printable(pwhash, PWHASH_MAX, 0) || !out)
		return (store_trace(st, "user_create", NULL, STORE_INVALID));
	if (token_new(qid, sizeof(qid)) < 0)
		return (store_trace(st, "user_create", NULL, STORE_TEMP));
	s = st->be->user_create(st, email, pwhash, qid, bp_now(), out);
	return (store_trace(st, "user_create", s == STORE_OK ? qid : NULL, s));
}

/* store_user_get - by id */
enum store_status
store_user_get(struct store *st, int64_t id, struct user *out)
{
	if (id <= 0)
		return (store_trace_id(st, "user_get", id, STORE_NOTFOUND));
	return (store_trace_id(st, "user_get", id,
	    st->be->user_get(st, id, out)));
}

/* store_user_by_identity - by login name, any case */
enum store_status
store_user_by_identity(struct store *st, const char *ident, struct user *out)
{
	char	key[EMAIL_MAX + 1];

	if (!store_ident_fold(key, ident))
		return (store_trace(st, "user_by_identity", NULL,
		    STORE_INVALID));
	return (store_trace(st, "user_by_identity", NULL,
	    st->be->user_by_identity(st, key, out)));
}

/* store_user_by_queue_id - by public queue id */
enum store_status
store_user_by_queue_id(struct store *st, const char *qid, struct user *out)
{
	char	key[TOKEN_MAX + 1];

	if (!store_key(key, qid))
		return (store_trace(st, "user_by_queue_id", NULL,
		    STORE_NOTFOUND));
	return (store_trace(st, "user_by_queue_id", key,
	    st->be->user_by_queue_id(st, key, out)));
}

/* store_identity_add - one more login name; STORE_EXISTS if taken */
enum store_status
store_identity_add(struct store *st, int64_t user_id, const char *ident)
{
	char	key[EMAIL_MAX + 1];

	if (user_id <= 0 || !store_ident_fold(key, ident))
		return (store_trace_id(st, "identity_add", user_id,
		    STORE_INVALID));
	return (store_trace_id(st, "identity_add", user_id,
	    st->be->identity_add(st, user_id, key)));
}

/* store_user_update - settings, password, TOTP, status */
enum store_status
store_user_update(struct store *st, const struct user *u)
{
	if (u == NULL || u->id <= 0 || !store_email_ok(u->email) ||
	    !store_printable(u->pwhash, PWHASH_MAX, 0) ||
	    !store_printable(u->totp, TOTP_MAX, 0) ||
	    (u->status != USER_ACTIVE && u->status != USER_REVOKED) ||
	    (u->disabled_action != DISABLED_DISCARD &&
	    u->disabled_action != DISABLED_REJECT) ||
	    (u->content_policy != CONTENT_STRIP &&
	    u->content_policy != CONTENT_KEEP))
		return (store_trace_id(st, "user_update", u ? u->id : 0,
		    STORE_INVALID));
	return (store_trace_id(st, "user_update", u->id,
	    st->be->user_update(st, u)));
}

/* store_user_revoke - the user may no longer sign in or get mail */
enum store_status
store_user_revoke(struct store *st, int64_t id)
{
	struct user u;
	enum store_status s;

	if (id <= 0)
		return (store_trace_id(st, "user_revoke", id, STORE_NOTFOUND));
	if ((s = st->be->user_get(st, id, &u)) == STORE_OK) {
		u.status = USER_REVOKED;
		s = st->be->user_update(st, &u);
	}
	return (store_trace_id(st, "user_revoke", id, s));
}

/* store_user_list - every user; *out new */
enum store_status
store_user_list(struct store *st, struct user **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return (store_trace(st, "user_list", NULL,
	    st->be->user_list(st, out, n)));
}

/* store_batch_begin - start a batch of calls in one transaction */
enum store_status
store_batch_begin(struct store *st)
{
	return (store_trace(st, "batch begin", NULL, st->be->batch_begin ?
	    st->be->batch_begin(st) : STORE_OK));
}

/* store_batch_end - commit the batch */
enum store_status
store_batch_end(struct store *st)
{
	return (store_trace(st, "batch end", NULL, st->be->batch_end ?
	    st->be->batch_end(st) : STORE_OK));
}

/* store_mark - a number that changes whenever the store may have changed */
enum store_status
store_mark(struct store *st, uint64_t *mark)
{
	*mark = 0;
	return (st->be->mark ? st->be->mark(st, mark) : STORE_PERM);
}

/* store_alias_create - the user's live alias for origin, or a new one */
enum store_status
store_alias_create(struct store *st, int64_t user_id, const char *origin,
    int64_t expires_at, struct alias *out, int *created)
{
	char	org[ORIGIN_MAX + 1], fresh[TOKEN_MAX + 1];
	int	dummy;
	enum store_status s;

	if (created == NULL)
		created = &dummy;
	*created = 0;
	if (user_id <= 0 || expires_at < 0 || out == NULL ||
	    !store_origin_fold(org, origin))
		return (store_trace_id(st, "alias_create", user_id,
		    STORE_INVALID));
	if (token_new(fresh, sizeof(fresh)) < 0)
		return (store_trace_id(st, "alias_create", user_id,
		    STORE_TEMP));
	s = st->be->alias_create(st, user_id, org, fresh, expires_at,
	    bp_now(), out, created);
	return (store_trace(st, *created ? "alias_create new" :
	    "alias_create again", s == STORE_OK ? out->token : NULL, s));
}

/* store_alias_get - by token, any status; malformed is NOTFOUND */
enum store_status
store_alias_get(struct store *st, const char *token, struct alias *out)
{
	char	key[TOKEN_MAX + 1];

	if (!store_key(key, token))
		return (store_trace(st, "alias_get", NULL, STORE_NOTFOUND));
	return (store_trace(st, "alias_get", key,
	    st->be->alias_get(st, key, out)));
}

/* store_alias_route - "token" or "token@domain", for Postfix */
enum store_status
store_alias_route(struct store *st, const char *token, struct alias_route *out)
{
	char	key[TOKEN_MAX + 1], local[TOKEN_MAX + 2];
	const char *at;
	size_t	len;

	if (token == NULL)
		return (store_trace(st, "alias_route", NULL, STORE_NOTFOUND));
	if ((at = strchr(token, '@')) != NULL) {
		len = (size_t)(at - token);
		if (len > TOKEN_MAX)
			return (store_trace(st, "alias_route", NULL,
			    STORE_NOTFOUND));
		memcpy(local, token, len);
		local[len] = '\0';
		token = local;
	}
	if (!store_key(key, token))
		return (store_trace(st, "alias_route", NULL, STORE_NOTFOUND));
	return (store_trace(st, "alias_route", key,
	    st->be->alias_route(st, key, out)));
}

/* store_alias_list - the user's live aliases; *out new */
enum store_status
store_alias_list(struct store *st, int64_t user_id, struct alias **out,
    size_t *n)
{
	*out = NULL;
	*n = 0;
	if (user_id <= 0)
		return (store_trace_id(st, "alias_list", user_id,
		    STORE_INVALID));
	return (store_trace_id(st, "alias_list", user_id,
	    st->be->alias_list(st, user_id, out, n)));
}

/* store_alias_set_status - enable, disable or delete for good */
enum store_status
store_alias_set_status(struct store *st, const char *token,
    enum alias_state state)
{
	char	key[TOKEN_MAX + 1];

	if (!store_key(key, token))
		return (store_trace(st, "alias_set_status", NULL,
		    STORE_NOTFOUND));
	if (state != ALIAS_ACTIVE && state != ALIAS_INACTIVE &&
	    state != ALIAS_DELETED)
		return (store_trace(st, "alias_set_status", key,
		    STORE_INVALID));
	return (store_trace(st, "alias_set_status", key,
	    st->be->alias_set_status(st, key, state, bp_now())));
}

/* store_alias_set_context - opaque bytes, at most CONTEXT_MAX */
enum store_status
store_alias_set_context(struct store *st, const char *token, const void *ctx,
    size_t len)
{
	char	key[TOKEN_MAX + 1];

	if (!store_key(key, token))
		return (store_trace(st, "alias_set_context", NULL,
		    STORE_NOTFOUND));
	if (len > CONTEXT_MAX || (len > 0 && ctx == NULL))
		return (store_trace(st, "alias_set_context", key,
		    STORE_INVALID));
	return (store_trace(st, "alias_set_context", key,
	    st->be->alias_set_context(st, key, ctx, len, bp_now())));
}

/* store_alias_set_expiry - 0 = never; a past time expires it now */
enum store_status
store_alias_set_expiry(struct store *st, const char *token,
    int64_t expires_at)
{
	char	key[TOKEN_MAX + 1];

	if (!store_key(key, token))
		return (store_trace(st, "alias_set_expiry", NULL,
		    STORE_NOTFOUND));
	if (expires_at < 0)
		return (store_trace(st, "alias_set_expiry", key,
		    STORE_INVALID));
	return (store_trace(st, "alias_set_expiry", key,
	    st->be->alias_set_expiry(st, key, expires_at, bp_now())));
}

/* store_alias_count - one more forwarded / blocked / replied */
enum store_status
store_alias_count(struct store *st, const char *token, enum alias_counter c)
{
	char	key[TOKEN_MAX + 1];

	if (!store_key(key, token))
		return (store_trace(st, "alias_count", NULL, STORE_NOTFOUND));
	if (c != COUNT_FORWARDED && c != COUNT_BLOCKED && c != COUNT_REPLIED)
		return (store_trace(st, "alias_count", key, STORE_INVALID));
	return (store_trace(st, "alias_count", key,
	    st->be->alias_count(st, key, c, bp_now())));
}

/* store_reply_get_or_create - the reply token for (alias, sender) */
enum store_status
store_reply_get_or_create(struct store *st, const char *alias,
    const char *sender, struct reply *out)
{
	char	key[TOKEN_MAX + 1], snd[EMAIL_MAX + 1], fresh[TOKEN_MAX + 1];

	if (!store_key(key, alias))
		return (store_trace(st, "reply_get_or_create", NULL,
		    STORE_NOTFOUND));
	if (!store_email_ok(sender) || out == NULL)
		return (store_trace(st, "reply_get_or_create", key,
		    STORE_INVALID));
	bp_strlcpy(snd, sender, sizeof(snd));
	bp_lower(snd);
	if (token_new(fresh, sizeof(fresh)) < 0)
		return (store_trace(st, "reply_get_or_create", key,
		    STORE_TEMP));
	return (store_trace(st, "reply_get_or_create", key,
	    st->be->reply_get_or_create(st, key, snd, fresh, bp_now(), out)));
}

/* store_reply_find - the existing reply token for (alias, sender) */
enum store_status
store_reply_find(struct store *st, const char *alias, const char *sender,
    struct reply *out)
{
	char	key[TOKEN_MAX + 1], snd[EMAIL_MAX + 1];

	if (!store_key(key, alias))
		return (store_trace(st, "reply_find", NULL, STORE_NOTFOUND));
	if (!store_email_ok(sender) || out == NULL)
		return (store_trace(st, "reply_find", key, STORE_INVALID));
	bp_strlcpy(snd, sender, sizeof(snd));
	bp_lower(snd);
	return (store_trace(st, "reply_find", key,
	    st->be->reply_get_or_create(st, key, snd, NULL, bp_now(), out)));
}

/* store_reply_get - resolve a reply token */
enum store_status
store_reply_get(struct store *st, const char *token, struct reply *out)
{
	char	key[TOKEN_MAX + 1];

	if (!store_key(key, token))
		return (store_trace(st, "reply_get", NULL, STORE_NOTFOUND));
	return (store_trace(st, "reply_get", key,
	    st->be->reply_get(st, key, out)));
}

/* store_queue_append - one notification, kept ttl seconds */
enum store_status
store_queue_append(struct store *st, int64_t user_id, const char *data,
    size_t len, int64_t ttl, int64_t *idx)
{
	int64_t	dummy;

	if (idx == NULL)
		idx = &dummy;
	*idx = 0;
	if (user_id <= 0 || data == NULL || len < 1 || len > QUEUE_DATA_MAX ||
	    ttl < 1 || ttl > STORE_TTL_MAX)
		return (store_trace_id(st, "queue_append", user_id,
		    STORE_INVALID));
	return (store_trace_id(st, "queue_append", user_id,
	    st->be->queue_append(st, user_id, data, len, bp_now() + ttl,
	    idx)));
}

/* store_queue_read - live messages from from_idx; *out new */
enum store_status
store_queue_read(struct store *st, int64_t user_id, int64_t from_idx,
    int limit, struct qmsg **out, size_t *n, int64_t *first_idx)
{
	int64_t	dummy;

	if (first_idx == NULL)
		first_idx = &dummy;
	*out = NULL;
	*n = 0;
	*first_idx = 0;
	if (user_id <= 0 || from_idx < 0 || limit < 1 ||
	    limit > STORE_LIMIT_MAX)
		return (store_trace_id(st, "queue_read", user_id,
		    STORE_INVALID));
	return (store_trace_id(st, "queue_read", user_id,
	    st->be->queue_read(st, user_id, from_idx, limit, bp_now(), out, n,
	    first_idx)));
}

/* qmsgs_free - NULL is fine */
void
qmsgs_free(struct qmsg *v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i].data);
	free(v);
}

/* store_blob_put - keep b->data for ttl seconds; fills b->id */
enum store_status
store_blob_put(struct store *st, struct blob *b, int64_t ttl)
{
	char	alias[TOKEN_MAX + 1];

	if (b == NULL || b->user_id <= 0 || b->size > STORE_BLOB_MAX ||
	    (b->size > 0 && b->data == NULL) || ttl < 1 ||
	    ttl > STORE_TTL_MAX || !store_key(alias, b->alias) ||
	    strnlen(b->name, sizeof(b->name)) == sizeof(b->name) ||
	    !store_printable(b->name, BLOB_NAME_MAX, 1) ||
	    strnlen(b->type, sizeof(b->type)) == sizeof(b->type) ||
	    !store_printable(b->type, BLOB_TYPE_MAX, 0) || b->type[0] == '\0')
		return (store_trace(st, "blob_put", NULL, STORE_INVALID));
	memcpy(b->alias, alias, sizeof(alias));
	if (token_new(b->id, sizeof(b->id)) < 0)
		return (store_trace(st, "blob_put", NULL, STORE_TEMP));
	b->expires_at = bp_now() + ttl;
	return (store_trace(st, "blob_put", b->id, st->be->blob_put(st, b)));
}

/* store_blob_get - a live blob; out->data new (blob_free) */
enum store_status
store_blob_get(struct store *st, const char *id, struct blob *out)
{
	char	key[TOKEN_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (!store_key(key, id))
		return (store_trace(st, "blob_get", NULL, STORE_NOTFOUND));
	return (store_trace(st, "blob_get", key,
	    st->be->blob_get(st, key, bp_now(), out)));
}

/* blob_free - the data of a blob from store_blob_get; NULL is fine */
void
blob_free(struct blob *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->size = 0;
}

/* store_host_ok - a host name or address literal */
static int
store_host_ok(const char *h)
{
	size_t	i;

	if (h == NULL || h[0] == '\0')
		return (0);
	for (i = 0; h[i] != '\0'; i++) {
		unsigned char c = (unsigned char)h[i];

		if (i >= HOST_MAX)
			return (0);
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c == '.' || c == '-' ||
		    c == '_' || c == ':'))
			return (0);
	}
	return (1);
}

/* store_node_add - a new queue host; STORE_EXISTS if host:port is taken */
enum store_status
store_node_add(struct store *st, const char *host, int port, int capacity,
    int64_t *id)
{
	int64_t	dummy;

	if (id == NULL)
		id = &dummy;
	*id = 0;
	if (!store_host_ok(host) || port < 1 || port > 65535 || capacity < 0)
		return (store_trace(st, "node_add", NULL, STORE_INVALID));
	return (store_trace(st, "node_add", NULL,
	    st->be->node_add(st, host, port, capacity, id)));
}

/* store_node_update - host, port, capacity, available, downed, draining */
enum store_status
store_node_update(struct store *st, const struct node *n)
{
	if (n == NULL || n->id <= 0 || !store_host_ok(n->host) ||
	    n->port < 1 || n->port > 65535 || n->capacity < 0 ||
	    n->available < 0)
		return (store_trace_id(st, "node_update", n ? n->id : 0,
		    STORE_INVALID));
	return (store_trace_id(st, "node_update", n->id,
	    st->be->node_update(st, n)));
}

/* store_node_list - every node; *out new */
enum store_status
store_node_list(struct store *st, struct node **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return (store_trace(st, "node_list", NULL,
	    st->be->node_list(st, out, n)));
}

/* store_node_assign - the user's node, assigning one when needed */
enum store_status
store_node_assign(struct store *st, int64_t user_id, struct node *out)
{
	if (user_id <= 0 || out == NULL)
		return (store_trace_id(st, "node_assign", user_id,
		    STORE_INVALID));
	return (store_trace_id(st, "node_assign", user_id,
	    st->be->node_assign(st, user_id, out)));
}

/* store_event_append - one event for the user's stream */
enum store_status
store_event_append(struct store *st, int64_t user_id, const char *type,
    const char *json, int64_t *id)
{
	int64_t	dummy;
	size_t	i;

	if (id == NULL)
		id = &dummy;
	*id = 0;
	if (user_id <= 0 || type == NULL || json == NULL || type[0] == '\0' ||
	    strnlen(json, EVENT_DATA_MAX + 1) > EVENT_DATA_MAX)
		return (store_trace_id(st, "event_append", user_id,
		    STORE_INVALID));
	for (i = 0; type[i] != '\0'; i++)
		if (i >= EVENT_TYPE_MAX || !((type[i] >= 'a' &&
		    type[i] <= 'z') || type[i] == '_' || type[i] == '.'))
			return (store_trace_id(st, "event_append", user_id,
			    STORE_INVALID));
	return (store_trace_id(st, "event_append", user_id,
	    st->be->event_append(st, user_id, type, json, bp_now(), id)));
}

/* store_event_read - events after after_id; *out new (free()) */
enum store_status
store_event_read(struct store *st, int64_t user_id, int64_t after_id,
    int limit, struct event **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (user_id <= 0 || after_id < 0 || limit < 1 ||
	    limit > STORE_LIMIT_MAX)
		return (store_trace_id(st, "event_read", user_id,
		    STORE_INVALID));
	return (store_trace_id(st, "event_read", user_id,
	    st->be->event_read(st, user_id, after_id, limit, out, n)));
}

/* store_purge - garbage collection; retention and horizon in seconds */
enum store_status
store_purge(struct store *st, int64_t retention, int64_t event_horizon,
    struct purge_counts *out)
{
	struct purge_counts dummy;
	enum store_status s;

	if (out == NULL)
		out = &dummy;
	memset(out, 0, sizeof(*out));
	if (retention < 0 || event_horizon < 0)
		return (store_trace(st, "purge", NULL, STORE_INVALID));
	s = st->be->purge(st, bp_now(), retention, event_horizon, out);
	if (s == STORE_OK)
		log_info("store %s: purge: aliases=%ld replies=%ld qmsgs=%ld "
		    "blobs=%ld events=%ld rates=%ld", st->be->name, out->aliases,
		    out->replies, out->qmsgs, out->blobs, out->events,
		    out->rates);
	return (store_trace(st, "purge", NULL, s));
}

/* store_usage - see store.h */
enum store_status
store_usage(struct store *st, int64_t user_id, struct store_usage *out)
{
	memset(out, 0, sizeof(*out));
	if (user_id <= 0)
		return (store_trace(st, "usage", NULL, STORE_INVALID));
	return (store_trace(st, "usage", NULL,
	    st->be->usage(st, user_id, bp_now(), out)));
}

/* store_rate_key_ok - a key store_rate_* take */
static int
store_rate_key_ok(const char *key, long window)
{
	return (key != NULL && *key != '\0' && window >= 1 &&
	    store_printable(key, STORE_RATE_KEY_MAX, 0));
}

/* store_rate_hit - see store.h */
enum store_status
store_rate_hit(struct store *st, const char *key, long limit, long window,
    long *retry_after)
{
	enum store_status s;
	long	 count = 0, dummy;
	int64_t	 start = 0, now = bp_now();

	if (retry_after == NULL)
		retry_after = &dummy;
	*retry_after = 0;
	if (!store_rate_key_ok(key, window) || limit < 0)
		return (store_trace(st, "rate_hit", NULL, STORE_INVALID));
	s = st->be->rate_hit(st, key, 1, window, now, &count, &start);
	if (s != STORE_OK)
		return (store_trace(st, "rate_hit", NULL, s));
	if (count <= limit)
		return (STORE_OK);
	*retry_after = (long)(start + window - now);
	if (*retry_after < 1)
		*retry_after = 1;
	return (STORE_EXISTS);
}

/* store_rate_add - see store.h */
enum store_status
store_rate_add(struct store *st, const char *key, long n, long window)
{
	long	 count;
	int64_t	 start;

	if (!store_rate_key_ok(key, window) || n < 1)
		return (store_trace(st, "rate_add", NULL, STORE_INVALID));
	return (store_trace(st, "rate_add", NULL, st->be->rate_hit(st, key, n,
	    window, bp_now(), &count, &start)));
}

/* store_rate_peek - see store.h */
enum store_status
store_rate_peek(struct store *st, const char *key, long window, long *count,
    long *retry_after)
{
	enum store_status s;
	long	 dummy;
	int64_t	 start = 0, now = bp_now();

	if (retry_after == NULL)
		retry_after = &dummy;
	*count = 0;
	*retry_after = 0;
	if (!store_rate_key_ok(key, window))
		return (store_trace(st, "rate_peek", NULL, STORE_INVALID));
	s = st->be->rate_hit(st, key, 0, window, now, count, &start);
	if (s != STORE_OK)
		return (store_trace(st, "rate_peek", NULL, s));
	if (start + window <= now)
		*count = 0;			/* that window is over */
	else
		*retry_after = (long)(start + window - now);
	return (STORE_OK);
}
