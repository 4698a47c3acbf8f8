/*
 * milter.c - bipostal-milter: main and the libmilter registration
 *
 *	bipostal-milter [-fv] [-c FILE]
 *
 * Loads the configuration (milter_socket, milter_max_*, milter_template_dir,
 * milter_trusted_authserv, secret_key_file, dash_url, alias_domain,
 * blob_ttl, queue_ttl, store, redis), the four templates and the secret
 * key (it signs bounce addresses and one-click links), once;
 * opens the socket, drops privileges to daemon_user when started as root,
 * and hands over to smfi_main().  The callbacks live in milter_mail.c,
 * the background writer of counters and events in milter_later.c.
 *
 * Failure: every startup problem is fatal with one line saying why (a
 * milter that is down makes Postfix tempfail, milter_default_action =
 * tempfail); after startup nothing is fatal because of one message.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "milter.h"
#include "store.h"
#include "util.h"

struct milter_global milter_g;

static struct smfiDesc mlfi_desc = {
	"bipostal-milter",
	SMFI_VERSION,
	SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_CHGFROM,
	mlfi_connect,
	NULL,			/* helo */
	mlfi_envfrom,
	mlfi_envrcpt,
	mlfi_header,
	mlfi_eoh,
	mlfi_body,
	mlfi_eom,
	mlfi_abort,
	mlfi_close,
	NULL,			/* unknown */
	NULL,			/* data */
	mlfi_negotiate,
};

/* usage - exit 2 */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: bipostal-milter [-fv] [-c config]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	char	 err[512];
	int	 foreground;
	long	 n;
	struct conf *cf;

	cf = conf_daemon_start("bipostal-milter", argc, argv, NULL, NULL, usage,
	    &foreground);
	milter_g.conf = cf;
	if (cf->secret_key_file[0] == '\0')
		log_fatal("secret_key_file is not set: it signs bounce addresses "
		    "and one-click links");
	n = conf_read_key(cf->secret_key_file, milter_g.key,
	    sizeof(milter_g.key), err, sizeof(err));
	if (n < 0)
		log_fatal("%s", err);
	milter_g.keylen = (size_t)n;
	if (rewrite_templates_load(&milter_g.tmpl, cf->milter_template_dir,
	    err, sizeof(err)) < 0)
		log_fatal("templates: %s", err);
	rewrite_init();
	milter_g.pool = store_pool_new(32, STORE_POOL_NO_CREATE, NULL);

	signal(SIGPIPE, SIG_IGN);
	if (smfi_setconn(cf->milter_socket) == MI_FAILURE)
		log_fatal("milter_socket %s: bad address", cf->milter_socket);
	if (smfi_register(mlfi_desc) == MI_FAILURE)
		log_fatal("smfi_register failed");
	if (smfi_opensocket(1) == MI_FAILURE)
		log_fatal("milter_socket %s: cannot listen", cf->milter_socket);
	bp_drop_privileges(cf->daemon_user, NULL);
	/* a URI that can never work is fatal now, not a 451 on every
	 * message; a store down or missing is logged and tried again */
	if (store_pool_check(milter_g.pool, cf->store) == STORE_PERM)
		log_fatal("store: cannot be used: see the line above");
	if (!foreground && daemon(0, 0) < 0)
		log_fatal("daemon: %s", strerror(errno));
	if (milter_counts_start() < 0)
		log_fatal("cannot start the counter thread");
	log_info("listening on %s, alias domain %s", cf->milter_socket,
	    cf->alias_domain);
	if (smfi_main() == MI_FAILURE)
		log_fatal("smfi_main failed");
	milter_counts_flush();
	milter_rate_close();
	rewrite_templates_free(&milter_g.tmpl);
	conf_release(cf);
	return (0);
}
