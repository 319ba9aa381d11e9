/*
 * Links of protocol "agent" (agent_link.h): streams through the pool's
 * tunnel process, and the dial of an agent's own server for it.
 *
 * Requests are a list like sockreq.c's, keyed by a random id; a stream
 * arrives as an fd on the answer.  The fd is checked to be what the
 * tunnel process must send, a connected AF_UNIX stream socket: the
 * relay must never mistake something else for it.
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../common/target.h"
#include "../../common/util.h"
#include "../../policy/select.h"
#include "agent_link.h"
#include "dial.h"
#include "egress.h"

static struct ipc_chan	*tun_chan;
static struct agent_req	*pending;

void
agent_link_set_channel(struct ipc_chan *c)
{
	tun_chan = c;
}

struct ipc_chan *
agent_link_channel(void)
{
	return tun_chan;
}

static uint32_t
agent_link_new_id(void)
{
	struct agent_req	*r;
	uint32_t		 id;

	for (;;) {
		if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
			fatal("%s: getrandom", __func__);
		for (r = pending; r != NULL && r->id != id; r = r->next)
			;
		if (id != 0 && r == NULL)
			return id;
	}
}

int
agent_link_open(struct agent_req *r, const char *agent, const char *target,
    agent_req_cb cb, void *arg)
{
	struct sl_msg	m;

	if (tun_chan == NULL)
		return -1;
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_TUN_OPEN;
	m.fd = -1;
	m.id = agent_link_new_id();
	if ((size_t)snprintf(m.u.tun.agent, sizeof(m.u.tun.agent), "%s",
	    agent) >= sizeof(m.u.tun.agent) ||
	    (size_t)snprintf(m.u.tun.target, sizeof(m.u.tun.target), "%s",
	    target) >= sizeof(m.u.tun.target))
		return -1;
	if (ipc_chan_send(tun_chan, &m) == -1)
		return -1;
	r->id = m.id;
	r->cb = cb;
	r->arg = arg;
	r->next = pending;
	pending = r;
	return 0;
}

static int
agent_link_unlink(struct agent_req *r)
{
	struct agent_req **pp;

	for (pp = &pending; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			r->next = NULL;
			r->id = 0;
			return 1;
		}
	return 0;
}

void
agent_link_cancel(struct agent_req *r)
{
	if (r->id != 0)
		(void)agent_link_unlink(r);
}

/* A connected AF_UNIX stream socket, as the tunnel process makes. */
static int
agent_link_fd_ok(int fd)
{
	int		v;
	socklen_t	len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) == -1 ||
	    v != AF_UNIX)
		return 0;
	len = sizeof(v);
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0 &&
	    v == SOCK_STREAM;
}

void
agent_link_dispatch(struct sl_msg *m)
{
	struct agent_req	*r;
	int			 fd;

	for (r = pending; r != NULL && r->id != m->id; r = r->next)
		;
	if (r == NULL) {
		log_debug("%s: answer for unknown request %u", __func__, m->id);
		return;		/* the caller closes a stray stream */
	}
	agent_link_unlink(r);
	if (m->type == SL_MSG_TUN_OPENED) {
		if (!agent_link_fd_ok(m->fd)) {
			log_warnx("tunnel process sent a stream that is not a "
			    "unix stream socket");
			r->cb(r, -1, 1, m->u.tun.peer, "bad stream", r->arg);
			return;
		}
		fd = m->fd;
		m->fd = -1;
		r->cb(r, fd, 0, m->u.tun.peer, NULL, r->arg);
	} else {
		/* The agent's refusal names its connection; ours a reason. */
		struct sl_target	t;
		int			addr = sl_target_parse(&t,
					    m->u.tun.peer) == 0 &&
					    t.host[0] == '\0';

		r->cb(r, -1, m->u.tun.code == SL_CONN_OK ? SL_CONN_FAIL :
		    m->u.tun.code,
		    addr ? m->u.tun.peer : "", addr ? NULL : m->u.tun.peer,
		    r->arg);
	}
}

