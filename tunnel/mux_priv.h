/*
 * What mux.c (streams, output, the application's calls, time) and
 * mux_input.c (the peer's frames) share.  Not for use outside them.
 */
#ifndef SL_TUNNEL_MUX_PRIV_H
#define SL_TUNNEL_MUX_PRIV_H

#include <sys/queue.h>
#include <stdint.h>

#include "mux.h"

enum mux_state {
	ST_OPENING,	/* we sent OPEN, no answer yet */
	ST_PENDING,	/* the peer sent OPEN, the application did not answer */
	ST_OPEN,
};

#define SF_LFIN		0x01	/* we sent FIN */
#define SF_RFIN		0x02	/* the peer sent FIN */
#define SF_WANT		0x04	/* mux_send took less than offered */

struct mux_stream {
	struct mux_stream		*hnext;		/* hash chain */
	TAILQ_ENTRY(mux_stream)		 entry;		/* writers' order */
	void				*udata;
	uint32_t			 id;
	uint32_t			 send_credit;	/* DATA we may send */
	uint32_t			 recv_avail;	/* peer may send */
	uint32_t			 unconsumed;	/* not yet consumed */
	uint32_t			 grant;		/* not yet returned */
	uint8_t				 state;
	uint8_t				 flags;
};

TAILQ_HEAD(mux_streamq, mux_stream);

struct mux {
	struct mux_params	 p;
	struct mux_ops		 ops;
	void			*arg;
	int			 is_server;
	struct mux_hello	 peer;		/* valid once peer_hello */
	int			 peer_hello;
	int			 goaway_sent, goaway_rcvd;
	int			 dead;		/* connection error met */
	int			 aborted;	/* streams reported reset */
	uint32_t		 dead_code;
	char			 why[96];

	struct mux_stream	**buckets;
	uint32_t		 nbuckets;	/* power of 2 */
	struct mux_streamq	 streams;
	uint32_t		 nlocal, nremote, nwant;
	uint32_t		 next_local_id;
	uint32_t		 last_remote_id;

	uint8_t			*in;		/* a frame in pieces */
	size_t			 in_len;
	uint8_t			*out;
	size_t			 out_head, out_len, out_size;

	uint64_t		 now;
	uint64_t		 last_rx;
	uint64_t		 ping_sent;
	uint64_t		 ping_seq;
	int			 ping_out;
	uint64_t		 refuse_since;
	uint32_t		 refusals;
};

/* mux.c */
struct mux_stream *mux_stream_find(const struct mux *, uint32_t id);
struct mux_stream *mux_stream_new(struct mux *, uint32_t id, enum mux_state);
void	 mux_stream_free(struct mux *, struct mux_stream *);
/* Whether id is of the parity this side opens. */
int	 mux_is_local(const struct mux *, uint32_t id);
/* Queue a frame; a control frame that finds no room kills the connection. */
int	 mux_out_frame(struct mux *, uint8_t type, uint32_t id,
	    const uint8_t *payload, size_t len);
int	 mux_out_code(struct mux *, uint8_t type, uint32_t id, uint32_t code);
/* The connection is done: GOAWAY with code if there is room, *why kept. */
void	 mux_conn_error(struct mux *, uint32_t code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Report every stream reset after a connection error. */
void	 mux_abort(struct mux *);

#endif
