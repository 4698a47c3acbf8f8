/*
 * test_log - log.c: the "prog[pid]: " prefix and Postfix's severity words
 * on stderr in the foreground, the journal's "<N>" priority prefix when
 * stderr is the journal (JOURNAL_STREAM), one line per call whatever the
 * text holds (control characters become '?', long lines are cut), whole
 * lines from several threads at once, the capture hook, log_fatal's exit
 * 1 and log_panic's abort, and log_printable on untrusted bytes.
 *
 * Each case runs in a child whose stderr is a pipe; the parent reads
 * what the child wrote and compares it line by line.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

#define OUT_MAX	(1024 * 1024)

static char	out[OUT_MAX];
static size_t	outlen;
static pid_t	child;

/* in_child - run fn in a child with stderr on a pipe; fills out, returns
 * the child's wait status */
static int
in_child(void (*fn)(void), int journal)
{
	int	p[2], status;
	ssize_t	n;

	if (pipe(p) < 0)
		bail("pipe");
	fflush(stdout);
	if ((child = fork()) < 0)
		bail("fork");
	if (child == 0) {
		struct stat sb;
		char	js[64];

		close(p[0]);
		dup2(p[1], 2);
		close(p[1]);
		unsetenv("JOURNAL_STREAM");
		if (journal && fstat(2, &sb) == 0) {
			snprintf(js, sizeof(js), "%lu:%lu",
			    (unsigned long)sb.st_dev, (unsigned long)sb.st_ino);
			setenv("JOURNAL_STREAM", js, 1);
		}
		fn();
		_exit(0);
	}
	close(p[1]);
	outlen = 0;
	while (outlen < sizeof(out) - 1 &&
	    (n = read(p[0], out + outlen, sizeof(out) - 1 - outlen)) > 0)
		outlen += (size_t)n;
	out[outlen] = '\0';
	close(p[0]);
	waitpid(child, &status, 0);
	return (status);
}

/* line - the i-th line of out (static copy), "" past the end */
static const char *
line(int i)
{
	static char buf[8192];
	const char *p = out, *e;

	for (; i > 0 && p != NULL; i--)
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	if (p == NULL || *p == '\0')
		return ("");
	e = strchr(p, '\n');
	if (e == NULL)
		e = p + strlen(p);
	snprintf(buf, sizeof(buf), "%.*s", (int)(e - p), p);
	return (buf);
}

/* nlines - complete lines in out */
static int
nlines(void)
{
	size_t	i;
	int	n = 0;

	for (i = 0; i < outlen; i++)
		n += out[i] == '\n';
	return (n);
}

/* pfx - "prog[pid]: " + text, for the child just run */
static const char *
pfx(const char *text)
{
	static char buf[8192];

	snprintf(buf, sizeof(buf), "test-log[%ld]: %s", (long)child, text);
	return (buf);
}

static void
c_words(void)
{
	log_open("test-log", 1);
	log_info("hello %d", 1);
	log_warn("careful %s", "now");
	log_error("broken: %s", "disk");
}

static void
c_fatal(void)
{
	log_open("test-log", 1);
	log_fatal("cannot start: %s", "no config");
}

static void
c_panic(void)
{
	signal(SIGABRT, SIG_DFL);
	log_open("test-log", 1);
	log_panic("invariant %d broken", 7);
}

static void
c_untrusted(void)
{
	log_open("test-log", 1);
	log_warn("key=%s", "a\nb\r\x01\x7f" "c");
	log_info("tab\there \xc3\xa9");
}

static void
c_long(void)
{
	static char big[10000];

	memset(big, 'x', sizeof(big) - 1);
	log_open("test-log", 1);
	log_warn("%s", big);
	log_info("after");
}

#define NTHREADS	8
#define NPER		500

/* t_writer - one thread's lines */
static void *
t_writer(void *arg)
{
	int	i, t = (int)(long)arg;

	for (i = 0; i < NPER; i++)
		log_warn("thread=%d line=%d %s", t, i,
		    "padding-padding-padding-padding-padding-padding");
	return (NULL);
}

static void
c_threads(void)
{
	pthread_t tid[NTHREADS];
	long	i;

	log_open("test-log", 1);
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&tid[i], NULL, t_writer, (void *)i);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(tid[i], NULL);
}

static char captured[4][256];
static int ncaptured;

/* hook - the capture callback */
static void
hook(const char *l, void *arg)
{
	(void)arg;
	if (ncaptured < 4)
		snprintf(captured[ncaptured++], sizeof(captured[0]), "%s", l);
}

struct printable_case {
	const char	*name;
	const char	*in;
	size_t		 len;	/* bytes of in offered */
	size_t		 size;	/* of the output buffer */
	const char	*want;
};

