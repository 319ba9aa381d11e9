/*
 * The server end of reverse tunnels: agents dial in on the tunnel
 * listeners, and workers open streams through them.
 *
 * An accepted connection is checked against the listener's `clients`
 * (ProxyServer's proxy_client_whitelist) before a byte is read, then
 * authenticated by TLS 1.3 with the PSK of the name it claims
 * (tls_psk.h: an unknown name fails exactly as a wrong secret does).
 * Until then it is a handshake: at most SRV_MAX_HANDSHAKES at once, each
 * bounded in time, so strangers cannot hold the process's memory.
 *
 * The connections up under one name are that agent's pool.  A worker's
 * TUN_OPEN goes to one of them by the config's strategy (srv_pick),
 * skipping those that said GOAWAY; one at its stream cap is passed over
 * for the next.  A name with no
 * connection up fails with SL_TUN_LINK_FAULT set, which the worker counts
 * against the link, so routing fails over to the link's peers.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/target.h"
#include "../common/util.h"
#include "../policy/select.h"
#include "frame.h"
#include "tunnel_priv.h"

#define SRV_MAX_HANDSHAKES	64
#define SRV_MAX_CONNS		4096
#define SRV_HANDSHAKE_MS	10000
#define SRV_ACCEPT_BATCH	16
/*
 * A young tunnel process (a reload's, a restart's) has no agents yet:
 * for its first SRV_YOUNG_MS, a stream for an agent not connected waits
 * up to SRV_WAIT_MS for one (the agents of the old process reconnect at
 * once on its GOAWAY), at most SRV_MAX_WAITING of them.
 */
#define SRV_YOUNG_MS		10000
#define SRV_WAIT_MS		3000
#define SRV_MAX_WAITING		1024

struct srv_listener {
	const struct sl_listener *l;
	uint32_t		 index;
	int			 fd;
	ev_io			 io;
};

struct srv_agent {
	struct tconn		*c;
	struct srv_listener	*sl;
	int			 up;
	char			 peer[SL_ADDRSTRLEN];
	ev_tstamp		 since;
	TAILQ_ENTRY(srv_agent)	 entry;
};

/* A worker's TUN_OPEN waiting for an agent of its name to connect. */
struct srv_wait {
	uint32_t		 worker;
	uint32_t		 id;
	char			 agent[SL_TUN_AGENT_MAX + 1];
	char			 target[SL_CTL_TARGET_MAX + 1];
	ev_timer		 timer;
	TAILQ_ENTRY(srv_wait)	 entry;
};

/* A worker's TUN_OPEN waiting for the agent's OPEN_OK or OPEN_FAIL. */
struct srv_open {
	uint32_t		 worker;
	uint32_t		 req;
	int			 wfd;		/* the worker's end */
	char			 agent[SL_AGENT_NAME_MAX + 1];
	char			 peer[SL_ADDRSTRLEN];
};

static struct {
	struct srv_listener	 ls[SL_MAX_LISTENERS];
	size_t			 nls;
	TAILQ_HEAD(, srv_agent)	 agents;
	TAILQ_HEAD(, srv_wait)	 waiting;
	uint32_t		 nconns, nhandshakes, nwaiting;
	uint32_t		 rr;		/* round_robin's next */
	ev_tstamp		 started;
} srv = {
	.agents = TAILQ_HEAD_INITIALIZER(srv.agents),
	.waiting = TAILQ_HEAD_INITIALIZER(srv.waiting),
};

static void	srv_open_now(uint32_t, uint32_t, const char *, const char *);
static void	srv_wait_end(struct srv_wait *, int);

static void	srv_accept(struct ev_loop *, ev_io *, int);

void
server_init(struct child_boot *b)
{
	struct srv_listener	*sl;
	size_t			 i;

	for (i = 0; i < b->nlisteners; i++) {
		if (b->listeners[i].index >= tn.conf->nlisteners ||
		    tn.conf->listeners[b->listeners[i].index].kind !=
		    SL_LISTEN_TUNNEL)
			fatalx("%s: listener %u is not a tunnel listener",
			    __func__, b->listeners[i].index);
		sl = &srv.ls[srv.nls++];
		sl->index = b->listeners[i].index;
		sl->l = &tn.conf->listeners[sl->index];
		sl->fd = b->listeners[i].fd;
		ev_io_init(&sl->io, srv_accept, sl->fd, EV_READ);
	}
	b->nlisteners = 0;
}

