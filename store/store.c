/*
 * store.c - the public store calls: check, fold, limit, trace, dispatch
 *
 * This file: open and close, group commit, users, aliases and reply
 * addresses, and the checks and the trace both files use (store_int.h);
 * store_queue.c: the queue, blobs, nodes, events, purge, usage, rates.
 *
 * The backend is chosen by the URI scheme ("sqlite:", "mysql://") from
 * store_backends[].  Every public call checks its arguments here, so that
 * a backend only runs its own SQL:
 *   tokens, queue ids, blob ids  1..TOKEN_MAX of [0-9A-Za-z], folded to
 *                                lower case (token_fold); alias_route also
 *                                takes "token@domain" and ignores the domain
 *   emails (user, reply sender)  addr_email_ok: local@domain, one '@',
 *                                3..EMAIL_MAX printable ASCII without
 *                                space or <>()[],;:\"
 *                                (reply senders are folded to lower case,
 *                                user emails are kept as given)
 *   identities                   1..EMAIL_MAX printable ASCII without
 *                                space, folded to lower case
 *   origins                      addr_origin_ok: 1..ORIGIN_MAX of
 *                                [0-9A-Za-z._-:], not starting with '.'
 *                                or '-', folded
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

#include <sys/stat.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "store.h"
#include "store_int.h"
#include "token.h"
#include "util.h"

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
enum store_status
store_trace(struct store *st, const char *op, const char *key,
    enum store_status s)
{
	if (log_verbose)
		log_info("store %s: %s %.8s: %s", st->be->name, op,
		    key != NULL ? key : "-", store_strstatus(s));
	return (s);
}

/* store_trace_id - the same with a numeric key */
enum store_status
store_trace_id(struct store *st, const char *op, int64_t id,
    enum store_status s)
{
	if (log_verbose)
		log_info("store %s: %s id=%lld: %s", st->be->name, op,
		    (long long)id, store_strstatus(s));
	return (s);
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

/* store_origin_fold - a site name (addr_origin_ok), folded into buf */
static int
store_origin_fold(char *buf, const char *s)
{
	if (!addr_origin_ok(s))
		return (0);
	memcpy(buf, s, strlen(s) + 1);
	bp_lower(buf);
	return (1);
}

/* store_key - fold a token-like key; 0 if malformed (NULL is malformed) */
int
store_key(char *buf, const char *s)
{
	return (s != NULL && token_fold(buf, TOKEN_MAX + 1, s));
}

/* store_printable - len bytes of printable ASCII */
int
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

/* store_file - the file uri names, or NULL */
const char *
store_file(const char *uri)
{
	const struct store_backend *be = store_backend(uri);

	return (be != NULL && be->file != NULL ? be->file(uri) : NULL);
}

/* store_missing - is uri a store file that is not there */
int
store_missing(const char *uri)
{
	const char *path = store_file(uri);
	struct stat sb;

	return (path != NULL && stat(path, &sb) < 0 && errno == ENOENT);
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
	if (!addr_email_ok(email) || strnlen(pwhash, PWHASH_MAX + 1) >
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
	if (u == NULL || u->id <= 0 || !addr_email_ok(u->email) ||
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

/* token_issued - does token belong to anything but user's live alias for
 * org: STORE_EXISTS if so, STORE_OK if not, or a failure */
static enum store_status
token_issued(struct store *st, int64_t user_id, const char *org,
    const char *token)
{
	struct alias	 a;
	struct reply	 r;
	enum store_status s;

	if ((s = st->be->alias_get(st, token, &a)) == STORE_OK)
		return (a.user_id == user_id && a.status != ALIAS_DELETED &&
		    strcmp(a.origin, org) == 0 && (a.expires_at == 0 ||
		    a.expires_at > bp_now()) ? STORE_OK : STORE_EXISTS);
	if (s != STORE_NOTFOUND)
		return (s);
	s = st->be->reply_get(st, token, &r);
	return (s == STORE_OK ? STORE_EXISTS : s == STORE_NOTFOUND ?
	    STORE_OK : s);
}

/* store_alias_create_token - see store.h; a token another request
 * inserted meanwhile makes the backend give up (STORE_TEMP): looked up
 * again, it is EXISTS */
enum store_status
store_alias_create_token(struct store *st, int64_t user_id,
    const char *origin, const char *token, int64_t expires_at,
    struct alias *out, int *created)
{
	char	org[ORIGIN_MAX + 1];
	int	dummy;
	size_t	len = token != NULL ? strlen(token) : 0;
	enum store_status s;

	if (created == NULL)
		created = &dummy;
	*created = 0;
	if (user_id <= 0 || expires_at < 0 || out == NULL ||
	    !store_origin_fold(org, origin) || len < STORE_TOKEN_MIN ||
	    len > TOKEN_MAX || strspn(token, "0123456789abcdefghijklmnop"
	    "qrstuvwxyz") != len)
		return (store_trace_id(st, "alias_create_token", user_id,
		    STORE_INVALID));
	if ((s = token_issued(st, user_id, org, token)) != STORE_OK)
		return (store_trace(st, "alias_create_token", token, s));
	s = st->be->alias_create(st, user_id, org, token, expires_at,
	    bp_now(), out, created);
	if (s == STORE_TEMP && token_issued(st, user_id, org, token) ==
	    STORE_EXISTS)
		s = STORE_EXISTS;
	return (store_trace(st, *created ? "alias_create_token new" :
	    "alias_create_token again", s == STORE_OK ? out->token : NULL, s));
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
	if (!addr_email_ok(sender) || out == NULL)
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
	if (!addr_email_ok(sender) || out == NULL)
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
