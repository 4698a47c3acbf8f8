/*
 * test_listen - listen.c: the addresses postmapd_listen and dash_listen
 * take, bound for real on loopback and in a scratch directory
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "tap.h"

/* family - the address family fd is bound to, and its port in *port */
static int
family(int fd, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	*port = 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return (-1);
	if (ss.ss_family == AF_INET)
		*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return (ss.ss_family);
}

/* is_listening - does fd accept connections, non-blocking, close-on-exec? */
static int
is_listening(int fd)
{
	int	 v = 0;
	socklen_t len = sizeof(v);

	return (fd >= 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v &&
	    (fcntl(fd, F_GETFL) & O_NONBLOCK) &&
	    (fcntl(fd, F_GETFD) & FD_CLOEXEC));
}

static void
test_inet(void)
{
	static const struct {
		const char *addr;
		int	 family;
	} good[] = {
		{ "127.0.0.1:0", AF_INET },
		{ "inet:127.0.0.1:0", AF_INET },
		{ "localhost:0", 0 },		/* AF_INET or AF_INET6 */
		{ "*:0", 0 },
		{ ":0", 0 },
	};
	static const char *bad[] = {
		"127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000",
		"no-such-host.invalid:25", "999.1.1.1:25", "[::1:25",
	};
	size_t	 i;
	int	 fd, fam, port;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		fd = listen_open("test_listen", good[i].addr, NULL, 0, NULL);
		fam = family(fd, &port);
		ok(is_listening(fd) && port > 0 && (good[i].family == 0 ||
		    fam == good[i].family), "%s: listening (port %d)",
		    good[i].addr, port);
		if (fd >= 0)
			close(fd);
	}
	fd = listen_open("test_listen", "[::1]:0", NULL, 0, NULL);
	if (fd < 0)
		diag("no IPv6 loopback here");
	else {
		ok(is_listening(fd) && family(fd, &port) == AF_INET6,
		    "[::1]:0: an IPv6 socket");
		close(fd);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = listen_open("test_listen", bad[i], NULL, 0, NULL);
		ok(fd < 0, "%s: refused", bad[i]);
		if (fd >= 0)
			close(fd);
	}

	/* a port in use */
	fd = listen_open("test_listen", "127.0.0.1:0", NULL, 0, NULL);
	if (family(fd, &port) == AF_INET) {
		char	 addr[64];
		int	 fd2;

		snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
		fd2 = listen_open("test_listen", addr, NULL, 0, NULL);
		ok(fd2 < 0, "a port another socket listens on: refused");
		if (fd2 >= 0)
			close(fd2);
	}
	if (fd >= 0)
		close(fd);
}

static void
test_unix(const char *dir)
{
	char	 path[256], addr[300], *up = NULL, longp[200];
	struct stat sb;
	int	 fd, fd2, c;

	snprintf(path, sizeof(path), "%s/s.sock", dir);
	snprintf(addr, sizeof(addr), "unix:%s", path);
	fd = listen_open("test_listen", addr, NULL, 0, &up);
	ok(is_listening(fd), "unix: listening");
	is_str(up, path, "unix: its path is given back");
	ok(stat(path, &sb) == 0 && S_ISSOCK(sb.st_mode) &&
	    (sb.st_mode & 0777) == 0600, "unix: a socket, mode 0600 with no "
	    "group");
	c = listen_dial_unix(path);
	ok(c >= 0, "listen_dial_unix connects");
	if (c >= 0)
		close(c);
	free(up);

	fd2 = listen_open("test_listen", addr, NULL, 0, &up);
	ok(fd2 < 0 && up == NULL, "a socket another process listens on: "
	    "refused");
	close(fd);
	ok(stat(path, &sb) == 0, "closed without unlink: a stale socket left");
	fd = listen_open("test_listen", addr, NULL, 0, NULL);
	ok(is_listening(fd), "a stale socket is replaced");
	close(fd);
	unlink(path);

	fd = listen_open("test_listen", addr, "root", 0, NULL);
	ok(is_listening(fd) && stat(path, &sb) == 0 &&
	    (sb.st_mode & 0777) == 0660 && sb.st_gid == 0,
	    "unix with group root: mode 0660, group 0");
	if (fd >= 0)
		close(fd);
	unlink(path);
	fd = listen_open("test_listen", addr, "no-such-group-bipostal", 0,
	    NULL);
	ok(fd < 0, "unix with an unknown group: refused");
	unlink(path);

	snprintf(path, sizeof(path), "%s/plain", dir);
	snprintf(addr, sizeof(addr), "unix:%s", path);
	if ((c = open(path, O_WRONLY | O_CREAT, 0644)) >= 0)
		close(c);
	fd = listen_open("test_listen", addr, NULL, 0, NULL);
	ok(fd < 0 && stat(path, &sb) == 0 && S_ISREG(sb.st_mode),
	    "a plain file in the way: refused and left alone");

	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	snprintf(addr, sizeof(addr), "unix:/tmp/%s", longp);
	ok(listen_open("test_listen", addr, NULL, 0, NULL) < 0,
	    "a path longer than sun_path: refused");
	snprintf(addr, sizeof(addr), "unix:%s/t.sock", dir);
	ok(listen_open("test_listen", addr, NULL, LISTEN_INET_ONLY, NULL) < 0,
	    "LISTEN_INET_ONLY refuses unix:");
	ok(listen_dial_unix(longp) < 0, "listen_dial_unix: a bad path fails");
}

int
main(void)
{
	char	 dir[] = "/tmp/test_listen.XXXXXX", cmd[128];

	log_open("test_listen", 1);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	test_inet();
	test_unix(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
	return (tap_done());
}
