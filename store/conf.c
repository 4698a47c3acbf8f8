/*
 * conf.c - read bipostal.conf into a struct conf
 *
 * Every parameter is declared once in conf_table: name, type, default,
 * bounds and the struct member it fills, like Postfix's VAR_/DEF_/var_
 * triples.  Types: string, integer, time (s, m, h, d, w suffixes; the
 * table says the unit it stores), size (k, m, g suffixes) and secret file
 * paths, which must not be readable by group or others.
 *
 * Failure: conf_load refuses the whole file with one line naming the file,
 * the line and the parameter; a daemon keeps running on its old conf when a
 * reload fails.  Ownership: conf_load returns a new conf with one
 * reference; conf_release frees it when the count reaches zero.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "log.h"
#include "uri.h"
#include "util.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif
#ifndef PKGDATADIR
#define PKGDATADIR "/usr/share/bipostal"
#endif

#define CONF_LINE_MAX	4096	/* one logical line, continuations included */

enum conf_type {
	CONF_STR,
	CONF_INT,
	CONF_TIME,		/* seconds, suffixes s m h d w */
	CONF_MSEC,		/* milliseconds, suffixes ms s m */
	CONF_SIZE,		/* bytes, suffixes k m g */
	CONF_SECRET,		/* path of a 0600 file; checked at load */
};

struct conf_param {
	const char	*name;
	enum conf_type	 type;
	size_t		 off;
	const char	*def;		/* default, as written in the file */
	long		 min, max;	/* bounds for numbers */
	const char	*choices;	/* for strings: "a|b", NULL = any */
	int		(*check)(const char *);	/* for strings: 1 = good */
	const char	*want;		/* what check accepts, for the refusal */
};

#define S(m)	CONF_STR, offsetof(struct conf, m)
#define I(m)	CONF_INT, offsetof(struct conf, m)
#define T(m)	CONF_TIME, offsetof(struct conf, m)
#define MS(m)	CONF_MSEC, offsetof(struct conf, m)
#define Z(m)	CONF_SIZE, offsetof(struct conf, m)
#define K(m)	CONF_SECRET, offsetof(struct conf, m)
#define DAY	86400L
#define NOLIM	LONG_MAX

/*
 * Checks of the strings that name something: each is 1 when v has the
 * form its parameter's "want" text says.  They look at the form only;
 * whether the host answers or the file opens is found out where it is
 * used.
 */

/* check_port - digits s[0..len) make a port 1-65535 */
static int
check_port(const char *s, size_t len)
{
	long	n = 0;
	size_t	i;

	if (len == 0 || len > 5)
		return (0);
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return (0);
		n = n * 10 + (s[i] - '0');
	}
	return (n >= 1 && n <= 65535);
}

/* check_host - s[0..len) is a host name, an IPv4 or a [IPv6] address */
static int
check_host(const char *s, size_t len)
{
	size_t	i;

	if (len == 0)
		return (0);
	if (s[0] == '[')
		return (len > 2 && s[len - 1] == ']' &&
		    strspn(s + 1, "0123456789abcdefABCDEF:.") == len - 2);
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '-' && s[i] != '_')
			return (0);
	return (1);
}

/* check_hostport - HOST:PORT, the port after the last colon */
static int
check_hostport(const char *v)
{
	const char *colon = strrchr(v, ':');

	return (colon != NULL && check_host(v, (size_t)(colon - v)) &&
	    check_port(colon + 1, strlen(colon + 1)));
}

/* check_path - an absolute path without blanks or control characters */
static int
check_path(const char *v)
{
	const char *p;

	if (v[0] != '/' || v[1] == '\0')
		return (0);
	for (p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return (0);
	return (1);
}

/* check_domain - a DNS name of two labels or more, as alias addresses
 * use it: letters, digits and inner hyphens, labels of 1-63 */
static int
check_domain(const char *v)
{
	size_t	len = strlen(v), label = 0, labels = 0, i;

	if (len == 0 || len > 253)
		return (0);
	for (i = 0; i <= len; i++) {
		char c = v[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || v[i - 1] == '-')
				return (0);
			labels++;
			label = 0;
		} else if (isalnum((unsigned char)c) || (c == '-' && label > 0))
			label++;
		else
			return (0);
	}
	return (labels >= 2);
}

