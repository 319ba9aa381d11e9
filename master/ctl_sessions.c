/*
 * `sessions` and `kill`: the master asks the workers one after another
 * (CTL_QUERY), merges their rows (CTL_ROW, then CTL_DONE) into pages,
 * and answers the control client.
 *
 * Paging: workers are visited in (generation, index) order and each
 * lists its sessions by serial, so "generation.worker.serial" of the last
 * row is the cursor of the next page; a page holds at most `limit` rows
 * and the master never holds more than one page per control client.  A
 * worker that does not answer within CTL_WORKER_S is skipped and named
 * in "incomplete".  Rows are hostile: a worker's row is taken only for
 * the query it was asked, up to the rows asked, with a serial above the
 * cursor, and indices are bounded against that worker's own config.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "control.h"
#include "ctl_req.h"
#include "gen.h"
#include "master.h"

#define CTL_WORKER_S		2.0
#define CTL_LIMIT_DEFAULT	500
#define CTL_LIMIT_MAX		1000
#define CTL_MAX_IDS		1024

struct ctl_id {
	uint32_t	gen, index;
	uint64_t	serial;
};

struct ctl_query {
	int		 used;
	uint64_t	 client;
	uint8_t		 op;
	int		 pool;		/* "tenant": its workers only; -1 */
	/* filters by name, looked up in each worker's generation */
	char		 listener[64], link[64];
	char		 agent[SL_AGENT_NAME_MAX + 1];
	struct sl_msg	 q;		/* the rest of CTL_QUERY */
	size_t		 limit;
	cJSON		*rows;
	size_t		 nrows;
	struct proc	*asked;		/* NULL: none in flight */
	uint32_t	 gen, index;	/* the worker asked last */
	uint64_t	 after;		/* its last serial */
	uint32_t	 req_id, max, got;
	int		 more;		/* it has rows past its last */
	int		 started;	/* a worker was asked */
	uint64_t	 killed;
	struct ctl_id	*ids;		/* kill by id */
	size_t		 nids, iid;
	cJSON		*incomplete;
	ev_timer	 timer;
};

static struct ctl_query	queries[CTL_MAX_CLIENTS];
static uint32_t		next_req_id;

static void	query_next(struct ctl_query *);

static void
query_free(struct ctl_query *cq)
{
	ev_timer_stop(ms->loop, &cq->timer);
	cJSON_Delete(cq->rows);
	cJSON_Delete(cq->incomplete);
	free(cq->ids);
	memset(cq, 0, sizeof(*cq));
}

/* The answer, to the client if it is still there; the query ends. */
static void
query_finish(struct ctl_query *cq, int last)
{
	struct ctl_client	*c = ctl_client_find(cq->client);
	cJSON			*r;
	char			 cur[64];

	if (c != NULL && cq->op == SL_CTL_KILL && cq->killed == 0)
		ctl_fail(c, "no session matched");
	else if (c != NULL && (r = cJSON_CreateObject()) != NULL) {
		if (cq->op == SL_CTL_KILL)
			cJSON_AddNumberToObject(r, "killed", (double)cq->killed);
		else {
			cJSON_AddItemToObject(r, "sessions", cq->rows);
			cq->rows = NULL;
			snprintf(cur, sizeof(cur), "%u.%u.%" PRIu64, cq->gen,
			    cq->index, cq->after);
			if (last)
				cJSON_AddNullToObject(r, "next");
			else
				cJSON_AddStringToObject(r, "next", cur);
		}
		if (cJSON_GetArraySize(cq->incomplete) > 0) {
			cJSON_AddItemToObject(r, "incomplete", cq->incomplete);
			cq->incomplete = NULL;
		}
		ctl_reply(c, r);
	} else if (c != NULL)
		ctl_fail(c, "out of memory");
	query_free(cq);
}

static int
proc_is_worker(const struct proc *p)
{
	return p->role == SL_PROC_WORKER && p->chan != NULL &&
	    (p->state == PROC_READY || p->state == PROC_DRAINING);
}

/*
 * The worker of pool (-1: any) after (gen, index) in (generation,
 * index) order, or NULL.
 */
