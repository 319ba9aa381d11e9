/*
 * Sockets the worker may not make itself: one bound to a link's network
 * interface needs CAP_NET_RAW, which only the master holds.  The worker
 * asks the master (SOCK_REQ with a request id) and gets the socket back
 * over its channel.
 */
#ifndef SL_SOCKREQ_H
#define SL_SOCKREQ_H

#include <sys/socket.h>
#include <stdint.h>

#include "../../ipc/ipc_msg.h"

struct sock_req;
/* fd >= 0 on success (callee owns it), else err is an errno. */
typedef void (*sock_req_cb)(struct sock_req *, int fd, int err, void *arg);

struct sock_req {
	uint32_t	 id;		/* 0 when idle */
	sock_req_cb	 cb;
	void		*arg;
	struct sock_req	*next;
};

/* sockreq.c */
int	sockreq_start(struct sock_req *, uint32_t link, int family,
	    sock_req_cb, void *arg);
/*
 * For a flow of tproxy listener `listener` (its UDP side, kind
 * SL_LISTEN_TPROXY_UDP): a non-blocking UDP socket with IP_TRANSPARENT
 * (IPV6_TRANSPARENT), bound to `local` (the flow's original destination,
 * usually not an address of this host) and connected to `peer` (the
 * client), so replies leave from the address the client wrote to and the
 * client's next datagrams arrive on it.  Same family for both, that of
 * the listener.  0 when asked (cb runs once, later), -1 if not.
 */
int	sockreq_tproxy_start(struct sock_req *, uint32_t listener,
	    const struct sockaddr *local, const struct sockaddr *peer,
	    sock_req_cb, void *arg);
void	sockreq_cancel(struct sock_req *);
/* SOCK_FD or SOCK_FAIL from the master. */
void	sockreq_dispatch(struct sl_msg *);

#endif
