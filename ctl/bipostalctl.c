/*
 * bipostalctl - BIPostal administration, in the manner of postconf/postmap
 *
 *	bipostalctl [-c FILE] [-v] COMMAND ...
 *
 * Commands: migrate; token; config [-a]; user add EMAIL [--password-file F]
 * [--admin]; user list; user revoke EMAIL; user set EMAIL NAME=VALUE;
 * alias add EMAIL ORIGIN; alias list EMAIL; alias disable|enable|delete
 * ADDRESS; node add HOST PORT CAPACITY; node list; node down|drain|up ID;
 * purge.
 *
 * Exit status: 0 success, 1 a refusal explained on stderr, 2 bad usage,
 * 75 (EX_TEMPFAIL) when the store is unreachable.  Output on stdout is
 * meant for scripts: one item per line, tab-separated fields.
 *
 * The whole command line is parsed (parse_cmd) before the configuration
 * is read or the store opened, so bad usage is exit 2 whatever the state
 * of the config file or the store; "token" needs neither.
 */
#include "config.h"

#include <sys/stat.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "passwd.h"
#include "store.h"
#include "token.h"
#include "util.h"

#define EXIT_REFUSED	1
#define EXIT_USAGE	2

static struct conf *ctl_conf;
static struct store *ctl_store;

static const char ctl_usage[] =
"usage: bipostalctl [-c FILE] [-v] COMMAND ...\n"
"  migrate                      create or upgrade the store's tables\n"
"  token                        print a fresh random token\n"
"  config [-a]                  print the non-default (-a: all) settings\n"
"  user add EMAIL [--password-file F] [--admin]\n"
"  user list | user revoke EMAIL\n"
"  user set EMAIL disabled_action=discard|reject | content_policy=strip|keep\n"
"  alias add EMAIL ORIGIN       print the user's alias for ORIGIN\n"
"  alias list EMAIL\n"
"  alias disable|enable|delete ADDRESS\n"
"  node add HOST PORT CAPACITY | node list | node down|drain|up ID\n"
"  purge                        drop what is past its retention or TTL\n";

/* usage - complain and exit 2 */
static void __attribute__((noreturn))
usage(const char *why)
{
	if (why)
		fprintf(stderr, "bipostalctl: %s\n", why);
	fputs(ctl_usage, stderr);
	exit(EXIT_USAGE);
}

/* status_exit - exit for a store status that is not success */
static void __attribute__((noreturn))
status_exit(enum store_status s, const char *what)
{
	fprintf(stderr, "bipostalctl: %s: %s\n", what, store_strstatus(s));
	exit(s == STORE_TEMP ? EX_TEMPFAIL : EXIT_REFUSED);
}

/* writable_by - may uid (group gid) make files in the folder sb is of? */
static int
writable_by(const struct stat *sb, uid_t uid, gid_t gid)
{
	if (sb->st_uid == uid)
		return ((sb->st_mode & S_IWUSR) != 0);
	if (sb->st_gid == gid)
		return ((sb->st_mode & S_IWGRP) != 0);
	return ((sb->st_mode & S_IWOTH) != 0);
}

/*
 * hand_over - run as root on a store file (SQLite), give the file and its
 * -wal and -shm companions to daemon_user, as Postfix's own tools give
 * theirs to their owner: a store root made is one the daemons could not
 * write.  SQLite makes the companions in the file's folder, so that
 * folder must be writable by daemon_user too: said if it is not.
 */
