/*
 * The control commands the master answers itself, from its process
 * table, its config and the shared region (status, links, loglevel,
 * allow, reopen, stop), and the dispatch to those that wait on workers
 * (sessions, kill: ctl_sessions.c) or on a new generation (reload).
 *
 * The region is read through counters.c, which clamps: a worker can
 * make a number in an answer wrong, never the master misbehave.
 */
#include <sys/socket.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sl_build.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../policy/counters.h"
#include "accesslog.h"
#include "control.h"
#include "master.h"

/* Handlers; ctl_req.c checked the command and its arguments' names. */
struct ctl_cmd {
	const char	*name;
	void		(*fn)(struct ctl_client *, const cJSON *args);
};

int
ctl_arg_str(struct ctl_client *c, const cJSON *args, const char *key,
    const char **out)
{
	const cJSON	*it;

	*out = NULL;
	if (args == NULL ||
	    (it = cJSON_GetObjectItemCaseSensitive(args, key)) == NULL ||
	    cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsString(it)) {
		ctl_fail(c, "%s: not a string", key);
		return -1;
	}
	*out = it->valuestring;
	return 0;
}

/*
 * The "tenant" argument: the current generations it names (all of them
 * without one) into out[]; -1 answered (no such tenant).
 */
int
ctl_arg_tenant(struct ctl_client *c, const cJSON *args, int *pool)
{
	const char	*name;

	*pool = -1;
	if (ctl_arg_str(c, args, "tenant", &name) == -1)
		return -1;
	if (name == NULL)
		return 0;
	if ((*pool = pool_find(name)) == -1 ||
	    gen_current((uint32_t)*pool) == NULL) {
		ctl_fail(c, "tenant: no tenant \"%.32s\"", name);
		return -1;
	}
	return 0;
}

/* The serving generations in scope: pool's, or all (pool -1). */
static size_t
ctl_scope(int pool, struct gen **out)
{
	if (pool == -1)
		return pool_currents(out, SL_MAX_POOLS);
	out[0] = gen_current((uint32_t)pool);
	return out[0] != NULL;
}

/* A "tenant" member, with tenants only. */
static void
add_tenant(cJSON *o, const struct gen *g)
{
	if (pool_tenanted() && g != NULL)
		cJSON_AddStringToObject(o, "tenant", g->tenant);
}

/* A command for the whole daemon: "tenant" is refused, not ignored. */
static int
ctl_process_wide(struct ctl_client *c, const cJSON *args, const char *cmd)
{
	if (args != NULL &&
	    cJSON_GetObjectItemCaseSensitive(args, "tenant") != NULL) {
		ctl_fail(c, "%s applies to every tenant: no --tenant", cmd);
		return -1;
	}
	return 0;
}

