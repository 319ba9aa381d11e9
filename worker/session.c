/*
 * The generic session: accept, identify (the front-end's part), route,
 * dial, reply (the front-end's words), relay.  See session.h.
 *
 * S_ROUTING resolves the target name first when some matcher looks at
 * addresses.  A failed dial is retried on the next candidate link (up to
 * balancer.retries) before the client gets its reply.
 *
 * Strategy `fastest` (TcpRoute's multipath) instead races the candidates
 * (egress/race.c) and the client's reply waits for the winner.  A
 * destination whose winner is in the route cache is dialed over that
 * link alone; if that fails, the entry is dropped and the race runs.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_build.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../policy/counters.h"
#include "../policy/select.h"
#include "egress/health.h"
#include "access.h"
#include "front/front.h"
#include "relay/taps.h"
#include "session_priv.h"
#include "worker.h"

static struct sl_link_ctr *
session_ctr(const struct session *s)
{
	return shm_ctr(wk->shm, wk->index, (uint32_t)s->link);
}

/* The routing and dialing state goes (nothing of it may be running). */
static void
session_conn_free(struct session *s)
{
	if (s->conn == NULL)
		return;
	dial_cancel(&s->conn->dial);
	resolve_cancel(&s->conn->res);
	free(s->conn);
	s->conn = NULL;
}

struct sl_worker_ctr *
session_row(void)
{
	return shm_worker(wk->shm, wk->index);
}

struct sl_listener_ctr *
session_listener_ctr(const struct session *s)
{
	return &session_row()->listeners[s->listener - wk->conf->listeners];
}


/*
 * A session is in its handshake while its handshake timer is armed
 * (running, or expired with its callback still to come): from
 * session_new until session_quiet, session_timeout or session_close.
 * Those are counted in the row's `handshakes` and kept at the tail of
 * wk->sessions, oldest first.
 */
static int
session_in_handshake(struct session *s)
{
	return s->hs != NULL && (ev_is_active(&s->hs->timer) ||
	    ev_is_pending(&s->hs->timer));
}

static void
session_handshake_over(struct session *s)
{
	if (!session_in_handshake(s))
		return;
	ev_timer_stop(wk->loop, &s->hs->timer);
	atomic_fetch_sub(&session_row()->handshakes, 1);
}

/* The oldest session of this worker still in its handshake, or NULL. */
struct session *
session_oldest_handshake(void)
{
	struct session	*s, *oldest = NULL;

	TAILQ_FOREACH_REVERSE(s, &wk->sessions, session_list, entry) {
		if (!session_in_handshake(s))
			break;
		oldest = s;
	}
	return oldest;
}

/* The handshake's state goes: its watcher, timer and buffers. */
static void
session_hs_free(struct session *s)
{
	if (s->hs == NULL)
		return;
	session_handshake_over(s);
	ev_io_stop(wk->loop, &s->hs->cio);
	free(s->hs);
	s->hs = NULL;
	s->in = NULL;
	s->incap = s->inlen = 0;
}

static void
session_release_front(struct session *s)
{
	if (s->front->release != NULL)
		s->front->release(s);
	s->in = s->hs != NULL ? s->hs->in0 : NULL;
	s->incap = s->hs != NULL ? SESSION_IN : 0;
}

void
session_close(struct session *s, const char *outcome)
{
	int	ferr;

	/* Counters first: whoever reads the log line sees them settled. */
	if (s->link_active)
		atomic_fetch_sub(&session_ctr(s)->active, 1);
	session_handshake_over(s);
	atomic_fetch_sub(&session_row()->sessions, 1);
	atomic_fetch_sub(&session_listener_ctr(s)->active, 1);
	if ((ferr = s->lim.refused != LIM_OK ? SL_FERR_LIMIT :
	    access_ferr(s, outcome)) >= 0)
		atomic_fetch_add(&session_listener_ctr(s)->errors[ferr], 1);
	access_session(s, outcome);
	if (s->hs != NULL)
		ev_io_stop(wk->loop, &s->hs->cio);
	race_cancel(s->race);
	session_conn_free(s);
	if (s->state == S_RELAY)
		relay_stop(&s->relay);
	limits_release(s->listener, &s->lim);
	taps_free(s->taps);
	session_release_front(s);
	session_svc_free(s);
	if (s->tfd != -1)
		close(s->tfd);
	close(s->cfd);
	free(s->hs);
	free(s->detail);
	free(s->target);
	free(s->target_text);
	TAILQ_REMOVE(&wk->sessions, s, entry);
	wk->nsessions--;
	free(s);
	worker_session_gone();
}

