/*
 * socketmap_load.c - closed-loop load client for a Postfix socketmap
 *
 *	socketmap_load -p PORT [-H HOST] [-c CONNS] [-d SECONDS]
 *	    [-m MAP] -k KEYFILE
 *
 * Opens CONNS persistent connections (as Postfix keeps them) and, on
 * each, sends one request, waits for its whole reply, and sends the next,
 * for SECONDS seconds: the same closed loop as redis-benchmark without
 * pipelining.  Keys come from KEYFILE, one per line, used in turn.  One
 * thread with epoll drives every connection, as redis-benchmark does.
 * Prints one line:
 *	conns=N requests=N rps=R p50_ms=X p99_ms=Y errors=E
 * where errors counts replies that are not "OK ..." and broken
 * connections.  Exit 1 on setup failure or if any error was seen.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct lconn {
	int		 fd;
	uint64_t	 sent;		/* ns when the request went out */
	size_t		 len;		/* bytes of reply read so far */
	char		 buf[1200];
};

static char	**keys;
static size_t	 nkeys, nextkey;
static const char *map = "alias";
static uint32_t	*lat;			/* microseconds, one per answer */
static size_t	 nlat, caplat;
static long	 errors;

/* now_ns - monotonic nanoseconds */
static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/* load_keys - read KEYFILE */
static void
load_keys(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	 line[512];
	size_t	 cap = 0;

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (*line == '\0')
			continue;
		if (nkeys == cap) {
			cap = cap ? cap * 2 : 64;
			keys = realloc(keys, cap * sizeof(*keys));
		}
		keys[nkeys++] = strdup(line);
	}
	fclose(f);
	if (nkeys == 0) {
		fprintf(stderr, "%s: no keys\n", path);
		exit(1);
	}
}

/* send_req - the next request on c */
static int
send_req(struct lconn *c)
{
	char	req[700], frame[720];
	int	n, m;

	n = snprintf(req, sizeof(req), "%s %s", map, keys[nextkey++ % nkeys]);
	m = snprintf(frame, sizeof(frame), "%d:%s,", n, req);
	c->len = 0;
	c->sent = now_ns();
	return (send(c->fd, frame, (size_t)m, MSG_NOSIGNAL) == m ? 0 : -1);
}

/* reply_done - is a whole netstring in c->buf?  1 yes, 0 no, -1 bad */
static int
reply_done(struct lconn *c)
{
	char	*colon = memchr(c->buf, ':', c->len);
	size_t	 n;

	if (colon == NULL)
		return (c->len > 8 ? -1 : 0);
	n = strtoul(c->buf, NULL, 10);
	if (c->len < (size_t)(colon - c->buf) + n + 2)
		return (0);
	if (n < 3 || memcmp(colon + 1, "OK ", 3) != 0)
		errors++;
	return (1);
}

/* cmp_u32 - qsort order */
static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x < y ? -1 : x > y);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct epoll_event ev, evs[256];
	struct lconn *cs;
	const char *host = "127.0.0.1", *keyfile = NULL;
	int	ch, port = 0, nconn = 1, secs = 5, ep, i, n, one = 1, r;
	uint64_t start, end, t;
	ssize_t	 got;

	while ((ch = getopt(argc, argv, "H:p:c:d:m:k:")) != -1) {
		switch (ch) {
		case 'H': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'c': nconn = atoi(optarg); break;
		case 'd': secs = atoi(optarg); break;
		case 'm': map = optarg; break;
		case 'k': keyfile = optarg; break;
		default:
			fprintf(stderr, "usage: socketmap_load -p PORT [-H HOST] "
			    "[-c CONNS] [-d SECONDS] [-m MAP] -k KEYFILE\n");
			return (2);
		}
	}
	if (port <= 0 || keyfile == NULL || nconn < 1 || secs < 1) {
		fprintf(stderr, "socketmap_load: -p and -k are required\n");
		return (2);
	}
	load_keys(keyfile);
	caplat = 1 << 20;
	lat = malloc(caplat * sizeof(*lat));
	cs = calloc((size_t)nconn, sizeof(*cs));
	ep = epoll_create1(0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	inet_pton(AF_INET, host, &sin.sin_addr);
	for (i = 0; i < nconn; i++) {
		cs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(cs[i].fd, (struct sockaddr *)&sin,
		    sizeof(sin)) < 0) {
			perror("connect");
			return (1);
		}
		setsockopt(cs[i].fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &cs[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	start = now_ns();
	end = start + (uint64_t)secs * 1000000000u;
	for (i = 0; i < nconn; i++)
		if (send_req(&cs[i]) < 0) {
			perror("send");
			return (1);
		}
	for (;;) {
		n = epoll_wait(ep, evs, 256, 1000);
		t = now_ns();
		for (i = 0; i < n; i++) {
			struct lconn *c = evs[i].data.ptr;

			got = recv(c->fd, c->buf + c->len,
			    sizeof(c->buf) - c->len, 0);
			if (got <= 0) {
				errors++;
				fprintf(stderr, "connection lost\n");
				return (1);
			}
			c->len += (size_t)got;
			if ((r = reply_done(c)) == 0)
				continue;
			if (r < 0) {
				errors++;
				return (1);
			}
			if (nlat == caplat) {
				caplat *= 2;
				lat = realloc(lat, caplat * sizeof(*lat));
			}
			lat[nlat++] = (uint32_t)((t - c->sent) / 1000);
			if (t < end && send_req(c) < 0) {
				perror("send");
				return (1);
			}
			if (t >= end)
				c->fd = -c->fd - 1;	/* finished */
		}
		if (t >= end) {
			for (i = 0; i < nconn; i++)
				if (cs[i].fd >= 0)
					break;
			if (i == nconn || t > end + 5000000000u)
				break;
		}
	}
	t = now_ns();
	qsort(lat, nlat, sizeof(*lat), cmp_u32);
	printf("conns=%d requests=%zu rps=%.0f p50_ms=%.3f p99_ms=%.3f "
	    "errors=%ld\n", nconn, nlat,
	    (double)nlat / ((double)(t - start) / 1e9),
	    nlat ? lat[nlat / 2] / 1000.0 : 0.0,
	    nlat ? lat[(size_t)((double)nlat * 0.99)] / 1000.0 : 0.0,
	    errors);
	return (errors ? 1 : 0);
}
