/*
 * Dialing over a link of protocol "agent": no socket, no lookup (the agent
 * resolves names inside its own network), a stream from the pool's tunnel
 * process instead (agent_link.c).  What the agent answers is mapped onto
 * the dialer's neutral errors, and whether the link is to blame.
 */
#include <stdio.h>
#include <string.h>

#include "dial_priv.h"

/*
 * The stream's answer.  An agent that is not connected, or whose tunnel
 * broke while opening, is the link's fault (routing fails over and the
 * link cools down); what the agent says of the target is the target's.
 */
static void
dial_agent_done(struct agent_req *r, int fd, uint32_t code, const char *peer,
    const char *why, void *arg)
{
	struct dial		*d = arg;
	enum sl_conn_err	 err;

	(void)r;
	if (fd != -1) {
		d->fd = fd;
		d->fd_shared = 0;
		memset(&d->bound, 0, sizeof(d->bound));
		snprintf(d->agent_peer, sizeof(d->agent_peer), "%s", peer);
		dial_succeed(d);
		return;
	}
	/* Neutral codes: the tunnel process mapped the agent's (ipc_msg.h). */
	d->link_fault = (code & SL_TUN_LINK_FAULT) != 0;
	code &= ~(uint32_t)SL_TUN_LINK_FAULT;
	err = code > SL_CONN_OK && code < SL_CONN_MAX ?
	    (enum sl_conn_err)code : SL_CONN_FAIL;
	snprintf(d->why, sizeof(d->why), "agent %s%s%s: %s",
	    d->conf->links[d->link].agent, peer[0] != '\0' ? " at " : "", peer,
	    why != NULL && why[0] != '\0' ? why : sl_conn_err_name(err));
	dial_fail(d, err, d->why);
}

/* A stream through the agent's tunnel; the agent resolves names. */
void
dial_agent_start(struct dial *d)
{
	char	target[SL_MAX_NAME + 16];

	d->phase = DIAL_CONNECT;
	sl_target_fmt(d->target, target, sizeof(target));
	if (agent_link_open(&d->areq, d->conf->links[d->link].agent, target,
	    dial_agent_done, d) == -1) {
		d->link_fault = 1;
		dial_fail_soon(d, SL_CONN_NO_LINK, "no tunnel process");
		return;
	}
	d->agent_id = d->areq.id;
}

uint32_t
dial_agent_id(const struct dial *d)
{
	return dial_agent_peer(d) != NULL ? d->agent_id : 0;
}

const char *
dial_agent_peer(const struct dial *d)
{
	return d->conf != NULL && d->conf->links[d->link].proto ==
	    SL_LINK_AGENT ? d->agent_peer : NULL;
}