static cJSON *
status_procs(int pool)
{
	cJSON		*a = cJSON_CreateArray(), *o;
	struct proc	*p;
	size_t		 i;

	for (i = 0; a != NULL && i < ms->nprocs; i++) {
		p = &ms->procs[i];
		if ((p->pid == 0 && p->state == PROC_DEAD) ||
		    (pool != -1 && p->pool != (uint32_t)pool))
			continue;
		if ((o = cJSON_CreateObject()) == NULL)
			break;
		cJSON_AddStringToObject(o, "name", p->name);
		if (pool_tenanted())
			cJSON_AddStringToObject(o, "tenant",
			    ms->pools[p->pool].name);
		cJSON_AddStringToObject(o, "role", proc_role_name(p));
		cJSON_AddNumberToObject(o, "pid", p->pid);
		cJSON_AddNumberToObject(o, "generation", p->generation);
		cJSON_AddStringToObject(o, "state", proc_state_name(p->state));
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static void
status_listeners(cJSON *a, const struct gen *g)
{
	const struct allow_rt		*al = ms->pools[g->pool].allow;
	const struct sl_listener	*l;
	struct sl_listener_totals	 t;
	char				 addr[SL_ADDRSTRLEN];
	cJSON				*o;
	size_t				 i;

	for (i = 0; a != NULL && i < g->conf->nlisteners; i++) {
		l = &g->conf->listeners[i];
		if ((o = cJSON_CreateObject()) == NULL)
			break;
		shm_listener_totals(g->shm, (uint32_t)i, &t);
		cJSON_AddStringToObject(o, "name", l->name);
		add_tenant(o, g);
		cJSON_AddStringToObject(o, "kind", conf_listen_kind_name(l->kind));
		cJSON_AddStringToObject(o, "listen", sockaddr_fmt(
		    (const struct sockaddr *)&l->addr, addr, sizeof(addr)));
		cJSON_AddNumberToObject(o, "active", (double)t.active);
		cJSON_AddNumberToObject(o, "total", (double)t.opened);
		cJSON_AddNumberToObject(o, "clients", al[i].set ?
		    al[i].n : l->nclients);
		cJSON_AddItemToArray(a, o);
	}
}

/* Sessions and handshakes over the scope; per tenant with tenants. */
static void
status_counts(cJSON *r, struct gen **cur, size_t n)
{
	cJSON		*ts = NULL, *o;
	uint64_t	 s, h, ss = 0, hs = 0;
	size_t		 i;

	if (pool_tenanted())
		ts = cJSON_AddArrayToObject(r, "tenants");
	for (i = 0; i < n; i++) {
		s = shm_sessions(cur[i]->shm, UINT64_C(1) << 32);
		h = shm_handshakes(cur[i]->shm, UINT64_C(1) << 32);
		ss += s;
		hs += h;
		if (ts == NULL || (o = cJSON_CreateObject()) == NULL)
			continue;
		cJSON_AddStringToObject(o, "name", cur[i]->tenant);
		cJSON_AddNumberToObject(o, "generation", cur[i]->id);
		cJSON_AddNumberToObject(o, "workers", cur[i]->nworkers);
		cJSON_AddNumberToObject(o, "uid", cur[i]->uid);
		cJSON_AddNumberToObject(o, "sessions", (double)s);
		cJSON_AddItemToArray(ts, o);
	}
	cJSON_AddNumberToObject(r, "sessions", (double)ss);
	cJSON_AddNumberToObject(r, "handshakes", (double)hs);
}

static void
cmd_status(struct ctl_client *c, const cJSON *args)
{
	struct gen		*cur[SL_MAX_POOLS];
	cJSON			*r, *ls;
	time_t			 now = time(NULL);
	uint64_t		 started;
	uint32_t		 newest = 0;
	size_t			 i, n;
	int			 pool;

	if (ctl_arg_tenant(c, args, &pool) == -1)
		return;
	n = ctl_scope(pool, cur);
	for (i = 0; i < n; i++)
		if (cur[i]->id > newest)
			newest = cur[i]->id;
	if ((r = cJSON_CreateObject()) == NULL) {
		ctl_fail(c, "out of memory");
		return;
	}
	started = (uint64_t)ms->started;
	cJSON_AddStringToObject(r, "version", SLUICE_VERSION);
	cJSON_AddNumberToObject(r, "pid", getpid());
	cJSON_AddNumberToObject(r, "generation", newest);
	cJSON_AddNumberToObject(r, "uptime_s", started != 0 &&
	    (uint64_t)now >= started ? (double)((uint64_t)now - started) : 0);
	cJSON_AddNumberToObject(r, "reloads", (double)ms->reloads);
	cJSON_AddStringToObject(r, "log_level", log_level_name(ms->log_level));
	cJSON_AddStringToObject(r, "config", ms->conf_path);
	status_counts(r, cur, n);
	cJSON_AddItemToObject(r, "processes", status_procs(pool));
	ls = cJSON_AddArrayToObject(r, "listeners");
	for (i = 0; i < n; i++)
		status_listeners(ls, cur[i]);
	ctl_reply(c, r);
}

/* One link's line: health from its row, totals over the workers. */
static cJSON *
links_one(const struct gen *g, size_t i, uint64_t now)
{
	const struct sl_link	*l = &g->conf->links[i];
	struct sl_health	 h;
	struct sl_link_totals	 t;
	uint64_t		 until;
	cJSON			*o;
	int			 down;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	/* Every worker's verdict; a scribbled deadline is cut (counters.c). */
	shm_health_read(g->shm, (uint32_t)i, -1, now, l->cooldown_ms, &h);
	until = h.until_ms;
	down = h.check_down;
	shm_link_totals(g->shm, (uint32_t)i, &t);
	cJSON_AddStringToObject(o, "name", l->name);
	add_tenant(o, g);
	cJSON_AddStringToObject(o, "protocol", l->proto == SL_LINK_SOCKS5 ?
	    "socks5" : l->proto == SL_LINK_AGENT ? "agent" : "direct");
	if (l->proto == SL_LINK_AGENT)
		cJSON_AddStringToObject(o, "agent", l->agent);
	cJSON_AddStringToObject(o, "state", down ? "down" : until > now ?
	    "cooling" : "up");
	cJSON_AddNumberToObject(o, "cooldown_s", until > now ?
	    (double)(until - now) / 1000.0 : 0);
	cJSON_AddNumberToObject(o, "fails", h.fails);
	cJSON_AddStringToObject(o, "health", !l->check.enabled ? "unchecked" :
	    down ? "down" : "up");
	cJSON_AddNumberToObject(o, "active", (double)t.active);
	cJSON_AddNumberToObject(o, "total", (double)t.opened);
	cJSON_AddNumberToObject(o, "failed", (double)t.failed);
	cJSON_AddNumberToObject(o, "bytes_up", (double)t.bytes_up);
	cJSON_AddNumberToObject(o, "bytes_down", (double)t.bytes_down);
	cJSON_AddNumberToObject(o, "connect_ms_avg", (double)h.connect_ms);
	return o;
}

static void
cmd_links(struct ctl_client *c, const cJSON *args)
{
	struct gen	*cur[SL_MAX_POOLS];
	cJSON		*r, *a, *o;
	size_t		 i, k, n;
	int		 pool;

	if (ctl_arg_tenant(c, args, &pool) == -1)
		return;
	n = ctl_scope(pool, cur);
	r = cJSON_CreateObject();
	a = cJSON_CreateArray();
	if (r == NULL || a == NULL) {
		cJSON_Delete(r);
		cJSON_Delete(a);
		ctl_fail(c, "out of memory");
		return;
	}
	for (k = 0; k < n; k++)
		for (i = 0; i < cur[k]->conf->nlinks; i++)
			if ((o = links_one(cur[k], i, mono_ms())) != NULL)
				cJSON_AddItemToArray(a, o);
	cJSON_AddItemToObject(r, "links", a);
	ctl_reply(c, r);
}

static void
cmd_loglevel(struct ctl_client *c, const cJSON *args)
{
	const char	*name;
	cJSON		*r;
	int		 level;

	if (ctl_arg_str(c, args, "level", &name) == -1 ||
	    ctl_process_wide(c, args, "loglevel") == -1)
		return;
	if (name != NULL) {
		if ((level = log_level_parse(name)) == -1) {
			ctl_fail(c, "level: \"%.32s\" is not one of error, "
			    "warning, info, debug", name);
			return;
		}
		if (level != ms->log_level)
			log_info("control: log level %s", log_level_name(level));
		ms->log_level = level;
		log_set_level(level);
		ctl_log_level_all(level);
	}
	if ((r = cJSON_CreateObject()) != NULL)
		cJSON_AddStringToObject(r, "level", log_level_name(
		    ms->log_level));
	ctl_reply(c, r);
}

static void
cmd_reopen(struct ctl_client *c, const cJSON *args)
{
	char	err[256];

	if (ctl_process_wide(c, args, "reopen") == -1)
		return;
	if (accesslog_reopen(err, sizeof(err)) == -1)
		ctl_fail(c, "%s", err);
	else
		ctl_reply(c, NULL);
}

static void
cmd_stop(struct ctl_client *c, const cJSON *args)
{
	if (ctl_process_wide(c, args, "stop") == -1)
		return;
	log_info("control: stop");
	ctl_reply(c, NULL);
	master_stop();
}

static void
cmd_reload(struct ctl_client *c, const cJSON *args)
{
	int	pool;

	if (ctl_arg_tenant(c, args, &pool) == -1)
		return;
	reload_request(ctl_client_id(c), pool == -1 ? NULL :
	    ms->pools[pool].name);
}

static const struct ctl_cmd ctl_cmds[] = {
	{ "status", cmd_status },
	{ "sessions", ctl_sessions },
	{ "kill", ctl_kill },
	{ "links", cmd_links },
	{ "agents", cmd_agents },
	{ "loglevel", cmd_loglevel },
	{ "allow", cmd_allow },
	{ "reload", cmd_reload },
	{ "reopen", cmd_reopen },
	{ "stop", cmd_stop },
};

void
ctl_dispatch(struct ctl_client *c, const char *cmd, const cJSON *args)
{
	size_t	i;
	char	safe[64];

	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
		if (strcmp(cmd, ctl_cmds[i].name) != 0)
			continue;
		log_debug("control: %s", cmd);
		ctl_cmds[i].fn(c, args);
		return;
	}
	str_sanitize(safe, sizeof(safe), cmd);
	ctl_fail(c, "unknown command \"%s\"", safe);
}

/* ---- run-time changes, to the children ---- */

void
ctl_log_level_all(int level)
{
	struct sl_msg	m;
	size_t		i;

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_LOG_LEVEL;
	m.fd = -1;
	m.u.log_level.level = (uint32_t)level;
	for (i = 0; i < ms->nprocs; i++)
		if (ms->procs[i].chan != NULL &&
		    ipc_chan_send(ms->procs[i].chan, &m) == -1)
			log_warnx("%s: cannot send LOG_LEVEL",
			    ms->procs[i].name);
}
