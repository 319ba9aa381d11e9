/*
 * Dialing over a link of protocol "agent": no socket, no lookup (the agent
 * resolves names inside its own network), a stream from the pool's tunnel
 * process instead (agent_link.c).  What the agent answers is mapped onto
 * the dialer's neutral errors, and whether the link is to blame.
 */
#include <stdio.h>
#include <string.h>

#include "../../tunnel/frame.h"
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
	enum sl_conn_err	 err = SL_CONN_FAIL;

	(void)r;
	if (fd != -1) {
		d->fd = fd;
		d->fd_shared = 0;
		memset(&d->bound, 0, sizeof(d->bound));
		snprintf(d->agent_peer, sizeof(d->agent_peer), "%s", peer);
		dial_succeed(d);
		return;
	}
	switch (code) {
	case MUX_C_POLICY:
		err = SL_CONN_NOT_ALLOWED;
		break;
	case MUX_C_REFUSED:
		err = SL_CONN_REFUSED;
		break;
	case MUX_C_UNREACH:
		err = SL_CONN_HOST_UNREACH;
		break;
	case MUX_C_TIMEOUT:
		err = SL_CONN_TIMEOUT;
		break;
	case MUX_C_TARGET:
		err = SL_CONN_ADDR_UNSUPP;
		break;
	case MUX_C_STREAMS:
	case MUX_C_OTHER:
		break;
	default:		/* SL_TUN_NO_AGENT, the tunnel broke */
		d->link_fault = 1;
		err = code == SL_TUN_NO_AGENT ? SL_CONN_NO_LINK : SL_CONN_FAIL;
	}
	snprintf(d->why, sizeof(d->why), "agent %s%s%s: %s",
	    d->conf->links[d->link].agent, peer[0] != '\0' ? " at " : "", peer,
	    why != NULL && why[0] != '\0' ? why : mux_code_name(code));
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
