/*
 * log.h - Postfix-like logging for every BIPostal program
 *
 * Lines go to syslog (facility mail, "prog[pid]: ...") or, in the
 * foreground (-f), to stderr ("prog[pid]: ...", or "<N>..." when stderr
 * is the systemd journal).  Each line is cut to 2047 bytes and its
 * non-printable bytes become '?'.  log_warn, log_error, log_fatal and log_panic
 * prefix "warning: ", "error: ", "fatal: " and "panic: " as Postfix does, so
 * one grep covers our lines and Postfix's.  log_fatal exits 1 (startup
 * only); log_panic aborts (a broken invariant).  Never log a full token, a
 * real address or message content: see log_printable().
 */
#ifndef BIPOSTAL_LOG_H
#define BIPOSTAL_LOG_H

#include <stddef.h>

extern int log_verbose;		/* -v raises it */

void	log_open(const char *prog, int foreground);
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	log_panic(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
/* log_capture - send lines to a callback too (tests assert on log lines) */
void	log_capture(void (*)(const char *line, void *), void *arg);
/* log_printable - copy at most len bytes of untrusted s into buf (size
 * bytes), replacing non-printable bytes by '?'; returns buf */
char	*log_printable(char *buf, size_t size, const char *s, size_t len);

#endif