void
server_start(void)
{
	size_t	i;

	srv.started = ev_now(tn.loop);
	for (i = 0; i < srv.nls; i++)
		ev_io_start(tn.loop, &srv.ls[i].io);
}

/* The secret of agent name on this listener (tls_psk.h's lookup). */
static int
srv_lookup(void *arg, const char *name, uint8_t *secret, size_t *len)
{
	struct srv_listener		*sl = arg;
	const struct sl_agent_cred	*a;

	if ((a = conf_agent_find(sl->l, name)) == NULL ||
	    a->secret_len > *len)
		return -1;
	memcpy(secret, a->secret, a->secret_len);
	*len = a->secret_len;
	return 0;
}

/* An agent came up: the streams waiting for its name go now. */
static void
srv_serve_waiting(const char *name)
{
	struct srv_wait	*w, *n;

	for (w = TAILQ_FIRST(&srv.waiting); w != NULL; w = n) {
		n = TAILQ_NEXT(w, entry);
		if (strcmp(w->agent, name) == 0)
			srv_wait_end(w, 1);
	}
}

static void
srv_up(struct tconn *c, void *arg)
{
	struct srv_agent	*a = arg;
	struct srv_agent	*o;
	uint32_t		 n = 0, w;

	a->up = 1;
	srv.nhandshakes--;
	TAILQ_FOREACH(o, &srv.agents, entry)
		if (o->up && strcmp(tconn_name(o->c), tconn_name(c)) == 0)
			n++;
	log_info("agent %s connected from %s on %s (%u connection%s of that "
	    "name)", tconn_name(c), a->peer, a->sl->l->name, n,
	    n == 1 ? "" : "s");
	/* Links that failed while it was away are usable again. */
	for (w = 0; w < tn.nworkers; w++)
		(void)tn_send(w, SL_MSG_TUN_AGENT_UP, 0, -1, 0, tconn_name(c),
		    "", "");
	srv_serve_waiting(tconn_name(c));
}

static void
srv_down(struct tconn *c, const char *why, void *arg)
{
	struct srv_agent	*a = arg;

	if (a->up)
		log_info("agent %s from %s gone: %s", tconn_name(c), a->peer,
		    why);
	else {
		srv.nhandshakes--;
		log_info("tunnel connection from %s on %s refused: %s",
		    a->peer, a->sl->l->name, why);
	}
	TAILQ_REMOVE(&srv.agents, a, entry);
	srv.nconns--;
	tconn_free(c);
	free(a);
	tn_maybe_exit();
}

static void
srv_goaway(struct tconn *c, void *arg)
{
	struct srv_agent	*a = arg;

	log_info("agent %s from %s: going away, no new streams",
	    tconn_name(c), a->peer);
}

static const struct tconn_ops srv_ops = {
	.up = srv_up,
	.down = srv_down,
	.open = NULL,		/* an agent opens nothing into our side */
	.goaway = srv_goaway,
	.stream_lost = tn_stream_lost,
};

static void
srv_accept_one(struct srv_listener *sl, int fd,
    const struct sockaddr_storage *ss)
{
	const struct sl_listener	*l = sl->l;
	struct mux_params		 p;
	struct srv_agent		*a;
	char				 peer[SL_ADDRSTRLEN];

	sockaddr_fmt((const struct sockaddr *)ss, peer, sizeof(peer));
	if (l->nclients > 0 && !policy_cidrs_match(l->clients, l->nclients,
	    (const struct sockaddr *)ss)) {
		log_info("tunnel connection from %s on %s refused: not in "
		    "clients", peer, l->name);
		close(fd);
		return;
	}
	if (srv.nhandshakes >= SRV_MAX_HANDSHAKES ||
	    srv.nconns >= SRV_MAX_CONNS || tn.draining) {
		log_warnx("tunnel connection from %s on %s refused: %s", peer,
		    l->name, tn.draining ? "draining" : "too many connections");
		close(fd);
		return;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		log_warnx("tunnel connection from %s: out of memory", peer);
		close(fd);
		return;
	}
	a->sl = sl;
	a->since = ev_now(tn.loop);
	memcpy(a->peer, peer, sizeof(a->peer));
	tn_mux_params(&p, l->max_streams, l->keepalive_ms, l->dead_ms);
	a->c = tconn_server(tn.loop, fd, peer, srv_lookup, sl, &p,
	    SRV_HANDSHAKE_MS, &srv_ops, a);
	if (a->c == NULL) {
		log_warnx("tunnel connection from %s: out of memory", peer);
		close(fd);
		free(a);
		return;
	}
	TAILQ_INSERT_TAIL(&srv.agents, a, entry);
	srv.nconns++;
	srv.nhandshakes++;
}

