/*
 * test_uri - uri.c, the one reading of the URIs in bipostal.conf: every
 * part of the forms our schemes use (sqlite:, mysql://, redis://,
 * unix:), percent-decoding, hosts of each kind, and what is refused
 * (table-driven)
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "uri.h"

#define N	URI_HOST_NONE
#define NAME	URI_HOST_NAME
#define V4	URI_HOST_IPV4
#define V6	URI_HOST_IPV6

static const struct {
	const char	*in;
	int		 ok;
	const char	*scheme;
	const char	*user;		/* NULL: no "...@" */
	const char	*password;	/* NULL: no ":password" */
	enum uri_host	 ht;
	const char	*host;
	int		 port;
	const char	*path;
	const char	*query;		/* decoded, "n=v&n=v"; "" for none */
} cases[] = {
	/* the forms in bipostal.conf and the tests */
	{ "redis://127.0.0.1:6379/0", 1, "redis", NULL, NULL, V4, "127.0.0.1",
	    6379, "/0", "" },
	{ "redis://:s3cret@localhost/2", 1, "redis", "", "s3cret", NAME,
	    "localhost", 0, "/2", "" },
	{ "redis://default:p%40ss%3Aw@redis.example:7000", 1, "redis",
	    "default", "p@ss:w", NAME, "redis.example", 7000, "", "" },
	{ "redis://", 1, "redis", NULL, NULL, N, "", 0, "", "" },
	{ "redis:///3", 1, "redis", NULL, NULL, N, "", 0, "/3", "" },
	{ "redis://:6380", 1, "redis", NULL, NULL, N, "", 6380, "", "" },
	{ "unix:/run/redis/redis.sock?db=3", 1, "unix", NULL, NULL, N, "", 0,
	    "/run/redis/redis.sock", "db=3" },
	{ "unix:///run/redis.sock", 1, "unix", NULL, NULL, N, "", 0,
	    "/run/redis.sock", "" },
	{ "unix:relative.sock", 1, "unix", NULL, NULL, N, "", 0,
	    "relative.sock", "" },
	{ "sqlite:/var/lib/bipostal/bipostal.db", 1, "sqlite", NULL, NULL, N,
	    "", 0, "/var/lib/bipostal/bipostal.db", "" },
	{ "sqlite::memory:", 1, "sqlite", NULL, NULL, N, "", 0, ":memory:",
	    "" },
	{ "mysql://bp:pw@db.example:3306/bipostal", 1, "mysql", "bp", "pw",
	    NAME, "db.example", 3306, "/bipostal", "" },
	{ "mysql://bp@localhost/bp?socket=%2Frun%2Fmysqld%2Fmysqld.sock", 1,
	    "mysql", "bp", NULL, NAME, "localhost", 0, "/bp",
	    "socket=/run/mysqld/mysqld.sock" },
	{ "MySQL://u:@h/db", 1, "mysql", "u", "", NAME, "h", 0, "/db", "" },
	{ "x+y.z-w://h/%41%62", 1, "x+y.z-w", NULL, NULL, NAME, "h", 0, "/Ab",
	    "" },
	/* a pasted password: everything up to the last @ before the query */
	{ "mysql://u:p@ss/w#rd:x@h/db", 1, "mysql", "u", "p@ss/w#rd:x", NAME,
	    "h", 0, "/db", "" },
	{ "redis://:a@b@[::1]:6379/1", 1, "redis", "", "a@b", V6, "::1", 6379,
	    "/1", "" },
	/* hosts */
	{ "redis://[2001:db8::7]/0", 1, "redis", NULL, NULL, V6, "2001:db8::7",
	    0, "/0", "" },
	{ "redis://[::ffff:10.0.0.1]:1", 1, "redis", NULL, NULL, V6,
	    "::ffff:10.0.0.1", 1, "", "" },
	{ "redis://10.1.2.3:65535", 1, "redis", NULL, NULL, V4, "10.1.2.3",
	    65535, "", "" },
	{ "redis://redis_1.svc-a.example", 1, "redis", NULL, NULL, NAME,
	    "redis_1.svc-a.example", 0, "", "" },
	{ "redis://a1/0", 1, "redis", NULL, NULL, NAME, "a1", 0, "/0", "" },
	/* queries */
	{ "x:/p?a=1&b=&c=%26%3D", 1, "x", NULL, NULL, N, "", 0, "/p",
	    "a=1&b=&c=&=" },
	/* refused */
	{ .in = "" },
	{ .in = "redis" },
	{ .in = ":nothing" },
	{ .in = "1redis://h" },
	{ .in = "re dis://h" },
	{ .in = "redis://h /0" },
	{ .in = "redis://h/0\t" },
	{ .in = "redis://h\xc3\xa9/0" },
	{ .in = "averyveryverylongscheme://h" },
	{ .in = "redis://h:0" },
	{ .in = "redis://h:65536" },
	{ .in = "redis://h:123456" },
	{ .in = "redis://h:" },
	{ .in = "redis://h:x1" },
	{ .in = "redis://h:-1" },
	{ .in = "redis://[::1" },
	{ .in = "redis://[]" },
	{ .in = "redis://[fe80::1%25eth0]" },
	{ .in = "redis://[10.0.0.1]" },
	{ .in = "redis://[::1]x" },
	{ .in = "redis://::1/0" },
	{ .in = "redis://256.1.1.1" },
	{ .in = "redis://1.2.3" },
	{ .in = "redis://01.2.3.4" },
	{ .in = "redis://-h.example" },
	{ .in = "redis://h-.example" },
	{ .in = "redis://h..example" },
	{ .in = "redis://.h" },
	{ .in = "redis://h." },
	{ .in = "redis://h%41" },
	{ .in = "redis://h!x" },
	{ .in = "redis://h/0#frag" },
	{ .in = "redis://h/0?db=1#x" },
	{ .in = "redis://:pa%2@h" },
	{ .in = "redis://:pa%zz@h" },
	{ .in = "redis://:pa%00ss@h" },
	{ .in = "unix:/p%" },
	{ .in = "unix:/p%0" },
	{ .in = "unix:/p?" },
	{ .in = "unix:/p?db" },
	{ .in = "unix:/p?=1" },
	{ .in = "unix:/p?db=1&" },
	{ .in = "unix:/p?db=1&&x=2" },
	{ .in = "unix:/p?db=1&db=2" },
	{ .in = "unix:/p?d!b=1" },
	{ .in = "unix:/p?a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9" },
	{ .in = "unix:/p?db=%00" },
};