void
agent_link_fail_all(void)
{
	struct agent_req	*r;

	while ((r = pending) != NULL) {
		agent_link_unlink(r);
		r->cb(r, -1, SL_CONN_NO_LINK | SL_TUN_LINK_FAULT, "",
		    "tunnel process gone",
		    r->arg);
	}
}

/* ---- an agent's own server, dialed for its tunnel process ---- */

struct agent_dial {
	struct dial		 d;
	struct sl_target	 target;
	uint32_t		 id;
	uint32_t		 cand[SL_MAX_LINKS];
	size_t			 ncand, icand;
	char			 why[SL_TUN_PEER_MAX + 1];
};

static void	agent_dial_next(struct agent_dial *);

static void
agent_dial_reply(struct agent_dial *ad, int fd)
{
	struct sl_msg	m;

	memset(&m, 0, sizeof(m));
	m.type = fd != -1 ? SL_MSG_TUN_DIALED : SL_MSG_TUN_DIAL_FAIL;
	m.id = ad->id;
	m.fd = fd;
	snprintf(m.u.tun.peer, sizeof(m.u.tun.peer), "%s", ad->why);
	if (tun_chan == NULL || ipc_chan_send(tun_chan, &m) == -1)
		log_warnx("cannot answer the tunnel process's dial");
	if (fd != -1)
		close(fd);
	free(ad);
}

static void
agent_dialed(struct dial *d, int fd, enum sl_conn_err err,
    const struct sockaddr_storage *bound, const char *why, void *arg)
{
	struct agent_dial	*ad = arg;

	(void)d;
	(void)bound;
	if (fd != -1) {
		ad->why[0] = '\0';
		agent_dial_reply(ad, fd);
		return;
	}
	snprintf(ad->why, sizeof(ad->why), "link %s: %s",
	    eg.conf->links[ad->cand[ad->icand]].name, why != NULL ? why :
	    sl_conn_err_name(err));
	ad->icand++;
	agent_dial_next(ad);
}

static void
agent_dial_next(struct agent_dial *ad)
{
	for (; ad->icand < ad->ncand; ad->icand++) {
		/* The tunnel cannot run through a tunnel. */
		if (eg.conf->links[ad->cand[ad->icand]].proto == SL_LINK_AGENT)
			continue;
		dial_skip_bound(&ad->d, 1);
		dial_start(&ad->d, eg.loop, eg.conf, (int)ad->cand[ad->icand],
		    &ad->target, NULL, 0, agent_dialed, ad);
		return;
	}
	if (ad->why[0] == '\0')
		snprintf(ad->why, sizeof(ad->why), "no link to the server");
	agent_dial_reply(ad, -1);
}

/* TUN_DIAL: the links routing gives for the server, one after another. */
void
agent_link_dial(const struct sl_msg *m)
{
	struct sl_request	 req;
	struct sl_route_view	 view;
	struct sl_route		 r;
	struct agent_dial	*ad;

	if ((ad = calloc(1, sizeof(*ad))) == NULL) {
		log_warnx("dial for the tunnel: out of memory");
		return;		/* the tunnel process times out and retries */
	}
	ad->id = m->id;
	if (sl_target_parse(&ad->target, m->u.tun.target) == -1) {
		snprintf(ad->why, sizeof(ad->why), "bad server address");
		agent_dial_reply(ad, -1);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.host = ad->target.host[0] != '\0' ? ad->target.host : NULL;
	req.addr = ad->target.host[0] == '\0' ?
	    (const struct sockaddr *)&ad->target.addr : NULL;
	req.port = ad->target.port;
	req.listener = "agent";
	view.shm = eg.shm;
	view.rnd = (uint32_t)random();
	view.now_ms = mono_ms();
	policy_route(eg.conf, &req, &view, &r);
	if (r.verdict != SL_ROUTE_OK) {
		snprintf(ad->why, sizeof(ad->why), "%.120s", r.why);
		agent_dial_reply(ad, -1);
		return;
	}
	memcpy(ad->cand, r.cand, r.ncand * sizeof(r.cand[0]));
	ad->ncand = r.ncand;
	agent_dial_next(ad);
}