static void
hand_over(void)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	const char *path = store_file(ctl_conf->store);
	const char *user = ctl_conf->daemon_user;
	char	 f[PATH_MAX], dir[PATH_MAX], *slash;
	struct passwd *pw;
	struct stat sb;
	size_t	 i;

	if (geteuid() != 0 || path == NULL || user == NULL || *user == '\0')
		return;
	if ((pw = getpwnam(user)) == NULL) {
		fprintf(stderr, "bipostalctl: daemon_user %s: no such user: "
		    "%s stays root's\n", user, path);
		return;
	}
	if (pw->pw_uid == 0)
		return;
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(f, sizeof(f), "%s%s", path, suffix[i]);
		if (chown(f, pw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT)
			fprintf(stderr, "bipostalctl: chown %s %s: %s\n", user,
			    f, strerror(errno));
	}
	bp_strlcpy(dir, path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) == NULL)
		bp_strlcpy(dir, ".", sizeof(dir));
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &sb) == 0 && !writable_by(&sb, pw->pw_uid, pw->pw_gid))
		fprintf(stderr, "bipostalctl: %s: not writable by %s, who "
		    "must make the store's -wal and -shm files there: run "
		    "chown %s %s\n", dir, user, user, dir);
}

/* open_store - connect, or exit 75 (unreachable) / 1 (misconfigured); a
 * store file root opened is handed to daemon_user */
static void
open_store(void)
{
	enum store_status s = STORE_PERM;
	const char *why = "unknown error";

	ctl_store = store_open(ctl_conf->store, &s, &why);
	if (ctl_store == NULL) {
		fprintf(stderr, "bipostalctl: store %s: %s\n",
		    s == STORE_TEMP ? "unreachable" : "unusable", why);
		exit(s == STORE_TEMP ? EX_TEMPFAIL : EXIT_REFUSED);
	}
	hand_over();
}

/* The command, as parsed from the command line before anything runs */
enum ctl_op {
	OP_MIGRATE, OP_TOKEN, OP_CONFIG, OP_PURGE,
	OP_USER_ADD, OP_USER_LIST, OP_USER_REVOKE, OP_USER_SET,
	OP_ALIAS_ADD, OP_ALIAS_LIST, OP_ALIAS_STATE,
	OP_NODE_ADD, OP_NODE_LIST, OP_NODE_STATE,
};

enum node_change { NODE_DOWN, NODE_DRAIN, NODE_UP };

struct ctl_cmd {
	enum ctl_op	 op;
	char		*email;		/* user add|revoke|set, alias add|list */
	const char	*origin;	/* alias add */
	char		*address;	/* alias disable|enable|delete */
	enum alias_state to;		/* alias disable|enable|delete */
	const char	*pwfile;	/* user add --password-file */
	int		 admin;		/* user add --admin */
	int		 all;		/* config -a */
	int		 action;	/* user set: -1 unchanged, or the enum */
	int		 policy;	/* user set: -1 unchanged, or the enum */
	const char	*host;		/* node add */
	int		 port, capacity;	/* node add */
	int64_t		 node_id;	/* node down|drain|up */
	enum node_change change;	/* node down|drain|up */
};

/* get_user - the user with login identity email, or exit */
static void
get_user(const char *email, struct user *u)
{
	enum store_status s = store_user_by_identity(ctl_store, email, u);

	if (s == STORE_NOTFOUND || s == STORE_INVALID) {
		fprintf(stderr, "bipostalctl: %s: no such user\n", email);
		exit(EXIT_REFUSED);
	}
	if (s != STORE_OK)
		status_exit(s, "user lookup");
}

/* alias_token - the token of ADDRESS (token or token@alias_domain) */
static const char *
alias_token(char *address)
{
	char	*at = strchr(address, '@');

	if (at != NULL) {
		if (strcasecmp(at + 1, ctl_conf->alias_domain) != 0) {
			fprintf(stderr, "bipostalctl: %s: not in the alias "
			    "domain %s\n", address, ctl_conf->alias_domain);
			exit(EXIT_REFUSED);
		}
		*at = '\0';
	}
	return (address);
}