/* query_text - u's query as "n=v&n=v" (decoded) into buf */
static void
query_text(const struct uri *u, char *buf, size_t size)
{
	size_t	 i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < u->nparam && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s=%s",
		    i ? "&" : "", u->param[i].name, u->param[i].value);
}

/* long_uri - "x://h/" and a path of n bytes into buf */
static size_t
long_uri(char *buf, size_t n)
{
	memcpy(buf, "x://h/", 6);
	memset(buf + 6, 'a', n);
	buf[6 + n] = '\0';
	return (6 + n);
}

int
main(void)
{
	struct uri u;
	const char *why, *in;
	char	 q[2048], big[URI_TEXT_MAX + 64];
	size_t	 i, n;
	int	 rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		in = cases[i].in;
		why = NULL;
		rc = uri_parse(in, strlen(in), &u, &why);
		if (!cases[i].ok) {
			ok(rc == -1 && why != NULL && *why != '\0',
			    "\"%s\": refused (%s)", in, why ? why : "no reason");
			ok(u.scheme[0] == '\0' && u.password[0] == '\0',
			    "\"%s\": nothing left in the struct", in);
			continue;
		}
		if (!ok(rc == 0, "\"%s\": parsed%s%s", in, why ? ": " : "",
		    why ? why : ""))
			continue;
		is_str(u.scheme, cases[i].scheme, "\"%s\": scheme", in);
		is_int(u.has_user, cases[i].user != NULL, "\"%s\": has user",
		    in);
		is_str(u.user, cases[i].user ? cases[i].user : "",
		    "\"%s\": user", in);
		is_int(u.has_password, cases[i].password != NULL,
		    "\"%s\": has password", in);
		is_str(u.password, cases[i].password ? cases[i].password : "",
		    "\"%s\": password", in);
		is_int(u.host_type, cases[i].ht, "\"%s\": host type", in);
		is_str(u.host, cases[i].host, "\"%s\": host", in);
		is_int(u.port, cases[i].port, "\"%s\": port", in);
		is_str(u.path, cases[i].path, "\"%s\": path", in);
		query_text(&u, q, sizeof(q));
		is_str(q, cases[i].query, "\"%s\": query", in);
	}

	/* uri_param */
	in = "unix:/p?db=3&x=%7E";
	ok(uri_parse(in, strlen(in), &u, &why) == 0, "%s: parsed", in);
	is_str(uri_param(&u, "db"), "3", "uri_param db");
	is_str(uri_param(&u, "x"), "~", "uri_param x, decoded");
	ok(uri_param(&u, "socket") == NULL, "uri_param of an absent name: "
	    "NULL");

	/* only len bytes are read; a NUL inside them is refused */
	in = "redis://h/0";
	ok(uri_parse(in, 9, &u, &why) == 0 && strcmp(u.host, "h") == 0 &&
	    u.path[0] == '\0', "only the first len bytes are read");
	ok(uri_parse("redis://h\0/0", 12, &u, &why) == -1, "a NUL inside: "
	    "refused");

	/* limits */
	n = long_uri(big, URI_PATH_MAX);
	ok(uri_parse(big, n, &u, &why) == -1, "a path over the limit: %s",
	    why);
	n = long_uri(big, URI_PATH_MAX - 1);
	ok(uri_parse(big, n, &u, &why) == 0 && strlen(u.path) == URI_PATH_MAX,
	    "a path at the limit: parsed");
	memset(big, 'a', sizeof(big));
	memcpy(big, "x:", 2);
	ok(uri_parse(big, URI_TEXT_MAX + 1, &u, &why) == -1,
	    "a URI over %d bytes: %s", URI_TEXT_MAX, why);
	memcpy(big, "redis://", 8);
	memset(big + 8, 'h', 254);
	ok(uri_parse(big, 8 + 254, &u, &why) == -1, "a host over 253: %s",
	    why);
	snprintf(big, sizeof(big), "redis://%.*s.example", 64,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	ok(uri_parse(big, strlen(big), &u, &why) == -1, "a label over 63: %s",
	    why);
	memcpy(big, "redis://:", 9);
	memset(big + 9, 'p', URI_PASSWORD_MAX + 1);
	memcpy(big + 9 + URI_PASSWORD_MAX + 1, "@h", 3);
	ok(uri_parse(big, strlen(big), &u, &why) == -1 &&
	    u.password[0] == '\0', "a password over 256: %s, and wiped", why);
	big[9 + URI_PASSWORD_MAX] = '@';
	big[9 + URI_PASSWORD_MAX + 1] = 'h';
	big[9 + URI_PASSWORD_MAX + 2] = '\0';
	ok(uri_parse(big, strlen(big), &u, &why) == 0 &&
	    strlen(u.password) == URI_PASSWORD_MAX, "a password of 256: parsed");
	uri_clear(&u);
	ok(u.password[0] == '\0' && u.host[0] == '\0', "uri_clear wipes it");
	uri_clear(NULL);
	return (tap_done());
}
