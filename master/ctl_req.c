/*
 * Control requests, as bytes (master/ctl_req.h).  The table of commands
 * and the arguments each takes lives here, so that what the master
 * accepts is decided before any handler runs.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "ctl_req.h"

struct ctl_req_cmd {
	const char	*name;
	const char	*const *keys;	/* args it takes, NULL-terminated */
};

/* "tenant" everywhere: the process-wide commands refuse it by name. */
static const char *const no_keys[] = { "tenant", NULL };
static const char *const sessions_keys[] = { "listener", "link", "client",
    "target", "user", "agent", "cursor", "limit", "tenant", NULL };
static const char *const kill_keys[] = { "ids", "client", "tenant", NULL };
static const char *const level_keys[] = { "level", "tenant", NULL };
static const char *const allow_keys[] = { "listener", "op", "cidr",
    "tenant", NULL };

static const struct ctl_req_cmd ctl_req_cmds[] = {
	{ "status", no_keys },
	{ "sessions", sessions_keys },
	{ "kill", kill_keys },
	{ "links", no_keys },
	{ "agents", no_keys },
	{ "loglevel", level_keys },
	{ "allow", allow_keys },
	{ "reload", no_keys },
	{ "reopen", no_keys },
	{ "stop", no_keys },
};

static const struct ctl_req_cmd *
ctl_req_find(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(ctl_req_cmds) / sizeof(ctl_req_cmds[0]); i++)
		if (strcmp(name, ctl_req_cmds[i].name) == 0)
			return &ctl_req_cmds[i];
	return NULL;
}

int
ctl_req_parse(const char *body, size_t len, cJSON **req, const char **cmd,
    const cJSON **args, char *why, size_t whylen, int *fatal)
{
	const struct ctl_req_cmd	*c;
	const cJSON			*it, *a;
	char				 safe[64];
	size_t				 k;

	*req = NULL;
	*args = NULL;
	*fatal = 1;
	if ((*req = cJSON_ParseWithLength(body, len)) == NULL ||
	    !cJSON_IsObject(*req) ||
	    !cJSON_IsString(it = cJSON_GetObjectItemCaseSensitive(*req,
	    "cmd"))) {
		snprintf(why, whylen, "request is not a JSON object with a "
		    "\"cmd\" string");
		goto fail;
	}
	*fatal = 0;
	*cmd = it->valuestring;
	if ((c = ctl_req_find(*cmd)) == NULL) {
		str_sanitize(safe, sizeof(safe), *cmd);
		snprintf(why, whylen, "unknown command \"%s\"", safe);
		goto fail;
	}
	a = cJSON_GetObjectItemCaseSensitive(*req, "args");
	if (a != NULL && !cJSON_IsObject(a)) {
		snprintf(why, whylen, "\"args\" is not an object");
		goto fail;
	}
	cJSON_ArrayForEach(it, a) {
		for (k = 0; c->keys[k] != NULL; k++)
			if (strcmp(it->string, c->keys[k]) == 0)
				break;
		if (c->keys[k] == NULL) {
			str_sanitize(safe, sizeof(safe), it->string);
			snprintf(why, whylen, "%s: unknown argument \"%s\"",
			    c->name, safe);
			goto fail;
		}
	}
	*args = a;
	return 0;
fail:
	cJSON_Delete(*req);
	*req = NULL;
	return -1;
}

int
ctl_parse_id(const char *s, uint32_t *gen, uint32_t *index, uint64_t *serial)
{
	unsigned long long	 g, w, n;
	char			*end;

	/* strtoull takes signs and spaces; an id has digits only. */
	if (*s < '0' || *s > '9')
		return -1;
	g = strtoull(s, &end, 10);
	if (*end != '.' || end[1] < '0' || end[1] > '9')
		return -1;
	w = strtoull(s = end + 1, &end, 10);
	if (*end != '.' || end[1] < '0' || end[1] > '9')
		return -1;
	n = strtoull(s = end + 1, &end, 10);
	if (*end != '\0' || g > UINT32_MAX || w > UINT32_MAX || n == 0 ||
	    n == ULLONG_MAX)
		return -1;
	*gen = (uint32_t)g;
	*index = (uint32_t)w;
	*serial = n;
	return 0;
}
