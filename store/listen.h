/*
 * listen.h - a listening socket from an address written the way Postfix
 * writes its own
 *
 *	[inet:]HOST:PORT	HOST: a name (resolved, the first address
 *				that binds wins), an IPv4 address, an IPv6
 *				address in brackets, or empty or "*" for
 *				every address
 *	unix:/PATH		a stream socket at PATH, mode 0660 and owned
 *				by group (Postfix's), or 0600 with no group;
 *				a stale socket left by a dead process is
 *				removed, anything else in the way is not
 *
 * The socket is non-blocking and close-on-exec.  Errors are logged with
 * the name of the configuration parameter the address came from.
 */
#ifndef BIPOSTAL_LISTEN_H
#define BIPOSTAL_LISTEN_H

#define LISTEN_BACKLOG		512
#define LISTEN_INET_ONLY	0x01	/* refuse unix: */

/* listen_open - bind and listen on addr (the value of parameter what);
 * *unix_path (may be NULL) gets the path of a unix socket, which the
 * caller unlinks when it stops, or NULL.  fd, or -1 (logged). */
int	listen_open(const char *what, const char *addr, const char *group,
	    unsigned flags, char **unix_path);
/* listen_dial_unix - connect to the unix socket at path; fd or -1 */
int	listen_dial_unix(const char *path);

#endif
