/*
 * `sluicectl agents`: the reverse tunnels' connections, from every
 * running tunnel process in scope (ProxyServer's list of proxy clients).
 *
 * The master asks each tunnel process (CTL_AGENTS, a fresh id) and
 * gathers its rows (CTL_AGENT) until its CTL_DONE; after CTL_AGENTS_S
 * the answer goes out with what came and the processes that did not
 * answer under "incomplete".  A row is taken only from a process that
 * was asked under that id: one tunnel process cannot answer for
 * another.  The rows are a child's words, checked by the codec; the
 * master only copies them into JSON.
 */
#include <sys/random.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../common/log.h"
#include "../ipc/codec.h"
#include "control.h"
#include "gen.h"
#include "master.h"

#define CTL_AGENTS_MAX		8	/* queries at once */
#define CTL_AGENTS_S		2.	/* seconds to wait for the answers */
#define CTL_AGENTS_PROCS	(SL_MAX_POOLS * GEN_MAX_LIVE)

struct agents_query {
	int		 used;
	uint64_t	 client;
	uint32_t	 id;
	pid_t		 asked[CTL_AGENTS_PROCS];	/* 0: answered */
	size_t		 nasked;
	cJSON		*rows;
	ev_timer	 timer;
};

static struct agents_query	aq[CTL_AGENTS_MAX];

static void
agents_free(struct agents_query *q)
{
	ev_timer_stop(ms->loop, &q->timer);
	cJSON_Delete(q->rows);
	memset(q, 0, sizeof(*q));
}

/* Answer the client (if it is still there) and free the query. */
static void
agents_answer(struct agents_query *q)
{
	struct ctl_client	*c = ctl_client_find(q->client);
	cJSON			*r, *inc;
	size_t			 i;
	char			 pid[16];

	if (c != NULL && (r = cJSON_CreateObject()) != NULL) {
		cJSON_AddItemToObject(r, "agents", q->rows);
		q->rows = NULL;
		if ((inc = cJSON_AddArrayToObject(r, "incomplete")) != NULL)
			for (i = 0; i < q->nasked; i++)
				if (q->asked[i] != 0) {
					snprintf(pid, sizeof(pid), "%d",
					    (int)q->asked[i]);
					cJSON_AddItemToArray(inc,
					    cJSON_CreateString(pid));
				}
		ctl_reply(c, r);
	}
	agents_free(q);
}

static void
agents_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	agents_answer(w->data);
}

static struct agents_query *
agents_find(const struct proc *c, uint32_t id, size_t *slot)
{
	size_t	i, k;

	for (i = 0; i < CTL_AGENTS_MAX; i++) {
		if (!aq[i].used || aq[i].id != id)
			continue;
		for (k = 0; k < aq[i].nasked; k++)
			if (aq[i].asked[k] == c->pid && c->pid != 0) {
				*slot = k;
				return &aq[i];
			}
	}
	return NULL;
}

static const char *const agent_states[] = { "handshake", "up", "going away" };

/* A row from tunnel process c; -1: it was not asked (bogus). */
int
ctl_agents_row(struct proc *c, const struct sl_msg *m)
{
	const struct gen	*g = gen_view(c->generation);
	struct agents_query	*q;
	cJSON			*o;
	size_t			 slot;

	if ((q = agents_find(c, m->id, &slot)) == NULL)
		return -1;
	if (cJSON_GetArraySize(q->rows) >= 10000 ||
	    (o = cJSON_CreateObject()) == NULL)
		return 0;
	if (pool_tenanted() && g != NULL)
		cJSON_AddStringToObject(o, "tenant", g->tenant);
	cJSON_AddNumberToObject(o, "generation", c->generation);
	cJSON_AddStringToObject(o, "end", m->u.ctl_agent.role == 0 ?
	    "server" : "agent");
	cJSON_AddStringToObject(o, "agent", m->u.ctl_agent.agent);
	cJSON_AddStringToObject(o, "peer", m->u.ctl_agent.peer);
	cJSON_AddStringToObject(o, m->u.ctl_agent.role == 0 ? "listener" :
	    "server", m->u.ctl_agent.where);
	cJSON_AddStringToObject(o, "state",
	    agent_states[m->u.ctl_agent.state]);
	cJSON_AddNumberToObject(o, "streams", m->u.ctl_agent.streams);
	cJSON_AddNumberToObject(o, "age_ms", (double)m->u.ctl_agent.age_ms);
	cJSON_AddNumberToObject(o, "bytes_in",
	    (double)m->u.ctl_agent.bytes_in);
	cJSON_AddNumberToObject(o, "bytes_out",
	    (double)m->u.ctl_agent.bytes_out);
	cJSON_AddItemToArray(q->rows, o);
	return 0;
}

/* Tunnel process c has sent all its rows; -1: it was not asked. */
int
ctl_agents_done(struct proc *c, const struct sl_msg *m)
{
	struct agents_query	*q;
	size_t			 slot, k;

	if ((q = agents_find(c, m->id, &slot)) == NULL)
		return -1;
	q->asked[slot] = 0;
	for (k = 0; k < q->nasked && q->asked[k] == 0; k++)
		;
	if (k == q->nasked)
		agents_answer(q);
	return 0;
}

/* "agents" [tenant]: ask every running tunnel process in scope. */
void
cmd_agents(struct ctl_client *c, const cJSON *args)
{
	struct agents_query	*q = NULL;
	struct sl_msg		 m;
	struct proc		*p;
	size_t			 i;
	int			 pool;

	if (ctl_arg_tenant(c, args, &pool) == -1)
		return;
	for (i = 0; i < CTL_AGENTS_MAX && q == NULL; i++)
		if (!aq[i].used)
			q = &aq[i];
	if (q == NULL) {
		ctl_fail(c, "too many queries at once");
		return;
	}
	memset(q, 0, sizeof(*q));
	if ((q->rows = cJSON_CreateArray()) == NULL) {
		ctl_fail(c, "out of memory");
		return;
	}
	q->used = 1;
	q->client = ctl_client_id(c);
	while (q->id == 0)
		if (getrandom(&q->id, sizeof(q->id), GRND_NONBLOCK) !=
		    sizeof(q->id))
			fatal("%s: getrandom", __func__);
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_CTL_AGENTS;
	m.id = q->id;
	m.fd = -1;
	for (i = 0; i < ms->nprocs && q->nasked < CTL_AGENTS_PROCS; i++) {
		p = &ms->procs[i];
		if (p->role != SL_PROC_TUNNEL || p->pid == 0 || !p->ready ||
		    p->chan == NULL || (pool != -1 && p->pool != (uint32_t)pool))
			continue;
		if (ipc_chan_send(p->chan, &m) == 0)
			q->asked[q->nasked++] = p->pid;
	}
	if (q->nasked == 0) {
		agents_answer(q);	/* no tunnel process: an empty list */
		return;
	}
	ev_timer_init(&q->timer, agents_timeout, CTL_AGENTS_S, 0.);
	q->timer.data = q;
	ev_timer_start(ms->loop, &q->timer);
}