/* read_password - the first line of file */
static void
read_password(const char *path, char *buf, size_t size)
{
	FILE	*fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	size_t	 len;

	if (fp == NULL) {
		fprintf(stderr, "bipostalctl: %s: %s\n", path, strerror(errno));
		exit(EXIT_REFUSED);
	}
	if (fgets(buf, (int)size, fp) == NULL) {
		fprintf(stderr, "bipostalctl: %s: empty password file\n", path);
		exit(EXIT_REFUSED);
	}
	if (fp != stdin)
		fclose(fp);
	len = strcspn(buf, "\r\n");
	if (buf[len] == '\0' && len == size - 1) {
		fprintf(stderr, "bipostalctl: %s: password too long\n", path);
		exit(EXIT_REFUSED);
	}
	buf[len] = '\0';
	if (len == 0) {
		fprintf(stderr, "bipostalctl: %s: empty password\n", path);
		exit(EXIT_REFUSED);
	}
}

static const char *const state_name[] = {
	[ALIAS_ACTIVE] = "active", [ALIAS_INACTIVE] = "inactive",
	[ALIAS_DELETED] = "deleted",
};

/* parse_long - a decimal number in [min, max], or usage */
static long
parse_long(const char *s, long min, long max, const char *what)
{
	char	*end;
	long	 n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || n < min || n > max)
		usage(what);
	return (n);
}

/* parse_user - user add|list|revoke|set ... into c, or usage */
static void
parse_user(int argc, char **argv, struct ctl_cmd *c)
{
	int	i;

	if (argc < 1)
		usage("user: missing subcommand");
	if (strcmp(argv[0], "add") == 0) {
		if (argc < 2)
			usage("user add: missing EMAIL");
		c->op = OP_USER_ADD;
		c->email = argv[1];
		for (i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--password-file") == 0 &&
			    i + 1 < argc)
				c->pwfile = argv[++i];
			else if (strcmp(argv[i], "--admin") == 0)
				c->admin = 1;
			else
				usage("user add: unknown option");
		}
	} else if (strcmp(argv[0], "list") == 0) {
		if (argc != 1)
			usage("user list takes no argument");
		c->op = OP_USER_LIST;
	} else if (strcmp(argv[0], "revoke") == 0) {
		if (argc != 2)
			usage("user revoke: want EMAIL");
		c->op = OP_USER_REVOKE;
		c->email = argv[1];
	} else if (strcmp(argv[0], "set") == 0) {
		if (argc < 3)
			usage("user set: want EMAIL NAME=VALUE");
		c->op = OP_USER_SET;
		c->email = argv[1];
		for (i = 2; i < argc; i++) {
			if (strcmp(argv[i], "disabled_action=discard") == 0)
				c->action = DISABLED_DISCARD;
			else if (strcmp(argv[i], "disabled_action=reject") == 0)
				c->action = DISABLED_REJECT;
			else if (strcmp(argv[i], "content_policy=strip") == 0)
				c->policy = CONTENT_STRIP;
			else if (strcmp(argv[i], "content_policy=keep") == 0)
				c->policy = CONTENT_KEEP;
			else
				usage("user set: unknown setting");
		}
	} else
		usage("user: unknown subcommand");
}

/* parse_alias - alias add|list|disable|enable|delete ... into c */
static void
parse_alias(int argc, char **argv, struct ctl_cmd *c)
{
	if (argc < 1)
		usage("alias: missing subcommand");
	if (strcmp(argv[0], "add") == 0) {
		if (argc != 3)
			usage("alias add: want EMAIL ORIGIN");
		c->op = OP_ALIAS_ADD;
		c->email = argv[1];
		c->origin = argv[2];
		return;
	}
	if (strcmp(argv[0], "list") == 0) {
		if (argc != 2)
			usage("alias list: want EMAIL");
		c->op = OP_ALIAS_LIST;
		c->email = argv[1];
		return;
	}
	if (strcmp(argv[0], "disable") == 0)
		c->to = ALIAS_INACTIVE;
	else if (strcmp(argv[0], "enable") == 0)
		c->to = ALIAS_ACTIVE;
	else if (strcmp(argv[0], "delete") == 0)
		c->to = ALIAS_DELETED;
	else
		usage("alias: unknown subcommand");
	if (argc != 2)
		usage("alias disable|enable|delete: want ADDRESS");
	c->op = OP_ALIAS_STATE;
	c->address = argv[1];
}