static struct proc *
worker_after(int pool, uint32_t gen, uint32_t index, int first)
{
	struct proc	*p, *best = NULL;
	size_t		 i;

	for (i = 0; i < ms->nprocs; i++) {
		p = &ms->procs[i];
		if (!proc_is_worker(p) || (pool != -1 &&
		    p->pool != (uint32_t)pool))
			continue;
		if (!first && (p->generation < gen || (p->generation == gen &&
		    p->index <= index)))
			continue;
		if (best == NULL || p->generation < best->generation ||
		    (p->generation == best->generation &&
		    p->index < best->index))
			best = p;
	}
	return best;
}

/*
 * --agent NAME (ProxyServer's sessions of one proxy client): on a
 * server, the sessions of the agent link that names it; on the agent
 * itself, the streams of its "agent" listener.  -1: none can match.
 */
static int
query_agent(const struct ctl_query *cq, const struct sl_conf *conf,
    struct sl_msg *m)
{
	size_t	i;
	int	k;

	if (conf->agent.enabled &&
	    strcmp(conf->agent.cred.name, cq->agent) == 0) {
		for (k = 0; k < (int)conf->nlisteners; k++)
			if (conf->listeners[k].kind == SL_LISTEN_AGENT)
				break;
		if (k == (int)conf->nlisteners ||
		    (m->u.ctl_query.listener != SL_CTL_ANY &&
		    m->u.ctl_query.listener != (uint32_t)k))
			return -1;
		m->u.ctl_query.listener = (uint32_t)k;
		return 0;
	}
	for (i = 0; i < conf->nlinks; i++)
		if (conf->links[i].proto == SL_LINK_AGENT &&
		    strcmp(conf->links[i].agent, cq->agent) == 0 &&
		    (m->u.ctl_query.link == SL_CTL_ANY ||
		    m->u.ctl_query.link == (uint32_t)i))
			break;
	if (i == conf->nlinks)
		return -1;
	m->u.ctl_query.link = (uint32_t)i;
	return 0;
}

/* Names to the indices of p's generation; -1: nothing there can match. */
static int
query_names(struct ctl_query *cq, const struct proc *p, struct sl_msg *m)
{
	const struct sl_conf	*conf = gen_conf(p->generation);
	size_t			 i;
	int			 k;

	m->u.ctl_query.listener = SL_CTL_ANY;
	m->u.ctl_query.link = SL_CTL_ANY;
	if (conf == NULL)
		return -1;
	if (cq->listener[0] != '\0') {
		if ((k = conf_listener_find(conf, cq->listener)) < 0)
			return -1;
		m->u.ctl_query.listener = (uint32_t)k;
	}
	if (cq->link[0] != '\0') {
		for (i = 0; i < conf->nlinks; i++)
			if (strcmp(conf->links[i].name, cq->link) == 0)
				break;
		if (i == conf->nlinks)
			return -1;
		m->u.ctl_query.link = (uint32_t)i;
	}
	if (cq->agent[0] != '\0')
		return query_agent(cq, conf, m);
	return 0;
}

/* Ask p; -1 when it cannot be asked (the caller moves on). */
static int
query_ask(struct ctl_query *cq, struct proc *p, uint64_t serial)
{
	struct sl_msg	m = cq->q;

	if (query_names(cq, p, &m) == -1)
		return -1;
	m.type = SL_MSG_CTL_QUERY;
	m.fd = -1;
	m.id = cq->req_id = ++next_req_id;
	m.u.ctl_query.op = cq->op;
	m.u.ctl_query.after = cq->after;
	m.u.ctl_query.serial = serial;
	cq->max = cq->op == SL_CTL_LIST ? (uint32_t)(cq->limit - cq->nrows) :
	    0;
	if (cq->max > SL_CTL_MAX_ROWS)
		cq->max = SL_CTL_MAX_ROWS;
	m.u.ctl_query.max = cq->max;
	if (ipc_chan_send(p->chan, &m) == -1)
		return -1;
	cq->asked = p;
	cq->got = 0;
	cq->more = 0;
	ev_timer_stop(ms->loop, &cq->timer);
	ev_timer_set(&cq->timer, CTL_WORKER_S, 0.);
	ev_timer_start(ms->loop, &cq->timer);
	return 0;
}