/* check_store - sqlite:PATH or mysql://... (store_open reads the rest) */
static int
check_store(const char *v)
{
	struct uri u;
	const char *why;
	int	 ok;

	if (uri_parse(v, strlen(v), &u, &why) < 0)
		return (0);
	ok = (strcmp(u.scheme, "sqlite") == 0 && !u.has_authority &&
	    u.path[0] != '\0' && u.nparam == 0) ||
	    (strcmp(u.scheme, "mysql") == 0 && u.host_type != URI_HOST_NONE);
	uri_clear(&u);
	return (ok);
}

/* check_redis - empty (no Redis), redis://HOST... or unix:/PATH, as
 * uri.c reads them (redis.c reads them so too) */
static int
check_redis(const char *v)
{
	struct uri u;
	const char *why;
	int	 ok;

	if (*v == '\0')
		return (1);
	if (uri_parse(v, strlen(v), &u, &why) < 0)
		return (0);
	ok = (strcmp(u.scheme, "unix") == 0 && u.path[0] == '/') ||
	    (strcmp(u.scheme, "redis") == 0 && u.host_type != URI_HOST_NONE);
	uri_clear(&u);
	return (ok);
}

/* check_postmapd_listen - inet:HOST:PORT or unix:/PATH */
static int
check_postmapd_listen(const char *v)
{
	if (strncmp(v, "unix:", 5) == 0)
		return (check_path(v + 5));
	return (strncmp(v, "inet:", 5) == 0 && check_hostport(v + 5));
}

/* check_milter_socket - libmilter's inet:PORT@HOST, inet6:PORT@HOST,
 * unix:/PATH or local:/PATH */
static int
check_milter_socket(const char *v)
{
	const char *at;
	size_t	skip;

	if (strncmp(v, "unix:", 5) == 0)
		return (check_path(v + 5));
	if (strncmp(v, "local:", 6) == 0)
		return (check_path(v + 6));
	if (strncmp(v, "inet:", 5) == 0)
		skip = 5;
	else if (strncmp(v, "inet6:", 6) == 0)
		skip = 6;
	else
		return (0);
	v += skip;
	if ((at = strchr(v, '@')) == NULL)
		return (0);
	return (check_port(v, (size_t)(at - v)) &&
	    check_host(at + 1, strlen(at + 1)));
}

/* check_email - empty, or one plain address */
static int
check_email(const char *v)
{
	return (*v == '\0' || addr_email_ok(v));
}