/* parse_node - node add|list|down|drain|up ... into c */
static void
parse_node(int argc, char **argv, struct ctl_cmd *c)
{
	if (argc < 1)
		usage("node: missing subcommand");
	if (strcmp(argv[0], "add") == 0) {
		if (argc != 4)
			usage("node add: want HOST PORT CAPACITY");
		c->op = OP_NODE_ADD;
		c->host = argv[1];
		c->port = (int)parse_long(argv[2], 1, 65535,
		    "node add: bad PORT");
		c->capacity = (int)parse_long(argv[3], 0, 100000000,
		    "node add: bad CAPACITY");
		return;
	}
	if (strcmp(argv[0], "list") == 0) {
		if (argc != 1)
			usage("node list takes no argument");
		c->op = OP_NODE_LIST;
		return;
	}
	if (strcmp(argv[0], "down") == 0)
		c->change = NODE_DOWN;
	else if (strcmp(argv[0], "drain") == 0)
		c->change = NODE_DRAIN;
	else if (strcmp(argv[0], "up") == 0)
		c->change = NODE_UP;
	else
		usage("node: unknown subcommand");
	if (argc != 2)
		usage("node down|drain|up: want ID");
	c->op = OP_NODE_STATE;
	c->node_id = parse_long(argv[1], 1, 0x7fffffff, "node: bad ID");
}

/* parse_cmd - the whole command line (after the options) into c */
static void
parse_cmd(int argc, char **argv, struct ctl_cmd *c)
{
	memset(c, 0, sizeof(*c));
	c->action = c->policy = -1;
	if (argc < 1)
		usage("missing command");
	if (strcmp(argv[0], "user") == 0)
		parse_user(argc - 1, argv + 1, c);
	else if (strcmp(argv[0], "alias") == 0)
		parse_alias(argc - 1, argv + 1, c);
	else if (strcmp(argv[0], "node") == 0)
		parse_node(argc - 1, argv + 1, c);
	else if (strcmp(argv[0], "config") == 0) {
		if (argc > 2 || (argc == 2 && strcmp(argv[1], "-a") != 0))
			usage("config: want [-a]");
		c->op = OP_CONFIG;
		c->all = argc == 2;
	} else {
		if (strcmp(argv[0], "migrate") == 0)
			c->op = OP_MIGRATE;
		else if (strcmp(argv[0], "token") == 0)
			c->op = OP_TOKEN;
		else if (strcmp(argv[0], "purge") == 0)
			c->op = OP_PURGE;
		else
			usage("unknown command");
		if (argc != 1)
			usage("this command takes no argument");
	}
}

/* run_user_add - create the user, print EMAIL<TAB>queue id */
static int
run_user_add(const struct ctl_cmd *c)
{
	char	 pw[PASSWD_MAX + 2], hash[PWHASH_MAX + 1] = "";
	struct user u;
	enum store_status s;

	if (c->pwfile) {
		read_password(c->pwfile, pw, sizeof(pw));
		if (passwd_hash(pw, hash, sizeof(hash)) < 0) {
			fprintf(stderr, "bipostalctl: cannot hash password\n");
			return (EXIT_REFUSED);
		}
		memset(pw, 0, sizeof(pw));
	}
	open_store();
	s = store_user_create(ctl_store, c->email, hash, &u);
	if (s == STORE_EXISTS) {
		fprintf(stderr, "bipostalctl: %s: user exists\n", c->email);
		return (EXIT_REFUSED);
	}
	if (s == STORE_INVALID) {
		fprintf(stderr, "bipostalctl: %s: not a valid address\n",
		    c->email);
		return (EXIT_REFUSED);
	}
	if (s != STORE_OK)
		status_exit(s, "user add");
	if (c->admin) {
		u.is_admin = 1;
		if ((s = store_user_update(ctl_store, &u)) != STORE_OK)
			status_exit(s, "user add");
	}
	printf("%s\t%s\n", u.email, u.queue_id);
	return (0);
}

