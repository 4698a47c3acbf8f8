/*
 * test_conf - bipostal.conf parsing: values, units, continuations, and the
 * one-line refusals for unknown names, bad values and open secret files
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "tap.h"

struct conf_case {
	const char	*name;
	const char	*input;
	const char	*want_err;	/* substring of the refusal, NULL = ok */
	const char	*want_line;	/* "name = value" in conf_print -a */
};

static const struct conf_case cases[] = {
	{"empty file", "", NULL, "alias_domain = alias.example"},
	{"comments and blanks", "# c\n\n   # d\nalias_domain = a.test\n", NULL,
	    "alias_domain = a.test"},
	{"spaces around =", "alias_domain=b.test\n", NULL, "alias_domain = b.test"},
	{"continuation", "dash_cors_origins = https://a.test\n  https://b.test\n",
	    NULL, "dash_cors_origins = https://a.test https://b.test"},
	{"time unit d", "alias_retention = 2d\n", NULL, "alias_retention = 172800s"},
	{"time unit w", "queue_ttl = 1w\n", NULL, "queue_ttl = 604800s"},
	{"msec unit s", "postmapd_timeout = 2s\n", NULL, "postmapd_timeout = 2000ms"},
	{"size unit m", "milter_max_size = 10m\n", NULL, "milter_max_size = 10485760"},
	{"choice ok", "dash_signup = open\n", NULL, "dash_signup = open"},
	{"no last newline", "alias_domain = c.test", NULL, "alias_domain = c.test"},
	{"last wins", "alias_domain = d.test\nalias_domain = e.test\n", NULL,
	    "alias_domain = e.test"},
	{"unknown name", "aliasdomain = x\n", "line 1: aliasdomain: unknown parameter", NULL},
	{"unknown on line 3", "# x\nstore = sqlite:/tmp/x\nbogus = 1\n",
	    "line 3: bogus: unknown parameter", NULL},
	{"missing =", "alias_domain\n", "line 1: missing '='", NULL},
	{"bad number", "postmapd_max_conn = ten\n", "postmapd_max_conn: bad value", NULL},
	{"negative", "postmapd_max_conn = -1\n", "postmapd_max_conn: bad value", NULL},
	{"trailing junk", "postmapd_max_conn = 10x\n", "postmapd_max_conn: bad value", NULL},
	{"out of range", "postmapd_max_conn = 0\n", "postmapd_max_conn: value \"0\" out of range", NULL},
	{"bad unit", "alias_retention = 3y\n", "alias_retention: bad value", NULL},
	{"overflow", "milter_max_size = 99999999999999999999g\n", "milter_max_size: bad value", NULL},
	{"bad choice", "dash_signup = maybe\n", "dash_signup: bad value \"maybe\": want open|admin", NULL},
	{"missing secret", "server_key_file = /nonexistent/key\n",
	    "server_key_file: /nonexistent/key: No such file", NULL},
	{"open secret", "secret_key_file = @OPEN@\n", "readable by group or others", NULL},
	{"closed secret", "secret_key_file = @CLOSED@\n", NULL, "secret_key_file = @CLOSED@"},
	/* addresses, names and URIs are checked where they are read */
	{"domain upper case", "alias_domain = Alias.TEST\n", NULL,
	    "alias_domain = Alias.TEST"},
	{"domain empty", "alias_domain =\n", "alias_domain: bad value \"\": want a domain name", NULL},
	{"domain with space", "alias_domain = a b.test\n", "alias_domain: bad value \"a b.test\"", NULL},
	{"domain one label", "alias_domain = localhost\n", "alias_domain: bad value", NULL},
	{"domain empty label", "alias_domain = a..test\n", "alias_domain: bad value", NULL},
	{"domain leading hyphen", "alias_domain = -a.test\n", "alias_domain: bad value", NULL},
	{"domain with @", "alias_domain = a@b.test\n", "alias_domain: bad value", NULL},
	{"domain label too long", "alias_domain = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test\n",
	    "alias_domain: bad value", NULL},
	{"store sqlite", "store = sqlite:/var/x.db\n", NULL, "store = sqlite:/var/x.db"},
	{"store mysql", "store = mysql://u:p@db.test:3306/bp\n", NULL,
	    "store = mysql://u:p@db.test:3306/bp"},
	{"store empty", "store =\n", "store: bad value \"\": want sqlite:PATH or mysql://", NULL},
	{"store sqlite no path", "store = sqlite:\n", "store: bad value", NULL},
	{"store unknown scheme", "store = postgres://x/y\n", "store: bad value \"postgres://x/y\"", NULL},
	{"redis empty ok", "redis =\n", NULL, "redis = "},
	{"redis unix", "redis = unix:/run/redis.sock\n", NULL, "redis = unix:/run/redis.sock"},
	{"redis bad scheme", "redis = http://x\n", "redis: bad value \"http://x\": want redis://HOST[:PORT][/N] or unix:/PATH", NULL},
	{"postmapd inet", "postmapd_listen = inet:127.0.0.1:10044\n", NULL,
	    "postmapd_listen = inet:127.0.0.1:10044"},
	{"postmapd unix", "postmapd_listen = unix:/run/bp.sock\n", NULL,
	    "postmapd_listen = unix:/run/bp.sock"},
	{"postmapd no port", "postmapd_listen = inet:127.0.0.1\n",
	    "postmapd_listen: bad value \"inet:127.0.0.1\": want inet:HOST:PORT or unix:/PATH", NULL},
	{"postmapd port 0", "postmapd_listen = inet:127.0.0.1:0\n", "postmapd_listen: bad value", NULL},
	{"postmapd port too big", "postmapd_listen = inet:127.0.0.1:70000\n", "postmapd_listen: bad value", NULL},
	{"postmapd relative unix", "postmapd_listen = unix:bp.sock\n", "postmapd_listen: bad value", NULL},
	{"milter inet", "milter_socket = inet:10045@127.0.0.1\n", NULL,
	    "milter_socket = inet:10045@127.0.0.1"},
	{"milter unix", "milter_socket = unix:/run/bp-milter.sock\n", NULL,
	    "milter_socket = unix:/run/bp-milter.sock"},
	{"milter host:port order", "milter_socket = inet:127.0.0.1:10045\n",
	    "milter_socket: bad value \"inet:127.0.0.1:10045\": want inet:PORT@HOST or unix:/PATH", NULL},
	{"dash listen", "dash_listen = 0.0.0.0:8080\n", NULL, "dash_listen = 0.0.0.0:8080"},
	{"dash listen v6", "dash_listen = [::1]:8080\n", NULL, "dash_listen = [::1]:8080"},
	{"dash listen no port", "dash_listen = 127.0.0.1\n",
	    "dash_listen: bad value \"127.0.0.1\": want HOST:PORT", NULL},
	{"dash url https", "dash_url = https://bp.example/\n", NULL, "dash_url = https://bp.example/"},
	{"dash url no scheme", "dash_url = bp.example\n",
	    "dash_url: bad value \"bp.example\": want http://HOST or https://HOST", NULL},
	{"dash url with space", "dash_url = https://bp example\n", "dash_url: bad value", NULL},
};

