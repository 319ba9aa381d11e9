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

static cJSON *
status_procs(void)
{
	cJSON		*a = cJSON_CreateArray(), *o;
	struct proc	*p;
	size_t		 i;

	for (i = 0; a != NULL && i < ms->nprocs; i++) {
		p = &ms->procs[i];
		if (p->pid == 0 && p->state == PROC_DEAD)
			continue;
		if ((o = cJSON_CreateObject()) == NULL)
			break;
		cJSON_AddStringToObject(o, "name", p->name);
		cJSON_AddStringToObject(o, "role", proc_role_name(p));
		cJSON_AddNumberToObject(o, "pid", p->pid);
		cJSON_AddNumberToObject(o, "generation", p->generation);
		cJSON_AddStringToObject(o, "state", proc_state_name(p->state));
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *
status_listeners(void)
{
	cJSON				*a = cJSON_CreateArray(), *o;
	const struct sl_listener	*l;
	struct sl_listener_totals	 t;
	char				 addr[SL_ADDRSTRLEN];
	size_t				 i;

	for (i = 0; a != NULL && i < ms->conf->nlisteners; i++) {
		l = &ms->conf->listeners[i];
		if ((o = cJSON_CreateObject()) == NULL)
			break;
		shm_listener_totals(ms->shm, ms->nworkers, (uint32_t)i, &t);
		cJSON_AddStringToObject(o, "name", l->name);
		cJSON_AddStringToObject(o, "kind", conf_listen_kind_name(l->kind));
		cJSON_AddStringToObject(o, "listen", sockaddr_fmt(
		    (const struct sockaddr *)&l->addr, addr, sizeof(addr)));
		cJSON_AddNumberToObject(o, "active", (double)t.active);
		cJSON_AddNumberToObject(o, "total", (double)t.opened);
		cJSON_AddNumberToObject(o, "clients", ms->allow[i].set ?
		    ms->allow[i].n : l->nclients);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static void
cmd_status(struct ctl_client *c, const cJSON *args)
{
	cJSON			*r;
	time_t			 now = time(NULL);
	uint64_t		 started;

	(void)args;
	if ((r = cJSON_CreateObject()) == NULL) {
		ctl_fail(c, "out of memory");
		return;
	}
	started = (uint64_t)ms->started;
	cJSON_AddStringToObject(r, "version", SLUICE_VERSION);
	cJSON_AddNumberToObject(r, "pid", getpid());
	cJSON_AddNumberToObject(r, "generation", ms->generation);
	cJSON_AddNumberToObject(r, "uptime_s", started != 0 &&
	    (uint64_t)now >= started ? (double)((uint64_t)now - started) : 0);
	cJSON_AddNumberToObject(r, "reloads", (double)ms->reloads);
	cJSON_AddStringToObject(r, "log_level", log_level_name(ms->log_level));
	cJSON_AddStringToObject(r, "config", ms->conf_path);
	cJSON_AddNumberToObject(r, "sessions", (double)shm_sessions(ms->shm,
	    ms->nworkers, UINT64_C(1) << 32));
	cJSON_AddNumberToObject(r, "handshakes", (double)shm_handshakes(
	    ms->shm, ms->nworkers, UINT64_C(1) << 32));
	cJSON_AddItemToObject(r, "processes", status_procs());
	cJSON_AddItemToObject(r, "listeners", status_listeners());
	ctl_reply(c, r);
}

/* One link's line: health from its row, totals over the workers. */
static cJSON *
links_one(size_t i, uint64_t now)
{
	const struct sl_link	*l = &ms->conf->links[i];
	struct sl_link_health	*h = shm_health(ms->shm, ms->nworkers,
				    (uint32_t)i);
	struct sl_link_totals	 t;
	uint64_t		 until = atomic_load(&h->down_until_ms);
	cJSON			*o;
	int			 down = atomic_load(&h->check_down) != 0;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	/* A scribbled deadline counts for one cool-down at most. */
	if (until > now + l->cooldown_ms)
		until = now + l->cooldown_ms;
	shm_link_totals(ms->shm, ms->nworkers, (uint32_t)ms->conf->nlinks,
	    (uint32_t)i, &t);
	cJSON_AddStringToObject(o, "name", l->name);
	cJSON_AddStringToObject(o, "protocol", l->proto == SL_LINK_SOCKS5 ?
	    "socks5" : "direct");
	cJSON_AddStringToObject(o, "state", down ? "down" : until > now ?
	    "cooling" : "up");
	cJSON_AddNumberToObject(o, "cooldown_s", until > now ?
	    (double)(until - now) / 1000.0 : 0);
	cJSON_AddNumberToObject(o, "fails", atomic_load(&h->fails));
	cJSON_AddStringToObject(o, "health", !l->check.enabled ? "unchecked" :
	    down ? "down" : "up");
	cJSON_AddNumberToObject(o, "active", (double)t.active);
	cJSON_AddNumberToObject(o, "total", (double)t.opened);
	cJSON_AddNumberToObject(o, "failed", (double)t.failed);
	cJSON_AddNumberToObject(o, "bytes_up", (double)t.bytes_up);
	cJSON_AddNumberToObject(o, "bytes_down", (double)t.bytes_down);
	cJSON_AddNumberToObject(o, "connect_ms_avg", (double)atomic_load(
	    &h->connect_ms_avg));
	return o;
}

static void
cmd_links(struct ctl_client *c, const cJSON *args)
{
	cJSON	*r = cJSON_CreateObject(), *a = cJSON_CreateArray(), *o;
	size_t	 i;

	(void)args;
	if (r == NULL || a == NULL) {
		cJSON_Delete(r);
		cJSON_Delete(a);
		ctl_fail(c, "out of memory");
		return;
	}
	for (i = 0; i < ms->conf->nlinks; i++)
		if ((o = links_one(i, mono_ms())) != NULL)
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

	if (ctl_arg_str(c, args, "level", &name) == -1)
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

	(void)args;
	if (accesslog_reopen(err, sizeof(err)) == -1)
		ctl_fail(c, "%s", err);
	else
		ctl_reply(c, NULL);
}

static void
cmd_stop(struct ctl_client *c, const cJSON *args)
{
	(void)args;
	log_info("control: stop");
	ctl_reply(c, NULL);
	master_stop();
}

static void
cmd_reload(struct ctl_client *c, const cJSON *args)
{
	(void)args;
	reload_request(ctl_client_id(c));
}

/* The run-time list starts as a copy of the config's; -1 if too long. */
static int
allow_init(size_t i)
{
	const struct sl_listener	*l = &ms->conf->listeners[i];
	struct allow_rt			*a = &ms->allow[i];

	if (a->set)
		return 0;
	if (l->nclients > SL_CTL_MAX_ALLOW)
		return -1;
	if (l->nclients > 0)
		memcpy(a->v, l->clients, l->nclients * sizeof(a->v[0]));
	a->n = (uint32_t)l->nclients;
	a->set = 1;
	return 0;
}

static int
allow_find(const struct allow_rt *a, const struct sl_cidr *x)
{
	uint32_t	i;

	for (i = 0; i < a->n; i++)
		if (a->v[i].family == x->family && a->v[i].prefix ==
		    x->prefix && memcmp(a->v[i].addr, x->addr, 16) == 0)
			return (int)i;
	return -1;
}

/* {"listener": NAME, "clients": [...]} of listener i now. */
static cJSON *
allow_list(size_t i)
{
	const struct sl_listener	*l = &ms->conf->listeners[i];
	const struct sl_cidr		*v = ms->allow[i].set ?
					    ms->allow[i].v : l->clients;
	size_t				 n = ms->allow[i].set ?
					    ms->allow[i].n : l->nclients, k;
	cJSON				*r = cJSON_CreateObject(), *a;
	char				 buf[64];

	if (r == NULL)
		return NULL;
	cJSON_AddStringToObject(r, "listener", l->name);
	a = cJSON_AddArrayToObject(r, "clients");
	for (k = 0; a != NULL && k < n; k++) {
		conf_cidr_fmt(&v[k], buf, sizeof(buf));
		cJSON_AddItemToArray(a, cJSON_CreateString(buf));
	}
	return r;
}

/* Change listener i's list (op "add" or "del"); 0, or -1 answered. */
static int
allow_change(struct ctl_client *c, size_t i, const char *op,
    const char *text)
{
	struct allow_rt	*a = &ms->allow[i];
	struct sl_cidr	 x;
	int		 k;

	if (text == NULL || conf_cidr_parse(text, &x) == -1) {
		ctl_fail(c, "cidr: not an address or address/prefix");
		return -1;
	}
	if (allow_init(i) == -1) {
		ctl_fail(c, "the listener's clients are more than %u",
		    SL_CTL_MAX_ALLOW);
		return -1;
	}
	k = allow_find(a, &x);
	if (strcmp(op, "add") == 0) {
		if (k >= 0)
			return 0;
		if (a->n == SL_CTL_MAX_ALLOW) {
			ctl_fail(c, "at most %u clients per listener",
			    SL_CTL_MAX_ALLOW);
			return -1;
		}
		a->v[a->n++] = x;
	} else {
		if (k < 0) {
			ctl_fail(c, "%s is not in the list", text);
			return -1;
		}
		a->v[k] = a->v[--a->n];
	}
	log_info("control: allow %s %s %s (%u in the list%s)",
	    ms->conf->listeners[i].name, op, text, a->n,
	    a->n == 0 ? ": every client may connect" : "");
	ctl_allow_all((uint32_t)i);
	return 0;
}

static void
ctl_allow(struct ctl_client *c, const cJSON *args)
{
	const char	*name, *op, *cidr;
	int		 i;

	if (ctl_arg_str(c, args, "listener", &name) == -1 ||
	    ctl_arg_str(c, args, "op", &op) == -1 ||
	    ctl_arg_str(c, args, "cidr", &cidr) == -1)
		return;
	if (name == NULL || (i = conf_listener_find(ms->conf, name)) < 0) {
		ctl_fail(c, "listener: no such listener");
		return;
	}
	if (ms->conf->listeners[i].borrowed) {
		ctl_fail(c, "listener: %s shares its tproxy listener's "
		    "clients: change those", ms->conf->listeners[i].name);
		return;
	}
	if (op == NULL || (strcmp(op, "list") != 0 && strcmp(op, "add") != 0 &&
	    strcmp(op, "del") != 0)) {
		ctl_fail(c, "op: one of add, del, list");
		return;
	}
	if (strcmp(op, "list") != 0 && allow_change(c, (size_t)i, op,
	    cidr) == -1)
		return;
	ctl_reply(c, allow_list((size_t)i));
}

static const struct ctl_cmd ctl_cmds[] = {
	{ "status", cmd_status },
	{ "sessions", ctl_sessions },
	{ "kill", ctl_kill },
	{ "links", cmd_links },
	{ "loglevel", cmd_loglevel },
	{ "allow", ctl_allow },
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

/* Listener i's clients as changed at run time, to one worker. */
void
ctl_allow_to(struct proc *c, uint32_t i)
{
	const struct allow_rt	*a = &ms->allow[i];
	struct sl_msg		*m;
	uint32_t		 k;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		log_warn("%s", __func__);
		return;
	}
	m->type = SL_MSG_CTL_ALLOW;
	m->fd = -1;
	m->u.ctl_allow.listener = i;
	m->u.ctl_allow.n = a->n;
	for (k = 0; k < a->n; k++) {
		m->u.ctl_allow.cidrs[k].family = a->v[k].family == AF_INET ?
		    4 : 6;
		memcpy(m->u.ctl_allow.cidrs[k].addr, a->v[k].addr, 16);
		m->u.ctl_allow.cidrs[k].prefix = a->v[k].prefix;
	}
	if (c->chan == NULL || ipc_chan_send(c->chan, m) == -1)
		log_warnx("%s: cannot send CTL_ALLOW", c->name);
	free(m);
}

void
ctl_allow_all(uint32_t listener)
{
	size_t	i;

	for (i = 0; i < ms->nprocs; i++)
		if (ms->procs[i].role == SL_PROC_WORKER &&
		    ms->procs[i].generation == ms->generation &&
		    ms->procs[i].chan != NULL)
			ctl_allow_to(&ms->procs[i], listener);
}

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
