/*
 * test_util - util.c: the x*alloc wrappers (zero sizes, copies, and
 * log_fatal's exit 1 when memory runs out), bp_strlcpy's bounds and
 * return value, bp_lower, ct_equal's answers (its cases and its timing
 * are tests/security's), the two clocks (bp_mono_ms never goes
 * backwards, counts milliseconds, and is CLOCK_MONOTONIC), and
 * bp_drop_privileges: a no-op when not root; as root, in a child each:
 * become a user for good, chown a socket first, keep root (and say so)
 * for an empty or a uid-0 user, exit 1 for an unknown user.
 *
 * Anything that may exit runs in a child whose stderr is a pipe; the
 * parent checks the exit status and the log line.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "tap.h"

/*
 * An allocation of SIZE_MAX must reach util.c as NULL, as it does from
 * the C library, rather than stop the program inside the sanitizer's
 * allocator.  ASAN_OPTIONS from the environment still applies on top.
 */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return ("allocator_may_return_null=1");
}

#define OUT_MAX	4096

static char	out[OUT_MAX];

/* in_child - run fn(arg) in a child with stderr on a pipe; out gets what
 * it wrote, the result is its wait status */
static int
in_child(void (*fn)(const void *), const void *arg)
{
	int	 p[2], status;
	size_t	 len = 0;
	ssize_t	 n;
	pid_t	 pid;

	if (pipe(p) < 0)
		bail("pipe: %s", strerror(errno));
	fflush(stdout);
	if ((pid = fork()) < 0)
		bail("fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 2);
		close(p[1]);
		fn(arg);
		_exit(0);
	}
	close(p[1]);
	while (len < sizeof(out) - 1 &&
	    (n = read(p[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(p[0]);
	if (waitpid(pid, &status, 0) < 0)
		bail("waitpid: %s", strerror(errno));
	return (status);
}

/* exited - the child exited (no signal) with code */
static int
exited(int status, int code)
{
	return (WIFEXITED(status) && WEXITSTATUS(status) == code);
}

static void
test_alloc(void)
{
	unsigned char *p;
	char	*s;
	size_t	 i;
	int	 zero = 1;

	p = xmalloc(0);
	ok(p != NULL, "xmalloc(0): a pointer, never NULL");
	free(p);
	p = xcalloc(0, 8);
	ok(p != NULL, "xcalloc(0, 8): a pointer");
	free(p);
	p = xcalloc(8, 0);
	ok(p != NULL, "xcalloc(8, 0): a pointer");
	free(p);
	p = xcalloc(1000, 3);
	for (i = 0; i < 3000; i++)
		if (p[i] != 0)
			zero = 0;
	ok(zero, "xcalloc(1000, 3): 3000 zero bytes");
	p = xrealloc(p, 6000);
	for (i = 0; i < 3000; i++)
		if (p[i] != 0)
			zero = 0;
	ok(zero, "xrealloc: grows, the old bytes kept");
	p = xrealloc(p, 0);
	ok(p != NULL, "xrealloc(p, 0): a pointer, not a free");
	free(p);
	p = xrealloc(NULL, 16);
	ok(p != NULL, "xrealloc(NULL, 16): a new block");
	free(p);

	s = xstrdup("hello");
	is_str(s, "hello", "xstrdup: a copy");
	free(s);
	s = xstrdup("");
	is_str(s, "", "xstrdup: empty");
	free(s);
	s = xstrndup("hello", 3);
	is_str(s, "hel", "xstrndup: cut at n");
	free(s);
	s = xstrndup("hi", 10);
	is_str(s, "hi", "xstrndup: n past the end stops at the NUL");
	free(s);
	s = xstrndup("hello", 0);
	is_str(s, "", "xstrndup: n 0 is empty");
	free(s);
	{
		/* n bytes that are not a string: read no further than n */
		char	*raw = malloc(4);

		if (raw == NULL)
			bail("out of memory");
		memcpy(raw, "abcd", 4);
		s = xstrndup(raw, 4);
		is_str(s, "abcd", "xstrndup: no NUL within n, none read");
		free(s);
		free(raw);
	}
}

static void
oom_malloc(const void *arg)
{
	(void)arg;
	(void)xmalloc(SIZE_MAX);
}

static void
oom_calloc(const void *arg)
{
	(void)arg;
	(void)xcalloc(SIZE_MAX / 2, 4);
}

static void
oom_realloc(const void *arg)
{
	(void)arg;
	(void)xrealloc(NULL, SIZE_MAX);
}

static void
oom_strndup(const void *arg)
{
	(void)arg;
	/* strnlen stops at the NUL: this one is small and must succeed */
	free(xstrndup("x", SIZE_MAX));
	_exit(7);
}

/* test_oom - memory that cannot be had is log_fatal, exit 1 */
static void
test_oom(void)
{
	int	 st;

	st = in_child(oom_malloc, NULL);
	ok(exited(st, 1), "xmalloc(SIZE_MAX): exit 1");
	ok(strstr(out, "fatal: out of memory (") != NULL,
	    "xmalloc(SIZE_MAX): \"fatal: out of memory\" logged");
	st = in_child(oom_calloc, NULL);
	ok(exited(st, 1) && strstr(out, "fatal: out of memory (") != NULL,
	    "xcalloc(SIZE_MAX / 2, 4): fatal, exit 1");
	st = in_child(oom_realloc, NULL);
	ok(exited(st, 1) && strstr(out, "fatal: out of memory (") != NULL,
	    "xrealloc(NULL, SIZE_MAX): fatal, exit 1");
	st = in_child(oom_strndup, NULL);
	ok(exited(st, 7), "xstrndup(\"x\", SIZE_MAX): a copy of one byte");
}

static const struct {
	const char	*name;
	const char	*src;
	size_t		 size;
	const char	*want;		/* NULL: dst untouched */
} lcpy[] = {
	{ "fits", "hello", 16, "hello" },
	{ "fits exactly", "hello", 6, "hello" },
	{ "one byte short", "hello", 5, "hell" },
	{ "size 1", "hello", 1, "" },
	{ "size 0 writes nothing", "hello", 0, NULL },
	{ "empty source", "", 16, "" },
	{ "empty source, size 1", "", 1, "" },
	{ "empty source, size 0", "", 0, NULL },
};

static void
test_strlcpy(void)
{
	char	 dst[32];
	size_t	 i, r;

	for (i = 0; i < sizeof(lcpy) / sizeof(lcpy[0]); i++) {
		memset(dst, 'X', sizeof(dst));
		r = bp_strlcpy(dst, lcpy[i].src, lcpy[i].size);
		is_int(r, strlen(lcpy[i].src), "strlcpy %s: returns "
		    "strlen(src)", lcpy[i].name);
		if (lcpy[i].want != NULL)
			is_str(dst, lcpy[i].want, "strlcpy %s: dst",
			    lcpy[i].name);
		ok(dst[lcpy[i].size] == 'X', "strlcpy %s: nothing written "
		    "past size", lcpy[i].name);
	}
}

static void
test_lower(void)
{
	char	 s[] = "Hello, WORLD 09 az AZ @[`{";
	char	 hi[] = "\x80\xc3\x89\xff" "ABC";
	char	 e[] = "";

	ok(bp_lower(s) == s, "lower: returns its argument");
	is_str(s, "hello, world 09 az az @[`{", "lower: ASCII letters only");
	bp_lower(hi);
	ok(memcmp(hi, "\x80\xc3\x89\xff" "abc", 8) == 0,
	    "lower: 8-bit bytes left alone");
	is_str(bp_lower(e), "", "lower: empty");
}

static void
test_ct(void)
{
	ok(ct_equal("secret", 6, "secret", 6), "ct_equal: equal");
	ok(!ct_equal("secreT", 6, "secret", 6), "ct_equal: last byte");
	ok(!ct_equal("secre", 5, "secret", 6), "ct_equal: a prefix");
	ok(!ct_equal("secret!", 7, "secret", 6), "ct_equal: longer");
	ok(ct_equal("", 0, "", 0), "ct_equal: both empty");
	ok(!ct_equal("a\0b", 3, "a\0c", 3), "ct_equal: past a NUL");
}

/* mono_now - CLOCK_MONOTONIC in milliseconds, as bp_mono_ms counts */
static uint64_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static void
test_clocks(void)
{
	struct timespec d = { 0, 50 * 1000000L }, rem;
	uint64_t a, b, before, after, t, last;
	int64_t	 w1, w2;
	long	 i, back = 0;

	w1 = (int64_t)time(NULL);
	w2 = bp_now();
	ok(w2 >= w1 && w2 <= (int64_t)time(NULL), "bp_now: time(NULL)");
	ok(w2 > 1600000000, "bp_now: seconds since 1970");

	last = bp_mono_ms();
	for (i = 0; i < 1000000; i++) {
		t = bp_mono_ms();
		if (t < last)
			back++;
		last = t;
	}
	is_int(back, 0, "bp_mono_ms: never backwards in 10^6 calls");

	before = mono_now();
	t = bp_mono_ms();
	after = mono_now();
	ok(before <= t && t <= after, "bp_mono_ms: CLOCK_MONOTONIC in ms "
	    "(%llu <= %llu <= %llu)", (unsigned long long)before,
	    (unsigned long long)t, (unsigned long long)after);

	a = bp_mono_ms();
	while (nanosleep(&d, &rem) < 0 && errno == EINTR)
		d = rem;
	b = bp_mono_ms();
	ok(b - a >= 50, "bp_mono_ms: a 50 ms sleep counts at least 50 "
	    "(%llu)", (unsigned long long)(b - a));
}

/* the cases of bp_drop_privileges, each in a child */
struct drop {
	const char	*user;
	const char	*path;
};

static void
drop_child(const void *arg)
{
	const struct drop *d = arg;
	gid_t	 g[8];
	int	 ng;

	bp_drop_privileges(d->user, d->path);
	ng = getgroups(8, g);
	/* what the process is now, for the parent to check */
	fprintf(stderr, "uid=%ld euid=%ld gid=%ld egid=%ld groups=%d:%ld\n",
	    (long)getuid(), (long)geteuid(), (long)getgid(), (long)getegid(),
	    ng, ng > 0 ? (long)g[0] : -1L);
	_exit(3);
}

/* drop_child_user - as drop_child, once the child is nobody already */
static void
drop_child_user(const void *arg)
{
	struct passwd *pw = getpwnam("nobody");

	if (pw == NULL || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		_exit(4);
	drop_child(arg);
}

static void
test_drop(void)
{
	struct drop d;
	struct passwd *pw;
	struct stat sb;
	char	 want[256], path[] = "/tmp/test_util.XXXXXX";
	int	 st, fd;

	if (geteuid() != 0) {
		d.user = "nobody";
		d.path = "/nonexistent/socket";
		st = in_child(drop_child, &d);
		snprintf(want, sizeof(want), "uid=%ld euid=%ld ",
		    (long)getuid(), (long)geteuid());
		ok(exited(st, 3) && strncmp(out, want, strlen(want)) == 0,
		    "drop: not root, nothing to do, no chown tried");
		ok(1, "drop: become a user # SKIP not root");
		ok(1, "drop: chown first # SKIP not root");
		ok(1, "drop: empty user # SKIP not root");
		ok(1, "drop: root user # SKIP not root");
		ok(1, "drop: unknown user # SKIP not root");
		ok(1, "drop: chown fails # SKIP not root");
		return;
	}
	/* as a user already: a child becomes nobody first */
	d.user = "nobody";
	d.path = "/nonexistent/socket";
	st = in_child(drop_child_user, &d);
	pw = getpwnam("nobody");
	snprintf(want, sizeof(want), "uid=%ld euid=%ld ",
	    pw ? (long)pw->pw_uid : -1L, pw ? (long)pw->pw_uid : -1L);
	ok(exited(st, 3) && strstr(out, want) != NULL,
	    "drop: not root, nothing to do, no chown tried");

	if ((pw = getpwnam("nobody")) == NULL || pw->pw_uid == 0) {
		ok(1, "drop: become a user # SKIP no user nobody");
		ok(1, "drop: chown first # SKIP no user nobody");
	} else {
		uid_t	 uid = pw->pw_uid;
		gid_t	 gid = pw->pw_gid;

		d.user = "nobody";
		d.path = NULL;
		st = in_child(drop_child, &d);
		snprintf(want, sizeof(want), "uid=%ld euid=%ld gid=%ld egid=%ld "
		    "groups=1:%ld\n", (long)uid, (long)uid, (long)gid,
		    (long)gid, (long)gid);
		ok(exited(st, 3) && strcmp(out, want) == 0, "drop: nobody, "
		    "real and effective ids, its group only, no way back");
		if (!exited(st, 3) || strcmp(out, want) != 0)
			diag("  got \"%s\", want \"%s\"", out, want);

		if ((fd = mkstemp(path)) < 0)
			bail("mkstemp: %s", strerror(errno));
		close(fd);
		d.path = path;
		st = in_child(drop_child, &d);
		ok(exited(st, 3) && stat(path, &sb) == 0 && sb.st_uid == uid &&
		    sb.st_gid == getegid(), "drop: the path chowned to the "
		    "user first, its group kept");
		unlink(path);
	}

	d.path = NULL;
	d.user = "";
	st = in_child(drop_child, &d);
	ok(exited(st, 3) && strstr(out, "warning: running as root: set "
	    "daemon_user") != NULL && strstr(out, "uid=0 euid=0 ") != NULL,
	    "drop: empty user keeps root, with a warning");

	d.user = "root";
	st = in_child(drop_child, &d);
	ok(exited(st, 3) && strstr(out, "warning: running as root: "
	    "daemon_user root is root") != NULL && strstr(out, "uid=0 euid=0 ")
	    != NULL, "drop: a uid-0 user keeps root, with a warning");

	d.user = "no-such-user-bipostal";
	st = in_child(drop_child, &d);
	ok(exited(st, 1) && strstr(out, "fatal: daemon_user "
	    "no-such-user-bipostal: no such user") != NULL,
	    "drop: unknown user is fatal, exit 1");

	if (getpwnam("nobody") == NULL)
		ok(1, "drop: chown fails # SKIP no user nobody");
	else {
		d.user = "nobody";
		d.path = "/nonexistent/bipostal/socket";
		st = in_child(drop_child, &d);
		ok(exited(st, 1) && strstr(out, "fatal: chown "
		    "/nonexistent/bipostal/socket: ") != NULL,
		    "drop: a chown that fails is fatal, exit 1");
	}
}

int
main(void)
{
	test_alloc();
	test_oom();
	test_strlcpy();
	test_lower();
	test_ct();
	test_clocks();
	test_drop();
	return (tap_done());
}