static void
srv_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct srv_listener	*sl = container_of(w, struct srv_listener, io);
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, i;

	(void)loop;
	(void)revents;
	for (i = 0; i < SRV_ACCEPT_BATCH; i++) {
		len = sizeof(ss);
		fd = accept4(sl->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != ECONNABORTED && errno != EINTR)
				log_warn("tunnel listener %s: accept",
				    sl->l->name);
			return;
		}
		srv_accept_one(sl, fd, &ss);
	}
}

/* An up connection of that name, not going away, not in skip. */
static int
srv_candidate(const struct srv_agent *a, const char *name,
    struct srv_agent *const *skip, size_t nskip)
{
	size_t	i;

	if (!a->up || tconn_going_away(a->c) ||
	    strcmp(tconn_name(a->c), name) != 0)
		return 0;
	for (i = 0; i < nskip && skip[i] != a; i++)
		;
	return i == nskip;
}

/*
 * The connection of that name a stream goes to, by the config's
 * strategy, as links are chosen: round_robin and random as they say,
 * failover the oldest connection, least_conn and fastest (a tunnel has
 * no connect time of its own) the one with the fewest open streams.
 */
static struct srv_agent *
srv_pick(const char *name, struct srv_agent *const *skip, size_t nskip)
{
	struct srv_agent	*a, *best = NULL;
	uint32_t		 n = 0, k;

	TAILQ_FOREACH(a, &srv.agents, entry)
		if (srv_candidate(a, name, skip, nskip))
			n++;
	if (n == 0)
		return NULL;
	switch (tn.conf->strategy) {
	case SL_STRAT_ROUND_ROBIN:
		k = srv.rr++ % n;
		break;
	case SL_STRAT_RANDOM:
		k = (uint32_t)random() % n;
		break;
	case SL_STRAT_FAILOVER:
		k = 0;
		break;
	default:
		k = UINT32_MAX;		/* the fewest streams */
	}
	TAILQ_FOREACH(a, &srv.agents, entry) {
		if (!srv_candidate(a, name, skip, nskip))
			continue;
		if (k != UINT32_MAX && k-- == 0)
			return a;
		if (k == UINT32_MAX && (best == NULL ||
		    tconn_streams(a->c) < tconn_streams(best->c)))
			best = a;
	}
	return best;
}

static void
srv_opened(struct tconn *c, uint32_t id, int ok, uint32_t code, void *arg)
{
	struct srv_open	*op = arg;

	if (ok) {
		(void)tconn_stream_set_arg(c, id, tn_stream_arg(op->worker,
		    op->req));
		(void)tn_send(op->worker, SL_MSG_TUN_OPENED, op->req, op->wfd,
		    0, op->agent, "", op->peer);
	}
	else
		(void)tn_send(op->worker, SL_MSG_TUN_OPEN_FAIL, op->req, -1,
		    tn_conn_code(code), op->agent, "", op->peer);
	close(op->wfd);
	free(op);
}

/* Serve it (now an agent is there) or fail it (time is up). */
static void
srv_wait_end(struct srv_wait *w, int serve)
{
	TAILQ_REMOVE(&srv.waiting, w, entry);
	srv.nwaiting--;
	ev_timer_stop(tn.loop, &w->timer);
	if (serve)
		srv_open_now(w->worker, w->id, w->agent, w->target);
	else
		(void)tn_send(w->worker, SL_MSG_TUN_OPEN_FAIL, w->id, -1,
		    SL_CONN_NO_LINK | SL_TUN_LINK_FAULT, w->agent, "",
		    "no agent of that name connected");
	free(w);
}

static void
srv_wait_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	srv_wait_end(container_of(t, struct srv_wait, timer), 0);
}