void
session_finish(struct session *s, const char *outcome, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	session_vdetail(s, fmt, ap);
	va_end(ap);
	s->hs->close_after_reply = 1;
	s->outcome = outcome;
	session_flush(s);
}

static void
session_relay_done(struct relay *r, enum relay_end end, int err, void *arg)
{
	struct session *s = arg;

	(void)r;
	if (end == RELAY_END_ERROR)
		session_detail(s, "%s", strerror(err));
	else if (end == RELAY_END_TAP)
		session_detail(s, "%s",
		    taps_why(s->taps));
	session_close(s, end == RELAY_END_DONE ? "done" :
	    end == RELAY_END_IDLE ? "idle timeout" : end == RELAY_END_TAP ?
	    "tap" : "relay error");
}

/* The listener's tap chain for this session; -1 when out of memory. */
static int
session_taps_start(struct session *s)
{
	struct sockaddr_storage	 local;
	socklen_t		 len = sizeof(local);
	struct tap_info		 info;
	char			 target[SL_MAX_NAME + 16];
	const struct sl_tap	*taps;
	size_t			 ntaps;

	/* A service's chain, when it has one, instead of the listener's. */
	if ((taps = session_service_taps(s, &ntaps)) == NULL) {
		taps = s->listener->taps;
		ntaps = s->listener->ntaps;
	}
	if (ntaps == 0)
		return 0;
	sl_target_fmt(s->target, target, sizeof(target));
	memset(&info, 0, sizeof(info));
	info.session = s->id;
	info.listener = s->listener->name;
	info.proto = "tcp";
	info.client = (const struct sockaddr *)&s->client;
	if (getsockname(s->cfd, (struct sockaddr *)&local, &len) == 0) {
		sockaddr_unmap(&local, &len);
		info.local = (const struct sockaddr *)&local;
	}
	info.target = target;
	if ((s->taps = taps_new(taps, ntaps, &info)) == NULL)
		return -1;
	return 0;
}

static void
session_start_relay(struct session *s)
{
	const void	*early = s->hs->early != NULL ? s->hs->early : s->in;
	size_t		 nearly = s->hs->early != NULL ? s->hs->nearly : s->inlen;
	void		*freeme;
	int		 rc;

	session_quiet(s);
	if ((early = session_pp_early(s, early, nearly, &nearly,
	    &freeme)) == NULL) {
		session_detail(s, "PROXY header: %s",
		    strerror(errno));
		session_close(s, "error");
		return;
	}
	if (session_taps_start(s) == -1) {
		free(freeme);
		session_detail(s, "taps: out of memory");
		session_close(s, "error");
		return;
	}
	s->state = S_RELAY;
	/* A target the front-end found itself (BIND) has no link to count. */
	rc = relay_start(&s->relay, wk->loop, s->cfd, s->tfd, early, nearly,
	    wk->conf->splice, wk->conf->idle_timeout_ms, s->taps,
	    s->link >= 0 ? &session_ctr(s)->bytes_up : NULL,
	    s->link >= 0 ? &session_ctr(s)->bytes_down : NULL,
	    session_relay_done, s);
	if (rc == 0)
		(void)limits_relay(s->listener, &s->lim, &s->relay);
	/* The relay copied the early bytes: the front-end's state can go. */
	free(freeme);
	session_svc_free(s);
	s->inlen = 0;
	session_target_keep_text(s);
	/* An established session reads nothing itself any more. */
	session_release_front(s);
	session_hs_free(s);
	if (rc == -1) {
		s->state = S_REPLYING;
		session_detail(s, "relay: %s",
		    strerror(errno));
		session_close(s, "error");
	}
}