/* check_url - http://HOST[:PORT][/PATH] or https://..., no blanks */
static int
check_url(const char *v)
{
	const char *host, *end, *p;

	if (strncmp(v, "https://", 8) == 0)
		host = v + 8;
	else if (strncmp(v, "http://", 7) == 0)
		host = v + 7;
	else
		return (0);
	for (p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return (0);
	end = host + strcspn(host, "/?#");
	p = memchr(host, ':', (size_t)(end - host));
	if (p != NULL && host[0] != '[')
		return (check_host(host, (size_t)(p - host)) &&
		    check_port(p + 1, (size_t)(end - p - 1)));
	return (check_host(host, (size_t)(end - host)) ||
	    (host[0] == '[' && check_hostport(host)));
}

static const struct conf_param conf_table[] = {
	/* shared */
	{"store", S(store), "sqlite:" LOCALSTATEDIR "/lib/bipostal/bipostal.db",
	    0, 0, NULL, check_store,
	    "sqlite:PATH or mysql://USER:PASSWORD@HOST[:PORT]/DB"},
	{"redis", S(redis), "",
	    0, 0, NULL, check_redis,
	    "redis://HOST[:PORT][/N] or unix:/PATH"},
	{"alias_domain", S(alias_domain), "alias.example",
	    0, 0, NULL, check_domain,
	    "a domain name"},
	{"daemon_user", S(daemon_user), "bipostal", 0, 0, NULL, NULL, NULL},
	{"server_key_file", K(server_key_file), "", 0, 0, NULL, NULL, NULL},
	{"secret_key_file", K(secret_key_file), "", 0, 0, NULL, NULL, NULL},
	{"alias_retention", T(alias_retention), "30d", 0, 3650 * DAY, NULL, NULL, NULL},
	{"queue_ttl", T(queue_ttl), "7d", 1, 365 * DAY, NULL, NULL, NULL},
	{"queue_max_ttl", T(queue_max_ttl), "30d", 1, 365 * DAY, NULL, NULL, NULL},
	{"blob_ttl", T(blob_ttl), "7d", 60, 365 * DAY, NULL, NULL, NULL},
	{"event_horizon", T(event_horizon), "1d", 60, 30 * DAY, NULL, NULL, NULL},
	{"postmaster_address", S(postmaster_address), "",
	    0, 0, NULL, check_email,
	    "one address outside the alias domain, or nothing"},
	{"user_blob_quota", Z(user_blob_quota), "100m",
	    1024, 1024L * 1024 * 1024 * 1024, NULL, NULL, NULL},
	{"user_queue_quota", I(user_queue_quota), "1000", 1, 10000000, NULL, NULL, NULL},
	{"user_reply_quota", I(user_reply_quota), "10000", 1, 100000000, NULL, NULL, NULL},

	/* bipostal-postmapd */
	{"postmapd_listen", S(postmapd_listen), "inet:127.0.0.1:10044",
	    0, 0, NULL, check_postmapd_listen,
	    "inet:HOST:PORT or unix:/PATH"},
	{"postmapd_timeout", MS(postmapd_timeout), "5s", 10, 90000, NULL, NULL, NULL},
	{"postmapd_max_conn", I(postmapd_max_conn), "1024", 1, 100000, NULL, NULL, NULL},
	{"postmapd_idle_timeout", T(postmapd_idle_timeout), "300s", 1, DAY, NULL, NULL, NULL},
	{"postmapd_cache_ttl", MS(postmapd_cache_ttl), "0", 0, 1000, NULL, NULL, NULL},
	{"postmapd_socket_group", S(postmapd_socket_group), "postfix", 0, 0, NULL, NULL, NULL},

	/* bipostal-milter */
	{"milter_socket", S(milter_socket), "inet:10045@127.0.0.1",
	    0, 0, NULL, check_milter_socket,
	    "inet:PORT@HOST or unix:/PATH"},
	{"milter_max_size", Z(milter_max_size), "25m",
	    1024, 1024L * 1024 * 1024, NULL, NULL, NULL},
	{"milter_max_headers", I(milter_max_headers), "1000", 10, 100000, NULL, NULL, NULL},
	{"milter_max_depth", I(milter_max_depth), "20", 1, 100, NULL, NULL, NULL},
	{"milter_template_dir", S(milter_template_dir), PKGDATADIR "/templates",
	    0, 0, NULL, NULL, NULL},
	{"milter_trusted_authserv", S(milter_trusted_authserv), "", 0, 0, NULL, NULL, NULL},
	{"milter_rate_alias", I(milter_rate_alias), "200", 0, 100000000, NULL, NULL, NULL},

	/* bipostal-dash */
	{"dash_listen", S(dash_listen), "127.0.0.1:8080",
	    0, 0, NULL, check_hostport,
	    "HOST:PORT"},
	{"dash_url", S(dash_url), "http://127.0.0.1:8080",
	    0, 0, NULL, check_url,
	    "http://HOST or https://HOST"},
	{"dash_static_dir", S(dash_static_dir), PKGDATADIR "/www", 0, 0, NULL, NULL, NULL},
	{"dash_signup", S(dash_signup), "admin", 0, 0, "open|admin", NULL, NULL},
	{"dash_cors_origins", S(dash_cors_origins), "", 0, 0, NULL, NULL, NULL},
	{"dash_jwks_file", S(dash_jwks_file), "", 0, 0, NULL, NULL, NULL},
	{"dash_oidc_issuer", S(dash_oidc_issuer), "", 0, 0, NULL, NULL, NULL},
	{"dash_oidc_audience", S(dash_oidc_audience), "", 0, 0, NULL, NULL, NULL},
	{"dash_token_ttl", T(dash_token_ttl), "1h", 60, 30 * DAY, NULL, NULL, NULL},
	{"dash_max_body", Z(dash_max_body), "64k", 1024, 64L * 1024 * 1024, NULL, NULL, NULL},
	{"dash_conn_timeout", T(dash_conn_timeout), "30s", 1, 3600, NULL, NULL, NULL},
	{"dash_per_ip_conn", I(dash_per_ip_conn), "64", 1, 100000, NULL, NULL, NULL},
	{"dash_threads", I(dash_threads), "4", 1, 256, NULL, NULL, NULL},
	{"dash_rate_login", I(dash_rate_login), "10", 1, 1000000, NULL, NULL, NULL},
	{"dash_rate_signup", I(dash_rate_signup), "10", 1, 1000000, NULL, NULL, NULL},
	{"dash_rate_alias", I(dash_rate_alias), "1000", 1, 100000000, NULL, NULL, NULL},
	{NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};

/* conf_field - the member of c a parameter fills */
static void *
conf_field(struct conf *c, const struct conf_param *p)
{
	return ((char *)c + p->off);
}

/* conf_number - parse a number with a unit suffix; 0 ok, -1 bad */
static int
conf_number(const struct conf_param *p, const char *v, long *out)
{
	char	*end;
	long	 n, mul = 1;

	if (!isdigit((unsigned char)*v))
		return (-1);
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0)
		return (-1);
	switch (p->type) {
	case CONF_TIME:
		if (*end == '\0' || strcmp(end, "s") == 0)
			mul = 1;
		else if (strcmp(end, "m") == 0)
			mul = 60;
		else if (strcmp(end, "h") == 0)
			mul = 3600;
		else if (strcmp(end, "d") == 0)
			mul = DAY;
		else if (strcmp(end, "w") == 0)
			mul = 7 * DAY;
		else
			return (-1);
		break;
	case CONF_MSEC:
		if (*end == '\0' || strcmp(end, "ms") == 0)
			mul = 1;
		else if (strcmp(end, "s") == 0)
			mul = 1000;
		else if (strcmp(end, "m") == 0)
			mul = 60000;
		else
			return (-1);
		break;
	case CONF_SIZE:
		if (*end == '\0')
			mul = 1;
		else if (strcasecmp(end, "k") == 0)
			mul = 1024;
		else if (strcasecmp(end, "m") == 0)
			mul = 1024L * 1024;
		else if (strcasecmp(end, "g") == 0)
			mul = 1024L * 1024 * 1024;
		else
			return (-1);
		break;
	default:
		if (*end != '\0')
			return (-1);
	}
	if (n > LONG_MAX / mul)
		return (-1);
	*out = n * mul;
	return (0);
}

/* conf_choice - is v one of the '|'-separated choices? */
static int
conf_choice(const char *choices, const char *v)
{
	size_t	len = strlen(v);
	const char *p = choices, *bar;

	for (;;) {
		bar = strchr(p, '|');
		if ((bar ? (size_t)(bar - p) : strlen(p)) == len &&
		    strncmp(p, v, len) == 0)
			return (1);
		if (bar == NULL)
			return (0);
		p = bar + 1;
	}
}

/* conf_check_secret - the file exists and only its owner may read it */
static int
conf_check_secret(const char *path, char *why, size_t len)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, len, "%s: not a regular file", path);
		return (-1);
	}
	if (st.st_mode & 077) {
		snprintf(why, len, "%s: mode %03o: readable by group or others "
		    "(chmod 600)", path, (unsigned)(st.st_mode & 0777));
		return (-1);
	}
	return (0);
}

