/*
 * util.h - small helpers shared by every program
 *
 * The x*alloc wrappers call log_fatal when memory runs out: a daemon that
 * dies leaves Postfix to tempfail, never to lose mail.
 */
#ifndef BIPOSTAL_UTIL_H
#define BIPOSTAL_UTIL_H

#include <stddef.h>
#include <stdint.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);

/* strlcpy-like: copies at most size-1 bytes, NUL-terminates, returns
 * strlen(src) so the caller can detect truncation (>= size) */
size_t	 bp_strlcpy(char *dst, const char *src, size_t size);
/* ct_equal - constant-time comparison of two byte strings (secrets) */
int	 ct_equal(const void *a, size_t alen, const void *b, size_t blen);
/* lowercase ASCII in place; returns s */
char	*bp_lower(char *s);
/* now - wall clock seconds */
int64_t	 bp_now(void);
/* bp_mono_ms - monotonic milliseconds, for deadlines and intervals (never
 * jumps with the wall clock; its zero is arbitrary) */
uint64_t bp_mono_ms(void);
/* become daemon_user when root (chown_path first, may be NULL); fatal
 * on failure */
void	 bp_drop_privileges(const char *user, const char *chown_path);

#endif
