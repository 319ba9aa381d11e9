/*
 * sluicectl: ask a running sluiced what it is doing and tell it what to
 * do, over the control socket (sluicectl(8)).  Arguments are checked here,
 * before anything is sent, so a typo gets a clear message instead of a
 * round trip; the server checks everything again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define NAME_MAX_LEN	255	/* listener, link, user, agent names */
#define SESSIONS_MAX	1000000	/* rows of all pages, a sanity cap */
#define PAGE_MAX	1000	/* protocol's "limit" range */

struct command {
	const char	*name;
	/* Check argv (after the command word) and build "args". */
	int		(*parse)(int, char **, cJSON **);
	int		(*show)(const cJSON *);
	int		 timeout_ms;
};

static int	run_sessions(struct ctl_conn *, cJSON *, int);

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sluicectl [-s socket] [--json] [-t seconds] "
	    "[-T tenant] command [args]\n"
	    "commands:\n"
	    "  status\n"
	    "  sessions [--listener NAME] [--link NAME] [--client CIDR] "
	    "[--target TEXT]\n"
	    "           [--user NAME] [--agent NAME] [--limit N]\n"
	    "  kill ID... | kill --client CIDR\n"
	    "  links\n"
	    "  agents\n"
	    "  loglevel [error|warning|info|debug]\n"
	    "  allow LISTENER add CIDR | allow LISTENER del CIDR | "
	    "allow LISTENER list\n"
	    "  reload | reopen | stop\n");
}

/* Untrusted text for a message: printable ASCII, truncated. */
static const char *
shown(const char *s)
{
	static char	 buf[256];
	char		*safe = ctl_safe(s);

	snprintf(buf, sizeof(buf), "%s", safe != NULL ? safe : "?");
	free(safe);
	return buf;
}

static int __attribute__((format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list	ap;

	fputs("sluicectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CTL_EXIT_REFUSED;
}

/* "ADDR" or "ADDR/PREFIX", IPv4 or IPv6, no names. */
static int
valid_cidr(const char *s)
{
	char		 addr[INET6_ADDRSTRLEN];
	unsigned char	 bin[16];
	const char	*slash = strchr(s, '/');
	char		*end;
	size_t		 len;
	long		 prefix, max;

	len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (len == 0 || len >= sizeof(addr))
		return 0;
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, bin) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		max = 128;
	else
		return 0;
	if (slash == NULL)
		return 1;
	if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3)
		return 0;
	errno = 0;
	prefix = strtol(slash + 1, &end, 10);
	return *end == '\0' && errno == 0 && prefix >= 0 && prefix <= max;
}

/* A name as the config spells it: 1..255 bytes, no control bytes. */
static int
valid_name(const char *s)
{
	size_t	len = strlen(s);

	if (len == 0 || len > NAME_MAX_LEN)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* "G.W.N": generation, worker, serial, all decimal. */
static int
valid_session_id(const char *s)
{
	int	parts = 0, digits = 0;

	for (;; s++) {
		if (*s >= '0' && *s <= '9') {
			if (++digits > 20)
				return 0;
			continue;
		}
		if (digits == 0 || (*s != '.' && *s != '\0'))
			return 0;
		parts++;
		digits = 0;
		if (*s == '\0')
			return parts == 3;
	}
}

static int
add_string(cJSON *obj, const char *key, const char *value)
{
	if (cJSON_AddStringToObject(obj, key, value) == NULL) {
		ctl_warnx("out of memory");
		return CTL_EXIT_REFUSED;
	}
	return CTL_EXIT_OK;
}

static int
parse_none(int argc, char **argv, cJSON **argsp)
{
	*argsp = NULL;
	if (argc > 0)
		return usage_error("unexpected argument: %s", shown(argv[0]));
	return CTL_EXIT_OK;
}

/* One "--key VALUE" or "--key=VALUE" of sessions; returns args used. */
static int
sessions_option(int argc, char **argv, cJSON *args)
{
	static const char *const keys[] = { "listener", "link", "client",
	    "target", "user", "agent", "limit" };
	const char	*opt, *value, *eq;
	char		*end;
	size_t		 i, len;
	long		 limit;
	int		 used = 1;

	if (strncmp(argv[0], "--", 2) != 0)
		return -usage_error("sessions: unknown option %s",
		    shown(argv[0]));
	opt = argv[0] + 2;
	eq = strchr(opt, '=');
	len = eq != NULL ? (size_t)(eq - opt) : strlen(opt);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i]) == len && strncmp(keys[i], opt, len) == 0)
			break;
	if (i == sizeof(keys) / sizeof(keys[0]))
		return -usage_error("sessions: unknown option %s",
		    shown(argv[0]));
	if (eq != NULL)
		value = eq + 1;
	else if (argc > 1) {
		value = argv[1];
		used = 2;
	} else
		return -usage_error("sessions: %s needs a value",
		    shown(argv[0]));
	if (cJSON_GetObjectItemCaseSensitive(args, keys[i]) != NULL)
		return -usage_error("sessions: %s given twice", shown(argv[0]));
	if (strcmp(keys[i], "limit") == 0) {
		errno = 0;
		limit = strtol(value, &end, 10);
		if (*value == '\0' || *end != '\0' || errno != 0 ||
		    limit < 1 || limit > PAGE_MAX)
			return -usage_error("sessions: --limit must be 1 to "
			    "1000, not %s", shown(value));
		if (cJSON_AddNumberToObject(args, "limit", limit) == NULL)
			return -CTL_EXIT_REFUSED;
		return used;
	}
	if (strcmp(keys[i], "client") == 0 && !valid_cidr(value))
		return -usage_error("sessions: --client needs an address or "
		    "CIDR, not %s", shown(value));
	if (!valid_name(value))
		return -usage_error("sessions: bad value %s", shown(value));
	if (add_string(args, keys[i], value) != CTL_EXIT_OK)
		return -CTL_EXIT_REFUSED;
	return used;
}

