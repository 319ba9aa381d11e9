/*
 * Links of protocol "agent": a stream through the reverse tunnel of an
 * agent, which the pool's tunnel process holds (tunnel/server.c).  The
 * worker asks it for a stream to a target (TUN_OPEN) and gets back one
 * end of a socketpair once the agent has connected the target
 * (TUN_OPENED), or the agent's reason (TUN_OPEN_FAIL).  To the dialer
 * that socket is a connection like any other.
 *
 * The other way, on an agent: the tunnel process makes no sockets, so it
 * asks a worker to dial its server (TUN_DIAL), which this file does over
 * the config's links and answers with the socket.
 */
#ifndef SL_AGENT_LINK_H
#define SL_AGENT_LINK_H

#include <stdint.h>

#include "../../ipc/chan.h"
#include "../../ipc/ipc_msg.h"

struct agent_req;
/*
 * fd >= 0: the stream (callee owns it), code 0; else code is an enum
 * sl_conn_err, with SL_TUN_LINK_FAULT when the link is to blame
 * (ipc_msg.h), and why a text for the log.
 * peer names the agent's connection ("addr:port") when known.
 */
typedef void (*agent_req_cb)(struct agent_req *, int fd, uint32_t code,
    const char *peer, const char *why, void *arg);

struct agent_req {
	uint32_t		 id;		/* 0 when idle */
	agent_req_cb		 cb;
	void			*arg;
	struct agent_req	*next;
};

/* The tunnel process's channel (NULL: none now; requests then fail). */
void	agent_link_set_channel(struct ipc_chan *);
struct ipc_chan *agent_link_channel(void);
/* 0 when asked (cb runs once, later), -1 when it cannot be asked. */
int	agent_link_open(struct agent_req *, const char *agent,
	    const char *target, agent_req_cb, void *arg);
void	agent_link_cancel(struct agent_req *);
/* TUN_OPENED or TUN_OPEN_FAIL from the tunnel process. */
void	agent_link_dispatch(struct sl_msg *);
/* The channel went: every request fails, the link's fault. */
void	agent_link_fail_all(void);
/* TUN_DIAL: dial the server for the agent; answers on the channel. */
void	agent_link_dial(const struct sl_msg *);

#endif