/* subst - replace @OPEN@ / @CLOSED@ by the test's key files */
static void
subst(char *out, size_t len, const char *in, const char *open_key,
    const char *closed_key)
{
	const char *p;
	size_t	n = 0;

	for (p = in; *p && n + 1 < len; ) {
		if (strncmp(p, "@OPEN@", 6) == 0) {
			n += snprintf(out + n, len - n, "%s", open_key);
			p += 6;
		} else if (strncmp(p, "@CLOSED@", 8) == 0) {
			n += snprintf(out + n, len - n, "%s", closed_key);
			p += 8;
		} else
			out[n++] = *p++;
	}
	out[n] = '\0';
}

int
main(void)
{
	char	 dir[] = "/tmp/test_conf.XXXXXX", path[256], open_key[256];
	char	 closed_key[256], text[1024], want[1024], err[1024], *buf;
	size_t	 i, blen;
	FILE	*fp;

	if (mkdtemp(dir) == NULL)
		bail("mkdtemp");
	snprintf(path, sizeof(path), "%s/bipostal.conf", dir);
	snprintf(open_key, sizeof(open_key), "%s/open.key", dir);
	snprintf(closed_key, sizeof(closed_key), "%s/closed.key", dir);
	fp = fopen(open_key, "w");
	fputs("secret\n", fp);
	fclose(fp);
	chmod(open_key, 0644);
	fp = fopen(closed_key, "w");
	fputs("secret\n", fp);
	fclose(fp);
	chmod(closed_key, 0600);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct conf_case *tc = &cases[i];
		struct conf *c;

		subst(text, sizeof(text), tc->input, open_key, closed_key);
		fp = fopen(path, "w");
		fputs(text, fp);
		fclose(fp);
		err[0] = '\0';
		c = conf_load(path, err, sizeof(err));
		if (tc->want_err) {
			ok(c == NULL && strstr(err, tc->want_err) != NULL &&
			    strstr(err, path) != NULL && strchr(err, '\n') == NULL,
			    "%s: refused", tc->name);
			if (c != NULL || strstr(err, tc->want_err) == NULL)
				diag("  err \"%s\", want \"%s\"", err, tc->want_err);
			conf_release(c);
			continue;
		}
		if (!ok(c != NULL, "%s: accepted", tc->name)) {
			diag("  err \"%s\"", err);
			continue;
		}
		subst(want, sizeof(want), tc->want_line, open_key, closed_key);
		fp = open_memstream(&buf, &blen);
		conf_print(c, fp, 1);
		fclose(fp);
		strcat(want, "\n");
		ok(strstr(buf, want) != NULL, "%s: %s", tc->name, tc->want_line);
		free(buf);
		conf_release(c);
	}

	/* conf_print without -a shows only what differs from the defaults */
	fp = fopen(path, "w");
	fputs("alias_domain = n.test\n", fp);
	fclose(fp);
	{
		struct conf *c = conf_load(path, err, sizeof(err));

		fp = open_memstream(&buf, &blen);
		conf_print(c, fp, 0);
		fclose(fp);
		is_str(buf, "alias_domain = n.test\n", "print -n shows one line");
		free(buf);
		conf_release(c);
	}

	/* a missing file is refused with its name */
	ok(conf_load("/nonexistent/bipostal.conf", err, sizeof(err)) == NULL &&
	    strstr(err, "/nonexistent/bipostal.conf") != NULL, "missing file");

	/* secrets: read back, trailing newline stripped; open ones refused */
	{
		char	sec[64];

		is_int(conf_read_secret(closed_key, sec, sizeof(sec), err,
		    sizeof(err)), 6, "secret length");
		is_str(sec, "secret", "secret text");
		is_int(conf_read_secret(open_key, sec, sizeof(sec), err,
		    sizeof(err)), -1, "open secret refused");
	}

	/* the signing key: at least CONF_KEY_MIN bytes */
	{
		unsigned char key[64];

		is_int(conf_read_key(closed_key, key, sizeof(key), err,
		    sizeof(err)), -1, "a 6-byte key is refused");
		ok(strstr(err, "shorter than 16 bytes") != NULL &&
		    strstr(err, closed_key) != NULL, "... naming the file (%s)",
		    err);
		fp = fopen(closed_key, "w");
		fputs("0123456789abcdef\n", fp);
		fclose(fp);
		is_int(conf_read_key(closed_key, key, sizeof(key), err,
		    sizeof(err)), 16, "a 16-byte key is taken");
		is_int(conf_read_key(open_key, key, sizeof(key), err,
		    sizeof(err)), -1, "an open key file is refused");
	}
	unlink(path);
	unlink(open_key);
	unlink(closed_key);
	rmdir(dir);
	return (tap_done());
}
