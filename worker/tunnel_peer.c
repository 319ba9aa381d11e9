/*
 * The worker's channel to its pool's tunnel process (tunnel/tunnel.c),
 * when the config has tunnel listeners or an "agent": streams for agent
 * links (egress/agent_link.c), streams an agent's server opened
 * (front/agent.c), and dials of an agent's server.
 */
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "egress/agent_link.h"
#include "egress/health.h"
#include "front/front.h"
#include "worker.h"

/*
 * A relaying stream broke (the agent reset it, the tunnel died): its
 * socketpair's EOF is not the end of the data, so the session fails
 * visibly, its client reset.
 */
static void
tunnel_peer_lost(uint32_t key, const char *why)
{
	struct session	*s;

	if (key == 0)
		return;
	TAILQ_FOREACH(s, &wk->sessions, entry)
		if (s->tun_key == key)
			break;
	if (s == NULL)
		return;		/* it ended first */
	session_detail(s, "tunnel stream lost: %s", why[0] != '\0' ? why :
	    "reset");
	front_reset_client(s);
	session_close(s, "failed");
}

/* An agent is back: its links' failures and cool-downs are forgotten. */
static void
tunnel_peer_agent_up(const char *agent)
{
	size_t	i;

	for (i = 0; i < wk->conf->nlinks; i++)
		if (wk->conf->links[i].proto == SL_LINK_AGENT &&
		    strcmp(wk->conf->links[i].agent, agent) == 0)
			health_link_ok((uint32_t)i);
}

static void
tunnel_peer_msg(struct ipc_chan *c, struct sl_msg *m, void *arg)
{
	(void)c;
	(void)arg;
	switch (m->type) {
	case SL_MSG_TUN_OPENED:
	case SL_MSG_TUN_OPEN_FAIL:
		agent_link_dispatch(m);
		break;
	case SL_MSG_TUN_STREAM:
		agent_front_stream(m);
		break;
	case SL_MSG_TUN_DIAL:
		agent_link_dial(m);
		break;
	case SL_MSG_TUN_RESET:
		tunnel_peer_lost(m->id, m->u.tun.peer);
		break;
	case SL_MSG_TUN_AGENT_UP:
		tunnel_peer_agent_up(m->u.tun.agent);
		break;
	default:
		log_warnx("tunnel process: unexpected %s",
		    ipc_msg_name(m->type));
	}
	if (m->fd != -1)
		close(m->fd);
}

/* The tunnel process died or misbehaved: its streams' requests fail. */
static void
tunnel_peer_closed(struct ipc_chan *c, const char *why, void *arg)
{
	(void)arg;
	if (why != NULL)
		log_warnx("tunnel process channel: %s", why);
	agent_link_set_channel(NULL);
	ipc_chan_free(c);
	agent_link_fail_all();
}

void
worker_set_tunnel(int fd)
{
	struct ipc_chan *c;

	if ((c = agent_link_channel()) != NULL) {
		agent_link_set_channel(NULL);
		ipc_chan_free(c);
		agent_link_fail_all();
	}
	/* fds both ways: streams come in, dialed sockets go out */
	c = ipc_chan_new(wk->loop, fd, SL_PROC_TUNNEL, 1, tunnel_peer_msg,
	    tunnel_peer_closed, NULL);
	if (c == NULL)
		fatal("%s: ipc_chan_new", __func__);
	agent_link_set_channel(c);
}
