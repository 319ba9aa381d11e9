/*
 * The `agent` front-end: on an agent, a stream its server opened through
 * the tunnel (tunnel/agent.c).  The tunnel process hands it over as one
 * end of a socketpair with the target named in TUN_STREAM; this is the
 * session's client, on the listener the config made for it ("agent",
 * kind SL_LISTEN_AGENT).  Nothing is read from it first: the session
 * connects at once, and the answer goes back to the tunnel process
 * (TUN_STREAM_RESULT), which tells the server OPEN_OK or OPEN_FAIL.
 *
 * What the server may reach is the agent's config, enforced here whatever
 * the tunnel process did: with "local" the target is always local; with
 * "allow" the session's routing checks it (session.c), with the
 * addresses a name resolved to.  A compromised server, or tunnel
 * process, gets no further than that.
 */
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "../egress/agent_link.h"
#include "../worker.h"
#include "front.h"

struct agent_stream {
	uint32_t	key;		/* TUN_STREAM's id */
	int		answered;
	int		bad_target;
	char		target[SL_CTL_TARGET_MAX + 1];
	char		agent[SL_TUN_AGENT_MAX + 1];
};

static void
agent_answer(struct session *s, enum sl_conn_err err)
{
	struct agent_stream	*st = s->fstate;
	struct ipc_chan		*c = agent_link_channel();
	struct sl_msg		 m;

	if (st == NULL || st->answered)
		return;
	st->answered = 1;
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_TUN_STREAM_RESULT;
	m.id = st->key;
	m.fd = -1;
	m.u.tun.code = err;
	if (c == NULL || ipc_chan_send(c, &m) == -1)
		log_warnx("cannot answer the tunnel process for %s",
		    st->target);
}

/* "local" replaces whatever the server asked for. */
static void
agent_start(struct session *s)
{
	struct agent_stream	*st = s->fstate;
	const struct sl_agent	*a = &wk->conf->agent;
	char			 local[SL_MAX_NAME + 16];

	if (a->local_host[0] != '\0') {
		snprintf(local, sizeof(local), strchr(a->local_host, ':') ?
		    "[%s]:%u" : "%s:%u", a->local_host, a->local_port);
		st->bad_target = sl_target_parse(s->target, local) == -1;
	} else
		st->bad_target = sl_target_parse(s->target, st->target) == -1;
	session_detail(s, "stream of agent %s", st->agent);
	s->tun_key = st->key;
}

static void
agent_connect(struct session *s)
{
	struct agent_stream	*st = s->fstate;

	if (st->bad_target) {
		agent_answer(s, SL_CONN_ADDR_UNSUPP);
		session_detail(s, "bad target %s", st->target);
		session_close(s, "bad target");
		return;
	}
	session_connect(s);
}

static void
agent_reply_ok(struct session *s, const struct sockaddr *bound)
{
	(void)bound;
	agent_answer(s, SL_CONN_OK);
}

static void
agent_reply_err(struct session *s, enum sl_conn_err err)
{
	agent_answer(s, err);
}

/* Ended before an answer (killed, timed out): the server hears so. */
static void
agent_release(struct session *s)
{
	agent_answer(s, SL_CONN_FAIL);
	free(s->fstate);
	s->fstate = NULL;
}

const struct front_ops front_agent = {
	.name = "agent",
	.ignores_bound = 1,
	.start = agent_start,
	.connect_first = agent_connect,
	.reply_ok = agent_reply_ok,
	.reply_err = agent_reply_err,
	.release = agent_release,
};

/* The listener the config made for the agent's streams. */
static const struct sl_listener *
agent_listener(void)
{
	size_t	i;

	for (i = 0; i < wk->conf->nlisteners; i++)
		if (wk->conf->listeners[i].kind == SL_LISTEN_AGENT)
			return &wk->conf->listeners[i];
	return NULL;
}

/* The server's address for the session's client, from "addr:port". */
static void
agent_client_addr(const char *peer, struct sockaddr_storage *ss)
{
	struct sl_target	t;

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = AF_INET;
	if (sl_target_parse(&t, peer) == 0 && t.host[0] == '\0')
		memcpy(ss, &t.addr, t.addrlen);
}

/* TUN_STREAM: the tunnel process brings a stream (m->fd). */
void
agent_front_stream(struct sl_msg *m)
{
	const struct sl_listener	*l = agent_listener();
	struct agent_stream		*st;
	struct sockaddr_storage		 ss;
	struct sl_msg			 r;
	struct ipc_chan			*c = agent_link_channel();
	int				 v;
	socklen_t			 len = sizeof(v);

	if (l == NULL || wk->draining || getsockopt(m->fd, SOL_SOCKET,
	    SO_DOMAIN, &v, &len) == -1 || v != AF_UNIX ||
	    (st = calloc(1, sizeof(*st))) == NULL) {
		log_warnx("stream to %s refused: %s", m->u.tun.target,
		    l == NULL ? "no agent in the config" : wk->draining ?
		    "draining" : "not a unix socket, or no memory");
		memset(&r, 0, sizeof(r));
		r.type = SL_MSG_TUN_STREAM_RESULT;
		r.id = m->id;
		r.fd = -1;
		r.u.tun.code = SL_CONN_FAIL;
		if (c != NULL)
			(void)ipc_chan_send(c, &r);
		return;		/* the caller closes m->fd */
	}
	st->key = m->id;
	memcpy(st->target, m->u.tun.target, sizeof(st->target));
	memcpy(st->agent, m->u.tun.agent, sizeof(st->agent));
	agent_client_addr(m->u.tun.peer, &ss);
	v = m->fd;
	m->fd = -1;
	if (session_accept_stream(v, &ss, l, st) == -1) {
		st->answered = 0;
		memset(&r, 0, sizeof(r));
		r.type = SL_MSG_TUN_STREAM_RESULT;
		r.id = st->key;
		r.fd = -1;
		r.u.tun.code = SL_CONN_FAIL;
		if (c != NULL)
			(void)ipc_chan_send(c, &r);
		free(st);
	}
}
