/*
 * UDP flows of the udp_forward front-end and of tproxy's UDP side
 * (udp_forward.c reads the listener, udp_flow.c keeps one flow).  Private
 * to those two files.
 */
#ifndef SL_FRONT_UDP_FLOW_H
#define SL_FRONT_UDP_FLOW_H

#include <sys/socket.h>
#include <ev.h>
#include <stdint.h>

#include "../../policy/config.h"
#include "../egress/resolve.h"
#include "../egress/sockreq.h"
#include "../egress/udp_out.h"
#include "../relay/flowtab.h"

enum udpf_drop {
	UDPF_DROP_STRANGER = 0,	/* not in the listener's clients */
	UDPF_DROP_FULL,		/* max_flows */
	UDPF_DROP_CLIENT_FULL,	/* max_flows_per_client */
	UDPF_DROP_BUSY,		/* the flow is being set up */
	UDPF_DROP_TAP,		/* a tap dropped it */
	UDPF_DROP_SEND,		/* the socket would not take it */
	UDPF_DROP_NODST,	/* tproxy: no original destination */
	UDPF_DROP_OTHERDST,	/* tproxy: its port has a flow elsewhere */
	UDPF_DROP_LOOP,		/* tproxy: the destination is a listener */
	UDPF_DROP_MAX
};

/* One listener's flows in this worker. */
struct udp_fwd {
	struct ev_loop			*loop;
	int				 lfd;
	const struct sl_listener	*l;
	uint32_t			 index;		/* the listener's */
	int				 tproxy;
	struct flowtab			*ft;
	ev_timer			 sweep;
	uint8_t				*buf;		/* DGRAM_HEADROOM +
							   DGRAM_MAX */
	uint64_t			 last_drop_log;
	uint64_t			 dropped[UDPF_DROP_MAX];
};

enum udpf_state {
	UF_RESOLVING = 0,	/* the target's name */
	UF_LINK,		/* a socks5 link's association */
	UF_REPLY_SOCKET,	/* tproxy: waiting for the master's socket */
	UF_READY,
};

struct udp_flow {
	struct flow		 f;
	struct udp_fwd		*u;
	uint64_t		 id;
	enum udpf_state		 st;
	struct udp_out		 out;
	int			 counted;	/* in its link's active */
	int			 limited;	/* holds one of `limits`'
						   max_udp_flows */
	int			 cfd;		/* tproxy: the reply socket */
	ev_io			 cio;
	struct sock_req		 sreq;
	struct sockaddr_storage	 dst;		/* tproxy: original dest. */
	socklen_t		 dstlen;
	struct res_req		 res;
	struct taps		*taps;
	uint8_t			*pending;	/* the first datagram, while
						   the flow is set up */
	size_t			 npending;
	uint64_t		 up, down, up_bytes, down_bytes;
	uint64_t		 t_start;
	int			 icmp_logged;
	char			 target[SL_MAX_NAME + 16];
};

/* udp_forward.c */
void	udpf_drop(struct udp_fwd *, enum udpf_drop, const struct sockaddr *);

/* udp_flow.c */
/*
 * A new flow for client from (dst: tproxy's original destination, else
 * NULL: the listener's target), with data its first datagram (at u->buf
 * + DGRAM_HEADROOM or kept).  NULL when over a limit (dropped, counted)
 * or ended at once.
 */
void	udpf_flow_start(struct udp_fwd *, const struct sockaddr_storage *from,
	    socklen_t fromlen, const struct sockaddr_storage *dst,
	    socklen_t dstlen, uint8_t *data, size_t len);
/*
 * A datagram from the client (DGRAM_HEADROOM free before data): 0, or
 * -1 when the flow ended (fl is freed).
 */
int	udpf_up(struct udp_flow *, uint8_t *data, size_t len);
void	udpf_flow_end(struct udp_flow *, const char *why);

#endif
