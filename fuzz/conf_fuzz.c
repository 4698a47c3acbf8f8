/*
 * conf_fuzz - libFuzzer target over the configuration parser
 *
 * Any byte string is a configuration file: conf_parse must accept it or
 * refuse it with one line, never crash, leak or read out of bounds.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "replay.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c;
	char	 err[1024];
	FILE	*fp;

	if (size == 0 || (fp = fmemopen((void *)data, size, "r")) == NULL)
		return (0);
	err[0] = '\0';
	c = conf_parse(fp, "fuzz.conf", err, sizeof(err));
	fclose(fp);
	if (c == NULL && (err[0] == '\0' || strchr(err, '\n') != NULL))
		__builtin_trap();	/* a refusal is exactly one line */
	conf_release(c);
	return (0);
}