static int
parse_sessions(int argc, char **argv, cJSON **argsp)
{
	int	n;

	if ((*argsp = cJSON_CreateObject()) == NULL) {
		ctl_warnx("out of memory");
		return CTL_EXIT_REFUSED;
	}
	while (argc > 0) {
		if ((n = sessions_option(argc, argv, *argsp)) < 0)
			return -n;
		argc -= n;
		argv += n;
	}
	return CTL_EXIT_OK;
}

static int
parse_kill(int argc, char **argv, cJSON **argsp)
{
	cJSON	*ids;
	int	 i;

	if (argc == 0)
		return usage_error("kill: give session IDs or --client CIDR");
	if ((*argsp = cJSON_CreateObject()) == NULL)
		return usage_error("out of memory");
	if (strcmp(argv[0], "--client") == 0) {
		if (argc != 2 || !valid_cidr(argv[1]))
			return usage_error("kill: --client needs one address "
			    "or CIDR, not %s",
			    shown(argc > 1 ? argv[1] : "nothing"));
		return add_string(*argsp, "client", argv[1]);
	}
	if ((ids = cJSON_AddArrayToObject(*argsp, "ids")) == NULL)
		return usage_error("out of memory");
	for (i = 0; i < argc; i++) {
		if (!valid_session_id(argv[i]))
			return usage_error("kill: %s is not a session ID "
			    "(generation.worker.serial, as in sessions)",
			    shown(argv[i]));
		if (!cJSON_AddItemToArray(ids, cJSON_CreateString(argv[i])))
			return usage_error("out of memory");
	}
	return CTL_EXIT_OK;
}

static int
parse_loglevel(int argc, char **argv, cJSON **argsp)
{
	static const char *const levels[] = { "error", "warning", "info",
	    "debug" };
	size_t	i;

	*argsp = NULL;
	if (argc == 0)
		return CTL_EXIT_OK;
	if (argc > 1)
		return usage_error("loglevel: unexpected argument: %s",
		    shown(argv[1]));
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(argv[0], levels[i]) == 0)
			break;
	if (i == sizeof(levels) / sizeof(levels[0]))
		return usage_error("loglevel: %s is not one of error, "
		    "warning, info, debug", shown(argv[0]));
	if ((*argsp = cJSON_CreateObject()) == NULL)
		return usage_error("out of memory");
	return add_string(*argsp, "level", argv[0]);
}