/* conf_set - set one parameter from its text; 0 ok, -1 with why */
static int
conf_set(struct conf *c, const struct conf_param *p, const char *v,
    char *why, size_t len)
{
	long	n;

	switch (p->type) {
	case CONF_SECRET:
		if (*v != '\0' && conf_check_secret(v, why, len) < 0)
			return (-1);
		/* FALLTHROUGH */
	case CONF_STR:
		if (p->choices && !conf_choice(p->choices, v)) {
			snprintf(why, len, "bad value \"%.100s\": want %s",
			    v, p->choices);
			return (-1);
		}
		if (p->check && !p->check(v)) {
			snprintf(why, len, "bad value \"%.100s\": want %s",
			    v, p->want);
			return (-1);
		}
		free(*(char **)conf_field(c, p));
		*(char **)conf_field(c, p) = xstrdup(v);
		return (0);
	default:
		if (conf_number(p, v, &n) < 0) {
			snprintf(why, len, "bad value \"%.100s\"", v);
			return (-1);
		}
		if (n < p->min || n > p->max) {
			snprintf(why, len, "value \"%.100s\" out of range", v);
			return (-1);
		}
		*(long *)conf_field(c, p) = n;
		return (0);
	}
}

/* conf_lookup - the table row for name, or NULL */
static const struct conf_param *
conf_lookup(const char *name)
{
	const struct conf_param *p;

	for (p = conf_table; p->name; p++)
		if (strcmp(p->name, name) == 0)
			return (p);
	return (NULL);
}

