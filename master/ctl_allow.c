/*
 * `sluicectl allow`: a listener's clients changed at run time, kept per
 * tenant (pool) and listener, given to every worker of its current
 * generation and to each one that starts; a reload of the tenant puts
 * the config's list back.
 */
#include <sys/socket.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "../common/log.h"
#include "control.h"
#include "master.h"

/* The run-time list starts as a copy of the config's; -1 if too long. */
static int
allow_init(const struct gen *g, size_t i)
{
	const struct sl_listener	*l = &g->conf->listeners[i];
	struct allow_rt			*a = &ms->pools[g->pool].allow[i];

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
allow_list(const struct gen *g, size_t i)
{
	const struct sl_listener	*l = &g->conf->listeners[i];
	const struct allow_rt		*al = &ms->pools[g->pool].allow[i];
	const struct sl_cidr		*v = al->set ? al->v : l->clients;
	size_t				 n = al->set ? al->n : l->nclients, k;
	cJSON				*r = cJSON_CreateObject(), *a;
	char				 buf[64];

	if (r == NULL)
		return NULL;
	cJSON_AddStringToObject(r, "listener", l->name);
	if (pool_tenanted())
		cJSON_AddStringToObject(r, "tenant", g->tenant);
	a = cJSON_AddArrayToObject(r, "clients");
	for (k = 0; a != NULL && k < n; k++) {
		conf_cidr_fmt(&v[k], buf, sizeof(buf));
		cJSON_AddItemToArray(a, cJSON_CreateString(buf));
	}
	return r;
}

/* Change listener i's list (op "add" or "del"); 0, or -1 answered. */
static int
allow_change(struct ctl_client *c, const struct gen *g, size_t i,
    const char *op, const char *text)
{
	struct allow_rt	*a = &ms->pools[g->pool].allow[i];
	struct sl_cidr	 x;
	int		 k;

	if (text == NULL || conf_cidr_parse(text, &x) == -1) {
		ctl_fail(c, "cidr: not an address or address/prefix");
		return -1;
	}
	if (allow_init(g, i) == -1) {
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
	log_info("control: allow %s%s%s %s %s (%u in the list%s)",
	    pool_tenanted() ? g->tenant : "", pool_tenanted() ? "/" : "",
	    g->conf->listeners[i].name, op, text, a->n,
	    a->n == 0 ? ": every client may connect" : "");
	ctl_allow_all(g->pool, (uint32_t)i);
	return 0;
}

/*
 * The listener named name in the scope (pool -1: every tenant, where
 * the name must then be one tenant's only); NULL answered.
 */
static const struct gen *
allow_listener(struct ctl_client *c, int pool, const char *name, int *idx)
{
	struct gen		*cur[SL_MAX_POOLS];
	const struct gen	*found = NULL;
	size_t			 k, n;
	int			 i;

	if (pool == -1)
		n = pool_currents(cur, SL_MAX_POOLS);
	else
		n = (cur[0] = gen_current((uint32_t)pool)) != NULL;
	for (k = 0; name != NULL && k < n; k++) {
		if ((i = conf_listener_find(cur[k]->conf, name)) < 0)
			continue;
		if (found != NULL) {
			ctl_fail(c, "listener: tenants %s and %s both have "
			    "%.64s: name one with --tenant", found->tenant,
			    cur[k]->tenant, name);
			return NULL;
		}
		found = cur[k];
		*idx = i;
	}
	if (found == NULL)
		ctl_fail(c, "listener: no such listener");
	else if (found->conf->listeners[*idx].borrowed) {
		ctl_fail(c, "listener: %s shares its tproxy listener's "
		    "clients: change those", found->conf->listeners[*idx].name);
		return NULL;
	}
	return found;
}

void
cmd_allow(struct ctl_client *c, const cJSON *args)
{
	const struct gen	*g;
	const char		*name, *op, *cidr;
	int			 i = 0, pool;

	if (ctl_arg_str(c, args, "listener", &name) == -1 ||
	    ctl_arg_str(c, args, "op", &op) == -1 ||
	    ctl_arg_str(c, args, "cidr", &cidr) == -1 ||
	    ctl_arg_tenant(c, args, &pool) == -1)
		return;
	if ((g = allow_listener(c, pool, name, &i)) == NULL)
		return;
	if (op == NULL || (strcmp(op, "list") != 0 && strcmp(op, "add") != 0 &&
	    strcmp(op, "del") != 0)) {
		ctl_fail(c, "op: one of add, del, list");
		return;
	}
	if (strcmp(op, "list") != 0 && allow_change(c, g, (size_t)i, op,
	    cidr) == -1)
		return;
	ctl_reply(c, allow_list(g, (size_t)i));
}

/* Listener i's clients as changed at run time, to one worker. */
void
ctl_allow_to(struct proc *c, uint32_t i)
{
	const struct allow_rt	*a = &ms->pools[c->pool].allow[i];
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
ctl_allow_all(uint32_t pool, uint32_t listener)
{
	const struct gen	*g = gen_current(pool);
	size_t			 i;

	for (i = 0; g != NULL && i < ms->nprocs; i++)
		if (ms->procs[i].role == SL_PROC_WORKER &&
		    ms->procs[i].generation == g->id &&
		    ms->procs[i].chan != NULL)
			ctl_allow_to(&ms->procs[i], listener);
}

