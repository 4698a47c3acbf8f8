/*
 * dash_metrics.c - counters and GET /metrics in Prometheus text format
 *
 * Interface: dash_metrics_count records one finished request by route
 * label (a static string from the router) and status; dash_metrics_inc
 * adds one to a named event counter (static string).  /metrics prints
 *	bipostal_dash_requests_total{route="...",code="..."} N
 *	bipostal_dash_events_total{name="..."} N
 *	bipostal_dash_up 1, bipostal_dash_start_time_seconds T
 *
 * Failure: past METRICS_MAX distinct series, new ones are dropped (never
 * fatal).  Counters are per process, not shared across dash hosts.
 *
 * Ownership: labels are borrowed static strings.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dash.h"
#include "util.h"

#define METRICS_MAX	256

struct series {
	const char		*label;
	unsigned		 code;
	unsigned long long	 n;
};

static struct series reqs[METRICS_MAX], evs[METRICS_MAX];
static int nreqs, nevs;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static time_t started;

/* bump - add one to the series (label, code) in tab */
static void
bump(struct series *tab, int *n, const char *label, unsigned code)
{
	int i;

	pthread_mutex_lock(&lock);
	if (started == 0)
		started = time(NULL);
	for (i = 0; i < *n; i++)
		if (tab[i].code == code && (tab[i].label == label ||
		    strcmp(tab[i].label, label) == 0)) {
			tab[i].n++;
			pthread_mutex_unlock(&lock);
			return;
		}
	if (*n < METRICS_MAX) {
		tab[*n].label = label;
		tab[*n].code = code;
		tab[*n].n = 1;
		(*n)++;
	}
	pthread_mutex_unlock(&lock);
}

/* dash_metrics_count - one finished request */
void
dash_metrics_count(const char *route, unsigned status, double seconds)
{
	bump(reqs, &nreqs, route ? route : "unknown", status);
}

/* dash_metrics_inc - one named event */
void
dash_metrics_inc(const char *name)
{
	bump(evs, &nevs, name, 0);
}

/* dash_h_metrics - GET /metrics */
void
dash_h_metrics(struct req *r, const char *arg)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f = open_memstream(&buf, &len);
	int	 i;

	if (f == NULL) {
		dash_error(r, 500, DASH_E_INTERNAL, "out of memory");
		return;
	}
	fprintf(f, "# HELP bipostal_dash_requests_total HTTP requests by route "
	    "and status.\n# TYPE bipostal_dash_requests_total counter\n");
	pthread_mutex_lock(&lock);
	for (i = 0; i < nreqs; i++)
		fprintf(f, "bipostal_dash_requests_total{route=\"%s\","
		    "code=\"%u\"} %llu\n", reqs[i].label, reqs[i].code,
		    reqs[i].n);
	fprintf(f, "# HELP bipostal_dash_events_total Notable events.\n"
	    "# TYPE bipostal_dash_events_total counter\n");
	for (i = 0; i < nevs; i++)
		fprintf(f, "bipostal_dash_events_total{name=\"%s\"} %llu\n",
		    evs[i].label, evs[i].n);
	fprintf(f, "# HELP bipostal_dash_start_time_seconds Process start.\n"
	    "# TYPE bipostal_dash_start_time_seconds gauge\n"
	    "bipostal_dash_start_time_seconds %lld\n"
	    "# HELP bipostal_dash_up The dash answers.\n"
	    "# TYPE bipostal_dash_up gauge\nbipostal_dash_up 1\n",
	    (long long)started);
	pthread_mutex_unlock(&lock);
	fclose(f);
	dash_reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8",
	    buf, len, 1);
	free(buf);
}