/* conf_defaults - every parameter at its default */
struct conf *
conf_defaults(void)
{
	struct conf *c = xcalloc(1, sizeof(*c));
	const struct conf_param *p;
	char	why[256];

	c->refs = 1;
	for (p = conf_table; p->name; p++) {
		enum conf_type t = p->type;

		/* defaults of secret paths are "" and need no check */
		if (conf_set(c, p, p->def, why, sizeof(why)) < 0 && t != CONF_SECRET)
			abort();
	}
	return (c);
}

/* trim - strip leading and trailing white space in place */
static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return (s);
}

/* conf_line - apply one logical line; 0 ok, -1 with err filled */
static int
conf_line(struct conf *c, const char *path, int lineno, char *line,
    char *err, size_t errlen)
{
	const struct conf_param *p;
	char	*eq, *name, *value, why[512];

	line = trim(line);
	if (*line == '\0' || *line == '#')
		return (0);
	if ((eq = strchr(line, '=')) == NULL) {
		snprintf(err, errlen, "%s, line %d: missing '=' in \"%.60s\"",
		    path, lineno, line);
		return (-1);
	}
	*eq = '\0';
	name = trim(line);
	value = trim(eq + 1);
	if ((p = conf_lookup(name)) == NULL) {
		snprintf(err, errlen, "%s, line %d: %.60s: unknown parameter",
		    path, lineno, name);
		return (-1);
	}
	if (conf_set(c, p, value, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s, line %d: %s: %s", path, lineno,
		    name, why);
		return (-1);
	}
	return (0);
}

/* conf_load - read and check a configuration file */
struct conf *
conf_load(const char *path, char *err, size_t errlen)
{
	struct conf *c;
	FILE	*fp;

	if (path == NULL)
		path = CONF_DEFAULT_PATH;
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	c = conf_parse(fp, path, err, errlen);
	fclose(fp);
	return (c);
}

/* conf_parse - read a configuration from an open stream */
struct conf *
conf_parse(FILE *fp, const char *path, char *err, size_t errlen)
{
	struct conf *c;
	char	*buf = NULL, logical[CONF_LINE_MAX];
	size_t	 bufsize = 0, have = 0;
	ssize_t	 len;
	int	 lineno = 0, start = 0, failed = 0;

	c = conf_defaults();
	c->path = xstrdup(path);
	logical[0] = '\0';
	while ((len = getline(&buf, &bufsize, fp)) >= 0) {
		char	*t;

		lineno++;
		if (len >= CONF_LINE_MAX) {
			snprintf(err, errlen, "%s, line %d: line too long",
			    path, lineno);
			failed = 1;
			break;
		}
		if (memchr(buf, '\0', (size_t)len) != NULL) {
			snprintf(err, errlen, "%s, line %d: bad character",
			    path, lineno);
			failed = 1;
			break;
		}
		t = trim(buf);
		/* continuation: leading white space on a non-blank line */
		if ((buf[0] == ' ' || buf[0] == '\t') && *t != '\0' &&
		    *t != '#' && have > 0) {
			if (have + 1 + strlen(t) >= sizeof(logical)) {
				snprintf(err, errlen, "%s, line %d: line too long",
				    path, lineno);
				failed = 1;
				break;
			}
			logical[have++] = ' ';
			memcpy(logical + have, t, strlen(t) + 1);
			have += strlen(t);
			continue;
		}
		if (have > 0 && conf_line(c, path, start, logical, err,
		    errlen) < 0) {
			failed = 1;
			break;
		}
		have = 0;
		logical[0] = '\0';
		if (*t != '\0' && *t != '#') {
			have = bp_strlcpy(logical, t, sizeof(logical));
			start = lineno;
		}
	}
	free(buf);
	if (!failed && ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		failed = 1;
	}
	if (!failed && have > 0 &&
	    conf_line(c, path, start, logical, err, errlen) < 0)
		failed = 1;
	if (failed) {
		conf_release(c);
		return (NULL);
	}
	return (c);
}

