/*
 * The worker's channel to its pool's tunnel process (tunnel/tunnel.c),
 * when the config has tunnel listeners or an "agent": streams for agent
 * links (egress/agent_link.c), streams an agent's server opened
 * (front/agent.c), and dials of an agent's server.
 */
#include <unistd.h>

#include "../common/log.h"
#include "egress/agent_link.h"
#include "front/front.h"
#include "worker.h"

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
