/*
 * libfuzzer - what every libFuzzer binary links besides its target
 *
 * ASan's defaults for a long run, for the whole process (an ASAN_OPTIONS
 * in the environment still wins, option by option).  The stock ones are
 * made for one test: a 256 MiB quarantine of freed memory, 30 frames
 * recorded for every malloc and free.  GMime and gumbo allocate small
 * objects by the thousand for each input, so under libFuzzer those two
 * cost more than the parsing: page faults on fresh quarantine memory and
 * stack hashing.  A 16 MiB quarantine still holds the blocks an input
 * freed while that input runs, which is where a use after free of ours
 * would be; 2 frames name the allocating function and its caller.  For
 * the whole story of a crash, replay its file with the make check
 * program (fuzz/NAME_fuzz FILE), which keeps ASan's stock settings.
 */
const char *__asan_default_options(void);

/* __asan_default_options - read by ASan before main */
const char *
__asan_default_options(void)
{
	return ("quarantine_size_mb=16:malloc_context_size=2");
}
