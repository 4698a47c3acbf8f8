/*
 * replay - a main() for a libFuzzer target built without libFuzzer
 *
 * Replays every file of $top_srcdir/fuzz/corpus/<FUZZ_CORPUS> and every
 * file named on the command line through LLVMFuzzerTestOneInput, one TAP
 * line each: make check runs the fuzz targets this way, under ASan and
 * UBSan, so a crash once found stays fixed.
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_CORPUS
#error "define FUZZ_CORPUS, the corpus folder's name"
#endif

#define REPLAY_MAX	(4 * 1024 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int replay_n;

/* replay_file - one corpus file; a crash ends the test */
static int
replay_file(const char *path)
{
	static char buf[REPLAY_MAX];
	FILE	*fp = fopen(path, "rb");
	size_t	 n;

	if (fp == NULL) {
		printf("not ok %d - %s: cannot open\n", ++replay_n, path);
		return (-1);
	}
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	LLVMFuzzerTestOneInput((const uint8_t *)buf, n);
	printf("ok %d - %s (%zu bytes)\n", ++replay_n, path, n);
	fflush(stdout);
	return (0);
}

int
main(int argc, char **argv)
{
	const char *top = getenv("top_srcdir");
	char	 dirpath[4096], path[8192];
	struct dirent *de;
	DIR	*dir;
	int	 i, failed = 0;

	snprintf(dirpath, sizeof(dirpath), "%s/fuzz/corpus/%s",
	    top ? top : ".", FUZZ_CORPUS);
	if ((dir = opendir(dirpath)) == NULL) {
		printf("not ok 1 - %s: no corpus\n1..1\n", dirpath);
		return (1);
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirpath, de->d_name);
		failed |= replay_file(path) < 0;
	}
	closedir(dir);
	for (i = 1; i < argc; i++)
		failed |= replay_file(argv[i]) < 0;
	/* the empty input, always */
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	replay_n++;
	printf("ok %d - empty input\n1..%d\n", replay_n, replay_n);
	return (failed);
}