static int
parse_allow(int argc, char **argv, cJSON **argsp)
{
	int	want;

	*argsp = NULL;
	if (argc < 2)
		return usage_error("allow: usage: allow LISTENER "
		    "add|del CIDR | allow LISTENER list");
	if (!valid_name(argv[0]))
		return usage_error("allow: bad listener name %s",
		    shown(argv[0]));
	if (strcmp(argv[1], "list") == 0)
		want = 2;
	else if (strcmp(argv[1], "add") == 0 || strcmp(argv[1], "del") == 0)
		want = 3;
	else
		return usage_error("allow: %s is not add, del or list",
		    shown(argv[1]));
	if (argc != want)
		return usage_error("allow: %s", want == 3 ?
		    "add and del take one CIDR" : "list takes no CIDR");
	if (want == 3 && !valid_cidr(argv[2]))
		return usage_error("allow: %s is not an address or CIDR",
		    shown(argv[2]));
	if ((*argsp = cJSON_CreateObject()) == NULL ||
	    add_string(*argsp, "listener", argv[0]) != CTL_EXIT_OK ||
	    add_string(*argsp, "op", argv[1]) != CTL_EXIT_OK ||
	    (want == 3 && add_string(*argsp, "cidr", argv[2]) != CTL_EXIT_OK))
		return CTL_EXIT_REFUSED;
	return CTL_EXIT_OK;
}

static int
show_nothing(const cJSON *result)
{
	(void)result;
	return CTL_EXIT_OK;
}

/* timeout: reload waits until the new generation serves. */
static const struct command commands[] = {
	{ "status",   parse_none,     out_status,     CTL_TIMEOUT_MS },
	{ "sessions", parse_sessions, NULL,           CTL_TIMEOUT_MS },
	{ "kill",     parse_kill,     out_killed,     CTL_TIMEOUT_MS },
	{ "links",    parse_none,     out_links,      CTL_TIMEOUT_MS },
	{ "agents",   parse_none,     out_agents,     CTL_TIMEOUT_MS },
	{ "loglevel", parse_loglevel, out_loglevel,   CTL_TIMEOUT_MS },
	{ "allow",    parse_allow,    out_allow,      CTL_TIMEOUT_MS },
	{ "reload",   parse_none,     out_generation, CTL_RELOAD_TIMEOUT_MS },
	{ "reopen",   parse_none,     show_nothing,   CTL_TIMEOUT_MS },
	{ "stop",     parse_none,     show_nothing,   CTL_TIMEOUT_MS },
};

/* Move a page's rows into all; CTL_EXIT_* code. */
static int
take_page(cJSON *result, cJSON *all, const cJSON **nextp)
{
	cJSON	*rows, *row;

	rows = cJSON_GetObjectItemCaseSensitive(result, "sessions");
	*nextp = cJSON_GetObjectItemCaseSensitive(result, "next");
	if (!cJSON_IsArray(rows) || cJSON_GetArraySize(rows) > PAGE_MAX ||
	    (!cJSON_IsString(*nextp) && !cJSON_IsNull(*nextp))) {
		ctl_warnx("malformed answer from sluiced: a sessions page "
		    "needs \"sessions\" (at most %d) and \"next\"", PAGE_MAX);
		return CTL_EXIT_UNREACHABLE;
	}
	if (cJSON_GetArraySize(all) + cJSON_GetArraySize(rows) >
	    SESSIONS_MAX) {
		ctl_warnx("malformed answer from sluiced: more than %d "
		    "sessions", SESSIONS_MAX);
		return CTL_EXIT_UNREACHABLE;
	}
	while ((row = cJSON_DetachItemFromArray(rows, 0)) != NULL) {
		if (!cJSON_IsObject(row)) {
			cJSON_Delete(row);
			ctl_warnx("malformed answer from sluiced: a session "
			    "is not an object");
			return CTL_EXIT_UNREACHABLE;
		}
		cJSON_AddItemToArray(all, row);
	}
	return CTL_EXIT_OK;
}

/*
 * Follow "next" until null, all on one connection, then print every row
 * at once so the table's columns line up over all pages.
 */
