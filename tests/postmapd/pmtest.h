/*
 * pmtest.h - helpers for the bipostal-postmapd tests (proto.c, multi.c)
 *
 * Interface: start the daemon built in $top_builddir on a config file,
 * talk socketmap to it over TCP or a unix socket, read its log, and a
 * stall proxy: a TCP relay to a MariaDB server that holds up one
 * connection when a client packet carries a chosen string, so that one
 * store call of one worker hangs while every other connection of the
 * daemon to the same server goes on (a real, selective hung store).
 *
 * Failure: the setup helpers bail (TAP "Bail out!"); the talking helpers
 * return -1.  Ownership: strings returned are static (next call reuses).
 */
#ifndef PMTEST_H
#define PMTEST_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* pm_free_port - a TCP port in 20000-60000 nobody listens on */
int	 pm_free_port(void);
/* pm_dial - a TCP connection to 127.0.0.1:port, -1 if refused */
int	 pm_dial(int port);
/* pm_dial_unix - a connection to the unix socket path, -1 if refused */
int	 pm_dial_unix(const char *path);
/* pm_start - run bipostal-postmapd -f -v -c conf with stderr appended to
 * logpath (stdin and stdout on /dev/null; it gets SIGTERM when the test
 * dies); wait until port (or, when port is 0, unix socket sock) answers;
 * its pid, or -1 if it exited first (e.g. someone took the port: pick
 * another and try again) */
pid_t	 pm_start(const char *conf, const char *logpath, int port,
	    const char *sock);
/* pm_stop - SIGTERM and wait; the exit status, -1 if it had to be
 * killed */
int	 pm_stop(pid_t pid);
/* pm_send_all - write the whole buffer; 0 or -1 */
int	 pm_send_all(int fd, const char *p, size_t n);
/* pm_read_reply - one netstring reply into out; its length, -1 on EOF or
 * after ms milliseconds */
int	 pm_read_reply(int fd, char *out, size_t size, int ms);
/* pm_ask - send req as a netstring on fd and read the reply */
int	 pm_ask(int fd, const char *req, size_t rlen, char *out, size_t size);
/* pm_q - ask "req" on a fresh TCP connection to port; the reply, or
 * "(no reply)" (static) */
const char *pm_q(int port, const char *req);
/* pm_frame - "len:req," into buf; its length */
int	 pm_frame(char *buf, size_t size, const char *req);
/* pm_ms_since - milliseconds since t0 (CLOCK_MONOTONIC) */
long	 pm_ms_since(const struct timespec *t0);

/* pm_log_mark - the current size of the log file path */
long	 pm_log_mark(const char *path);
/* pm_log_has - does the log at path hold needle after offset mark?
 * Waits up to ms milliseconds for it. */
int	 pm_log_has(const char *path, long mark, const char *needle, int ms);

/* pm_stall_start - a relay on 127.0.0.1 to host:port; its port */
int	 pm_stall_start(const char *host, int port);
/* pm_stall_set - from now on, a client packet holding match (NULL: none)
 * holds up its connection for ms milliseconds before it is relayed */
void	 pm_stall_set(const char *match, int ms);
/* pm_stall_count - how many connections were held up so far */
int	 pm_stall_count(void);

#endif
