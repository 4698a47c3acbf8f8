/*
 * log.c - syslog (facility mail) or stderr, with Postfix's severity words
 *
 * log_open(prog, foreground): foreground lines go to stderr as
 * "prog[pid]: warning: text"; otherwise openlog(prog, LOG_PID | LOG_NDELAY,
 * LOG_MAIL).  When stderr is the systemd journal (JOURNAL_STREAM names
 * it, as for a unit's -f daemon), lines are "<N>warning: text" instead:
 * journald reads the priority N from the prefix and adds the program name
 * and pid itself (the units set SyslogFacility=mail), so the journal and
 * syslog show the same "prog[pid]: warning: text" as Postfix's lines.
 *
 * Every line is cut to LOG_LINE_MAX bytes and every byte outside printable
 * ASCII becomes '?', as Postfix does, so text from outside can neither
 * split a line nor forge one.  Safe from several threads (one
 * syslog/fprintf per line).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	2048	/* bytes of one line, severity word included */

int	log_verbose;

static const char *log_prog = "bipostal";
static int log_stderr = 1;
static int log_journal;		/* stderr is the journal: "<N>" prefix */
static void (*log_hook)(const char *, void *);
static void *log_hook_arg;

/* log_is_journal - is stderr the stream JOURNAL_STREAM ("dev:ino") names? */
static int
log_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long dev, ino;
	struct stat sb;
	char	c;

	if (js == NULL || sscanf(js, "%lu:%lu%c", &dev, &ino, &c) != 2 ||
	    fstat(STDERR_FILENO, &sb) < 0)
		return (0);
	return ((unsigned long)sb.st_dev == dev &&
	    (unsigned long)sb.st_ino == ino);
}

/* log_open - choose syslog or stderr */
void
log_open(const char *prog, int foreground)
{
	log_prog = prog;
	log_stderr = foreground;
	log_journal = foreground && log_is_journal();
	if (!foreground)
		openlog(prog, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* log_capture - also hand every line to fn (tests) */
void
log_capture(void (*fn)(const char *, void *), void *arg)
{
	log_hook = fn;
	log_hook_arg = arg;
}

/* log_vlog - format one line and send it */
static void
log_vlog(int prio, const char *word, const char *fmt, va_list ap)
{
	char	buf[LOG_LINE_MAX], *p;
	int	n;

	n = snprintf(buf, sizeof(buf), "%s", word);
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	for (p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	if (log_hook)
		log_hook(buf, log_hook_arg);
	if (log_journal)
		fprintf(stderr, "<%d>%s\n", prio, buf);
	else if (log_stderr)
		fprintf(stderr, "%s[%ld]: %s\n", log_prog, (long)getpid(), buf);
	else
		syslog(prio, "%s", buf);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_WARNING, "warning: ", fmt, ap);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_ERR, "error: ", fmt, ap);
	va_end(ap);
}

void
log_fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, "fatal: ", fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_panic(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, "panic: ", fmt, ap);
	va_end(ap);
	abort();
}

/* log_printable - bounded, printable copy of untrusted text */
char *
log_printable(char *buf, size_t size, const char *s, size_t len)
{
	size_t	i;

	if (size == 0)
		return (buf);
	for (i = 0; i < len && i < size - 1 && s[i] != '\0'; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
	return (buf);
}
