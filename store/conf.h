/*
 * conf.h - bipostal.conf, the one configuration file of every program
 *
 * "name = value" lines, '#' comments, blank lines; a line that begins with
 * white space continues the previous one, as in main.cf.  Every parameter
 * is declared once, in the table in conf.c, with its type, default and
 * bounds.  An unknown name, a bad value or a secret file readable by group
 * or others refuses the whole file with one line "FILE, line N: NAME: why".
 *
 * A struct conf is reference counted: a daemon keeps one current pointer,
 * each connection takes a reference, and a reload (SIGHUP) builds a new
 * conf and swaps the pointer; the last conf_release frees the old one.
 */
#ifndef BIPOSTAL_CONF_H
#define BIPOSTAL_CONF_H

#include <stddef.h>
#include <stdio.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define CONF_DEFAULT_PATH	SYSCONFDIR "/bipostal/bipostal.conf"

struct conf {
	int	refs;
	char	*path;

	/* shared */
	char	*store;			/* sqlite:/path | mysql://... */
	char	*redis;			/* "" = none */
	char	*alias_domain;
	char	*daemon_user;		/* drop privileges to this user */
	char	*server_key_file;	/* ops key, mode 0600 */
	char	*secret_key_file;	/* signs tokens, links, bounces; 0600 */
	long	 alias_retention;	/* seconds a deleted alias is kept */
	long	 queue_ttl;		/* default notification TTL, seconds */
	long	 queue_max_ttl;
	long	 blob_ttl;		/* stripped parts kept, seconds */
	long	 event_horizon;		/* events kept, seconds */
	char	*postmaster_address;	/* postmaster@, abuse@; "" = refused */
	long	 user_blob_quota;	/* bytes of kept parts per user */
	long	 user_queue_quota;	/* queued notifications per user */
	long	 user_reply_quota;	/* reply addresses per user */

	/* bipostal-postmapd */
	char	*postmapd_listen;	/* inet:HOST:PORT | unix:/path */
	long	 postmapd_timeout;	/* per-lookup deadline, milliseconds */
	long	 postmapd_max_conn;
	long	 postmapd_idle_timeout;	/* seconds */
	long	 postmapd_cache_ttl;	/* ms an OK answer is reused; 0 = off */
	char	*postmapd_socket_group;	/* group of a unix: socket (Postfix's) */

	/* bipostal-milter */
	char	*milter_socket;		/* inet:PORT@HOST | unix:/path */
	long	 milter_max_size;	/* bytes of one message */
	long	 milter_max_headers;
	long	 milter_max_depth;	/* MIME nesting */
	char	*milter_template_dir;	/* header/footer templates */
	char	*milter_trusted_authserv;	/* Authentication-Results id */
	long	 milter_rate_alias;	/* messages per alias per hour; 0 = off */

	/* bipostal-dash */
	char	*dash_listen;		/* HOST:PORT */
	char	*dash_url;		/* public base URL, for links in mail */
	char	*dash_static_dir;	/* the web page */
	char	*dash_signup;		/* open | admin */
	char	*dash_cors_origins;	/* space separated; "" = none */
	char	*dash_jwks_file;	/* OpenID provider keys; "" = none */
	char	*dash_oidc_issuer;
	char	*dash_oidc_audience;
	long	 dash_token_ttl;	/* bearer token lifetime, seconds */
	long	 dash_max_body;		/* bytes */
	long	 dash_conn_timeout;	/* seconds */
	long	 dash_per_ip_conn;
	long	 dash_threads;
	long	 dash_rate_login;	/* attempts per minute per address */
	long	 dash_rate_signup;	/* per hour per address */
	long	 dash_rate_alias;	/* alias creations per hour per user */
};

/* conf_load - read path (NULL = CONF_DEFAULT_PATH); new conf with one
 * reference, or NULL with the reason in err (one line, no newline) */
struct conf	*conf_load(const char *path, char *err, size_t errlen);
/* conf_parse - the same from an open stream; path names it in errors */
struct conf	*conf_parse(FILE *fp, const char *path, char *err, size_t errlen);
/* conf_defaults - a conf with every default (tests); new */
struct conf	*conf_defaults(void);
struct conf	*conf_retain(struct conf *);
void		 conf_release(struct conf *);	/* NULL is fine */
/* conf_print - "name = value" for every parameter (all = 0: only those
 * that differ from the default, like postconf -n) */
void		 conf_print(const struct conf *, FILE *, int all);
/* conf_daemon_start - what every daemon does first: take -c FILE, -f
 * (foreground, log to stderr too) and -v (more logging), and the option
 * letters of more (getopt syntax) through opt(ch, optarg), which answers
 * -1 for a bad value; then open the log as name and load the
 * configuration, fatal on error.  A bad option or an argument calls
 * usage, which must not return.  *foreground gets -f. */
struct conf	*conf_daemon_start(const char *name, int argc, char **argv,
		    const char *more, int (*opt)(int, const char *),
		    void (*usage)(void), int *foreground);
/* conf_read_secret - read a secret file that must not be readable by
 * group or others; returns its length (trailing newline stripped) or -1
 * with the reason in err */
long		 conf_read_secret(const char *path, char *buf, size_t size,
		    char *err, size_t errlen);
/* conf_read_key - conf_read_secret for secret_key_file, the key that
 * signs bounce addresses, links and sessions: at least CONF_KEY_MIN
 * bytes */
#define CONF_KEY_MIN	16
long		 conf_read_key(const char *path, unsigned char *buf,
		    size_t size, char *err, size_t errlen);

#endif
