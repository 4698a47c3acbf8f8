/*
 * listen.c - a listening socket from a Postfix-like address (listen.h)
 *
 * bipostal-postmapd (postmapd_listen) and bipostal-dash (dash_listen) bind
 * through here; libmilter binds the milter's socket itself.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "util.h"

int
listen_dial_unix(const char *path)
{
	struct sockaddr_un sun;
	int	fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (bp_strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		return (-1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* unix_stale - clear path for a new unix socket: 0 if nothing is there
 * or a stale socket was removed; -1 (logged) if a file that is not a
 * socket, or a socket another process listens on, is in the way */
static int
unix_stale(const char *what, const char *path)
{
	struct stat sb;
	int	fd;

	if (lstat(path, &sb) < 0)
		return (errno == ENOENT ? 0 : -1);
	if (!S_ISSOCK(sb.st_mode)) {
		log_error("%s unix:%s: exists and is not a socket: not "
		    "removing it", what, path);
		return (-1);
	}
	if ((fd = listen_dial_unix(path)) >= 0) {
		close(fd);
		log_error("%s unix:%s: another process listens there", what,
		    path);
		return (-1);
	}
	if (unlink(path) < 0) {
		log_error("%s unix:%s: cannot remove the old socket: %m", what,
		    path);
		return (-1);
	}
	return (0);
}

/* unix_group - give a new unix socket to group, mode 0660: its members
 * connect, nobody else; with no group, 0600.  0, or -1 (logged) */
static int
unix_group(const char *path, const char *group)
{
	struct group *gr;

	if (group == NULL || *group == '\0')
		return (chmod(path, 0600));
	if ((gr = getgrnam(group)) == NULL) {
		log_error("socket group %s: no such group", group);
		return (-1);
	}
	if (chown(path, (uid_t)-1, gr->gr_gid) < 0) {
		log_error("socket group %s: chown %s: %m", group, path);
		return (-1);
	}
	return (chmod(path, 0660));
}

/* listen_unix - the unix: case of listen_open */
static int
listen_unix(const char *what, const char *path, const char *group)
{
	struct sockaddr_un sun;
	int	fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (bp_strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_error("%s unix:%s: path too long", what, path);
		return (-1);
	}
	if (unix_stale(what, path) < 0)
		return (-1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_error("%s unix:%s: socket: %m", what, path);
		return (-1);
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    unix_group(path, group) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		log_error("%s unix:%s: %m", what, path);
		close(fd);
		return (-1);
	}
	return (fd);
}

/* listen_inet - the HOST:PORT case of listen_open */
static int
listen_inet(const char *what, const char *addr)
{
	struct addrinfo hints, *res, *ai;
	char	*host, *port;
	int	fd = -1, one = 1, err;
	size_t	hl;

	host = xstrdup(addr);
	if ((port = strrchr(host, ':')) == NULL || port[1] == '\0') {
		log_error("%s = %s: want [inet:]HOST:PORT or unix:/PATH", what,
		    addr);
		free(host);
		return (-1);
	}
	*port++ = '\0';
	if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
	    atoi(port) > 65535) {
		log_error("%s = %s: bad port", what, addr);
		free(host);
		return (-1);
	}
	hl = strlen(host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		memmove(host, host + 1, hl - 1);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	err = getaddrinfo(*host && strcmp(host, "*") != 0 ? host : NULL, port,
	    &hints, &res);
	if (err != 0) {
		log_error("%s = %s: %s", what, addr, gai_strerror(err));
		free(host);
		return (-1);
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, LISTEN_BACKLOG) == 0)
			break;
		log_error("%s = %s: %m", what, addr);
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	free(host);
	return (fd);
}

int
listen_open(const char *what, const char *addr, const char *group,
    unsigned flags, char **unix_path)
{
	int	fd;

	if (unix_path != NULL)
		*unix_path = NULL;
	if (strncmp(addr, "unix:", 5) != 0)
		return (listen_inet(what, strncmp(addr, "inet:", 5) == 0 ?
		    addr + 5 : addr));
	if (flags & LISTEN_INET_ONLY) {
		log_error("%s = %s: want HOST:PORT", what, addr);
		return (-1);
	}
	if ((fd = listen_unix(what, addr + 5, group)) >= 0 && unix_path != NULL)
		*unix_path = xstrdup(addr + 5);
	return (fd);
}
