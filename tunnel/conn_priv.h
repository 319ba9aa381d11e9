/*
 * What conn.c (the socket, TLS, the mux, timers) and conn_stream.c (the
 * pump between one stream and its local fd) share.  Not for use outside
 * them.
 */
#ifndef SL_TUNNEL_CONN_PRIV_H
#define SL_TUNNEL_CONN_PRIV_H

#include <sys/queue.h>
#include <stdint.h>

#include <ev.h>

#include "conn.h"

/* Bytes moved per read(2) or write(2), on the socket and on a local fd. */
#define TCONN_CHUNK		(64 * 1024)
/* What OpenSSL holds for one idle TLS connection (README "Reverse tunnels"). */
#define TCONN_TLS_IDLE		(15 * 1024)
/* A graceful close waits this long for the peer's end. */
#define TCONN_LINGER_MS		5000

enum tconn_state {
	TC_CONNECTING,		/* agent: connect(2) in progress */
	TC_HANDSHAKE,		/* TLS handshake, or waiting for HELLO */
	TC_UP,
	TC_CLOSING,		/* close_notify out, waiting for the end */
	TC_DEAD,		/* down() is on its way */
};

enum tstream_state {
	TS_PENDING,		/* agent: the peer's OPEN, not answered */
	TS_OPENING,		/* server: our OPEN, no answer yet */
	TS_OPEN,
	TS_ABORTED,		/* reset while opening: cb due from the loop */
};

#define TS_LEOF		0x01	/* the local fd said EOF */
#define TS_LFIN		0x02	/* we sent FIN */
#define TS_RFIN		0x04	/* the peer's FIN came */
#define TS_SHUT		0x08	/* shutdown(fd, SHUT_WR) done */

struct tstream {
	TAILQ_ENTRY(tstream)	 entry;
	struct tconn		*c;
	uint32_t		 id;
	uint32_t		 code;		/* TS_ABORTED: for cb */
	uint8_t			 state;
	uint8_t			 flags;
	int			 fd;
	ev_io			 rd, wr;
	tconn_result_cb		 cb;
	void			*cb_arg;
	void			*sarg;		/* for ops.stream_lost */
	/* Read from fd, not yet taken by mux_send(): at most a chunk. */
	uint8_t			*out;
	size_t			 out_off, out_len;
	/* From the peer, not yet taken by fd: at most one window. */
	uint8_t			*in;
	size_t			 in_head, in_len, in_size;
};

TAILQ_HEAD(tstreamq, tstream);

struct tconn {
	struct ev_loop		*loop;
	int			 fd;
	int			 is_server;
	enum tconn_state	 state;
	int			 flushing;
	int			 connecting;	/* died while connecting */
	int			 close_self;	/* our close_notify to send */
	int			 shut_wr;
	int			 torn;		/* streams torn down */
	int			 goaway_local, goaway_remote;
	char			 peer[64];
	char			 name[TUN_TLS_NAME_MAX + 1];
	char			 why[128];
	struct tun_tls		*tls;
	struct mux		*mux;
	struct mux_params	 mp;
	uint32_t		 handshake_ms;
	struct tconn_ops	 ops;
	void			*arg;
	ev_io			 rd, wr;
	ev_timer		 timer;		/* handshake, keepalive, linger */
	ev_timer		 later;		/* callbacks due from the loop */
	struct tstreamq		 streams;
	uint32_t		 nstreams;	/* not counting TS_ABORTED */
	/* Ciphertext taken from TLS that the socket did not take. */
	uint8_t			*wbuf;
	size_t			 woff, wlen;
	uint64_t		 bytes_in, bytes_out;
};

/* conn.c */
uint64_t	 tconn_now(const struct tconn *);
const char	*tconn_agent(const struct tconn *);	/* name or "?" */
int		 tconn_dying(const struct tconn *);
/* After a stream event: notice a dead mux, send what is queued. */
void		 tconn_kick(struct tconn *);
/* Run the loop-side work (aborted opens, teardown, down) soon. */
void		 tconn_later(struct tconn *);
/* A stream ended: a GOAWAY may now finish the connection. */
void		 tconn_check_idle(struct tconn *);

/* conn_stream.c */
struct tstream	*tstream_new(struct tconn *, uint32_t id, enum tstream_state,
		    int fd);
/* Ours with that id (the mux may have forgotten it already). */
struct tstream	*tstream_find(struct tconn *, uint32_t id);
/* The stream is open: pump both ways. */
void		 tstream_start(struct tstream *);
/* Unlink, stop, close the local fd, free; no callback. */
void		 tstream_free(struct tstream *);
/* Reset while opening: close the fd now, cb(ok 0, code) from the loop. */
void		 tstream_abort(struct tstream *, uint32_t code);
size_t		 tstream_memory(const struct tstream *);
/* The connection ends: every stream goes, waiting opens get SHUTDOWN. */
void		 tstream_teardown(struct tconn *);
/* Opens the owner reset: their cb, from the loop. */
void		 tstream_deliver_aborted(struct tconn *);

void		 tstream_on_open_result(void *, uint32_t, int, uint32_t);
void		 tstream_on_data(void *, uint32_t, const uint8_t *, size_t);
void		 tstream_on_fin(void *, uint32_t);
void		 tstream_on_reset(void *, uint32_t, uint32_t, const char *);
void		 tstream_on_writable(void *, uint32_t);

#endif /* SL_TUNNEL_CONN_PRIV_H */