/* run_user - user list|revoke|set */
static int
run_user(const struct ctl_cmd *c)
{
	struct user u, *list;
	enum store_status s;
	size_t	 n, i;

	open_store();
	if (c->op == OP_USER_LIST) {
		if ((s = store_user_list(ctl_store, &list, &n)) != STORE_OK)
			status_exit(s, "user list");
		for (i = 0; i < n; i++)
			printf("%s\t%s\t%s%s\n", list[i].email, list[i].queue_id,
			    list[i].status == USER_ACTIVE ? "active" : "revoked",
			    list[i].is_admin ? "\tadmin" : "");
		free(list);
		return (0);
	}
	get_user(c->email, &u);
	if (c->op == OP_USER_REVOKE) {
		if ((s = store_user_revoke(ctl_store, u.id)) != STORE_OK)
			status_exit(s, "user revoke");
		return (0);
	}
	if (c->action >= 0)
		u.disabled_action = (enum disabled_action)c->action;
	if (c->policy >= 0)
		u.content_policy = (enum content_policy)c->policy;
	if ((s = store_user_update(ctl_store, &u)) != STORE_OK)
		status_exit(s, "user set");
	return (0);
}

/* run_alias - alias add|list|disable|enable|delete */
static int
run_alias(const struct ctl_cmd *c)
{
	struct alias a, *list;
	struct user u;
	enum store_status s;
	const char *tok;
	size_t	 n, i;

	open_store();
	if (c->op == OP_ALIAS_ADD) {
		get_user(c->email, &u);
		if (u.status != USER_ACTIVE) {
			fprintf(stderr, "bipostalctl: %s: user revoked\n",
			    c->email);
			return (EXIT_REFUSED);
		}
		s = store_alias_create(ctl_store, u.id, c->origin, 0, &a, NULL);
		if (s == STORE_INVALID) {
			fprintf(stderr, "bipostalctl: %s: not a valid origin\n",
			    c->origin);
			return (EXIT_REFUSED);
		}
		if (s != STORE_OK)
			status_exit(s, "alias add");
		printf("%s@%s\n", a.token, ctl_conf->alias_domain);
		return (0);
	}
	if (c->op == OP_ALIAS_LIST) {
		get_user(c->email, &u);
		if ((s = store_alias_list(ctl_store, u.id, &list, &n)) !=
		    STORE_OK)
			status_exit(s, "alias list");
		for (i = 0; i < n; i++)
			printf("%s@%s\t%s\t%s\t%lld\t%lld\t%lld\n", list[i].token,
			    ctl_conf->alias_domain, list[i].origin,
			    state_name[list[i].status],
			    (long long)list[i].forwarded,
			    (long long)list[i].blocked,
			    (long long)list[i].replied);
		free(list);
		return (0);
	}
	tok = alias_token(c->address);
	s = store_alias_get(ctl_store, tok, &a);
	if (s == STORE_NOTFOUND || s == STORE_INVALID ||
	    (s == STORE_OK && a.status == ALIAS_DELETED)) {
		fprintf(stderr, "bipostalctl: %s: no such alias\n", tok);
		return (EXIT_REFUSED);
	}
	if (s != STORE_OK)
		status_exit(s, "alias lookup");
	if ((s = store_alias_set_status(ctl_store, tok, c->to)) != STORE_OK)
		status_exit(s, "alias update");
	return (0);
}