int
session_send(struct session *s, const void *p, size_t n)
{
	if (s->hs->outp != NULL && s->hs->outp != s->hs->out)
		return -1;	/* a constant is still going out */
	if (n > sizeof(s->hs->out) - s->hs->outlen)
		return -1;
	memcpy(s->hs->out + s->hs->outlen, p, n);
	s->hs->outlen += n;
	s->hs->outp = s->hs->out;
	return 0;
}

void
session_send_static(struct session *s, const void *p, size_t n)
{
	/* Whatever was queued before is lost: callers send one or the other. */
	s->hs->outp = p;
	s->hs->outoff = 0;
	s->hs->outlen = n;
}

void
session_quiet(struct session *s)
{
	ev_io_stop(wk->loop, &s->hs->cio);
	if (!session_in_handshake(s))
		return;
	session_handshake_over(s);
	/* Out of the tail, where only handshakes are. */
	TAILQ_REMOVE(&wk->sessions, s, entry);
	TAILQ_INSERT_HEAD(&wk->sessions, s, entry);
}

void
session_listen(struct session *s)
{
	ev_io_stop(wk->loop, &s->hs->cio);
	ev_io_set(&s->hs->cio, s->cfd, EV_READ);
	ev_io_start(wk->loop, &s->hs->cio);
}

void
session_set_input(struct session *s, uint8_t *buf, size_t cap)
{
	memcpy(buf, s->in, s->inlen);
	s->in = buf;
	s->incap = cap;
}

void
session_consume(struct session *s, size_t n)
{
	if (n > s->inlen)
		n = s->inlen;
	memmove(s->in, s->in + n, s->inlen - n);
	s->inlen -= n;
}

/* Write what is pending; then relay, close, or keep reading. */
void
session_flush(struct session *s)
{
	ssize_t	n;

	while (s->hs->outoff < s->hs->outlen) {
		n = send(s->cfd, s->hs->outp + s->hs->outoff, s->hs->outlen - s->hs->outoff,
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			ev_io_stop(wk->loop, &s->hs->cio);
			ev_io_set(&s->hs->cio, s->cfd, EV_WRITE);
			ev_io_start(wk->loop, &s->hs->cio);
			return;
		}
		if (n == -1) {
			session_detail(s, "client: %s",
			    strerror(errno));
			session_close(s, "client error");
			return;
		}
		s->hs->outoff += (size_t)n;
	}
	s->hs->outoff = s->hs->outlen = 0;
	s->hs->outp = NULL;
	if (s->hs->close_after_reply)
		session_close(s, s->outcome != NULL ? s->outcome : "failed");
	else if (s->state == S_REPLYING)
		session_start_relay(s);
	else if (s->state == S_IDENTIFY || s->state == S_FRONT)
		session_listen(s);
	else
		ev_io_stop(wk->loop, &s->hs->cio);
}

void
session_relay_fd(struct session *s, int fd)
{
	s->tfd = fd;
	s->state = S_REPLYING;
	session_flush(s);
}

/* The target cannot be reached: the front-end says so, then the end. */
static void
session_reply_err(struct session *s, enum sl_conn_err err)
{
	s->err = err;
	s->hs->close_after_reply = 1;
	s->front->reply_err(s, err);	/* may set the outcome */
	if (s->outcome == NULL) {
		snprintf(s->outbuf, sizeof(s->outbuf), "failed, %s",
		    sl_conn_err_name(err));
		s->outcome = s->outbuf;
	}
	session_flush(s);
}

static void	session_try_next(struct session *);
static void	session_race(struct session *);

