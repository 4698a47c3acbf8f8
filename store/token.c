/*
 * token.c - 256-bit random tokens in base 36
 *
 * Each character takes one byte from getrandom(2); bytes 252..255 are
 * rejected so that byte % 36 is exactly uniform (252 = 7 * 36).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "store.h"
#include "token.h"

static const char token_alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";

/* token_random_bytes - fill buf from the kernel CSPRNG */
int
token_random_bytes(void *buf, size_t len)
{
	unsigned char *p = buf;
	ssize_t	n;

	while (len > 0) {
		n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("getrandom: %s", strerror(errno));
			return (-1);
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/* token_new - TOKEN_LEN uniform base-36 characters */
int
token_new(char *buf, size_t size)
{
	unsigned char rnd[64];
	size_t	have = 0, used = 0, out = 0;

	if (size < TOKEN_LEN + 1)
		return (-1);
	while (out < TOKEN_LEN) {
		if (used == have) {
			if (token_random_bytes(rnd, sizeof(rnd)) < 0)
				return (-1);
			have = sizeof(rnd);
			used = 0;
		}
		if (rnd[used] < 252)
			buf[out++] = token_alphabet[rnd[used] % 36];
		used++;
	}
	buf[out] = '\0';
	return (0);
}

/* token_fold - validate and lower-case a token */
int
token_fold(char *buf, size_t size, const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (i >= TOKEN_MAX || i + 1 >= size)
			return (0);
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')))
			return (0);
		buf[i] = c;
	}
	if (i == 0)
		return (0);
	buf[i] = '\0';
	return (1);
}