static const struct printable_case pcases[] = {
	{"plain", "abc", 3, 16, "abc"},
	{"newline and CR", "a\nb\rc", 5, 16, "a?b?c"},
	{"control and DEL", "\x01\x1b[1m\x7f", 6, 16, "??[1m?"},
	{"tab", "a\tb", 3, 16, "a?b"},
	{"non-ASCII bytes", "\xc3\xa9t\xff", 4, 16, "??t?"},
	{"cut to the buffer", "abcdefgh", 8, 4, "abc"},
	{"cut to len", "abcdefgh", 2, 16, "ab"},
	{"stops at NUL", "ab\0cd", 5, 16, "ab"},
	{"len 0", "abc", 0, 16, ""},
	{"buffer of 1", "abc", 3, 1, ""},
};

int
main(void)
{
	char	buf[64];
	const char *p, *e;
	size_t	i;
	int	st, bad, seen[NTHREADS];

	setvbuf(stdout, NULL, _IOLBF, 0);

	st = in_child(c_words, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "words: child exits 0");
	is_int(nlines(), 3, "words: three lines");
	is_str(line(0), pfx("hello 1"), "info: prog[pid]: text, no word");
	is_str(line(1), pfx("warning: careful now"), "warn: warning:");
	is_str(line(2), pfx("error: broken: disk"), "error: error:");

	st = in_child(c_fatal, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 1, "fatal: exit 1");
	is_str(line(0), pfx("fatal: cannot start: no config"), "fatal: fatal:");

	st = in_child(c_panic, 0);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "panic: abort");
	is_str(line(0), pfx("panic: invariant 7 broken"), "panic: panic:");

	st = in_child(c_untrusted, 0);
	is_int(nlines(), 2, "control characters never split a line");
	is_str(line(0), pfx("warning: key=a?b???c"),
	    "newline, CR, control, DEL become '?'");
	is_str(line(1), pfx("tab?here ??"), "tab and non-ASCII become '?'");

	st = in_child(c_long, 0);
	is_int(nlines(), 2, "a 10 KB message is one line");
	ok(strlen(line(0)) > 1000 && strlen(line(0)) < 2100 &&
	    strncmp(line(0), pfx("warning: xxx"), strlen(pfx("warning: xxx")))
	    == 0, "... cut to a bounded length (%zu)", strlen(line(0)));
	is_str(line(1), pfx("after"), "the next line is whole");

	st = in_child(c_threads, 0);
	is_int(nlines(), NTHREADS * NPER, "%d threads x %d lines: every line",
	    NTHREADS, NPER);
	memset(seen, 0, sizeof(seen));
	bad = 0;
	for (p = out; (e = strchr(p, '\n')) != NULL; p = e + 1) {
		char	want[200], got[200];
		int	t, k;

		snprintf(got, sizeof(got), "%.*s", (int)(e - p), p);
		if (sscanf(got, "test-log[%*d]: warning: thread=%d line=%d",
		    &t, &k) != 2 || t < 0 || t >= NTHREADS || k != seen[t]) {
			bad++;
			continue;
		}
		snprintf(want, sizeof(want), "warning: thread=%d line=%d %s",
		    t, k, "padding-padding-padding-padding-padding-padding");
		if (strcmp(got, pfx(want)) != 0)
			bad++;
		seen[t]++;
	}
	is_int(bad, 0, "no line torn or interleaved, each thread in order");

	/* stderr is the journal: "<N>" priority, journald adds prog[pid] */
	st = in_child(c_words, 1);
	is_int(nlines(), 3, "journal: three lines");
	is_str(line(0), "<6>hello 1", "journal: info is <6>, no prefix");
	is_str(line(1), "<4>warning: careful now", "journal: warn is <4>");
	is_str(line(2), "<3>error: broken: disk", "journal: error is <3>");
	st = in_child(c_fatal, 1);
	is_str(line(0), "<2>fatal: cannot start: no config",
	    "journal: fatal is <2>");
	st = in_child(c_untrusted, 1);
	is_str(line(0), "<4>warning: key=a?b???c",
	    "journal: control characters become '?' too");

	/* capture hook: the line without prefix, in this process */
	log_open("test-log", 1);
	log_capture(hook, NULL);
	if (freopen("/dev/null", "w", stderr) == NULL)
		bail("freopen");	/* the hook alone should see them */
	log_warn("seen %s", "by hook");
	log_info("x\ny");
	log_capture(NULL, NULL);
	is_int(ncaptured, 2, "hook: one call per line");
	is_str(captured[0], "warning: seen by hook", "hook: word and text");
	is_str(captured[1], "x?y", "hook: printable text");

	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		memset(buf, 'Z', sizeof(buf));
		is_str(log_printable(buf, pcases[i].size, pcases[i].in,
		    pcases[i].len), pcases[i].want, "log_printable: %s",
		    pcases[i].name);
	}
	memset(buf, 'Z', sizeof(buf));
	ok(log_printable(buf, 0, "abc", 3) == buf && buf[0] == 'Z',
	    "log_printable: size 0 writes nothing");
	return (tap_done());
}
