/*
 * replay - a main() for a libFuzzer target built without libFuzzer
 *
 * See replay.h.  make check runs every fuzz target this way, under ASan
 * and UBSan, so that a crash once found stays fixed.  Failure: a file
 * that cannot be read and a fixed case that fails are "not ok" lines and
 * exit 1; a crash ends the process before the plan line.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

#define REPLAY_MAX	(4 * 1024 * 1024)	/* bytes read of one file */

/* the hooks a target may leave out, as libFuzzer declares them */
#pragma weak LLVMFuzzerInitialize
#pragma weak fuzz_cases

static int replay_n, replay_failed;

/* replay_ok - see replay.h */
void
replay_ok(int ok, const char *fmt, ...)
{
	va_list	 ap;

	printf("%s %d - ", ok ? "ok" : "not ok", ++replay_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		replay_failed = 1;
}

/* replay_input - see replay.h */
void
replay_input(const char *name, const void *data, size_t len)
{
	uint8_t	*copy = malloc(len ? len : 1);	/* exactly len for ASan */

	if (copy == NULL) {
		replay_ok(0, "%s: out of memory", name);
		return;
	}
	memcpy(copy, data, len);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
	replay_ok(1, "%s (%zu bytes)", name, len);
}

/* replay_file - one file */
static void
replay_file(const char *path)
{
	FILE	*fp = fopen(path, "rb");
	char	*buf;
	size_t	 n;

	if (fp == NULL || (buf = malloc(REPLAY_MAX)) == NULL) {
		replay_ok(0, "%s: cannot read", path);
		if (fp != NULL)
			fclose(fp);
		return;
	}
	n = fread(buf, 1, REPLAY_MAX, fp);
	fclose(fp);
	replay_input(path, buf, n);
	free(buf);
}

/* replay_walk - a file, or every file of a folder, named as given */
static void
replay_walk(const char *path)
{
	char	 file[8192];
	struct dirent *de;
	struct stat st;
	DIR	*dir;

	if (stat(path, &st) < 0) {
		replay_ok(0, "%s: not found", path);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		replay_file(path);
		return;
	}
	if ((dir = opendir(path)) == NULL) {
		replay_ok(0, "%s: cannot open", path);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		replay_file(file);
	}
	closedir(dir);
}

/* replay_path - see replay.h */
void
replay_path(const char *path)
{
	const char *top = getenv("top_srcdir");
	char	 full[4096];

	snprintf(full, sizeof(full), "%s/%s", top ? top : ".", path);
	replay_walk(path[0] == '/' ? path : full);
}

/* main - the target's fixed cases, its corpus (fuzz/corpus/NAME for a
 * program named NAME_fuzz), the arguments, the empty input */
int
main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	char	 corpus[256];
	size_t	 n;
	int	 i;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	if (fuzz_cases != NULL)
		fuzz_cases();
	base = base ? base + 1 : argv[0];
	n = strcspn(base, ".");		/* html_fuzz.exe */
	if (n > 5 && strncmp(base + n - 5, "_fuzz", 5) == 0)
		n -= 5;
	snprintf(corpus, sizeof(corpus), "fuzz/corpus/%.*s", (int)n, base);
	replay_path(corpus);
	for (i = 1; i < argc; i++)
		replay_walk(argv[i]);
	replay_input("empty input", "", 0);
	printf("1..%d\n", replay_n);
	return (replay_failed);
}
