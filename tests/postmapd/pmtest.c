/*
 * pmtest.c - helpers for the bipostal-postmapd tests (see pmtest.h)
 *
 * The stall proxy runs one thread per relayed connection (blocking
 * sockets and poll); a held-up connection's thread sleeps before it
 * relays the packet, so that connection alone stops.  Threads live until
 * the test process exits.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pmtest.h"
#include "../lib/tap.h"

/* pm_free_port - a port in 20000-60000 nobody listens on */
int
pm_free_port(void)
{
	static int seeded;
	struct sockaddr_in sin;
	int	fd, p, i;

	if (!seeded++)
		srand((unsigned)getpid() ^ (unsigned)time(NULL));
	for (i = 0; i < 200; i++) {
		p = 20000 + rand() % 40000;
		fd = socket(AF_INET, SOCK_STREAM, 0);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(p);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			close(fd);
			return (p);
		}
		close(fd);
	}
	bail("no free port");
}

/* pm_dial - a connection to 127.0.0.1:port, -1 if refused */
int
pm_dial(int port)
{
	struct sockaddr_in sin;
	int	fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return (-1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return (fd);
}

/* pm_dial_unix - a connection to a unix socket, -1 if refused */
int
pm_dial_unix(const char *path)
{
	struct sockaddr_un sun;
	int	fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return (-1);
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* pm_start - run the daemon and wait for its socket */
pid_t
pm_start(const char *conf, const char *logpath, int port, const char *sock)
{
	const char *bd = getenv("top_builddir");
	char	prog[512];
	pid_t	pid;
	int	i, fd, status;

	snprintf(prog, sizeof(prog), "%s/bipostal-postmapd", bd ? bd : ".");
	fflush(stdout);
	if ((pid = fork()) < 0)
		bail("fork");
	if (pid == 0) {
		int	lf = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int	nul = open("/dev/null", O_RDWR);

		/* never hold the TAP pipe open; die with the test */
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(lf, 2);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(prog, "bipostal-postmapd", "-c", conf, "-f", "-v",
		    (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {
		fd = port ? pm_dial(port) : pm_dial_unix(sock);
		if (fd >= 0) {
			close(fd);
			return (pid);
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			diag("bipostal-postmapd exited (see %s)", logpath);
			return (-1);
		}
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	bail("bipostal-postmapd did not start (see %s)", logpath);
}

/* pm_stop - SIGTERM, wait up to 5 s; the exit status or -1 */
int
pm_stop(pid_t pid)
{
	int	i, status = -1;

	kill(pid, SIGTERM);
	for (i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return (-1);
}

/* pm_send_all - write the whole buffer */
int
pm_send_all(int fd, const char *p, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += w;
		n -= (size_t)w;
	}
	return (0);
}

/* pm_read_reply - one netstring reply; its length, -1 on EOF/timeout */
int
pm_read_reply(int fd, char *out, size_t size, int ms)
{
	char	buf[2048];
	size_t	len = 0, n;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char	*colon;
	ssize_t	r;

	for (;;) {
		colon = memchr(buf, ':', len);
		if (colon != NULL) {
			n = strtoul(buf, NULL, 10);
			if (len >= (size_t)(colon - buf) + n + 2) {
				if (n >= size)
					return (-1);
				memcpy(out, colon + 1, n);
				out[n] = '\0';
				return ((int)n);
			}
		}
		if (poll(&pfd, 1, ms) <= 0)
			return (-1);
		/* one byte at a time: never eat the next reply */
		r = recv(fd, buf + len, 1, 0);
		if (r <= 0 || len + 1 >= sizeof(buf))
			return (-1);
		len++;
	}
}

/* pm_ask - send req as a netstring and read the reply */
int
pm_ask(int fd, const char *req, size_t rlen, char *out, size_t size)
{
	char	buf[4096];
	int	n;

	if (rlen > sizeof(buf) - 32)
		return (-1);
	n = snprintf(buf, sizeof(buf), "%zu:", rlen);
	memcpy(buf + n, req, rlen);
	buf[n + rlen] = ',';
	if (pm_send_all(fd, buf, (size_t)n + rlen + 1) < 0)
		return (-1);
	return (pm_read_reply(fd, out, size, 10000));
}

/* pm_q - ask on a fresh connection; the reply (static) */
const char *
pm_q(int port, const char *req)
{
	static char out[2048];
	int	fd = pm_dial(port);

	if (fd < 0 || pm_ask(fd, req, strlen(req), out, sizeof(out)) < 0)
		strcpy(out, "(no reply)");
	if (fd >= 0)
		close(fd);
	return (out);
}

/* pm_frame - "len:req," */
int
pm_frame(char *buf, size_t size, const char *req)
{
	return (snprintf(buf, size, "%zu:%s,", strlen(req), req));
}

/* pm_ms_since - milliseconds since t0 */
long
pm_ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* pm_log_mark - the log's size now */
long
pm_log_mark(const char *path)
{
	struct stat sb;

	return (stat(path, &sb) == 0 ? (long)sb.st_size : 0);
}

/* pm_log_has - needle in the log after mark, waiting up to ms */
int
pm_log_has(const char *path, long mark, const char *needle, int ms)
{
	static char buf[1 << 20];
	FILE	*f;
	size_t	n;
	int	waited;

	for (waited = 0;; waited += 20) {
		if ((f = fopen(path, "r")) != NULL) {
			n = 0;
			if (fseek(f, mark, SEEK_SET) == 0)
				n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
			buf[n] = '\0';
			if (strstr(buf, needle) != NULL)
				return (1);
		}
		if (waited >= ms)
			return (0);
		usleep(20000);
	}
}

/* The stall proxy */
static pthread_mutex_t stall_mu = PTHREAD_MUTEX_INITIALIZER;
static char	stall_match[128];
static int	stall_ms, stall_n;
static struct sockaddr_in stall_to;

/* stall_relay - one relayed connection, both directions */
static void *
stall_relay(void *arg)
{
	int	cfd = (int)(long)arg, sfd, one = 1;
	struct pollfd p[2];
	char	buf[65536], match[sizeof(stall_match)];
	ssize_t	n;
	int	ms, i;

	sfd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(sfd, (struct sockaddr *)&stall_to, sizeof(stall_to)) < 0) {
		close(cfd);
		close(sfd);
		return (NULL);
	}
	setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	p[0].fd = cfd;
	p[1].fd = sfd;
	p[0].events = p[1].events = POLLIN;
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		for (i = 0; i < 2; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = recv(p[i].fd, buf, sizeof(buf), 0);
			if (n <= 0)
				goto done;
			if (i == 0) {
				pthread_mutex_lock(&stall_mu);
				memcpy(match, stall_match, sizeof(match));
				ms = stall_ms;
				pthread_mutex_unlock(&stall_mu);
				if (match[0] != '\0' && memmem(buf, (size_t)n,
				    match, strlen(match)) != NULL) {
					pthread_mutex_lock(&stall_mu);
					stall_n++;
					pthread_mutex_unlock(&stall_mu);
					usleep((useconds_t)ms * 1000);
				}
			}
			if (pm_send_all(p[1 - i].fd, buf, (size_t)n) < 0)
				goto done;
		}
	}
done:
	close(cfd);
	close(sfd);
	return (NULL);
}

/* stall_accept - the proxy's listener */
static void *
stall_accept(void *arg)
{
	int	lfd = (int)(long)arg, cfd;
	pthread_t tid;

	for (;;) {
		if ((cfd = accept(lfd, NULL, NULL)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return (NULL);
		}
		if (pthread_create(&tid, NULL, stall_relay,
		    (void *)(long)cfd) != 0)
			close(cfd);
		else
			pthread_detach(tid);
	}
}

/* pm_stall_start - listen on a free port, relay to host:port */
int
pm_stall_start(const char *host, int port)
{
	struct sockaddr_in sin;
	pthread_t tid;
	int	lfd, lport, one = 1;

	memset(&stall_to, 0, sizeof(stall_to));
	stall_to.sin_family = AF_INET;
	stall_to.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &stall_to.sin_addr) != 1)
		bail("stall proxy: %s: not an IPv4 address", host);
	lport = pm_free_port();
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(lport);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(lfd, 128) < 0)
		bail("stall proxy: bind: %s", strerror(errno));
	if (pthread_create(&tid, NULL, stall_accept, (void *)(long)lfd) != 0)
		bail("stall proxy: thread");
	pthread_detach(tid);
	return (lport);
}

/* pm_stall_set - what to hold up, and how long */
void
pm_stall_set(const char *match, int ms)
{
	pthread_mutex_lock(&stall_mu);
	snprintf(stall_match, sizeof(stall_match), "%s", match ? match : "");
	stall_ms = ms;
	pthread_mutex_unlock(&stall_mu);
}

/* pm_stall_count - connections held up so far */
int
pm_stall_count(void)
{
	int	n;

	pthread_mutex_lock(&stall_mu);
	n = stall_n;
	pthread_mutex_unlock(&stall_mu);
	return (n);
}