/* The target is connected over s->link (counted active): reply. */
static void
session_connected(struct session *s, int fd,
    const struct sockaddr_storage *bound)
{
	struct sockaddr_storage	 b = *bound;
	socklen_t		 blen = sizeof(b);
	const char		*peer;
	char			 agent_at[SL_TUN_PEER_MAX + 1] = "";

	/* Which agent carries it, for the log line and the session list. */
	if (s->conn != NULL && (peer = dial_agent_peer(&s->conn->dial)) !=
	    NULL) {
		snprintf(agent_at, sizeof(agent_at), "%s", peer);
		s->tun_key = dial_agent_id(&s->conn->dial);
	}
	session_conn_free(s);	/* its dial called us and is done with it */
	atomic_fetch_add(&session_ctr(s)->opened, 1);
	if (s->t_dial != 0)
		shm_connect_time(session_ctr(s), mono_ms() - s->t_dial);
	if (s->pp_out == 0)
		s->pp_out = wk->conf->links[s->link].proxy_protocol;
	s->tfd = fd;
	session_detail_clear(s);
	if (agent_at[0] != '\0')
		session_detail(s, "agent %s at %s",
		    wk->conf->links[s->link].agent, agent_at);
	session_svc_connected(s);
	sockaddr_unmap(&b, &blen);
	s->err = SL_CONN_OK;
	s->state = S_REPLYING;
	s->front->reply_ok(s, (struct sockaddr *)&b);
	session_flush(s);
}

/* A cached route failed: forget it and race, as if it had not been. */
static void
session_cached_failed(struct session *s)
{
	route_drop(wk->shm, s->route_key, (uint32_t)s->link);
	s->from_cache = 0;
	log_debug("session %llu: cached route via %s failed, racing",
	    (unsigned long long)s->id, wk->conf->links[s->link].name);
	session_race(s);
}

/* Why a dial failed; after a race, added to what the race said. */
static void
session_dial_detail(struct session *s, const char *why)
{
	char	prev[SESSION_DETAIL_MAX];

	if (!s->conn->after_race) {
		session_detail(s, "%s", why);
		return;
	}
	snprintf(prev, sizeof(prev), "%s", session_detail_text(s));
	session_detail(s, "%s; %s: %s", prev, wk->conf->links[s->link].name,
	    why);
}

static void
session_dialed(struct dial *d, int fd, enum sl_conn_err err,
    const struct sockaddr_storage *bound, const char *why, void *arg)
{
	struct session		*s = arg;

	if (fd == -1) {
		atomic_fetch_add(&session_ctr(s)->failed, 1);
		atomic_fetch_sub(&session_ctr(s)->active, 1);
		s->link_active = 0;
		log_debug("session %llu: link %s failed: %s",
		    (unsigned long long)s->id, wk->conf->links[s->link].name,
		    why);
		session_dial_detail(s, why);
		s->err = err;
		if (d->link_fault)
			health_link_failed((uint32_t)s->link, why);
		if (s->from_cache) {
			session_cached_failed(s);
			return;
		}
		if (++s->conn->icand < s->conn->ncand &&
		    s->conn->icand <= wk->conf->retries) {
			session_try_next(s);
			return;
		}
		if (session_next_backend(s))
			return;
		session_reply_err(s, err);
		return;
	}
	health_link_ok((uint32_t)s->link);
	if (s->from_cache)
		health_connect_time((uint32_t)s->link, mono_ms() - s->t_dial, 0);
	session_connected(s, fd, bound);
}

static void
session_dial_link(struct session *s, int link)
{
	s->link = link;
	s->link_active = 1;
	atomic_fetch_add(&session_ctr(s)->active, 1);
	s->t_dial = mono_ms();
	dial_skip_bound(&s->conn->dial, s->front->ignores_bound);
	dial_start(&s->conn->dial, wk->loop, wk->conf, s->link, s->target,
	    s->conn->resolved, s->conn->nresolved, session_dialed, s);
}

static void
session_try_next(struct session *s)
{
	session_dial_link(s, (int)s->conn->cand[s->conn->icand]);
}

/* How many candidates race: those no worker doubts, if any. */
static size_t
session_raced_all(const struct session *s)
{
	return s->conn->ntrusted > 0 ? s->conn->ntrusted : s->conn->ncand;
}

