/*
 * token.h - random alias, reply, queue and blob tokens
 *
 * A token is TOKEN_LEN (50) characters of base 36 (0-9a-z), each drawn
 * uniformly from getrandom(2) bytes by rejection (bytes >= 252 are
 * dropped), so there is no modulo bias: 50 * log2(36) = 258.5 bits.
 */
#ifndef BIPOSTAL_TOKEN_H
#define BIPOSTAL_TOKEN_H

#include <stddef.h>

/* token_new - write a fresh token and a NUL into buf (size >= TOKEN_LEN+1);
 * 0 on success, -1 if the OS random source failed (logged) */
int	token_new(char *buf, size_t size);
/* token_fold - copy s folded to lower case into buf if s is 1..TOKEN_MAX
 * characters of [0-9A-Za-z]; 1 on success, 0 if s is malformed */
int	token_fold(char *buf, size_t size, const char *s);
/* token_random_bytes - fill buf from the OS CSPRNG; 0 or -1 */
int	token_random_bytes(void *buf, size_t len);

#endif
