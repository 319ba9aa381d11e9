/*
 * The target side of one UDP flow: a socket over the first candidate
 * link that can carry datagrams, to one fixed target address.
 *
 * A `direct` link gives a socket of the flow's own, connect()ed to the
 * target, so the kernel hands it only the target's replies and reports
 * ICMP errors on it.  A `socks5` link gives an upstream UDP ASSOCIATE
 * (egress/udp.c): datagrams go to the upstream's relay behind a SOCKS5
 * header naming the target, and only the relay's datagrams that name the
 * target come back.  Like the rest of egress/, this names nothing above
 * it and reports through callbacks.
 */
#ifndef SL_EGRESS_UDP_OUT_H
#define SL_EGRESS_UDP_OUT_H

#include <sys/socket.h>
#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "../../policy/config.h"

struct udp_up;

struct udp_out_ops {
	/* A pending open succeeded: the flow may send. */
	void	(*ready)(void *arg);
	/*
	 * The link failed or closed (the upstream's control connection
	 * ended): the owner ends the flow (udp_out_close is still due).
	 */
	void	(*failed)(void *arg, const char *why);
	/*
	 * A datagram from the target: len bytes at data, DGRAM_HEADROOM
	 * bytes before it free.  Return -1 when the flow was ended (the
	 * owner called udp_out_close), else 0.
	 */
	int	(*datagram)(void *arg, uint8_t *data, size_t len);
	/* An error the socket reported (ICMP unreachable, ...). */
	void	(*error)(void *arg, int err);
};

struct udp_out {
	struct ev_loop		*loop;
	const struct sl_conf	*conf;
	int			 link;		/* -1 until one is chosen */
	int			 fd;
	ev_io			 io;
	struct sockaddr_storage	 target;
	socklen_t		 targetlen;
	struct udp_up		*up;		/* socks5 link, or NULL */
	uint8_t			*buf;		/* the owner's: headroom +
						   DGRAM_MAX */
	const struct udp_out_ops *ops;
	void			*arg;
};

/*
 * Open over the first usable link of cand[0..ncand): 0 ready now, 1
 * pending (ops->ready or ops->failed follows, from the loop), -1 when no
 * candidate can carry UDP (why says why).  buf is where datagrams are
 * read (DGRAM_HEADROOM bytes, then DGRAM_MAX), shared by the owner's
 * flows: a datagram is handed on before the next is read.
 */
int	udp_out_open(struct udp_out *, struct ev_loop *, const struct sl_conf *,
	    const uint32_t *cand, size_t ncand, const struct sockaddr *target,
	    socklen_t targetlen, uint8_t *buf, const struct udp_out_ops *,
	    void *arg, const char **why);
/*
 * Send len bytes at data (DGRAM_HEADROOM bytes free before it, for a
 * SOCKS5 header): 0, or -1 with errno.
 */
int	udp_out_send(struct udp_out *, uint8_t *data, size_t len);
/* Stop and release everything (safe on a zeroed or closed one). */
void	udp_out_close(struct udp_out *);

#endif