static void
session_raced(int fd, int link, enum sl_conn_err err,
    const struct sockaddr_storage *bound, const char *why, void *arg)
{
	struct session	*s = arg;
	uint32_t	 ttl = wk->conf->route_cache_ttl_s;

	s->race = NULL;
	s->link = link;
	if (fd == -1) {
		session_detail(s, "no link connected: %s",
		    why);
		/* Links another worker doubts, last, as `retries` allows. */
		if (session_raced_all(s) < s->conn->ncand) {
			s->conn->icand = session_raced_all(s);
			s->conn->after_race = 1;
			session_try_next(s);
			return;
		}
		if (session_next_backend(s))
			return;
		session_reply_err(s, err);
		return;
	}
	s->link_active = 1;	/* the race counted the winner as active */
	if (ttl > 0)
		route_store(wk->shm, s->route_key, (uint32_t)link,
		    mono_ms() + (uint64_t)ttl * 1000);
	session_connected(s, fd, bound);
}

static void
session_race(struct session *s)
{
	s->t_dial = mono_ms();
	s->race = race_start(wk->loop, wk->conf, s->conn->cand,
	    session_raced_all(s), s->target, s->conn->resolved,
	    s->conn->nresolved, session_raced, s);
	if (s->race != NULL)
		return;
	/* No memory for a race: the candidates one after another. */
	s->conn->icand = 0;
	session_try_next(s);
}

/* `fastest`: the cached winner for this destination, or a race. */
static void
session_fastest(struct session *s)
{
	int	link;

	s->route_key = route_key(s->target, s->conn->host);
	/* A cached route is taken among the links nobody doubts. */
	link = route_lookup(wk->shm, s->route_key, mono_ms(),
	    (uint64_t)wk->conf->route_cache_ttl_s * 1000, s->conn->cand,
	    session_raced_all(s));
	if (link < 0) {
		session_race(s);
		return;
	}
	s->from_cache = 1;
	session_dial_link(s, link);
}

void
session_route_target(const struct session *s, const struct sl_target *t,
    const struct sl_res_addr *res, size_t nres, struct sl_route *r)
{
	struct sl_request	req;
	struct sl_route_view	view;
	char			host[SL_MAX_NAME + 1];
	size_t			i;

	/* Matchers compare lower-case names; the upstream gets the original. */
	for (i = 0; t->host[i] != '\0' && i < SL_MAX_NAME; i++)
		host[i] = (char)tolower((unsigned char)t->host[i]);
	host[i] = '\0';
	memset(&req, 0, sizeof(req));
	req.host = t->host[0] != '\0' ? host : NULL;
	req.addr = t->host[0] == '\0' ? (const struct sockaddr *)&t->addr :
	    NULL;
	req.resolved = res;
	req.nresolved = nres;
	req.port = t->port;
	req.client = (const struct sockaddr *)&s->client;
	req.listener = s->listener->name;
	req.user = s->user;
	req.only = session_service_links(s, &req.nonly);
	req.alpn = s->hs->alpn;
	req.nalpn = s->hs->nalpn;
	view.shm = wk->shm;
	view.rnd = (uint32_t)random();
	view.now_ms = mono_ms();
	policy_route(wk->conf, &req, &view, r);
}

/*
 * An agent's stream: what the agent's "allow" admits, a name by its
 * addresses unless a domain entry admits it (the addresses left are
 * those the dial may use).  With "local" the target is fixed anyway.
 */
static int
session_agent_refuses(struct session *s)
{
	const struct sl_agent	*a = &wk->conf->agent;

	if (s->listener->kind != SL_LISTEN_AGENT || a->local_host[0] != '\0')
		return 0;
	if (conf_agent_allows(a, s->target->host[0] != '\0' ? s->conn->host :
	    NULL, s->target->host[0] == '\0' ?
	    (const struct sockaddr *)&s->target->addr : NULL, s->target->port,
	    s->conn->resolved, &s->conn->nresolved))
		return 0;
	session_detail(s, "refused by the agent's allow");
	session_reply_err(s, SL_CONN_NOT_ALLOWED);
	return 1;
}