/* kill by ids: the next id whose worker is running. */
static void
query_next_id(struct ctl_query *cq)
{
	struct ctl_id	*id;
	struct proc	*p;
	size_t		 i;

	while (cq->iid < cq->nids) {
		id = &cq->ids[cq->iid++];
		for (i = 0; i < ms->nprocs; i++) {
			p = &ms->procs[i];
			if (proc_is_worker(p) && p->generation == id->gen &&
			    p->index == id->index && (cq->pool == -1 ||
			    p->pool == (uint32_t)cq->pool))
				break;
		}
		if (i < ms->nprocs && query_ask(cq, p, id->serial) == 0)
			return;
	}
	query_finish(cq, 1);
}

static struct proc *
worker_at(uint32_t gen, uint32_t index)
{
	size_t	i;

	for (i = 0; i < ms->nprocs; i++)
		if (proc_is_worker(&ms->procs[i]) &&
		    ms->procs[i].generation == gen &&
		    ms->procs[i].index == index)
			return &ms->procs[i];
	return NULL;
}

static void
query_next(struct ctl_query *cq)
{
	struct proc	*p;

	cq->asked = NULL;
	ev_timer_stop(ms->loop, &cq->timer);
	if (cq->ids != NULL) {
		query_next_id(cq);
		return;
	}
	for (;;) {
		if (cq->op == SL_CTL_LIST && cq->nrows >= cq->limit) {
			query_finish(cq, 0);
			return;
		}
		/* The worker asked last may have more past its last row. */
		if (cq->more && (p = worker_at(cq->gen, cq->index)) != NULL &&
		    query_ask(cq, p, 0) == 0)
			return;
		p = worker_after(cq->pool, cq->gen, cq->index, !cq->started);
		cq->started = 1;
		if (p == NULL) {
			query_finish(cq, 1);
			return;
		}
		cq->gen = p->generation;
		cq->index = p->index;
		cq->after = 0;
		if (query_ask(cq, p, 0) == 0)
			return;
	}
}

static void
query_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctl_query *cq = container_of(w, struct ctl_query, timer);

	(void)loop;
	(void)revents;
	if (cq->asked != NULL) {
		log_warnx("control: %s did not answer within %.0f s, skipped",
		    cq->asked->name, CTL_WORKER_S);
		cJSON_AddItemToArray(cq->incomplete,
		    cJSON_CreateString(cq->asked->name));
	}
	cq->more = 0;
	query_next(cq);
}

/* The query this frame answers, or NULL. */
static struct ctl_query *
query_of(const struct proc *p, const struct sl_msg *m)
{
	size_t	i;

	for (i = 0; i < CTL_MAX_CLIENTS; i++)
		if (queries[i].used && queries[i].asked == p &&
		    queries[i].req_id == m->id)
			return &queries[i];
	return NULL;
}

void
ctl_sessions_gone(struct proc *p)
{
	size_t	i;

	for (i = 0; i < CTL_MAX_CLIENTS; i++)
		if (queries[i].used && queries[i].asked == p) {
			cJSON_AddItemToArray(queries[i].incomplete,
			    cJSON_CreateString(p->name));
			queries[i].more = 0;
			query_next(&queries[i]);
		}
}

static const char *
state_name(uint8_t state)
{
	static const char *const names[] = { "handshake", "routing",
	    "dialing", "replying", "relay", "front" };

	return state < sizeof(names) / sizeof(names[0]) ? names[state] :
	    "unknown";
}

static void
row_str(cJSON *o, const char *key, const char *v)
{
	char	buf[SL_CTL_TARGET_MAX + 1];

	if (v[0] == '\0') {
		cJSON_AddNullToObject(o, key);
		return;
	}
	str_sanitize(buf, sizeof(buf), v);
	cJSON_AddStringToObject(o, key, buf);
}