/* run_node - node add|list|down|drain|up */
static int
run_node(const struct ctl_cmd *c)
{
	struct node *list;
	enum store_status s;
	size_t	 n, i;
	int64_t	 id;

	open_store();
	if (c->op == OP_NODE_ADD) {
		s = store_node_add(ctl_store, c->host, c->port, c->capacity,
		    &id);
		if (s == STORE_EXISTS) {
			fprintf(stderr, "bipostalctl: %s:%d: node exists\n",
			    c->host, c->port);
			return (EXIT_REFUSED);
		}
		if (s != STORE_OK)
			status_exit(s, "node add");
		printf("%lld\n", (long long)id);
		return (0);
	}
	if ((s = store_node_list(ctl_store, &list, &n)) != STORE_OK)
		status_exit(s, "node list");
	if (c->op == OP_NODE_LIST) {
		for (i = 0; i < n; i++)
			printf("%lld\t%s\t%d\t%d\t%d\t%d\t%s\n",
			    (long long)list[i].id, list[i].host, list[i].port,
			    list[i].capacity, list[i].load, list[i].available,
			    list[i].downed ? "down" : list[i].draining ?
			    "draining" : "up");
		free(list);
		return (0);
	}
	for (i = 0; i < n && list[i].id != c->node_id; i++)
		;
	if (i == n) {
		free(list);
		fprintf(stderr, "bipostalctl: node %lld: no such node\n",
		    (long long)c->node_id);
		return (EXIT_REFUSED);
	}
	if (c->change == NODE_DOWN)
		list[i].downed = 1;
	else if (c->change == NODE_DRAIN)
		list[i].draining = 1;
	else
		list[i].downed = list[i].draining = 0;
	s = store_node_update(ctl_store, &list[i]);
	free(list);
	if (s != STORE_OK)
		status_exit(s, "node update");
	return (0);
}

/* run_store - migrate and purge */
static int
run_store(const struct ctl_cmd *c)
{
	struct purge_counts pc;
	enum store_status s;

	open_store();
	if (c->op == OP_MIGRATE) {
		if ((s = store_migrate(ctl_store)) != STORE_OK)
			status_exit(s, "migrate");
		return (0);
	}
	s = store_purge(ctl_store, ctl_conf->alias_retention,
	    ctl_conf->event_horizon, &pc);
	if (s != STORE_OK)
		status_exit(s, "purge");
	printf("aliases=%ld replies=%ld queue=%ld blobs=%ld events=%ld\n",
	    pc.aliases, pc.replies, pc.qmsgs, pc.blobs, pc.events);
	return (0);
}

int
main(int argc, char **argv)
{
	struct ctl_cmd cmd;
	const char *path = NULL;
	char	 err[1024];
	int	 ch, rc;

	log_open("bipostalctl", 1);
	while ((ch = getopt(argc, argv, "+c:vh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'v':
			log_verbose++;
			break;
		case 'h':
			fputs(ctl_usage, stdout);
			return (0);
		default:
			usage(NULL);
		}
	}
	parse_cmd(argc - optind, argv + optind, &cmd);
	if (cmd.op == OP_TOKEN) {
		char	tok[TOKEN_LEN + 1];

		if (token_new(tok, sizeof(tok)) < 0)
			return (EXIT_REFUSED);
		printf("%s\n", tok);
		return (0);
	}
	if ((ctl_conf = conf_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bipostalctl: %s\n", err);
		return (EXIT_REFUSED);
	}
	switch (cmd.op) {
	case OP_CONFIG:
		conf_print(ctl_conf, stdout, cmd.all);
		rc = 0;
		break;
	case OP_USER_ADD:
		rc = run_user_add(&cmd);
		break;
	case OP_USER_LIST:
	case OP_USER_REVOKE:
	case OP_USER_SET:
		rc = run_user(&cmd);
		break;
	case OP_ALIAS_ADD:
	case OP_ALIAS_LIST:
	case OP_ALIAS_STATE:
		rc = run_alias(&cmd);
		break;
	case OP_NODE_ADD:
	case OP_NODE_LIST:
	case OP_NODE_STATE:
		rc = run_node(&cmd);
		break;
	default:
		rc = run_store(&cmd);
		break;
	}
	store_close(ctl_store);
	conf_release(ctl_conf);
	return (rc);
}
