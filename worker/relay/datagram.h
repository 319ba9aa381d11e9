/*
 * The datagram pump of one association: a client-facing UDP socket and
 * up to DGRAM_PEERS target-facing ones (per link and address family).
 *
 * It knows no protocol.  Each datagram read is handed to the owner's
 * callback, which decides where it goes and may rewrite it in place: a
 * header can be written into the DGRAM_HEADROOM bytes before the data,
 * or skipped at its front.  The pump then sends it.  One buffer per
 * association, allocated at start: no allocation per datagram.
 * A datagram that cannot be sent at once (full socket buffer) is dropped
 * and counted, as the network would.
 */
#ifndef SL_DATAGRAM_H
#define SL_DATAGRAM_H

#include <sys/socket.h>
#include <ev.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define DGRAM_MAX		65535	/* largest datagram read */
#define DGRAM_HEADROOM		512	/* room for a header before it */
#define DGRAM_PEERS		8	/* target sockets per association */
#define DGRAM_CLIENT		(-1)	/* "peer" index of the client side */

enum dgram_end {
	DGRAM_END_IDLE = 0,	/* no datagram relayed for idle_ms */
	DGRAM_END_ERROR,	/* a socket failed; err holds errno */
};

/* What to do with a datagram: the callbacks fill it. */
struct dgram_out {
	int			 peer;	/* DGRAM_CLIENT or a peer index */
	const struct sockaddr	*to;
	socklen_t		 tolen;
	uint8_t			*data;	/* inside the buffer (headroom ok) */
	size_t			 len;
};

/* A callback's verdict. */
enum dgram_verdict {
	DGRAM_SEND = 0,		/* send out as filled */
	DGRAM_DROP,		/* drop (the callback counted why) */
	DGRAM_KEEP,		/* the callback copied it, sends it later */
};

struct datagram;
struct dgram_ops {
	/*
	 * From the client socket: len bytes at data (DGRAM_HEADROOM bytes
	 * before it are free), from `from`.
	 */
	enum dgram_verdict (*from_client)(void *arg,
	    const struct sockaddr *from, socklen_t fromlen, uint8_t *data,
	    size_t len, struct dgram_out *);
	/* From peer socket `peer`. */
	enum dgram_verdict (*from_peer)(void *arg, int peer,
	    const struct sockaddr *from, socklen_t fromlen, uint8_t *data,
	    size_t len, struct dgram_out *);
	/* The association ends (not called from datagram_stop()). */
	void		(*end)(void *arg, enum dgram_end, int err);
};

struct dgram_peer {
	int			 fd;		/* owned; -1 = slot free */
	ev_io			 io;
	struct datagram		*d;
	_Atomic uint64_t	*ctr_up, *ctr_down;	/* link bytes or NULL */
};

struct dgram_stats {
	uint64_t		 up, up_bytes;		/* client -> targets */
	uint64_t		 down, down_bytes;	/* targets -> client */
	uint64_t		 dropped;	/* by a callback */
	uint64_t		 send_failed;	/* full buffer, unreachable */
};

struct datagram {
	struct ev_loop		*loop;
	int			 cfd;		/* not owned */
	ev_io			 cio;
	struct dgram_peer	 peers[DGRAM_PEERS];
	ev_timer		 idle;
	uint32_t		 idle_ms;
	ev_tstamp		 last_io;
	uint8_t			*buf;		/* headroom + DGRAM_MAX */
	struct dgram_stats	 st;
	const struct dgram_ops	*ops;
	void			*arg;
	int			 running;
};

/* datagram.c */
/*
 * Start reading the client socket cfd (non-blocking, not owned).  The
 * end callback runs at most once, from the loop.  0, or -1 (ENOMEM).
 */
int	datagram_start(struct datagram *, struct ev_loop *, int cfd,
	    uint32_t idle_ms, const struct dgram_ops *, void *arg);
/*
 * Hand over a non-blocking target-facing socket (owned from now on,
 * closed by datagram_stop, even when this fails); ctr_up/ctr_down count
 * its payload bytes.  Returns the peer index, or -1 when all are taken.
 */
int	datagram_add_peer(struct datagram *, int fd, _Atomic uint64_t *ctr_up,
	    _Atomic uint64_t *ctr_down);
/* Close one peer socket (its index may be reused). */
void	datagram_drop_peer(struct datagram *, int peer);
/*
 * Send a datagram the owner kept (DGRAM_KEEP) or made: peer is a peer
 * index or DGRAM_CLIENT.  Counted like any other.  0 or -1 (errno).
 */
int	datagram_send(struct datagram *, int peer, const struct sockaddr *to,
	    socklen_t tolen, const void *data, size_t len);
/* Stop watchers, close the peers, free the buffer (cfd stays open). */
void	datagram_stop(struct datagram *);

#endif