static cJSON *
row_json(const struct proc *p, const struct sl_msg *m)
{
	const struct sl_conf	*conf = gen_conf(p->generation);
	cJSON			*o = cJSON_CreateObject();
	char			 id[64], a[INET6_ADDRSTRLEN], client[80];

	if (o == NULL || conf == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	snprintf(id, sizeof(id), "%u.%u.%" PRIu64, p->generation, p->index,
	    m->u.ctl_row.serial);
	if (inet_ntop(m->u.ctl_row.family == 4 ? AF_INET : AF_INET6,
	    m->u.ctl_row.addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	snprintf(client, sizeof(client), m->u.ctl_row.family == 4 ? "%s:%u" :
	    "[%s]:%u", a, m->u.ctl_row.port);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "worker", p->name);
	if (pool_tenanted())
		cJSON_AddStringToObject(o, "tenant", conf->tenant);
	cJSON_AddNumberToObject(o, "generation", p->generation);
	row_str(o, "listener", m->u.ctl_row.listener < conf->nlisteners ?
	    conf->listeners[m->u.ctl_row.listener].name : "");
	cJSON_AddStringToObject(o, "client", client);
	row_str(o, "target", m->u.ctl_row.target);
	row_str(o, "link", m->u.ctl_row.link < conf->nlinks ?
	    conf->links[m->u.ctl_row.link].name : "");
	row_str(o, "user", m->u.ctl_row.user);
	cJSON_AddStringToObject(o, "state", state_name(m->u.ctl_row.state));
	cJSON_AddNumberToObject(o, "bytes_up", (double)m->u.ctl_row.up);
	cJSON_AddNumberToObject(o, "bytes_down", (double)m->u.ctl_row.down);
	cJSON_AddNumberToObject(o, "age_ms", (double)m->u.ctl_row.age_ms);
	cJSON_AddNumberToObject(o, "idle_ms", (double)m->u.ctl_row.idle_ms);
	return o;
}

int
ctl_sessions_row(struct proc *p, const struct sl_msg *m)
{
	struct ctl_query	*cq = query_of(p, m);
	cJSON			*o;

	/* Late (after a timeout) or for a query that is gone: dropped. */
	if (cq == NULL)
		return 0;
	if (cq->op != SL_CTL_LIST || cq->got >= cq->max ||
	    m->u.ctl_row.serial <= cq->after)
		return -1;
	cq->got++;
	cq->after = m->u.ctl_row.serial;
	if ((o = row_json(p, m)) != NULL) {
		cJSON_AddItemToArray(cq->rows, o);
		cq->nrows++;
	}
	return 0;
}

int
ctl_sessions_done(struct proc *p, const struct sl_msg *m)
{
	struct ctl_query	*cq = query_of(p, m);

	if (cq == NULL)
		return 0;
	if (m->u.ctl_done.killed > 0 && cq->op != SL_CTL_KILL)
		return -1;
	cq->killed += m->u.ctl_done.killed;
	cq->more = m->u.ctl_done.more && cq->got == cq->max && cq->max > 0;
	query_next(cq);
	return 0;
}

/* A free query slot for client c, filters from args; NULL: answered. */
static struct ctl_query *
query_new(struct ctl_client *c, const cJSON *args, uint8_t op)
{
	struct ctl_query	*cq = NULL;
	const char		*listener, *link, *client, *target, *user;
	const char		*agent;
	struct sl_cidr		 x;
	size_t			 i;
	int			 pool;

	for (i = 0; i < CTL_MAX_CLIENTS && cq == NULL; i++)
		if (!queries[i].used)
			cq = &queries[i];
	if (ctl_arg_str(c, args, "listener", &listener) == -1 ||
	    ctl_arg_str(c, args, "link", &link) == -1 ||
	    ctl_arg_str(c, args, "client", &client) == -1 ||
	    ctl_arg_str(c, args, "target", &target) == -1 ||
	    ctl_arg_str(c, args, "user", &user) == -1 ||
	    ctl_arg_str(c, args, "agent", &agent) == -1 ||
	    ctl_arg_tenant(c, args, &pool) == -1)
		return NULL;
	if (cq == NULL) {
		ctl_fail(c, "too many queries at once");
		return NULL;
	}
	memset(cq, 0, sizeof(*cq));
	snprintf(cq->agent, sizeof(cq->agent), "%s", agent != NULL ? agent :
	    "");
	if (client != NULL) {
		if (conf_cidr_parse(client, &x) == -1) {
			ctl_fail(c, "client: not an address or address/prefix");
			return NULL;
		}
		cq->q.u.ctl_query.client.family = x.family == AF_INET ? 4 : 6;
		memcpy(cq->q.u.ctl_query.client.addr, x.addr, 16);
		cq->q.u.ctl_query.client.prefix = x.prefix;
	}
	snprintf(cq->listener, sizeof(cq->listener), "%s",
	    listener != NULL ? listener : "");
	snprintf(cq->link, sizeof(cq->link), "%s", link != NULL ? link : "");
	snprintf(cq->q.u.ctl_query.target, sizeof(cq->q.u.ctl_query.target),
	    "%s", target != NULL ? target : "");
	snprintf(cq->q.u.ctl_query.user, sizeof(cq->q.u.ctl_query.user), "%s",
	    user != NULL ? user : "");
	cq->used = 1;
	cq->pool = pool;
	cq->client = ctl_client_id(c);
	cq->op = op;
	cq->rows = cJSON_CreateArray();
	cq->incomplete = cJSON_CreateArray();
	ev_init(&cq->timer, query_timeout);
	if (cq->rows == NULL || cq->incomplete == NULL) {
		query_free(cq);
		ctl_fail(c, "out of memory");
		return NULL;
	}
	return cq;
}

static int
parse_id(const char *s, struct ctl_id *id)
{
	return ctl_parse_id(s, &id->gen, &id->index, &id->serial);
}

void
ctl_sessions(struct ctl_client *c, const cJSON *args)
{
	struct ctl_query	*cq;
	const cJSON		*lim;
	const char		*cursor;
	struct ctl_id		 at;

	if (ctl_arg_str(c, args, "cursor", &cursor) == -1)
		return;
	if (cursor != NULL && parse_id(cursor, &at) == -1 &&
	    strcmp(cursor, "0.0.0") != 0) {
		ctl_fail(c, "cursor: not one this master gave");
		return;
	}
	lim = args != NULL ? cJSON_GetObjectItemCaseSensitive(args, "limit") :
	    NULL;
	if (lim != NULL && (!cJSON_IsNumber(lim) || lim->valuedouble < 1 ||
	    lim->valuedouble > CTL_LIMIT_MAX)) {
		ctl_fail(c, "limit: a number from 1 to %d", CTL_LIMIT_MAX);
		return;
	}
	if ((cq = query_new(c, args, SL_CTL_LIST)) == NULL)
		return;
	cq->limit = lim != NULL ? (size_t)lim->valuedouble : CTL_LIMIT_DEFAULT;
	if (cursor != NULL && strcmp(cursor, "0.0.0") != 0) {
		cq->gen = at.gen;
		cq->index = at.index;
		cq->after = at.serial;
		cq->more = 1;
		cq->started = 1;
	}
	query_next(cq);
}

void
ctl_kill(struct ctl_client *c, const cJSON *args)
{
	struct ctl_query	*cq;
	const cJSON		*ids, *it;
	const char		*client;
	size_t			 n = 0;

	ids = args != NULL ? cJSON_GetObjectItemCaseSensitive(args, "ids") :
	    NULL;
	if (ctl_arg_str(c, args, "client", &client) == -1)
		return;
	if ((ids == NULL) == (client == NULL)) {
		ctl_fail(c, "kill: either \"ids\" or \"client\"");
		return;
	}
	if (ids != NULL && (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) <
	    1 || cJSON_GetArraySize(ids) > CTL_MAX_IDS)) {
		ctl_fail(c, "ids: an array of 1 to %d session ids",
		    CTL_MAX_IDS);
		return;
	}
	if ((cq = query_new(c, args, SL_CTL_KILL)) == NULL)
		return;
	if (ids != NULL) {
		cq->ids = calloc((size_t)cJSON_GetArraySize(ids),
		    sizeof(*cq->ids));
		if (cq->ids == NULL) {
			query_free(cq);
			ctl_fail(c, "out of memory");
			return;
		}
		cJSON_ArrayForEach(it, ids) {
			if (!cJSON_IsString(it) || parse_id(it->valuestring,
			    &cq->ids[n++]) == -1) {
				query_free(cq);
				ctl_fail(c, "ids: not a session id "
				    "(generation.worker.serial)");
				return;
			}
		}
		cq->nids = n;
	}
	query_next(cq);
}
