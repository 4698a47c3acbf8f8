/*
 * replay.h - the main() that make check runs a fuzz target with
 *
 * A target is one LLVMFuzzerTestOneInput and two optional hooks:
 * LLVMFuzzerInitialize, which libFuzzer also calls, once per process
 * before any input (GMime, keys), and fuzz_cases, the target's fixed
 * cases, which only the replay runs.  fuzz/replay.c calls the hooks a
 * target defines, then replays every file of fuzz/corpus/NAME (for the
 * program NAME_fuzz), every file or folder named as an argument, and the
 * empty input, one TAP line each.  Each input is copied to a buffer of
 * exactly its length, so ASan sees an overread by one byte.  A trap or a
 * sanitizer report ends the run; the driver counts the missing plan line
 * as a failure.
 */
#ifndef REPLAY_H
#define REPLAY_H

#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);
void	fuzz_cases(void);

/* replay_input - one input through the target, a TAP line for it */
void	replay_input(const char *name, const void *data, size_t len);

/* replay_path - a file, or every file of a folder, under $top_srcdir
 * (default ".") unless absolute; "not ok" when it cannot be read */
void	replay_path(const char *path);

/* replay_ok - a TAP line for a fixed case; the run fails unless ok */
void	replay_ok(int ok, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
