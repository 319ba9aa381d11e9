/*
 * One tunnel connection on a socket: TLS 1.3 PSK (tls_psk.h) carrying
 * the stream multiplexer (mux.h), on a libev loop, with every stream
 * joined to a local stream socket (one end of a socketpair whose other
 * end a worker relays).  The tunnel process (tunnel.c) makes these, one
 * per agent connection, on both ends.
 *
 *	socket <-> TLS <-> mux <-> stream id <-> local fd <-> (worker)
 *
 * Flow control end to end: a stream's local fd is read only while the
 * stream has credit at the peer and the connection's output has room;
 * data from the peer is written to the local fd and credited back
 * (mux_consumed) only as the fd takes it, so a worker that stops reading
 * stalls its own stream and holds at most one window (the mux's) here.
 *
 * Ownership: a local fd given to the connection is its own from then on
 * (closed when the stream ends).  Callbacks may call any tconn_*
 * function except tconn_free() on the connection they are called for;
 * after down() the caller frees it (from down() itself is fine).
 */
#ifndef SL_TUNNEL_CONN_H
#define SL_TUNNEL_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "mux.h"
#include "tls_psk.h"

struct tconn;

struct tconn_ops {
	/* Authenticated and the peer's HELLO arrived: streams may open. */
	void	(*up)(struct tconn *, void *arg);
	/*
	 * The connection ended (why: for the log; never NULL).  Every
	 * stream is gone with it: open_result() ran for those still
	 * opening, and no callback follows.
	 */
	void	(*down)(struct tconn *, const char *why, void *arg);
	/*
	 * Agent side: the server opens stream id to target ("host:port",
	 * checked for shape only).  Answer later with tconn_accept() or
	 * tconn_refuse(); if the connection goes down first, the id simply
	 * stops existing (both calls then fail harmlessly).
	 */
	void	(*open)(struct tconn *, uint32_t id, const char *target,
		    void *arg);
	/* The peer asked us to stop opening streams (GOAWAY; may be NULL). */
	void	(*goaway)(struct tconn *, void *arg);
	/*
	 * An open stream ended other than by FIN both ways: the peer reset
	 * it, or the connection died (code SHUTDOWN).  sarg is what
	 * tconn_stream_set_arg() gave it.  Called before its local fd is
	 * closed, so the owner can tell its worker first.  May be NULL.
	 */
	void	(*stream_lost)(struct tconn *, uint32_t id, uint32_t code,
		    void *sarg);
};

/*
 * The answer to tconn_open(): ok 1 (the local fd now carries the
 * stream), or ok 0 with a mux code (README table; the local fd was
 * closed).  Called exactly once per successful tconn_open(), from the
 * loop, also when the connection goes down first (code SHUTDOWN).
 */
typedef void (*tconn_result_cb)(struct tconn *, uint32_t id, int ok,
    uint32_t code, void *arg);

/*
 * Server side: an accepted socket (non-blocking).  lookup finds an
 * agent's secret (tls_psk.h).  peer is the client's "addr:port" for log
 * lines.  handshake_ms bounds the time to authentication.  NULL on
 * ENOMEM (fd not taken).
 */
struct tconn	*tconn_server(struct ev_loop *, int fd, const char *peer,
		    tun_tls_lookup_fn lookup, void *lookup_arg,
		    const struct mux_params *, uint32_t handshake_ms,
		    const struct tconn_ops *, void *arg);
/* Agent side: a connected (or connecting) socket to the server. */
struct tconn	*tconn_client(struct ev_loop *, int fd, const char *peer,
		    const char *name, const uint8_t *secret, size_t secret_len,
		    const struct mux_params *, uint32_t handshake_ms,
		    const struct tconn_ops *, void *arg);
void		 tconn_free(struct tconn *);

/*
 * Server side: open a stream to target over the connection, carried by
 * local (a connected stream socket, non-blocking).  0 with *id (cb
 * follows), or -1 with errno as mux_open() sets it (EAGAIN: at the
 * peer's stream cap); on -1 the caller keeps local.
 */
int		 tconn_open(struct tconn *, const char *target, int local,
		    tconn_result_cb, void *cb_arg, uint32_t *id);
/* Agent side: the stream id is connected on local / refused with code. */
int		 tconn_accept(struct tconn *, uint32_t id, int local);
void		 tconn_refuse(struct tconn *, uint32_t id, uint32_t code);
/* What stream_lost() gets for stream id; -1 when there is no such id. */
int		 tconn_stream_set_arg(struct tconn *, uint32_t id, void *sarg);
/* Drop a stream both ways (RST with code); its local fd is closed. */
void		 tconn_reset(struct tconn *, uint32_t id, uint32_t code);
/* No new streams either way; down() follows when the last one ends. */
void		 tconn_goaway(struct tconn *);
/* End now: streams reset, close_notify sent if possible; down() follows. */
void		 tconn_close(struct tconn *, const char *why);

/* The agent's name once up (server: authenticated; agent: its own). */
const char	*tconn_name(const struct tconn *);
const char	*tconn_peer(const struct tconn *);	/* "addr:port" */
int		 tconn_is_up(const struct tconn *);
int		 tconn_going_away(const struct tconn *);	/* either way */
uint32_t	 tconn_streams(const struct tconn *);	/* open now */
uint64_t	 tconn_bytes_in(const struct tconn *);	/* stream payload */
uint64_t	 tconn_bytes_out(const struct tconn *);
size_t		 tconn_memory(const struct tconn *);	/* bytes held */

#endif /* SL_TUNNEL_CONN_H */