/* conf_retain - take one more reference */
struct conf *
conf_retain(struct conf *c)
{
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_SEQ_CST);
	return (c);
}

/* conf_release - drop one reference; the last one frees */
void
conf_release(struct conf *c)
{
	const struct conf_param *p;

	if (c == NULL || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_SEQ_CST) > 0)
		return;
	for (p = conf_table; p->name; p++)
		if (p->type == CONF_STR || p->type == CONF_SECRET)
			free(*(char **)conf_field(c, p));
	free(c->path);
	free(c);
}

/* conf_format - the text of one parameter's value into buf */
static void
conf_format(const struct conf *c, const struct conf_param *p, char *buf,
    size_t len)
{
	const void *f = (const char *)c + p->off;

	if (p->type == CONF_STR || p->type == CONF_SECRET)
		snprintf(buf, len, "%s", *(char *const *)f);
	else if (p->type == CONF_MSEC)
		snprintf(buf, len, "%ldms", *(const long *)f);
	else if (p->type == CONF_TIME)
		snprintf(buf, len, "%lds", *(const long *)f);
	else
		snprintf(buf, len, "%ld", *(const long *)f);
}

/* conf_print - like postconf (all) or postconf -n (!all) */
void
conf_print(const struct conf *c, FILE *fp, int all)
{
	struct conf *d = conf_defaults();
	const struct conf_param *p;
	char	 v[1024], dv[1024];

	for (p = conf_table; p->name; p++) {
		conf_format(c, p, v, sizeof(v));
		conf_format(d, p, dv, sizeof(dv));
		if (all || strcmp(v, dv) != 0)
			fprintf(fp, "%s = %s\n", p->name, v);
	}
	conf_release(d);
}

/* conf_read_secret - the contents of a 0600 file */
long
conf_read_secret(const char *path, char *buf, size_t size, char *err,
    size_t errlen)
{
	int	 fd;
	ssize_t	 n;
	size_t	 got = 0;

	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "no secret file configured");
		return (-1);
	}
	if (conf_check_secret(path, err, errlen) < 0)
		return (-1);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
		buf[--got] = '\0';
	if (got == 0) {
		snprintf(err, errlen, "%s: empty secret", path);
		return (-1);
	}
	return ((long)got);
}

/* conf_read_key - a secret of CONF_KEY_MIN bytes or more */
long
conf_read_key(const char *path, unsigned char *buf, size_t size, char *err,
    size_t errlen)
{
	long	n = conf_read_secret(path, (char *)buf, size, err, errlen);

	if (n >= 0 && n < CONF_KEY_MIN) {
		snprintf(err, errlen, "%s: secret shorter than %d bytes", path,
		    CONF_KEY_MIN);
		return (-1);
	}
	return (n);
}

struct conf *
conf_daemon_start(const char *name, int argc, char **argv, const char *more,
    int (*opt)(int, const char *), void (*usage)(void), int *foreground)
{
	const char *path = NULL;
	char	 opts[64], err[512];
	struct conf *cf;
	int	 ch;

	snprintf(opts, sizeof(opts), "c:fv%s", more ? more : "");
	*foreground = 0;
	while ((ch = getopt(argc, argv, opts)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			*foreground = 1;
			break;
		case 'v':
			log_verbose++;
			break;
		default:
			if (ch == '?' || opt == NULL || opt(ch, optarg) < 0)
				usage();
			break;
		}
	}
	if (optind != argc)
		usage();
	log_open(name, *foreground);
	if ((cf = conf_load(path, err, sizeof(err))) == NULL)
		log_fatal("%s", err);
	return (cf);
}
