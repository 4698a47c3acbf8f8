/*
 * util.c - allocation wrappers, bounded copies, constant-time compare,
 * the clocks, dropping root
 */
#include "config.h"

#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* xmalloc - malloc or die (a dead daemon makes Postfix tempfail) */
void *
xmalloc(size_t n)
{
	void	*p = malloc(n ? n : 1);

	if (p == NULL)
		log_fatal("out of memory (%zu bytes)", n);
	return (p);
}

/* xcalloc - calloc or die */
void *
xcalloc(size_t n, size_t size)
{
	void	*p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		log_fatal("out of memory (%zu x %zu bytes)", n, size);
	return (p);
}

/* xrealloc - realloc or die */
void *
xrealloc(void *old, size_t n)
{
	void	*p = realloc(old, n ? n : 1);

	if (p == NULL)
		log_fatal("out of memory (%zu bytes)", n);
	return (p);
}

/* xstrdup - strdup or die */
char *
xstrdup(const char *s)
{
	return (xstrndup(s, strlen(s)));
}

/* xstrndup - copy at most n bytes of s, NUL-terminated */
char *
xstrndup(const char *s, size_t n)
{
	size_t	 len = strnlen(s, n);
	char	*p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return (p);
}

/* bp_strlcpy - bounded copy; returns strlen(src) */
size_t
bp_strlcpy(char *dst, const char *src, size_t size)
{
	size_t	len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return (len);
}

/* ct_equal - constant time in the length of b (the secret) */
int
ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char diff = alen != blen;
	size_t	i;

	for (i = 0; i < blen; i++)
		diff |= (unsigned char)((i < alen ? x[i] : 0) ^ y[i]);
	return (diff == 0);
}

/* bp_lower - ASCII lower case in place */
char *
bp_lower(char *s)
{
	char	*p;

	for (p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return (s);
}

/* bp_now - wall clock seconds */
int64_t
bp_now(void)
{
	return ((int64_t)time(NULL));
}

/* bp_mono_ms - monotonic milliseconds */
uint64_t
bp_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/*
 * bp_drop_privileges - when started as root, become user for good: its
 * own group only, and no way back.  chown_path (NULL = none), a socket
 * made as root, is given to the user first (its group is kept).  Failures are fatal, so that
 * a daemon never serves as root by accident; an empty user, or one
 * whose uid is 0, keeps root and says so.
 */
void
bp_drop_privileges(const char *user, const char *chown_path)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return;
	if (user == NULL || *user == '\0') {
		log_warn("running as root: set daemon_user");
		return;
	}
	if ((pw = getpwnam(user)) == NULL)
		log_fatal("daemon_user %s: no such user", user);
	if (pw->pw_uid == 0) {
		log_warn("running as root: daemon_user %s is root", user);
		return;
	}
	if (chown_path != NULL && chown(chown_path, pw->pw_uid,
	    (gid_t)-1) < 0)
		log_fatal("chown %s: %s", chown_path, strerror(errno));
	if (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0)
		log_fatal("cannot become %s: %s", user, strerror(errno));
	if (setuid(0) == 0)
		log_fatal("could become root again after dropping privileges");
}