/* Names must be resolved before routing: `ips` matchers, agent allow. */
static int
session_needs_addresses(const struct session *s)
{
	return policy_needs_addresses(wk->conf) ||
	    (s->listener->kind == SL_LISTEN_AGENT &&
	    wk->conf->agent.local_host[0] == '\0' &&
	    conf_agent_needs_addresses(&wk->conf->agent));
}

/* Ask the policy for the links to try, in order, and start the first. */
static void
session_route(struct session *s)
{
	struct sl_route		r;

	if (session_agent_refuses(s))
		return;
	session_route_target(s, s->target, s->conn->resolved, s->conn->nresolved, &r);
	if (r.verdict != SL_ROUTE_OK) {
		session_detail(s, "%s%s",
		    r.verdict == SL_ROUTE_REFUSED &&
		    strncmp(r.why, "no link", 7) != 0 ? "refused by " : "",
		    r.why);
		session_reply_err(s, r.verdict == SL_ROUTE_REFUSED ?
		    SL_CONN_NOT_ALLOWED : SL_CONN_NO_LINK);
		return;
	}
	for (s->conn->ncand = 0; s->conn->ncand < r.ncand; s->conn->ncand++)
		s->conn->cand[s->conn->ncand] = (uint16_t)r.cand[s->conn->ncand];
	s->conn->ntrusted = r.ntrusted;
	s->state = S_DIALING;
	s->conn->icand = 0;
	if (wk->conf->strategy == SL_STRAT_FASTEST)
		session_fastest(s);
	else
		session_try_next(s);
}

/* The name is known (or not) before routing: `ips` matchers need it. */
static void
session_resolved(struct res_req *rq, int status, const struct sl_msg *ans,
    void *arg)
{
	struct session *s = arg;

	(void)rq;
	s->conn->nresolved = 0;
	if (status == SL_RES_OK) {
		s->conn->nresolved = ans->u.res_answer.naddrs;
		if (s->conn->nresolved > SL_MAX_ADDRS)
			s->conn->nresolved = SL_MAX_ADDRS;
		memcpy(s->conn->resolved, ans->u.res_answer.addrs,
		    s->conn->nresolved * sizeof(s->conn->resolved[0]));
	}
	session_route(s);
}

int
session_limited(struct session *s)
{
	char	why[160];

	if (s->lim.refused == LIM_OK)
		return 0;
	session_quiet(s);
	session_detail(s, "limit %s", limits_why(s->listener, &s->lim, why,
	    sizeof(why)));
	s->outcome = "refused, limit";
	session_reply_err(s, SL_CONN_NOT_ALLOWED);
	return 1;
}

void
session_connect(struct session *s)
{
	const char	*deny;
	size_t		 i;

	if (session_limited(s))
		return;
	session_quiet(s);
	if (s->conn == NULL && (s->conn = calloc(1, sizeof(*s->conn))) ==
	    NULL) {
		session_detail(s, "no memory to connect");
		session_reply_err(s, SL_CONN_FAIL);
		return;
	}
	s->conn->nresolved = 0;
#if SL_TEST_HOOKS
	worker_test_hooks(s->target->host);
#endif
	s->state = S_ROUTING;
	if (s->target->host[0] == '\0') {
		if ((deny = policy_target_denied(wk->conf,
		    (const struct sockaddr *)&s->target->addr)) != NULL) {
			session_detail(s,
			    "refused by %s", deny);
			session_reply_err(s, SL_CONN_NOT_ALLOWED);
			return;
		}
		session_route(s);
		return;
	}
	/* The name the resolver and the route cache see: lower case. */
	for (i = 0; s->target->host[i] != '\0'; i++)
		s->conn->host[i] =
		    (char)tolower((unsigned char)s->target->host[i]);
	s->conn->host[i] = '\0';
	if (!session_needs_addresses(s) ||
	    resolve_start(&s->conn->res, s->conn->host, session_resolved,
	    s) == -1)
		session_route(s);
}