static int
run_sessions(struct ctl_conn *c, cJSON *args, int json)
{
	cJSON		*all, *page_args, *result = NULL;
	const cJSON	*next;
	char		*cursor = NULL;
	int		 rc;

	if ((all = cJSON_CreateArray()) == NULL) {
		ctl_warnx("out of memory");
		return CTL_EXIT_REFUSED;
	}
	for (;;) {
		if ((page_args = cJSON_Duplicate(args, 1)) == NULL ||
		    (cursor != NULL && cJSON_AddStringToObject(page_args,
		    "cursor", cursor) == NULL)) {
			cJSON_Delete(page_args);
			ctl_warnx("out of memory");
			rc = CTL_EXIT_REFUSED;
			break;
		}
		if ((rc = ctl_call(c, "sessions", page_args, &result)) !=
		    CTL_EXIT_OK)
			break;
		ctl_warn_incomplete(result);
		if ((rc = take_page(result, all, &next)) != CTL_EXIT_OK ||
		    cJSON_IsNull(next))
			break;
		if (cursor != NULL && strcmp(cursor, next->valuestring) == 0) {
			ctl_warnx("malformed answer from sluiced: the cursor "
			    "did not advance");
			rc = CTL_EXIT_UNREACHABLE;
			break;
		}
		free(cursor);
		if ((cursor = strdup(next->valuestring)) == NULL) {
			ctl_warnx("out of memory");
			rc = CTL_EXIT_REFUSED;
			break;
		}
		cJSON_Delete(result);
		result = NULL;
	}
	if (rc == CTL_EXIT_OK)
		rc = json ? ctl_print_json(all) : out_sessions(all);
	cJSON_Delete(result);
	cJSON_Delete(all);
	free(cursor);
	return rc;
}

/* -t SECONDS: a positive number, fractions allowed. */
static int
parse_timeout(const char *s, int *msp)
{
	char	*end;
	double	 sec;

	errno = 0;
	sec = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !(sec > 0) ||
	    sec > 86400)
		return usage_error("-t needs seconds, more than 0 and at "
		    "most 86400, not %s", shown(s));
	*msp = (int)(sec * 1000);
	if (*msp < 1)
		*msp = 1;
	return CTL_EXIT_OK;
}

static int
run(const struct command *cmd, const char *path, int timeout_ms, int json,
    cJSON *args)
{
	struct ctl_conn	 conn;
	cJSON		*result;
	int		 rc;

	if ((rc = ctl_open(&conn, path, timeout_ms)) != CTL_EXIT_OK) {
		cJSON_Delete(args);
		return rc;
	}
	if (cmd->show == NULL) {
		rc = run_sessions(&conn, args, json);
		cJSON_Delete(args);
	} else if ((rc = ctl_call(&conn, cmd->name, args, &result)) ==
	    CTL_EXIT_OK) {
		ctl_warn_incomplete(result);
		rc = json ? ctl_print_json(result) : cmd->show(result);
		cJSON_Delete(result);
	}
	ctl_close(&conn);
	if (fflush(stdout) == EOF && rc == CTL_EXIT_OK) {
		ctl_warnx("stdout: %s", strerror(errno));
		rc = CTL_EXIT_REFUSED;
	}
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	   NULL, 'j' },
		{ "socket",	required_argument, NULL, 's' },
		{ "timeout",	required_argument, NULL, 't' },
		{ "tenant",	required_argument, NULL, 'T' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL,		0,		   NULL, 0 }
	};
	const struct command	*cmd = NULL;
	const char		*path = CTL_SOCKET_DEFAULT, *tenant = NULL;
	cJSON			*args = NULL;
	size_t			 i;
	int			 ch, json = 0, timeout_ms = -1, rc;

	while ((ch = getopt_long(argc, argv, "+hjs:t:T:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		case 'j':
			json = 1;
			break;
		case 's':
			if (*optarg == '\0')
				return usage_error("-s needs a path");
			path = optarg;
			break;
		case 't':
			if (parse_timeout(optarg, &timeout_ms) != CTL_EXIT_OK)
				return CTL_EXIT_REFUSED;
			break;
		case 'T':
			if (*optarg == '\0')
				return usage_error("--tenant needs a name");
			tenant = optarg;
			break;
		default:
			usage(stderr);
			return CTL_EXIT_REFUSED;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return CTL_EXIT_REFUSED;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			cmd = &commands[i];
	if (cmd == NULL) {
		usage_error("unknown command %s", shown(argv[0]));
		usage(stderr);
		return CTL_EXIT_REFUSED;
	}
	if ((rc = cmd->parse(argc - 1, argv + 1, &args)) != CTL_EXIT_OK) {
		cJSON_Delete(args);
		return rc;
	}
	/* Every command is scoped by it; the master refuses it where a
	   command is process-wide. */
	if (tenant != NULL) {
		if (args == NULL && (args = cJSON_CreateObject()) == NULL)
			return CTL_EXIT_REFUSED;
		if (add_string(args, "tenant", tenant) != CTL_EXIT_OK) {
			cJSON_Delete(args);
			return CTL_EXIT_REFUSED;
		}
	}
	if (timeout_ms == -1)
		timeout_ms = cmd->timeout_ms;
	return run(cmd, path, timeout_ms, json, args);
}
