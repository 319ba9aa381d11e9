/*
 * The reverse tunnel's stream multiplexer: one per tunnel connection, on
 * the decrypted byte stream (README "Tunnels: frame format").  Pure
 * code: no sockets, no event loop, no clock (every call that needs the
 * time is given now_ms), no globals; the caller moves bytes.
 *
 *	mux_input(bytes from the peer)  ->  callbacks (ops)
 *	API calls (open, send, ...)     ->  mux_output(bytes for the peer)
 *
 * Streams: the server opens odd ids, the agent even ones, each side in
 * increasing order, so either side may open and ids never collide.  A
 * side refuses peer OPENs when its ops have no on_open (the server does,
 * so an agent cannot open streams into the server's side).
 *
 * Flow control, per stream, like HTTP/2 and yamux: a sender may have at
 * most the receiver's window (its HELLO) of DATA unacknowledged; the
 * receiver returns credit with WINDOW only as its application calls
 * mux_consumed(), so a reader that stops stalls its own stream and no
 * other, and holds at most one window.  mux_send() takes no more than
 * the stream's credit and the room left in the output buffer; when it
 * took less than offered, on_writable() says when to try again.
 *
 * Errors: a frame wrong for its stream resets that stream (on_reset with
 * a reason, RST sent) and the others go on; a frame that breaks the
 * connection's framing or state makes mux_input() return -1 with a
 * reason, after queueing a GOAWAY and reporting every stream reset.  The
 * table is in the README.
 *
 * Callbacks run only inside mux_input(), mux_tick() and mux_output(), and
 * may call any mux_* function but mux_free().  Every function taking a
 * stream id accepts ids that no longer exist (it does nothing, or fails).
 */
#ifndef SL_TUNNEL_MUX_H
#define SL_TUNNEL_MUX_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

/* Defaults, see mux_params_default(). */
#define MUX_DEF_STREAMS		256
#define MUX_DEF_WINDOW		(256 * 1024)
#define MUX_DEF_FRAME		(16 * 1024)
#define MUX_DEF_OUT_CAP		(256 * 1024)
#define MUX_DEF_PING_MS		15000
#define MUX_DEF_DEAD_MS		45000
#define MUX_DEF_REFUSE_MAX	64
#define MUX_REFUSE_PERIOD_MS	10000
#define MUX_MAX_STREAMS		65536	/* bound on max_streams */
#define MUX_CTRL_RESERVE	(64 * 1024)	/* output kept for control */

struct mux_params {
	uint32_t	max_streams;	/* streams the peer may have open */
	uint32_t	window;		/* credit granted per stream */
	uint32_t	max_frame;	/* largest DATA payload accepted */
	uint32_t	out_cap;	/* output bytes DATA may fill */
	uint32_t	ping_ms;	/* silence before a PING */
	uint32_t	dead_ms;	/* silence before the peer is dead */
	uint32_t	refuse_max;	/* OPENs past the cap per 10 s */
};

struct mux_ops {
	/* The peer's HELLO came: mux_open() works from now on. */
	void	(*on_ready)(void *arg);
	/* The peer opens id to target; answer with mux_accept/mux_refuse. */
	void	(*on_open)(void *arg, uint32_t id, const char *target);
	/* Our mux_open(id) was accepted (ok 1) or refused with code. */
	void	(*on_open_result)(void *arg, uint32_t id, int ok,
		    uint32_t code);
	/* Payload for id; the stream holds it until mux_consumed(). */
	void	(*on_data)(void *arg, uint32_t id, const uint8_t *, size_t);
	/* The peer sends no more on id. */
	void	(*on_fin)(void *arg, uint32_t id);
	/*
	 * id is gone: the peer reset it (why NULL), or we did because of
	 * the peer's frame or the connection's end (why says what).
	 */
	void	(*on_reset)(void *arg, uint32_t id, uint32_t code,
		    const char *why);
	/* mux_send(id) will take bytes again. */
	void	(*on_writable)(void *arg, uint32_t id);
	/* The peer opens no more streams; existing ones go on. */
	void	(*on_goaway)(void *arg, uint32_t code);
};

struct mux;

/* mux.c */
void	 mux_params_default(struct mux_params *);
/*
 * A connection's mux; our HELLO is queued at once.  NULL with errno
 * EINVAL when a parameter is out of range (README), ENOMEM.
 */
struct mux *mux_new(const struct mux_params *, int is_server,
	    const struct mux_ops *, void *arg, uint64_t now_ms);
void	 mux_free(struct mux *);

/*
 * Bytes from the peer.  0, or -1 on a connection error with *why (valid
 * until mux_free); the mux is dead then and every call after it fails.
 */
int	 mux_input(struct mux *, const uint8_t *, size_t, uint64_t now_ms,
	    const char **why);
/* Up to cap bytes of frames for the peer; their number. */
size_t	 mux_output(struct mux *, uint8_t *, size_t cap);
size_t	 mux_output_pending(const struct mux *);
/*
 * Keepalive: a PING after ping_ms of silence, -1 with *why after dead_ms
 * of it (or a connection error an API call met).  Call by mux_deadline().
 */
int	 mux_tick(struct mux *, uint64_t now_ms, const char **why);
uint64_t mux_deadline(const struct mux *);

/*
 * Open a stream to target ("host:port").  0 with *id, or -1 with errno:
 * EINVAL bad target, EAGAIN no HELLO yet, at the peer's stream cap or no
 * output room, EPIPE after a GOAWAY either way or a connection error,
 * ERANGE when the ids ran out.
 */
int	 mux_open(struct mux *, const char *target, uint32_t *id);
/* Answer a peer's OPEN; -1 when id is not waiting for an answer. */
int	 mux_accept(struct mux *, uint32_t id);
int	 mux_refuse(struct mux *, uint32_t id, uint32_t code);
/* Queue up to len bytes of DATA; how many were taken. */
size_t	 mux_send(struct mux *, uint32_t id, const uint8_t *, size_t len);
/* The application used n bytes of id's data: credit goes back. */
void	 mux_consumed(struct mux *, uint32_t id, size_t n);
/* Half-close our side of an open stream; -1 if not open or done. */
int	 mux_fin(struct mux *, uint32_t id);
/* Drop id both ways with code; no callback follows. */
void	 mux_reset(struct mux *, uint32_t id, uint32_t code);
/* Graceful close: no new streams either way, existing ones go on. */
void	 mux_goaway(struct mux *, uint32_t code);

/* The caller's pointer for a stream (NULL for an unknown id). */
int	 mux_set_udata(struct mux *, uint32_t id, void *);
void	*mux_udata(const struct mux *, uint32_t id);

/* Introspection for tests, limits and the session list. */
uint32_t mux_streams(const struct mux *);		/* open now */
size_t	 mux_credit(const struct mux *, uint32_t id);	/* we may send */
size_t	 mux_unconsumed(const struct mux *, uint32_t id);
int	 mux_ready(const struct mux *);
int	 mux_dead(const struct mux *);
size_t	 mux_memory(const struct mux *);	/* bytes allocated */
size_t	 mux_stream_size(void);			/* sizeof one stream */
size_t	 mux_size(void);			/* sizeof the mux */

#endif