/* A worker's TUN_OPEN: a stream to target through agent `agent`. */
void
server_open(uint32_t w, const struct sl_msg *m)
{
	struct srv_wait	*sw;

	if (m->u.tun.agent[0] == '\0' || srv_pick(m->u.tun.agent, NULL, 0) !=
	    NULL || tn.draining || srv.nwaiting >= SRV_MAX_WAITING ||
	    (ev_now(tn.loop) - srv.started) * 1000 > SRV_YOUNG_MS ||
	    (sw = calloc(1, sizeof(*sw))) == NULL) {
		srv_open_now(w, m->id, m->u.tun.agent, m->u.tun.target);
		return;
	}
	sw->worker = w;
	sw->id = m->id;
	memcpy(sw->agent, m->u.tun.agent, sizeof(sw->agent));
	memcpy(sw->target, m->u.tun.target, sizeof(sw->target));
	ev_timer_init(&sw->timer, srv_wait_timeout, SRV_WAIT_MS / 1000., 0.);
	ev_timer_start(tn.loop, &sw->timer);
	TAILQ_INSERT_TAIL(&srv.waiting, sw, entry);
	srv.nwaiting++;
}

static void
srv_open_now(uint32_t w, uint32_t req, const char *agent,
    const char *target)
{
	struct srv_agent	*tried[8], *a = NULL;
	struct srv_open		*op;
	uint32_t		 id, code = SL_CONN_NO_LINK | SL_TUN_LINK_FAULT;
	const char		*why = "no agent of that name connected";
	size_t			 ntried = 0;
	int			 sv[2];

	if (agent[0] == '\0' || target[0] == '\0') {
		log_warnx("worker %u: TUN_OPEN without agent or target", w);
		(void)tn_send(w, SL_MSG_TUN_OPEN_FAIL, req, -1, SL_CONN_FAIL,
		    "", "", "no agent or target");
		return;
	}
	if ((op = calloc(1, sizeof(*op))) == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1) {
		log_warn("stream to agent %s", agent);
		free(op);
		(void)tn_send(w, SL_MSG_TUN_OPEN_FAIL, req, -1, SL_CONN_FAIL,
		    agent, "", "out of resources");
		return;
	}
	op->worker = w;
	op->req = req;
	op->wfd = sv[1];
	snprintf(op->agent, sizeof(op->agent), "%s", agent);
	while (ntried < nitems(tried) &&
	    (a = srv_pick(agent, tried, ntried)) != NULL) {
		snprintf(op->peer, sizeof(op->peer), "%s", a->peer);
		if (tconn_open(a->c, target, sv[0], srv_opened, op,
		    &id) == 0)
			return;
		/* EAGAIN: at its stream cap; EINVAL: a bad target */
		if (errno == EINVAL) {
			code = SL_CONN_ADDR_UNSUPP;
			why = "bad target";
			break;
		}
		code = SL_CONN_FAIL;
		why = "every connection at its stream cap";
		tried[ntried++] = a;
	}
	close(sv[0]);
	close(sv[1]);
	free(op);
	(void)tn_send(w, SL_MSG_TUN_OPEN_FAIL, req, -1, code, agent, "", why);
}

void
server_drain(void)
{
	struct srv_agent	*a, *n;
	size_t			 i;

	for (i = 0; i < srv.nls; i++) {
		ev_io_stop(tn.loop, &srv.ls[i].io);
		close(srv.ls[i].fd);
	}
	srv.nls = 0;
	while (!TAILQ_EMPTY(&srv.waiting))
		srv_wait_end(TAILQ_FIRST(&srv.waiting), 0);
	for (a = TAILQ_FIRST(&srv.agents); a != NULL; a = n) {
		n = TAILQ_NEXT(a, entry);
		if (a->up)
			tconn_goaway(a->c);
		else
			tconn_close(a->c, "draining");
	}
}

int
server_idle(void)
{
	return TAILQ_EMPTY(&srv.agents);
}

uint32_t
server_rows(uint32_t id)
{
	struct srv_agent	*a;
	uint32_t		 n = 0;

	TAILQ_FOREACH(a, &srv.agents, entry) {
		tn_agent_row(id, a->c, 0, a->sl->l->name, a->since);
		n++;
	}
	return n;
}
